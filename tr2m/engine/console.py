"""A console a person reads: a short run header instead of mmengine's dumps.

mmengine's runner prints ~350 lines before the first training line: the system and runtime
environment, the whole config and the order of every hook. :class:`DepthRunner` (tr2m's
runner, ``tr2m/engine/runner.py``) keeps all of it in files of the work dir and in the run's
``.log`` file, and shows the console instead

- the run header of :class:`RunHeaderHook` (config, work dir, data sizes, model, device,
  precision, seed, and where the full config, the environment and the log were written);
- none of the two deprecation notices mmengine's own checkpoint hook triggers on every run
  (:data:`UPSTREAM_DEPRECATIONS`, dropped everywhere by :class:`UpstreamDeprecationFilter`).
"""
import logging
import os.path as osp
import sys
from typing import Optional

from mmengine.hooks import Hook

from tr2m.registry import HOOKS
from tr2m.utils.files import is_disk_full

#: The beginnings of the two notices mmengine logs on every run (``CheckpointHook`` infers a
#: ``FileClient`` for the work dir): about mmengine's own internals, nothing a user can act on.
UPSTREAM_DEPRECATIONS = (
    '"FileClient" will be deprecated in future.',
    '"HardDiskBackend" is the alias of "LocalBackend" and the former will be deprecated',
)
#: The beginnings of the runner's long messages kept off the console (the ``.log`` file and
#: the work dir's files keep them).
CONSOLE_DIGESTS = (
    '\n' + '-' * 60 + '\nSystem environment:',
    'Config:\n',
    'Hooks will be executed in the following order:',
    'Distributed training is not used, all SyncBatchNorm',
)


class UpstreamDeprecationFilter(logging.Filter):
    """Drops exactly the records of :data:`UPSTREAM_DEPRECATIONS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(UPSTREAM_DEPRECATIONS)


class ConsoleDigestFilter(logging.Filter):
    """Keeps the records of :data:`CONSOLE_DIGESTS` off a console handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(CONSOLE_DIGESTS)


def is_console(handler: logging.Handler) -> bool:
    """A handler that writes to a terminal stream (not a file)."""
    return isinstance(handler, logging.StreamHandler) and \
        not isinstance(handler, logging.FileHandler)


def stop_on_full_disk(handler: logging.Handler) -> logging.Handler:
    """Make a file handler raise when its disk is full, instead of printing logging's
    "--- Logging error ---" traceback for every record and carrying on: the run stops at once
    with the one line of :func:`tr2m.utils.cli.run`, its last complete checkpoint kept."""
    if getattr(handler, '_tr2m_stops_on_full_disk', False):
        return handler
    original = handler.handleError

    def handle_error(record: logging.LogRecord) -> None:
        err = sys.exc_info()[1]
        if err is not None and is_disk_full(err):
            raise err
        original(record)

    handler.handleError = handle_error
    handler._tr2m_stops_on_full_disk = True
    return handler


def quiet_console(logger: logging.Logger) -> logging.Logger:
    """Attach the two filters to ``logger`` (once): the deprecations dropped everywhere, the
    digests kept off its console handlers; its file handlers stop the run when the disk is
    full (:func:`stop_on_full_disk`). Returns the logger."""
    if not any(isinstance(f, UpstreamDeprecationFilter) for f in logger.filters):
        logger.addFilter(UpstreamDeprecationFilter())
    for handler in logger.handlers:
        if is_console(handler) and \
                not any(isinstance(f, ConsoleDigestFilter) for f in handler.filters):
            handler.addFilter(ConsoleDigestFilter())
        elif isinstance(handler, logging.FileHandler):
            stop_on_full_disk(handler)
    return logger


def _count(loader) -> Optional[int]:
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return None


def _precision(cfg, mode: str) -> str:
    """What the run computes in: the optimizer wrapper's autocast (train) or ``test_cfg.fp16``."""
    if mode == 'test':
        return 'float16 autocast' if cfg.get('test_cfg', {}).get('fp16') else 'float32'
    wrapper = cfg.get('optim_wrapper', {})
    kind = wrapper.get('type', 'OptimWrapper')
    if kind == 'AmpOptimWrapper':
        return f"{wrapper.get('dtype') or 'float16'} autocast with loss scaling"
    if kind == 'AutocastOptimWrapper':
        return f"{wrapper.get('dtype', 'bfloat16')} autocast (losses in float32)"
    return 'float32'


def _parameters(model) -> str:
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return f'{trainable / 1e6:.2f}M trainable of {total / 1e6:.2f}M parameters'


def run_header(runner, mode: str) -> str:
    """The few lines :class:`RunHeaderHook` prints for a ``'train'`` or ``'test'`` run."""
    cfg = runner.cfg
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    if mode == 'train':
        sizes = [('train', _count(runner.train_dataloader))]
        if getattr(runner, '_val_loop', None) is not None and hasattr(runner.val_loop,
                                                                      'dataloader'):
            sizes.append(('val', _count(runner.val_loop.dataloader)))
    else:
        sizes = [('test', _count(runner.test_loop.dataloader))]
    data = ', '.join(f'{name} {n if n is not None else "?"} images' for name, n in sizes)
    try:
        device = str(next(model.parameters()).device)
    except StopIteration:
        device = 'cpu'
    seed = cfg.get('randomness', {}).get('seed')
    deterministic = cfg.get('randomness', {}).get('deterministic', False)
    written = getattr(runner, 'written_files', {})
    rows = [
        ('config', cfg.filename or '(built in code)'),
        ('work dir', runner.work_dir),
        ('data', data),
        ('model', f'{type(model).__name__}: {_parameters(model)}'),
        ('device', f'{device}, {runner.world_size} process(es), precision '
                   f'{_precision(cfg, mode)}'),
        ('seed', f'{seed}{" (deterministic)" if deterministic else ""}'),
    ]
    rows += [(f'full {name}', path) for name, path in written.items()]
    width = max(len(name) for name, _ in rows)
    lines = [f'tr2m {mode}'] + [f'  {name.ljust(width)}  {value}' for name, value in rows]
    return '\n'.join(lines)


@HOOKS.register_module()
class RunHeaderHook(Hook):
    """Print :func:`run_header` before training and before testing (rank 0's console and the
    ``.log`` file). :class:`~tr2m.engine.runner.DepthRunner` registers it."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        runner.logger.info(run_header(runner, 'train'))

    def before_test(self, runner) -> None:
        runner.logger.info(run_header(runner, 'test'))


def environment_text(runner, env: dict, runtime: dict) -> str:
    """The environment as mmengine collects it, one ``key: value`` a line."""
    lines = ['System environment:'] + [f'  {k}: {v}' for k, v in env.items()]
    lines += ['', 'Runtime environment:'] + [f'  {k}: {v}' for k, v in runtime.items()]
    return '\n'.join(lines) + '\n'


def write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` (its folder exists); returns the path."""
    with open(path, 'w') as f:
        f.write(text)
    return osp.abspath(path)


__all__ = ['UPSTREAM_DEPRECATIONS', 'CONSOLE_DIGESTS', 'UpstreamDeprecationFilter',
           'ConsoleDigestFilter', 'quiet_console', 'run_header', 'RunHeaderHook',
           'environment_text', 'write_text']
