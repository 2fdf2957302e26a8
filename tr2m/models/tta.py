"""Flip test-time augmentation for any depther (mmengine ``BaseTTAModel``).

What the toolboxes do (read from their evaluation code):

- ZoeDepth (``evaluate.py``, ``infer``; ``DepthModel.infer_with_flip_aug``): predict the image
  and its horizontal mirror, mirror the second prediction back, average the two **depth** maps
  with equal weights. Depth Anything's metric evaluation reuses ZoeDepth's code.
- NeWCRFs (``eval.py``, ``post_process_depth`` in ``utils.py``, from monodepth2 / packnet-sfm):
  the same two predictions, averaged in the middle of the image, but within 5% of the left edge
  only the mirrored-back prediction counts and within 5% of the right edge only the original,
  with linear ramps over the next 5% (``mask = 1 - clip(20 (x - 0.05), 0, 1)``, ``x`` in [0, 1]
  across the width).
- BTS's released evaluation (``bts_eval.py`` / ``bts_test.py``) does not flip.

``DepthTTAModel(merge='mean')`` is ZoeDepth's rule, ``merge='border_blend'`` NeWCRFs'. The
mirrored pass sees the mirrored image and samples whose pixel fields (``gt_depth``,
``gt_valid``, ``rel_depth``) are mirrored too and whose metainfo says ``flip=True`` (``cx`` of
the intrinsics becomes ``W - 1 - cx``), exactly as ``RandomFlip`` would produce them. The merged
sample is the original one with ``pred_depth`` (and ``pred_scale``, ``pred_shift``,
``pred_rel_depth`` when present) replaced by the merged maps -- the scale and shift maps are
merged by the same rule, so for TR2M ``pred_depth`` is the merge of ``1 / (A Dr + B)`` of both
passes, not ``1 / (merged A * Dr + merged B)`` -- and its run notes (metainfo ``run_notes``, a
:class:`~tr2m.structures.RunNotes`) record ``tta='flip'`` and ``tta_merge``.

``tools/test.py --flip-test`` and ``tools/infer.py --flip-test`` wrap the config's model in it.
"""
import copy
from typing import Any, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from torch import Tensor, nn

from tr2m.registry import MODELS
from tr2m.structures import NOTES_KEY, notes_of
from tr2m.utils.choices import FLIP_MERGES

# FLIP_MERGES: ways to merge a prediction with the mirrored-back prediction of the mirrored
# image (defined without torch, for the tools' argument parsers).

#: Fields merged across the two passes (when the samples have them).
MERGED_FIELDS = ('pred_depth', 'pred_scale', 'pred_shift', 'pred_rel_depth')


def merge_flip(pred: Tensor, pred_flipped_back: Tensor, merge: str = 'mean') -> Tensor:
    """Merge a prediction ``(..., H, W)`` with the mirrored-back prediction of the mirrored
    image (see the module docstring for the rules).

    Raises:
        ValueError: unknown ``merge`` or shapes that differ.
    """
    if pred.shape != pred_flipped_back.shape:
        raise ValueError(f'predictions differ in shape: {tuple(pred.shape)} vs '
                         f'{tuple(pred_flipped_back.shape)}')
    mean = 0.5 * (pred + pred_flipped_back)
    if merge == 'mean':
        return mean
    elif merge == 'border_blend':
        w = pred.shape[-1]
        xs = torch.linspace(0.0, 1.0, w, device=pred.device, dtype=pred.dtype)
        left = 1.0 - torch.clamp(20.0 * (xs - 0.05), 0.0, 1.0)  # 1 at the left edge
        right = left.flip(-1)
        return right * pred + left * pred_flipped_back + (1.0 - left - right) * mean
    else:
        raise ValueError(f'unknown flip merge {merge!r}; valid: {FLIP_MERGES}')


def flip_sample(sample, width: Optional[int] = None):
    """A mirrored copy of a data sample: every pixel field flipped along the width, metainfo
    ``flip`` toggled and the intrinsics' ``cx`` mirrored (``width``: the image's)."""
    out = copy.deepcopy(sample)
    for key in list(out.keys()):
        value = getattr(out, key)
        if isinstance(value, PixelData):
            setattr(out, key, PixelData(data=value.data.flip(-1), metainfo=value.metainfo))
    meta = {'flip': not bool(out.metainfo.get('flip', False)),
            'flip_direction': 'horizontal'}
    intrinsics = out.metainfo.get('intrinsics')
    if intrinsics is not None and width is not None:
        fx, fy, cx, cy = intrinsics
        meta['intrinsics'] = [fx, fy, width - 1 - cx, cy]
    out.set_metainfo(meta)
    return out


def flip_batch(data: dict) -> dict:
    """A mirrored copy of a dataloader batch ``dict(inputs, data_samples)``; inputs are a list
    of ``(3, H, W)`` tensors or one ``(B, 3, H, W)`` tensor."""
    inputs = data['inputs']
    if isinstance(inputs, Tensor):
        flipped = inputs.flip(-1)
        widths = [inputs.shape[-1]] * inputs.shape[0]
    else:
        flipped = [x.flip(-1) for x in inputs]
        widths = [x.shape[-1] for x in inputs]
    samples = data.get('data_samples')
    out = dict(data, inputs=flipped)
    if samples is not None:
        out['data_samples'] = [flip_sample(s, w) for s, w in zip(samples, widths)]
    return out


@MODELS.register_module()
class DepthTTAModel(BaseTTAModel):
    """Horizontal-flip test-time augmentation around any depther.

    Args:
        module (dict | nn.Module): the depther (config or built).
        merge (str): ``'mean'`` (ZoeDepth, default) or ``'border_blend'`` (NeWCRFs).
        data_preprocessor (dict, optional): passed to ``module`` when it is a config.
    """

    def __init__(self, module: Union[dict, nn.Module], merge: str = 'mean',
                 data_preprocessor: Optional[dict] = None) -> None:
        if merge not in FLIP_MERGES:
            raise ValueError(f'unknown flip merge {merge!r}; valid: {FLIP_MERGES}')
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.merge = merge

    def test_step(self, data: Any) -> list:
        """Predict the batch and its mirror image, merge per sample.

        A ``dict`` batch (the dataloader's) is mirrored here; a list of augmented batches (an
        mmengine ``TestTimeAug`` pipeline) is handled by ``BaseTTAModel``, and must then hold
        the un-flipped view first.
        """
        if not isinstance(data, dict):
            return super().test_step(data)
        preds = self.module.test_step(data)
        preds_flipped = self.module.test_step(flip_batch(data))
        return self.merge_preds([list(p) for p in zip(preds, preds_flipped)])

    def merge_preds(self, data_samples_list: Sequence[List]) -> list:
        """Merge ``[[plain, mirrored], ...]`` per sample (the mirrored one has ``flip`` set)."""
        merged = []
        for samples in data_samples_list:
            plain = [s for s in samples if not s.metainfo.get('flip', False)]
            mirrored = [s for s in samples if s.metainfo.get('flip', False)]
            if len(plain) != 1 or len(mirrored) != 1:
                raise ValueError(f'flip TTA needs one plain and one mirrored prediction per '
                                 f'sample, got {len(plain)} and {len(mirrored)}')
            out, other = plain[0], mirrored[0]
            for key in MERGED_FIELDS:
                if key in out and key in other:
                    back = getattr(other, key).data.flip(-1)
                    setattr(out, key, PixelData(
                        data=merge_flip(getattr(out, key).data, back, self.merge)))
            notes = notes_of(out).replace(tta='flip', tta_merge=self.merge)
            out.set_metainfo({NOTES_KEY: notes})
            merged.append(out)
        return merged


def wrap_flip_tta(model: nn.Module, merge: str = 'mean') -> DepthTTAModel:
    """Wrap a built depther; ``cfg`` (the config :func:`tr2m.apis.init_depther` attached)
    carries over."""
    tta = DepthTTAModel(model, merge=merge)
    if hasattr(model, 'cfg'):
        tta.cfg = model.cfg
    tta.train(model.training)
    return tta


__all__ = ['DepthTTAModel', 'merge_flip', 'flip_sample', 'flip_batch', 'wrap_flip_tta',
           'FLIP_MERGES']
