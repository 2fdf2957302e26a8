"""``NonFiniteGuardHook``: stop (or skip the step) when a loss or the relative depth is NaN/inf.

Without it a NaN in one image's relative depth makes every loss NaN from the first iteration,
the optimizer writes NaN into the weights, and training carries on and saves them. The guard
looks at each training step *before* the backward pass: the loss terms the model returned, the
relative depth it used (its ``relative_depth`` module's output, or the samples' precomputed
``rel_depth``), and after the optimizer step the trainable weights. It also counts the images of
a batch without any valid GT pixel (``empty_gt_images`` in the log) and warns when a whole batch
has none, instead of training silently at loss 0.
"""
import logging
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from tr2m.registry import HOOKS
from tr2m.utils.dist import get_world_size
from tr2m.utils.errors import UserError

ACTIONS = ('stop', 'skip')


class NonFiniteLossError(UserError, FloatingPointError):
    """Training produced a NaN or inf loss, relative depth or weight."""


def _names(samples, limit: int) -> str:
    paths = [str((s.metainfo if hasattr(s, 'metainfo') else {}).get('img_path', f'#{i}'))
             for i, s in enumerate(samples or [])]
    more = f' (+{len(paths) - limit} more)' if len(paths) > limit else ''
    return ', '.join(paths[:limit]) + more if paths else 'unknown'


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Check every training step for NaN/inf before it can reach the weights.

    With ``action='stop'`` a non-finite loss term or relative depth raises
    :class:`NonFiniteLossError` naming the iteration, the loss terms and their values, and the
    images (those with a non-finite relative depth first). With ``action='skip'`` the step is
    skipped instead (no weight update; under DDP every rank skips together) and counted as
    ``nonfinite_skips`` in the log. Weights that become non-finite in an optimizer step (a
    diverging update, ``lr=inf``) always stop training: nothing can be skipped any more.

    Args:
        action (str): ``'stop'`` or ``'skip'``. Defaults to 'stop'.
        param_check_interval (int): check the trainable weights after every n-th optimizer
            step (0: never). Defaults to 1.
        max_names (int): at most this many image paths in a message. Defaults to 6.
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'stop', param_check_interval: int = 1,
                 max_names: int = 6) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteGuardHook action must be one of {ACTIONS}, '
                             f'got {action!r}')
        self.action = action
        self.param_check_interval = int(param_check_interval)
        self.max_names = max_names
        self.skipped = 0
        self._handles: List = []
        self._wrapper = None
        self._clear()

    def _clear(self) -> None:
        self._losses: Optional[dict] = None
        self._samples = None
        self._rel_bad: Optional[Tensor] = None

    # ---- capture what the model computed ------------------------------------------------------
    def _on_forward(self, module, args, kwargs, output) -> None:
        if module.training and isinstance(output, dict):
            self._losses = output
            self._samples = kwargs.get('data_samples', args[1] if len(args) > 1 else None)

    def _on_relative(self, module, args, output) -> None:
        if isinstance(output, Tensor) and output.dim() >= 1:
            self._rel_bad = ~torch.isfinite(output.detach()).flatten(1).all(1)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._model = model
        self._handles = [model.register_forward_hook(self._on_forward, with_kwargs=True)]
        rel = getattr(model, 'relative_depth', None)
        if isinstance(rel, nn.Module):
            self._handles.append(rel.register_forward_hook(self._on_relative))
        wrapper = runner.optim_wrapper
        if not hasattr(wrapper, 'optimizer'):  # OptimWrapperDict: weights checked after a step
            return
        original = wrapper.update_params

        def update_params(loss, *args, **kwargs):
            return self._guarded(runner, original, loss, *args, **kwargs)

        wrapper.update_params = update_params  # this wrapper instance only, until after_train
        self._wrapper = wrapper

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._wrapper is not None:
            del self._wrapper.update_params
            self._wrapper = None

    # ---- the checks ---------------------------------------------------------------------------
    def _bad_relative(self) -> List[int]:
        if self._rel_bad is not None and self._rel_bad.numel() == len(self._samples or []):
            return [int(i) for i in torch.nonzero(self._rel_bad).flatten()]
        bad = []
        for i, s in enumerate(self._samples or []):
            if 'rel_depth' in s and not bool(torch.isfinite(s.rel_depth.data).all()):
                bad.append(i)
        return bad

    def _describe(self, runner, terms: dict, rel_bad: List[int], local: bool) -> str:
        where = f'iter {runner.iter + 1} (epoch {runner.epoch + 1})'
        if not local:
            return f'non-finite loss or relative depth on another rank at {where}'
        parts = []
        if terms:
            parts.append('non-finite loss ' + ', '.join(f'{k}={v:g}' for k, v in terms.items()))
        if rel_bad:
            samples = self._samples or []
            parts.append(f'relative depth with NaN/inf in {len(rel_bad)} of {len(samples)} '
                         f'images: {_names([samples[i] for i in rel_bad], self.max_names)}')
        if not parts:
            parts.append('non-finite total loss')
        return (f'{where}: ' + '; '.join(parts)
                + f'; batch: {_names(self._samples, self.max_names)}')

    def _count_empty_gt(self, runner) -> None:
        samples = self._samples or []
        empty = []
        for s in samples:
            if 'gt_depth' not in s:
                continue
            gt = s.gt_depth.data
            valid = (gt > 0) & torch.isfinite(gt)
            if 'gt_valid' in s:
                valid &= s.gt_valid.data.bool()
            if not bool(valid.any()):
                empty.append(s)
        runner.message_hub.update_scalar('train/empty_gt_images', float(len(empty)))
        if samples and len(empty) == len(samples):
            print_log(f'iter {runner.iter + 1}: no image of the batch has a valid GT pixel, so '
                      f'its GT losses are 0 (check the depth decoding and range): '
                      f'{_names(empty, self.max_names)}', logger='current',
                      level=logging.WARNING)

    def _guarded(self, runner, original, loss: Tensor, *args, **kwargs):
        terms = {k: float(v.detach().float().mean()) for k, v in (self._losses or {}).items()
                 if 'loss' in k and isinstance(v, Tensor) and not bool(torch.isfinite(v).all())}
        rel_bad = self._bad_relative()
        local_bad = bool(terms) or bool(rel_bad) or not bool(torch.isfinite(loss).all())
        flag = torch.tensor(float(local_bad), device=loss.device)
        if get_world_size() > 1:
            torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MAX)
        if bool(flag > 0):
            message = self._describe(runner, terms, rel_bad, local_bad)
            self._clear()
            if self.action == 'stop':
                raise NonFiniteLossError(
                    f'{message}; training stopped before the weights were updated (set '
                    "default_hooks.nonfinite_guard.action='skip' to skip such steps)")
            self.skipped += 1
            runner.message_hub.update_scalar('train/nonfinite_skips', float(self.skipped))
            runner.message_hub.update_info('skipped_iter', runner.iter)  # SOCMomentumHook reads it
            runner.logger.warning(f'skipped the step, {message} ({self.skipped} skipped)')
            self._skip_step(runner)
            return None
        self._count_empty_gt(runner)
        self._clear()
        result = original(loss, *args, **kwargs)
        self._check_weights(runner)
        return result

    def _skip_step(self, runner) -> None:
        """No update; under DDP a zero backward keeps every rank's reducer in step."""
        wrapper = runner.optim_wrapper
        if is_model_wrapper(runner.model) and get_world_size() > 1:
            params = [p for p in runner.model.parameters() if p.requires_grad]
            if params:
                sum(p.sum() * 0 for p in params).backward()
        wrapper.zero_grad()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._wrapper is None:  # update_params not wrapped: check after the step
            self._check_weights(runner)

    def _check_weights(self, runner) -> None:
        n = self.param_check_interval
        if n <= 0 or (runner.iter + 1) % n:
            return
        named = [(k, p) for k, p in self._model.named_parameters() if p.requires_grad]
        if not named:
            return
        finite = torch.stack([torch.isfinite(p.detach()).all() for _, p in named])
        if bool(finite.all()):
            return
        bad = [k for (k, _), ok in zip(named, finite.tolist()) if not ok]
        lrs = runner.optim_wrapper.get_lr() if hasattr(runner.optim_wrapper, 'get_lr') else {}
        lr = lrs.get('lr', ['?']) if isinstance(lrs, dict) else '?'
        raise NonFiniteLossError(
            f'iter {runner.iter + 1} (epoch {runner.epoch + 1}): {len(bad)} of {len(named)} '
            f'trainable weight tensors became NaN/inf in the optimizer step although the loss '
            f'was finite (first: {", ".join(bad[:3])}): the update diverged; check '
            f'optim_wrapper.optimizer.lr (now {lr[0] if isinstance(lr, list) else lr}) and '
            'gradient clipping (optim_wrapper.clip_grad)')
