"""Every config under ``configs/`` and ``projects/*/configs`` (not ``_base_``) parses, keeps its
inheritance depth <= 3, builds its model on CPU and runs ``loss`` and ``predict`` on a tiny
batch, then its test evaluator scores the predictions.

Full-size presets are swapped for the toy preset of the same family (each pretrained-capable
class names it: ``cls.tiny_arch(arch)``) with random weights, and decoder widths shrink, so
the whole sweep takes seconds; everything else in the config (ablation switches, losses,
alignment modes) is exercised as written.
"""
import inspect
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tr2m.registry import METRICS, MODELS
from tr2m.utils import register_all_modules

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts and 'grids' not in p.parts
                 and p.parent.name != 'compare')  # grids and comparison files: not configs
CONFIGS += sorted(p for p in REPO.glob('projects/*/configs/**/*.py') if '_base_' not in p.parts)
#: Widths of trainable parts in the sweep (the architecture is unchanged, only narrower).
TINY_WIDTHS = dict(RescaleHead=dict(channels=16), SOCProjector=dict(hidden_channels=16,
                                                                    out_channels=16),
                   GlobalScaleShiftHead=dict(channels=(16, 16), head_channels=(8,)))

register_all_modules()


def tinify(node):
    """A copy of a model config with toy presets, random weights and narrow decoders."""
    if isinstance(node, (list, tuple)):
        return type(node)(tinify(v) for v in node)
    if not isinstance(node, dict):
        return node
    out = {k: tinify(v) for k, v in node.items()}
    cls = MODELS.get(out['type']) if isinstance(out.get('type'), str) else None
    if cls is not None and hasattr(cls, 'tiny_arch'):
        arch = out.get('arch', inspect.signature(cls).parameters['arch'].default)
        out.update(arch=cls.tiny_arch(arch), pretrained=None)
        if 'input_size' in out:
            out['input_size'] = None
    if cls is not None:
        out.update(TINY_WIDTHS.get(cls.__name__, {}))
    return out


def inheritance_depth(path: str) -> int:
    """``_base_`` hops from ``path`` to its deepest base (0 for a file without ``_base_``)."""
    bases = Config._get_base_files(path)
    folder = Path(path).parent
    return max((1 + inheritance_depth(str((folder / b).resolve())) for b in bases), default=0)




def test_configs_found():
    names = {p.name for p in CONFIGS}
    assert {'tr2m_da_s.py', 'rsa_da_s.py', 'relative_da_s_median.py',
            'tr2m_da_s_text_only.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_config_builds_and_runs(path, depth_batch):
    cfg = Config.fromfile(str(path))
    assert inheritance_depth(str(path)) <= 3
    model = MODELS.build(tinify(cfg.model.to_dict()))
    torch.manual_seed(0)
    inputs, samples = depth_batch()
    model.train()
    if cfg.model.type in ('RelativeDepthBaseline', 'MetricDepthBaseline'):  # frozen
        with pytest.raises(RuntimeError, match='nothing to train'):
            model(inputs, samples, mode='loss')
    else:
        losses = model(inputs, samples, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total), losses
        total.backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()
    inputs, samples = depth_batch(gt_size=(60, 72), seed=1)  # GT kept at its own size
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    for s in preds:
        assert s.pred_depth.shape == (60, 72)
        assert torch.isfinite(s.pred_depth.data).all() and (s.pred_depth.data > 0).all()
    metric = METRICS.build(cfg.test_evaluator)
    metric.process(None, preds)
    scores = metric.evaluate(len(preds))
    assert all(torch.isfinite(torch.tensor(v)) for k, v in scores.items()
               if isinstance(v, float)), scores
