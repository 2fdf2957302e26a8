"""``RelativeDepthBaseline``: the frozen relative model alone, for evaluation-time alignment."""
from typing import Dict, Optional, Union

from torch import Tensor, nn

from tr2m.models.depthers.base import (
    BaseDepther,
    GroundTruth,
    SampleList,
    build_module,
    relative_inverse_depth,
)
from tr2m.registry import MODELS


@MODELS.register_module()
class RelativeDepthBaseline(BaseDepther):
    """A relative-depth model evaluated with alignment at test time (the paper's baselines).

    ``predict`` sets each sample's ``pred_rel_depth`` (the relative inverse depth) and
    ``pred_depth = 1 / max(rel, min_rel)``, both at the GT resolution, so every alignment mode
    of :class:`~tr2m.evaluation.DepthMetric` applies: ``'median'`` and ``'lsq'`` work on
    ``pred_depth``, ``'lsq_inverse'`` and ``'global'`` (inverse space) fit ``pred_rel_depth``.
    Without alignment the numbers are meaningless (the scale is arbitrary). Nothing trains:
    evaluate with ``python tools/test.py CONFIG none``.

    Args:
        relative_depth (dict | nn.Module): frozen relative inverse-depth model,
            ``(images, data_samples) -> (B, 1, H, W)``. Skipped when every sample carries a
            precomputed ``rel_depth``.
        min_rel (float): floor of the relative inverse depth before inverting (relative models
            output 0 at the sky). Defaults to 1e-6.
        soc (dict | nn.Module, optional): accepted as by every depther; nothing trains here.
            Defaults to None.
        data_preprocessor (dict, optional): defaults to ``DepthDataPreprocessor``.
    """

    def __init__(self, relative_depth, min_rel: float = 1e-6,
                 soc: Union[dict, nn.Module, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.relative_depth = build_module(relative_depth)
        self.min_rel = min_rel
        self.attach_soc(soc)

    def _run(self, inputs: Tensor, data_samples: Optional[SampleList]):
        rel = relative_inverse_depth(self.relative_depth, inputs, data_samples)
        return rel, 1.0 / rel.clamp_min(self.min_rel)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        return self._run(inputs, data_samples)[1]

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        rel, depth = self._run(inputs, data_samples)
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=depth,
                             pred_rel_depth=rel)

    def loss(self, inputs: Tensor, data_samples: SampleList,
             gt: Optional[GroundTruth] = None) -> Dict[str, Tensor]:
        raise RuntimeError(
            'RelativeDepthBaseline has nothing to train: it is the frozen relative model '
            'evaluated with alignment. Run `python tools/test.py CONFIG none` with '
            "test_evaluator=dict(type='DepthMetric', alignment='median'|'lsq'|'lsq_inverse'|"
            "'global').")
