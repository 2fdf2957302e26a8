"""``DepthDataSample``: the one record that travels from the pipeline to the metric."""
from typing import Optional

from mmengine.structures import BaseDataElement, PixelData


class DepthDataSample(BaseDataElement):
    """Annotations, inputs and predictions of one image.

    Data fields (each a :class:`~mmengine.structures.PixelData` whose ``data`` is ``(1, H, W)``):

    - ``gt_depth``: metric ground truth in the dataset's working unit (metres, or millimetres
      for the endoscopic sets); 0 where invalid.
    - ``gt_valid``: boolean mask of pixels with a usable ground truth.
    - ``rel_depth``: relative inverse depth, an **input** precomputed by the pipeline (at the
      network's input size); depthers read it instead of running their relative model.
    - ``pred_depth``: predicted metric depth (at the GT resolution after ``predict``).
    - ``pred_rel_depth``: the relative inverse depth the depther used, a **prediction** (at the
      GT resolution after ``predict``; what the inverse-space alignments fit).
    - ``pred_scale`` / ``pred_shift``: TR2M's scale and shift maps, when asked for.

    Plain fields: ``caption`` (str).

    Metainfo keys set by the pipeline: ``img_path``, ``depth_path``, ``ori_shape``, ``img_shape``,
    ``flip``, ``intrinsics`` (``[fx, fy, cx, cy]`` in pixels of the current image, or None),
    ``dataset_name``, ``protocol`` (a :class:`~tr2m.structures.DepthProtocol`: range, crop,
    units; read it with :func:`~tr2m.structures.protocol_of`), ``run_notes`` (a
    :class:`~tr2m.structures.RunNotes`: caption index, caption swap, TTA, when set).
    """

    def _pixel_property(name: str, doc: str):  # noqa: N805 - helper used at class creation

        def getter(self) -> PixelData:
            return getattr(self, '_' + name)

        def setter(self, value: PixelData) -> None:
            self.set_field(value, '_' + name, dtype=PixelData)

        def deleter(self) -> None:
            del self['_' + name]

        return property(getter, setter, deleter, doc)

    gt_depth = _pixel_property('gt_depth', 'Metric ground-truth depth, ``(1, H, W)``.')
    gt_valid = _pixel_property('gt_valid', 'Boolean mask of valid ground truth, ``(1, H, W)``.')
    rel_depth = _pixel_property('rel_depth', 'Precomputed relative inverse depth, ``(1, H, W)``.')
    pred_depth = _pixel_property('pred_depth', 'Predicted metric depth, ``(1, H, W)``.')
    pred_rel_depth = _pixel_property('pred_rel_depth',
                                     'Relative inverse depth the depther used, ``(1, H, W)``.')
    pred_scale = _pixel_property('pred_scale', 'Predicted scale map A, ``(1, H, W)``.')
    pred_shift = _pixel_property('pred_shift', 'Predicted shift map B, ``(1, H, W)``.')
    del _pixel_property

    @property
    def caption(self) -> Optional[str]:
        """The caption describing the image, or None."""
        return self._caption if '_caption' in self else None

    @caption.setter
    def caption(self, value: str) -> None:
        self.set_field(value, '_caption', dtype=str)

    @caption.deleter
    def caption(self) -> None:
        del self._caption
