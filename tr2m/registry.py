"""Registries of tr2m: every mmengine root node, as a child with scope ``'tr2m'``.

Configs select components by ``type`` name; names equal class names. All ``nn.Module``s
(depthers, backbones, encoders, necks, heads, losses) live in :data:`MODELS`.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

#: Runners: ``Runner.from_cfg(cfg)``.
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='tr2m', locations=['tr2m.engine'])
#: Runner constructors: ``constructor(runner_cfg) -> Runner``.
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, scope='tr2m',
    locations=['tr2m.engine'])
#: Training / validation / test loops: ``loop.run()``.
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='tr2m', locations=['tr2m.engine'])
#: Training strategies (single device, DDP, FSDP): ``strategy.prepare(model, ...)``.
STRATEGIES = Registry(
    'strategy', parent=MMENGINE_STRATEGIES, scope='tr2m', locations=['tr2m.engine'])
#: Hooks: ``hook.after_train_iter(runner, batch_idx, data_batch, outputs)`` and friends.
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='tr2m', locations=['tr2m.engine'])

#: Datasets: ``dataset[i] -> dict`` (pipeline output: ``inputs`` and ``data_samples``).
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, scope='tr2m', locations=['tr2m.datasets'])
#: Samplers: iterables of dataset indices.
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='tr2m', locations=['tr2m.datasets'])
#: Transforms: ``transform(results: dict) -> dict | None``.
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, scope='tr2m',
    locations=['tr2m.datasets.transforms', 'tr2m.cache'])

#: Every ``nn.Module``: depthers ``(inputs, data_samples, mode)``, backbones, encoders,
#: necks, heads, losses and data preprocessors.
MODELS = Registry('model', parent=MMENGINE_MODELS, scope='tr2m',
                  locations=['tr2m.models', 'tr2m.cache'])
#: Model wrappers (DDP and friends): ``wrapper.train_step(data, optim_wrapper)``.
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='tr2m', locations=['tr2m.models'])
#: Weight initialisers: ``initializer(module)``.
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, scope='tr2m',
    locations=['tr2m.models'])

#: Optimizers: ``torch.optim.Optimizer`` subclasses.
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, scope='tr2m', locations=['tr2m.engine'])
#: Optimizer wrappers: ``wrapper.update_params(loss)``.
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='tr2m', locations=['tr2m.engine'])
#: Optimizer wrapper constructors: ``constructor(model) -> OptimWrapper``.
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='tr2m',
    locations=['tr2m.engine'])
#: Parameter schedulers: ``scheduler.step()``.
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope='tr2m',
    locations=['tr2m.engine'])

#: Metrics: ``metric.process(data_batch, data_samples)``, ``metric.compute_metrics(results)``.
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, scope='tr2m', locations=['tr2m.evaluation'])
#: Evaluators: ``evaluator.evaluate(size) -> dict``.
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, scope='tr2m', locations=['tr2m.evaluation'])

#: Task utilities built from configs inside components (caption sources:
#: ``source.captions(key, img_path=None) -> list[str]``).
TASK_UTILS = Registry(
    'task util', parent=MMENGINE_TASK_UTILS, scope='tr2m',
    locations=['tr2m.models', 'tr2m.datasets'])
#: Visualizers: ``visualizer.add_datasample(name, image, data_sample)``.
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope='tr2m', locations=['tr2m.visualization'])
#: Visualisation backends: ``backend.add_scalars(dict, step)``.
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, scope='tr2m', locations=['tr2m.visualization'])
#: Log processors: ``processor.get_log_after_iter(runner, batch_idx, mode)``.
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMENGINE_LOG_PROCESSORS, scope='tr2m', locations=['tr2m.engine'])
#: Captioners: ``captioner.caption_images(images, keys) -> list[list[Caption]]`` (RGB uint8
#: arrays and their caption keys in; one list of captions, each with its provenance, per image).
CAPTIONERS = Registry('captioner', scope='tr2m', locations=['tr2m.captioners'])
#: Inferencers: ``inferencer(inputs) -> dict``.
INFERENCERS = Registry(
    'inferencer', parent=MMENGINE_INFERENCERS, scope='tr2m', locations=['tr2m.apis'])
#: Plain functions built from configs (collate functions): ``fn(*args)``.
FUNCTIONS = Registry(
    'function', parent=MMENGINE_FUNCTIONS, scope='tr2m', locations=['tr2m.datasets'])
