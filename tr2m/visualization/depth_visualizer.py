"""``DepthVisualizer``: mmengine's ``Visualizer`` that draws depth panels for data samples."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.visualization import Visualizer

from tr2m.registry import VISUALIZERS
from tr2m.visualization.depth_panels import (
    DepthStyle,
    Figure,
    render_comparison,
    render_panels,
    save_rgb,
)


def _field(sample, name: str):
    """``sample.<name>`` or None (DepthDataSample or dict)."""
    if sample is None:
        return None
    if isinstance(sample, dict):
        return sample.get(name)
    return getattr(sample, name) if name in sample else None


def _meta(sample, name: str, default=None):
    if isinstance(sample, dict):
        return sample.get(name, default)
    return sample.metainfo.get(name, default)


@VISUALIZERS.register_module()
class DepthVisualizer(Visualizer):
    """Depth panels (image | GT | prediction | AbsRel | scale A | shift B) of a
    :class:`~tr2m.structures.DepthDataSample`, sent to every visualisation backend (local
    files, TensorBoard) or written to a file.

    The look is :class:`~tr2m.visualization.depth_panels.DepthStyle` (the arguments below);
    units, range and evaluation mask come from each sample's ``protocol``.

    Args:
        name (str): instance name. Defaults to 'visualizer'.
        vis_backends (list, optional): backend configs, e.g.
            ``[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]``.
        save_dir (str, optional): the backends' folder (the runner sets it).
        cmap (str): depth colour map, near = warm. Defaults to 'turbo'.
        depth_scale (str): ``'linear'``, ``'log'`` or ``'inverse'``. Defaults to 'linear'.
        depth_range: ``'image'`` (per image), ``'protocol'`` (the evaluation range) or a fixed
            ``(lo, hi)`` in the sample's unit. Defaults to 'image'.
        error_max (float, optional): fixed top of the AbsRel bar (None: per image).
        invalid (str): ``'hatch'`` or ``'grey'`` for pixels without GT. Defaults to 'hatch'.
        panel_width (int): pixels per panel. Defaults to 320.
        ncols (int): panels per row. Defaults to 3.
    """

    def __init__(self, name: str = 'visualizer', vis_backends=None,
                 save_dir: Optional[str] = None, cmap: str = 'turbo',
                 depth_scale: str = 'linear',
                 depth_range: Union[str, Tuple[float, float]] = 'image',
                 error_max: Optional[float] = None, invalid: str = 'hatch',
                 panel_width: int = 320, ncols: int = 3, **kwargs) -> None:
        super().__init__(name=name, vis_backends=vis_backends, save_dir=save_dir, **kwargs)
        self.style = DepthStyle(cmap=cmap, depth_scale=depth_scale, depth_range=depth_range,
                                error_max=error_max, invalid=invalid, panel_width=panel_width,
                                ncols=ncols)

    def render(self, image, data_sample, title: Optional[str] = None,
               warnings: Sequence[str] = ()) -> Figure:
        """The panels of one sample (no backend is touched).

        Args:
            image: RGB ``(H, W, 3)`` uint8 or the network's ``(3, H, W)`` input tensor.
            data_sample: a ``DepthDataSample`` (or dict) with ``pred_depth`` and optionally
                ``gt_depth``, ``gt_valid``, ``pred_scale``, ``pred_shift``, ``caption`` and
                metainfo ``protocol``.
            title (str, optional): first footer line.
            warnings (Sequence[str]): footer lines in red.
        """
        return render_panels(
            image, pred=_field(data_sample, 'pred_depth'), gt=_field(data_sample, 'gt_depth'),
            gt_valid=_field(data_sample, 'gt_valid'), scale=_field(data_sample, 'pred_scale'),
            shift=_field(data_sample, 'pred_shift'), caption=_field(data_sample, 'caption'),
            protocol=_meta(data_sample, 'protocol'), style=self.style, title=title,
            warnings=warnings)

    def render_comparison(self, image, data_samples: Sequence, names: Sequence[str],
                          warnings: Sequence[str] = ()) -> Figure:
        """Several models' predictions of the same sample (GT from the first)."""
        first = data_samples[0]
        return render_comparison(
            image, [dict(depth=_field(s, 'pred_depth')) for s in data_samples], names,
            gt=_field(first, 'gt_depth'), gt_valid=_field(first, 'gt_valid'),
            caption=_field(first, 'caption'), protocol=_meta(first, 'protocol'),
            style=self.style, warnings=warnings)

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None, step: int = 0,
                       title: Optional[str] = None, warnings: Sequence[str] = ()) -> Figure:
        """Render the panels of ``data_sample``; write them to ``out_file`` if given, else send
        them to the backends as image ``name`` at ``step``.

        ``draw_gt=False`` leaves the GT out (and with it the error panel and metrics);
        ``draw_pred`` must be True (a depth panel figure is about a prediction); ``show`` is
        not supported (headless). Returns the :class:`Figure`.
        """
        if not draw_pred:
            raise ValueError('DepthVisualizer draws predictions; draw_pred=False is not '
                             'supported')
        if show:
            raise ValueError('DepthVisualizer is headless (show=True is not supported); '
                             'use out_file= or a vis backend')
        sample = data_sample
        if not draw_gt and sample is not None:
            sample = {k: _field(sample, k) for k in ('pred_depth', 'pred_scale', 'pred_shift',
                                                    'caption')}
            sample['protocol'] = _meta(data_sample, 'protocol')
        figure = self.render(image, sample, title=title, warnings=warnings)
        if out_file is not None:
            save_rgb(out_file, figure.image)
        else:
            self.add_image(name, figure.image, step)
        return figure


__all__ = ['DepthVisualizer']
