"""tr2m's runner: mmengine's ``Runner`` with a console a person reads.

``DepthRunner`` is ``mmengine.runner.Runner`` with a
:class:`~tr2m.engine.hooks.PreemptionHook` (a SIGTERM saves a checkpoint and stops training
cleanly), a resume that never executes text from a checkpoint (mmengine's ``resume`` parses the
config text stored in ``meta['config']`` as a Python config, which runs any code written there;
the text is dropped when the checkpoint is loaded, see :meth:`DepthRunner.load_checkpoint`),
data loaders whose ``'auto'`` settings are resolved from the machine
(:meth:`DepthRunner.build_dataloader`), and three changes about what is shown:

- the environment and the whole config go to files of the work dir (``<work_dir>/<timestamp>/
  environment.txt``; the config as mmengine dumps it, ``<work_dir>/<config name>.py``) and to the
  run's ``.log`` file, not to the console; the hook order likewise;
- a short run header (:class:`~tr2m.engine.console.RunHeaderHook`) before training and testing;
- mmengine's two deprecation notices of every run silenced
  (:data:`~tr2m.engine.console.UPSTREAM_DEPRECATIONS`);
- dataloader configs may say ``num_workers='auto'`` and ``pin_memory='auto'``
  (:func:`tr2m.utils.workers.resolve_loader_settings`: workers from the machine's CPUs, pinned
  memory where a CUDA device is present), and the workers keep their large buffers.

Training and testing are mmengine's, unchanged. ``tr2m.apis.runs`` (what ``tools/train.py`` and
``tools/test.py`` run) builds it with ``DepthRunner.from_cfg(cfg)``.
"""
import os.path as osp
from collections import OrderedDict

from mmengine.runner import Runner
from mmengine.utils.dl_utils import collect_env

from tr2m.engine.console import RunHeaderHook, environment_text, quiet_console, write_text
from tr2m.engine.hooks.preemption_hook import PreemptionHook
from tr2m.registry import RUNNERS
from tr2m.utils.errors import CheckpointError
from tr2m.utils.workers import resolve_loader_settings, worker_init_with_buffers


@RUNNERS.register_module()
class DepthRunner(Runner):
    """``Runner`` whose console shows a run header instead of the environment and config
    dumps (see the module docstring). Same arguments as ``mmengine.runner.Runner``.

    Attributes:
        written_files (dict): ``{'config' | 'environment' | 'log': path}``, what the header
            names.
    """

    def __init__(self, *args, **kwargs) -> None:
        self.written_files = {}
        super().__init__(*args, **kwargs)
        name = osp.basename(self.cfg.filename) if self.cfg.filename else f'{self.timestamp}.py'
        self.written_files = dict(config=osp.abspath(osp.join(self.work_dir, name)),
                                  **self.written_files)
        self.register_hook(RunHeaderHook())
        self.register_hook(PreemptionHook())  # SIGTERM: checkpoint, then a clean stop

    def train(self):
        """mmengine's; whatever ends it (an exception skips ``after_train``), the signal
        handlers of the :class:`~tr2m.engine.hooks.PreemptionHook` are put back."""
        try:
            return super().train()
        finally:
            for hook in self.hooks:
                if isinstance(hook, PreemptionHook):
                    hook.restore_signals()

    def load_or_resume(self) -> None:
        """mmengine's, with a checkpoint of another model (``--resume`` or ``load_from`` after
        the architecture changed) as one line naming the file (a :class:`CheckpointError`),
        the line ``tools/test.py`` gives."""
        try:
            super().load_or_resume()
        except RuntimeError as err:
            if 'does not fit' in str(err) and not isinstance(err, CheckpointError):
                raise CheckpointError(f'checkpoint {self._load_from}: {err}') from None
            raise

    def load_checkpoint(self, *args, **kwargs) -> dict:
        """mmengine's, returning the checkpoint without ``meta['config']``: its ``resume``
        passes that text to ``Config.fromstring``, which executes it as Python (only to compare
        ``gpu_ids``, which tr2m configs do not set), so a checkpoint that loads weights-only
        could still run code on ``--resume``. tr2m never reads the stored text; the config of a
        run is the one given on the command line."""
        checkpoint = super().load_checkpoint(*args, **kwargs)
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        if isinstance(meta, dict):
            meta.pop('config', None)
        return checkpoint

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed: bool = False):
        """``Runner.build_dataloader`` after resolving ``'auto'`` loader settings; its
        workers keep their large buffers (:func:`tr2m.utils.workers.keep_large_buffers`)."""
        if not isinstance(dataloader, dict):
            return dataloader
        loader = Runner.build_dataloader(resolve_loader_settings(dataloader), seed=seed,
                                         diff_rank_seed=diff_rank_seed)
        if loader.num_workers > 0:
            loader.worker_init_fn = worker_init_with_buffers(loader.worker_init_fn)
        return loader

    def build_logger(self, *args, **kwargs):
        """mmengine's logger, with :func:`~tr2m.engine.console.quiet_console` applied."""
        logger = super().build_logger(*args, **kwargs)
        log_file = kwargs.get('log_file') or osp.join(self._log_dir, f'{self.timestamp}.log')
        self.written_files['log'] = osp.abspath(log_file)
        return quiet_console(logger)

    def _log_env(self, env_cfg: dict) -> None:
        """Write the environment to ``environment.txt`` of the log dir, and log it and the
        config as mmengine does (the console filter keeps them to the ``.log`` file)."""
        env = collect_env()
        runtime = OrderedDict(env_cfg)
        runtime.update(self._randomness_cfg)
        runtime['seed'] = self._seed
        runtime['Distributed launcher'] = self._launcher
        runtime['Distributed training'] = self._distributed
        runtime['GPU number'] = self._world_size
        self.written_files['environment'] = write_text(
            osp.join(self._log_dir, 'environment.txt'), environment_text(self, env, runtime))
        dash_line = '-' * 60
        self.logger.info('\n' + dash_line + '\nSystem environment:' + ''.join(
            f'\n    {k}: {v}' for k, v in env.items()) + '\n\nRuntime environment:' + ''.join(
            f'\n    {k}: {v}' for k, v in runtime.items()) + '\n' + dash_line + '\n')
        if self.cfg._cfg_dict:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}')


__all__ = ['DepthRunner']
