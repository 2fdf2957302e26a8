"""``SOCShortcutHook``: one warning per run when SOC's queries turn away from every key."""
import math
from collections import deque
from typing import Optional

from mmengine.hooks import Hook

from tr2m.registry import HOOKS

#: What the warning suggests; each option is measured in docs/results.md#soc-mechanism.
SHORTCUT_OPTIONS = (
    "negative_reduction='mean' (eq. 8's summed negatives reward turning away from all keys)",
    'a momentum sized to the schedule (e.g. momentum=0.99 for a few thousand steps: the '
    'shortcut needs a key branch that lags)',
    "projector=None or projector=dict(type='LinearSOCProjector') (contrast what the heads "
    'read)')


def shortcut_message(cos_pos: float, cos_neg: float, window: int, iteration: int) -> str:
    """The warning text: the symptom, the measured cosines and the options."""
    return (f'SOC shortcut at iteration {iteration}: the mean cosine of SOC queries to their '
            f'own depth class\'s key mean (soc_cos_pos) was {cos_pos:.3f} over the last '
            f'{window} iterations (to other classes, soc_cos_neg: {cos_neg:.3f}): the queries '
            'are turned away from every key instead of contrasting depth classes, so loss_soc '
            'falls without organising the features. Options: ' + '; '.join(SHORTCUT_OPTIONS)
            + ' (docs/results.md#soc-mechanism).')


@HOOKS.register_module()
class SOCShortcutHook(Hook):
    """Watch SOC's cosine diagnostics and warn once per run about the turn-away shortcut.

    ``ScaleOrientedContrast`` returns ``soc_cos_pos`` (mean cosine of a query to its own
    class's key mean) and ``soc_cos_neg`` (to one other class's) with ``loss_soc`` every step;
    mmengine logs them (text log, ``scalars.json``, TensorBoard when the config has that
    backend). With eq. 8's summed negatives, queries that point away from every key drive the
    loss to zero with no class structure (all cosines ``c < 0`` give ``softplus((K - 1) c)``);
    a momentum branch that lags makes this reachable. When the mean ``soc_cos_pos`` over the
    last ``window`` training iterations is below ``threshold``, this hook writes one warning to
    the run's log (symptom, values, options) and records the iteration as ``soc_shortcut_iter``
    in the message hub. Runs without SOC output are left alone.

    A default hook (``default_hooks.soc_shortcut`` in ``configs/_base_/default_runtime.py``);
    ``threshold=-1`` switches it off (a mean cosine is never below -1; tr2m's default hooks are
    not removed with None).

    Args:
        window (int): iterations averaged; the warning needs a full window. Defaults to 50.
        threshold (float): warn when the windowed mean of ``soc_cos_pos`` is below it.
            Defaults to 0.0 (queries turned away from their own class).
    """

    priority = 'LOW'

    def __init__(self, window: int = 50, threshold: float = 0.0) -> None:
        if not (isinstance(window, int) and window > 0):
            raise ValueError(f'SOCShortcutHook: window must be a positive int, got {window!r}')
        self.window = window
        self.threshold = float(threshold)
        self._pos: deque = deque(maxlen=window)
        self._neg: deque = deque(maxlen=window)
        self.warned_at: Optional[int] = None

    def before_train(self, runner) -> None:
        self._pos.clear()
        self._neg.clear()
        self.warned_at = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.warned_at is not None or not outputs or 'soc_cos_pos' not in outputs:
            return
        pos = float(outputs['soc_cos_pos'])
        neg = float(outputs.get('soc_cos_neg', float('nan')))
        if not math.isfinite(pos):
            return
        self._pos.append(pos)
        self._neg.append(neg)
        if len(self._pos) < self.window:
            return
        mean_pos = sum(self._pos) / len(self._pos)
        if mean_pos < self.threshold:
            self.warned_at = runner.iter
            runner.logger.warning(shortcut_message(mean_pos, sum(self._neg) / len(self._neg),
                                                   self.window, runner.iter))
            runner.message_hub.update_info('soc_shortcut_iter', runner.iter)


__all__ = ['SOCShortcutHook', 'shortcut_message', 'SHORTCUT_OPTIONS']
