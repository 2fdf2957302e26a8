"""``DeadMapHook``: one warning per run when a predicted map stops passing gradient back.

TR2M logs, per training step, the fraction of pixels of each head's map whose slope
``d map / d pre-activation`` is below 1e-6 (``scale_dead_frac``, ``shift_dead_frac``; see
``TR2M(monitor_maps=True)``), and the fraction whose denominator ``A * Dr + B`` sits below the
floor of eq. 3 (``denom_dead_frac``: no gradient to either map there). A softplus or ``exp``
shift whose pre-activation has run to -1e4 sits on its floor on every pixel and receives no
gradient: the model is silently scale-only. The fractions reach the log and TensorBoard like
every other log variable; this hook adds the warning.
"""
from typing import Dict

from mmengine.hooks import Hook
from mmengine.logging import print_log

from tr2m.registry import HOOKS

#: The log variables the hook watches: every one whose name ends with this.
DEAD_SUFFIX = '_dead_frac'


def dead_map_message(key: str, frac: float, iters: int) -> str:
    """The warning's text for the log variable ``key`` (``'shift_dead_frac'``)."""
    name = key[:-len(DEAD_SUFFIX)]
    if name == 'denom':
        return (f'DeadMapHook: the denominator A * Dr + B is below the floor of eq. 3 on '
                f'{frac:.1%} of the pixels ({key}) for {iters} iterations in a row: no '
                'gradient reaches A or B there (a signed shift that overshot below -A * Dr). '
                "Options: start the signed shift lower (shift_head bias_init), a lower lr, "
                "or a positive shift (docs/results.md, 'Shift map').")
    return (f'DeadMapHook: the {name} map is dead: {frac:.1%} of its pixels pass a gradient '
            f'below 1e-6 back through the activation ({key}) for {iters} iterations in a row, '
            f'so the {name} head no longer learns. Options: shift_head activation '
            "'signed' or 'bounded', model.shift_form='relative' (docs/results.md, 'Shift map').")


@HOOKS.register_module()
class DeadMapHook(Hook):
    """Warn once per map and run when its dead fraction stays at or above ``threshold`` for
    ``patience`` consecutive training iterations.

    Args:
        threshold (float): dead fraction that counts as dead. Defaults to 0.99.
        patience (int): consecutive iterations at or above it before the warning.
            Defaults to 10.
    """

    priority = 'LOW'

    def __init__(self, threshold: float = 0.99, patience: int = 10) -> None:
        if not 0 < threshold <= 1 or int(patience) < 1:
            raise ValueError('DeadMapHook: threshold must be in (0, 1] and patience >= 1, '
                             f'got {threshold!r}, {patience!r}')
        self.threshold = float(threshold)
        self.patience = int(patience)
        self.streak: Dict[str, int] = {}
        self.warned: Dict[str, float] = {}

    def before_train(self, runner) -> None:
        self.streak, self.warned = {}, {}

    def check(self, outputs) -> None:
        """Update the streaks from one iteration's log variables and warn when one is due."""
        for key, value in (outputs or {}).items():
            if not key.endswith(DEAD_SUFFIX):
                continue
            frac = float(value)
            self.streak[key] = self.streak.get(key, 0) + 1 if frac >= self.threshold else 0
            if self.streak[key] >= self.patience and key not in self.warned:
                self.warned[key] = frac
                print_log(dead_map_message(key, frac, self.streak[key]), logger='current',
                          level=30)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.check(outputs)
