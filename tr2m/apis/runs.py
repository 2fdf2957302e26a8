"""Train and test a loaded config in this process: the core of ``tools/train.py`` and
``tools/test.py``, and what every entry of an ablation grid or a comparison runs
(:mod:`tr2m.analysis`).

Both take a config as :func:`tr2m.utils.config.load_config` returns it (strict overrides
applied; a ``cache=dict(root=...)`` config switched by ``tr2m.cache.apply_feature_cache``), check
the data (and checkpoint) before anything heavy is built, and run inside the process group of
``cfg.launcher``.
"""
import hashlib
from typing import Callable, NamedTuple, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from tr2m.apis.data_check import check_datasets
from tr2m.apis.inference import (
    check_checkpoint,
    check_checkpoint_fits,
    fit_checkable,
    is_none_checkpoint,
)
from tr2m.engine import DepthRunner, check_required_hooks
from tr2m.evaluation.functional import METRIC_KEYS
from tr2m.utils.checkpoint import check_checkpoint_file
from tr2m.utils.checkpoint_sources import is_remote_checkpoint
from tr2m.utils.dist import distributed
from tr2m.utils.errors import CheckpointError, TrainingInterrupted
from tr2m.utils.files import check_writable_dir
from tr2m.utils.workdir_lock import work_dir_lock


def train_config(cfg: Config) -> None:
    """Check the hooks the model needs (e.g. SOC's momentum update, whatever ``custom_hooks``
    holds), the work dir (writable), the checkpoint of ``load_from`` (:func:`check_load_from`)
    and every dataset training reads (one error listing all that are not prepared, with their
    prepare commands), then ``DepthRunner.from_cfg(cfg).train()`` (mmengine's runner with a
    short run header on the console, :mod:`tr2m.engine.runner`).

    The work dir is locked for the run (:func:`tr2m.utils.workdir_lock.work_dir_lock`: a second
    training on it is one line, exit code 2). A SIGTERM saves a checkpoint and raises
    :class:`~tr2m.utils.errors.TrainingInterrupted` (:class:`tr2m.engine.hooks.PreemptionHook`;
    the tools print its line and exit 0)."""
    check_writable_dir(cfg.work_dir, 'work_dir')  # read-only or a file: one line, nothing built
    check_required_hooks(cfg)
    check_load_from(cfg)
    check_datasets(cfg, ('train', 'val') if cfg.get('val_cfg') else ('train',))
    stop = None
    with work_dir_lock(cfg.work_dir), distributed(cfg):  # one training per work dir
        try:
            DepthRunner.from_cfg(cfg).train()
        except TrainingInterrupted as err:
            stop = err.with_traceback(None)
        if stop is not None:
            # An interrupted run tears down like a finished one: the runner (its model and DDP
            # reducer) goes before the process group. The traceback kept the runner's frames
            # alive, so it would have been freed only after destroy_process_group.
            import gc

            gc.collect()
    if stop is not None:
        raise stop


def check_load_from(cfg: Config) -> None:
    """Check ``cfg.load_from`` (what ``--resume`` or ``load_from=`` names) before anything is
    built: a local file must be a complete checkpoint; a URL or ``torchvision://``-style name is
    downloaded (cached) and opened weights-only, so an unsafe or unreachable one is one line
    now rather than after the model is built. A checkpoint to resume from is compared with the
    config's model on the meta device where that model loads no pretrained weights
    (:func:`~tr2m.apis.inference.check_checkpoint_fits`: another architecture is one line
    before the runner is built; with pretrained weights the load itself checks, after the
    build). ``load_from`` without resume may hold part of the model (fine-tuning): not
    compared."""
    source = cfg.get('load_from')
    if not source:
        return
    compare = bool(cfg.get('resume')) and fit_checkable(cfg.model)
    if is_remote_checkpoint(source) or compare:
        ckpt = check_checkpoint(source)
        if compare:
            check_checkpoint_fits(cfg.model, ckpt, source)
        del ckpt
    else:
        check_checkpoint_file(source)


class TestOutcome(NamedTuple):
    """What :func:`test_config` gives back.

    Attributes:
        metrics (dict): the evaluator's metrics (``abs_rel``, ``<dataset>/abs_rel``, ...).
        protocol (dict): per dataset, the protocol the metric used (``tta`` defaults to
            ``'none'``); empty on the other ranks.
        main_process (bool): whether this process is rank 0 (the one that reports).
    """

    metrics: dict
    protocol: dict
    main_process: bool


def load_weights(runner) -> None:
    """Load the runner's checkpoint now; a checkpoint of another model is one line (a
    :class:`CheckpointError`, exit code 2 in the tools)."""
    try:
        runner.load_or_resume()
    except RuntimeError as err:
        if 'does not fit' in str(err) and not isinstance(err, CheckpointError):
            raise CheckpointError(f'checkpoint {runner._load_from}: {err}') from err
        raise


def protocol_summary(runner) -> dict:
    """Per dataset, the protocol of the runner's test metrics (``tta: none`` unless set)."""
    protocol = {}
    for metric in runner.test_evaluator.metrics:
        if hasattr(metric, 'protocol_summary'):
            protocol.update(metric.protocol_summary())
    for entry in protocol.values():  # what ran, also when nothing was augmented
        entry.setdefault('tta', 'none')
    return protocol


def test_config(cfg: Config, checkpoint: str,
                setup: Optional[Callable[[Runner], None]] = None) -> TestOutcome:
    """Test ``cfg`` with ``checkpoint`` (``'none'``: the freshly built weights).

    Args:
        cfg (Config): the loaded config (its model possibly wrapped for test-time
            augmentation).
        checkpoint (str): checkpoint file or ``'none'``; checked before anything is built.
        setup (callable, optional): called with the runner before the weights load (e.g. to
            register a visualisation hook). Defaults to None.

    Returns:
        TestOutcome: metrics, protocol and whether this process reports.
    """
    ckpt = check_checkpoint(checkpoint)
    check_checkpoint_fits(cfg.model, ckpt, checkpoint)  # another model's: before the runner
    del ckpt
    check_writable_dir(cfg.work_dir, 'work_dir')  # the test's logs go there
    check_datasets(cfg, ('test',))
    cfg.load_from = None if is_none_checkpoint(checkpoint) else checkpoint
    cfg.resume = False
    with distributed(cfg):
        runner = DepthRunner.from_cfg(cfg)
        if setup is not None:
            setup(runner)
        load_weights(runner)
        metrics = runner.test()
        main = is_main_process()  # the metric's protocol summary lives on rank 0 only
        return TestOutcome(metrics, protocol_summary(runner) if main else {}, main)


def config_hash(cfg: Config) -> str:
    """The 12-hex-digit hash of a config's text that results record."""
    return hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:12]


def format_table(metrics: dict) -> str:
    """One row per dataset prefix ('' = all), one column per metric."""
    rows = {}
    for key, value in metrics.items():
        prefix, _, name = key.rpartition('/')
        if name in METRIC_KEYS:
            rows.setdefault(prefix or 'all', {})[name] = value
    width = max([len(r) for r in rows] + [7])
    lines = ['dataset'.ljust(width) + ''.join(f'{k:>10}' for k in METRIC_KEYS)]
    for name, vals in sorted(rows.items(), key=lambda kv: (kv[0] != 'all', kv[0])):
        lines.append(name.ljust(width) + ''.join(
            f'{vals[k]:>10.4f}' if k in vals else f'{"-":>10}' for k in METRIC_KEYS))
    return '\n'.join(lines)


def per_dataset(metrics: dict, protocol: dict, digest: str) -> dict:
    """``{dataset: {metrics: {...}, protocol: {..., config_hash}}}``: each result beside the
    protocol that produced it. With one dataset the metric keys carry no prefix."""
    out = {}
    for name, proto in protocol.items():
        prefix = f'{name}/' if len(protocol) > 1 else ''
        vals = {k: metrics[prefix + k] for k in METRIC_KEYS if prefix + k in metrics}
        out[name] = dict(metrics=vals, protocol=dict(proto, config_hash=digest))
    return out


def test_result(config: str, checkpoint: str, cfg: Config, outcome: TestOutcome) -> dict:
    """The JSON ``tools/test.py --out`` writes: ``config checkpoint config_hash metrics
    protocol datasets``."""
    digest = config_hash(cfg)
    return dict(config=config, checkpoint=checkpoint, config_hash=digest,
                metrics=outcome.metrics, protocol=outcome.protocol,
                datasets=per_dataset(outcome.metrics, outcome.protocol, digest))


__all__ = ['train_config', 'check_load_from', 'test_config', 'TestOutcome', 'load_weights',
           'protocol_summary', 'config_hash', 'format_table', 'per_dataset', 'test_result']
