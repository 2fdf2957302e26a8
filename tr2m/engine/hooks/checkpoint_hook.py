"""``SafeCheckpointHook``: mmengine's ``CheckpointHook`` with saves that cannot lose a run.

mmengine deletes the checkpoint that falls out of ``max_keep_ckpts`` (and the previous best one)
*before* it writes the new one, and writes in place: a kill or a full disk during the save leaves
a torn file, the old one gone, and ``last_checkpoint`` naming a file that cannot be loaded. Here
every save (regular, best, every-N-iterations) is written to a hidden temporary file in the same
folder, flushed to disk and renamed over the final name (``os.replace`` is atomic), and the
checkpoints that fall out are deleted only after that. A checkpoint with a NaN or inf tensor is
never written. On resume, a schedule whose length changed is re-planned (or refused).
"""
import contextlib
import os
import os.path as osp
from typing import List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from tr2m.registry import HOOKS
from tr2m.utils.checkpoint import nonfinite_tensors
from tr2m.utils.errors import CheckpointError, ConfigError

SCHEDULE_CHANGE = ('replan', 'refuse')
#: What a resume does with optimizer settings that differ from the checkpoint's.
OPTIMIZER_CHANGE = ('apply', 'refuse')
#: Optimizer group entries that are implementation switches, not settings of the method.
_IMPL_KEYS = ('params', 'foreach', 'fused', 'capturable', 'differentiable')


def optimizer_changes(current: List[dict], saved: List[dict]) -> List[tuple]:
    """``[(group index, key, saved value, config value)]`` where the optimizer built from the
    config differs from a checkpoint's (its ``param_groups``). A scheduled setting is compared
    by its starting value (``initial_lr`` for ``lr``, ``initial_momentum``...); a key present on
    one side only (another optimizer type) is listed with ``None`` on the other side."""
    changes = []
    if len(current) != len(saved):
        return [(-1, 'param_groups', len(saved), len(current))]
    for i, (new, old) in enumerate(zip(current, saved)):
        for key in sorted(set(new) | set(old)):
            if key in _IMPL_KEYS or key.startswith('initial_'):
                continue
            compare = f'initial_{key}' if f'initial_{key}' in new and \
                f'initial_{key}' in old else key
            a, b = old.get(compare), new.get(compare)
            if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
                same = a is not None and b is not None and len(a) == len(b) and all(
                    abs(float(x) - float(y)) <= 1e-12 * max(1.0, abs(float(x)))
                    for x, y in zip(a, b))
            elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
                    not isinstance(a, bool) and not isinstance(b, bool):
                same = abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
            else:
                same = a == b
            if not same:
                changes.append((i, key, a, b))
    return changes


def _fsync(path: str) -> None:
    """Flush a file (or, for a folder, its entries) to disk; best effort where unsupported."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if osp.isdir(path) else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_atomically(tmp: str, final: str) -> None:
    """``os.replace(tmp, final)`` after flushing ``tmp``, then flush the folder entry."""
    _fsync(tmp)
    os.replace(tmp, final)
    _fsync(osp.dirname(osp.abspath(final)))


class _DeferredRemoval:
    """A file backend whose ``remove``/``rmtree`` are recorded instead of done."""

    def __init__(self, backend, removals: List[str]) -> None:
        self._backend = backend
        self._removals = removals

    def remove(self, path) -> None:
        self._removals.append(str(path))

    def rmtree(self, path) -> None:
        self._removals.append(str(path))

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` with atomic saves, late deletion, a finite-tensor
    check, optional extra checkpoints every N iterations and a schedule check on resume.

    Every argument of ``CheckpointHook`` works as there (``interval``, ``by_epoch``,
    ``max_keep_ckpts``, ``save_best``, ``rule``, ...). A save that fails (a full disk) removes
    its temporary file, deletes nothing and raises :class:`CheckpointError` naming the file;
    the previous checkpoint and ``last_checkpoint`` stay as they were.

    Args:
        iter_interval (int, optional): with an epoch-based schedule, also save
            ``iter_<N>.pth`` every ``iter_interval`` iterations (crash insurance for long
            epochs; resuming from one continues inside its epoch, see
            :class:`~tr2m.engine.hooks.SampleSeedHook`). Only the newest one is kept.
            Defaults to None (off).
        on_schedule_change (str): when a resumed run's schedule length differs from the
            checkpoint's (``max_epochs``/``max_iters``, or a parameter scheduler's ``end``):
            ``'replan'`` continues each scheduler from its saved state up to the new ``end``
            (with a log line saying so) and ``'refuse'`` raises :class:`ConfigError`.
            Defaults to 'replan'.
        on_optimizer_change (str): when a resumed run's optimizer settings (learning rate,
            weight decay, betas, ..., or the optimizer type) differ from the checkpoint's, which
            mmengine would silently replace by the checkpoint's: ``'apply'`` keeps the
            checkpoint's optimizer state and schedule progress but takes the config's settings
            (a new base ``lr`` rescales the current one by new / old, so the schedule continues
            from the new base), with one log line naming each change; ``'refuse'`` raises
            :class:`ConfigError` naming them. Another optimizer type is always refused (its
            state cannot carry over; train from the weights with ``load_from`` instead).
            Defaults to 'apply'.
        **kwargs: :class:`mmengine.hooks.CheckpointHook` arguments.
    """

    def __init__(self, *args, iter_interval: Optional[int] = None,
                 on_schedule_change: str = 'replan', on_optimizer_change: str = 'apply',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if on_schedule_change not in SCHEDULE_CHANGE:
            raise ValueError(f'on_schedule_change must be one of {SCHEDULE_CHANGE}, '
                             f'got {on_schedule_change!r}')
        if on_optimizer_change not in OPTIMIZER_CHANGE:
            raise ValueError(f'on_optimizer_change must be one of {OPTIMIZER_CHANGE}, '
                             f'got {on_optimizer_change!r}')
        self.on_optimizer_change = on_optimizer_change
        self._optim_apply: List[tuple] = []
        if iter_interval is not None and (not isinstance(iter_interval, int)
                                          or iter_interval <= 0):
            raise ValueError(f'iter_interval must be a positive int or None, got {iter_interval!r}')
        self.iter_interval = iter_interval
        self.on_schedule_change = on_schedule_change
        self._depth = 0
        self._removals: List[str] = []
        self._written: List[str] = []
        self._saving: Optional[str] = None
        self._last_iter_ckpt: Optional[str] = None

    # ---- atomic saves -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _atomic(self, runner):
        """Within the block: the runner's saves are atomic and the hook's deletions wait."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        original_save = runner.save_checkpoint
        backend = self.file_backend
        self._removals, self._written = [], []
        hook = self

        def save_checkpoint(out_dir, filename, *args, **kwargs):
            final = osp.join(out_dir, filename)
            tmp = osp.join(out_dir, f'.{filename}.tmp')
            hook._saving = final
            try:
                original_save(out_dir, f'.{filename}.tmp', *args, **kwargs)
                if is_main_process():
                    replace_atomically(tmp, final)
            except OSError as err:
                if osp.exists(tmp):
                    os.remove(tmp)
                last = runner.message_hub.get_info('last_ckpt') if runner.message_hub else None
                raise CheckpointError(
                    f'cannot write checkpoint {final}: {err.strerror or err} (disk full?); '
                    f'nothing was deleted, the previous checkpoint is kept'
                    f'{f" (last_checkpoint: {last})" if last and last != final else ""}'
                ) from None
            finally:
                hook._saving = None
            hook._written.append(final)

        runner.save_checkpoint = save_checkpoint  # this instance only, for this block
        self.file_backend = _DeferredRemoval(backend, self._removals)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self.file_backend = backend
            del runner.save_checkpoint
        # reached only when every save succeeded: now the outdated files may go
        if is_main_process():
            for path in self._removals:
                if path in self._written:
                    continue
                if backend.isfile(path):
                    backend.remove(path)
                elif backend.isdir(path):
                    backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        # (mmengine then writes last_checkpoint; a torn one is survived by auto-resume's
        # fallback, tr2m.utils.checkpoint.find_resumable_checkpoint)
        with self._atomic(runner):
            super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._atomic(runner):
            super()._save_best_checkpoint(runner, metrics)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if (self.iter_interval is None or not self.by_epoch
                or not self.every_n_train_iters(runner, self.iter_interval)
                or self.is_last_train_iter(runner)):
            return
        self.save_iteration_checkpoint(runner)

    def save_iteration_checkpoint(self, runner) -> str:
        """Save ``iter_<N>.pth`` now, after iteration N (called from ``after_train_iter``):
        atomically, replacing the previous iteration checkpoint, and point ``last_checkpoint``
        at it. Resuming from it continues inside its epoch (SampleSeedHook skips the batches
        done). Also what :class:`~tr2m.engine.hooks.PreemptionHook` saves on a SIGTERM.

        Returns:
            str: the checkpoint's path.
        """
        step = runner.iter + 1
        name = f'iter_{step}.pth'
        runner.logger.info(f'Saving checkpoint at {step} iterations ({name})')
        previous = self._last_iter_ckpt
        with self._atomic(runner):
            runner.save_checkpoint(self.out_dir, name, self.file_client_args,
                                   save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler,
                                   meta=dict(epoch=runner.epoch, iter=step), by_epoch=False,
                                   backend_args=self.backend_args)
            if previous and previous != osp.join(self.out_dir, name):
                self.file_backend.remove(previous)
        self._last_iter_ckpt = self.last_ckpt = osp.join(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        if is_main_process():
            tmp = osp.join(runner.work_dir, '.last_checkpoint.tmp')
            with open(tmp, 'w') as f:
                f.write(self.last_ckpt)
            replace_atomically(tmp, osp.join(runner.work_dir, 'last_checkpoint'))
        return self.last_ckpt

    # ---- what a checkpoint may hold -----------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = nonfinite_tensors(checkpoint.get('state_dict', {}), 'state_dict')
        bad += nonfinite_tensors(checkpoint.get('optimizer', {}), 'optimizer')
        if bad:
            n = len(nonfinite_tensors(checkpoint.get('state_dict', {})))
            total = len(checkpoint.get('state_dict', {}))
            raise CheckpointError(
                f'refusing to save checkpoint {self._saving or "(unnamed)"}: {len(bad)} tensors '
                f'hold NaN or inf ({n} of {total} weights; first {bad[0]}); training diverged '
                '(learning rate? NaN in the data?), see NonFiniteGuardHook')
        loop = getattr(runner, 'train_loop', None)
        if loop is not None and hasattr(loop, 'max_epochs') and hasattr(loop, 'max_iters'):
            checkpoint.setdefault('meta', {}).update(max_epochs=int(loop.max_epochs),
                                                     max_iters=int(loop.max_iters))
        elif loop is not None and hasattr(loop, 'max_iters'):
            checkpoint.setdefault('meta', {}).update(max_iters=int(loop.max_iters))

    # ---- resuming with another schedule ------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False) or getattr(runner, '_train_loop', None) is None:
            return
        loop = runner.train_loop
        if not hasattr(loop, 'max_iters'):
            return  # not built yet: no training to resume
        self._check_optimizer(runner, checkpoint)
        meta = checkpoint.get('meta', {})
        changes = []
        for key in ('max_epochs', 'max_iters'):
            if key in meta and hasattr(loop, key) and int(getattr(loop, key)) != int(meta[key]):
                changes.append(f'{key} {meta[key]} -> {getattr(loop, key)}')
        saved, current = checkpoint.get('param_schedulers'), runner.param_schedulers
        replans = []
        if saved is not None and current is not None:
            pairs = []
            if isinstance(current, dict):
                for name, schedulers in current.items():
                    pairs += list(zip(schedulers, saved.get(name, [])))
            else:
                pairs = list(zip(current, saved))
            for scheduler, state in pairs:
                old, new = state.get('end'), getattr(scheduler, 'end', None)
                if old is not None and new is not None and old != new:
                    replans.append((scheduler, state, old, new))
        if not changes and not replans:
            return
        what = '; '.join(changes + [f'{type(s).__name__} end {o} -> {n}'
                                    for s, _, o, n in replans])
        if self.on_schedule_change == 'refuse':
            raise ConfigError(
                f'resuming with a different schedule ({what}): refused because '
                'default_hooks.checkpoint.on_schedule_change=refuse; resume with the original '
                "schedule, or set it to 'replan'")
        self._replay = []
        for scheduler, state, old, new in replans:
            state['end'] = new  # continue from the saved state up to the new end
            saved_step = int(state.get('_global_step', 0))
            # steps the old schedule skipped because it had ended, which the new one makes
            # (a scheduler's step() counts _global_step up, then acts if begin <= it < end)
            missed = range(max(old, int(state.get('begin', 0))), min(saved_step + 1, new))
            if len(missed):
                self._replay.append((scheduler, missed, saved_step))
            if new < old and saved_step > new:
                runner.logger.warning(f'{type(scheduler).__name__}: the run is already past the '
                                      f'new end {new}; steps taken since cannot be undone')
        runner.logger.warning(f'resuming with a different schedule ({what}): re-planned, each '
                              'parameter scheduler continues from its saved state to its new end'
                              + (', taking the steps the old schedule skipped after its end'
                                 if self._replay else ''))

    def _check_optimizer(self, runner, checkpoint: dict) -> None:
        """Compare the config's optimizer with the checkpoint's; refuse, or plan to apply the
        config's settings once the resume has loaded the optimizer state (``before_train``)."""
        optimizer = getattr(getattr(runner, 'optim_wrapper', None), 'optimizer', None)
        current = getattr(optimizer, 'param_groups', None)  # None: a config, not built yet
        saved = (checkpoint.get('optimizer') or {}).get('param_groups')
        if not isinstance(current, list) or not isinstance(saved, list):
            return  # not built, several optimizers, or no optimizer state: nothing to compare
        changes = optimizer_changes(current, saved)
        if not changes:
            return
        seen, parts = set(), []
        for _, key, old, new in changes:
            if key not in seen:
                seen.add(key)
                parts.append(f'{key} {old} -> {new}')
        what = ', '.join(parts)
        retyped = any(old is None or new is None or key == 'param_groups'
                      for _, key, old, new in changes)
        if retyped or self.on_optimizer_change == 'refuse':
            why = ('another optimizer type or parameter grouping, whose state cannot carry '
                   'over' if retyped else
                   'default_hooks.checkpoint.on_optimizer_change=refuse')
            raise ConfigError(
                f'resuming with different optimizer settings ({what}): refused ({why}); resume '
                'with the original settings, or start a new run from the weights with '
                '--cfg-options load_from=CHECKPOINT')
        self._optim_apply = changes
        runner.logger.warning(f'resuming with different optimizer settings ({what}): the '
                              "config's are applied to the resumed optimizer state")

    def _apply_optimizer_changes(self, runner) -> None:
        """After the resume: the config's settings into the loaded optimizer groups (a base
        ``lr`` change rescales the current, scheduled ``lr`` and the schedulers' bases)."""
        groups = runner.optim_wrapper.optimizer.param_groups
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        for i, key, old, new in self._optim_apply:
            group = groups[i]
            if f'initial_{key}' in group:
                if isinstance(old, (int, float)) and old:
                    group[key] = group[key] * (float(new) / float(old))
                else:
                    group[key] = new
                group[f'initial_{key}'] = new
                for scheduler in schedulers:
                    if getattr(scheduler, 'param_name', None) == key and \
                            i < len(getattr(scheduler, 'base_values', [])):
                        scheduler.base_values[i] = new
            else:
                group[key] = new
        self._optim_apply = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._optim_apply:
            self._apply_optimizer_changes(runner)
        # after the resume loaded the schedulers' and the optimizer's states: take the steps the
        # old, shorter schedule skipped (an ExponentialLR extended from 20 to 30 epochs decays
        # as if planned for 30 from the start)
        for scheduler, missed, saved_step in getattr(self, '_replay', []):
            for step in missed:
                scheduler._global_step = step - 1
                scheduler.step()
            scheduler._global_step = saved_step
        self._replay = []
