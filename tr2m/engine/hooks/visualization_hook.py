"""``DepthVisualizationHook``: depth panels of the test (or validation) images to files."""
import copy
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tr2m.registry import HOOKS
from tr2m.visualization.depth_panels import DepthStyle, save_rgb
from tr2m.visualization.depth_visualizer import DepthVisualizer


def _visualizer(runner) -> DepthVisualizer:
    """The runner's visualizer when it draws depth; else a local one with the default style."""
    vis = getattr(runner, 'visualizer', None)
    if isinstance(vis, DepthVisualizer):
        return vis
    if not hasattr(_visualizer, 'fallback'):
        _visualizer.fallback = DepthVisualizer(name='tr2m_depth_fallback')
    return _visualizer.fallback


def padded_positions(sampler, count: int) -> set:
    """Which of this rank's first ``count`` samples are a distributed sampler's padding.

    mmengine's ``DefaultSampler`` (unshuffled) pads the index list to ``total_size`` by repeating
    its head and gives rank ``r`` the positions ``r, r + world, ...``; a position past the
    dataset's end is a duplicate of an image another rank (or this one) already has.
    """
    world = getattr(sampler, 'world_size', 1)
    size = len(getattr(sampler, 'dataset', ()))
    if world <= 1 or not size or getattr(sampler, 'shuffle', False):
        return set()
    rank = getattr(sampler, 'rank', 0)
    return {j for j in range(count) if rank + j * world >= size}


@HOOKS.register_module()
class DepthVisualizationHook(Hook):
    """After each test (and, with ``val=True``, validation) batch, write the depth panels of
    its samples to ``out_dir/<dataset>_<index>_<image stem>.png``.

    Panels, colour map and range are the runner's :class:`DepthVisualizer`'s (its default
    style when the config uses another visualizer). With ``compare_model``, each picture shows
    the two models side by side on the same images instead (one colour scale, GT and each
    model's AbsRel error and metrics): ``tools/test.py ... --show-dir DIR --compare CFG CKPT``.

    In a distributed test each rank writes the images it evaluated and skips the sampler's
    padding, so every image is written exactly once, under the same name as in a
    single-process run (the name holds the dataset index, not the batch index).

    Args:
        out_dir (str): output folder.
        interval (int): draw every n-th batch. Defaults to 1.
        max_images (int, optional): stop after this many pictures. Defaults to None (all).
        val (bool): also draw during validation. Defaults to False.
        compare_model (nn.Module, optional): a second depther, run on the same batches.
        names (Sequence[str]): names of the model and of ``compare_model`` in the pictures.
            Defaults to ('model', 'compared').
        warnings (Sequence[str]): red lines in every picture (e.g. an untrained model).
        style (DepthStyle | dict, optional): overrides the visualizer's style.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, interval: int = 1, max_images: Optional[int] = None,
                 val: bool = False, compare_model=None,
                 names: Sequence[str] = ('model', 'compared'), warnings: Sequence[str] = (),
                 style=None) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.out_dir = out_dir
        self.interval = interval
        self.max_images = max_images
        self.val = val
        self.compare_model = compare_model
        self.names = tuple(names)
        self.warnings = list(dict.fromkeys(warnings))  # each once
        self.style = DepthStyle(**style) if isinstance(style, dict) else style
        self.written = []  # paths of the pictures, in order
        self._seen = 0  # samples of the current loop so far (to spot the sampler's padding)

    def before_test(self, runner) -> None:
        self._seen = 0

    def before_val(self, runner) -> None:
        self._seen = 0

    def _draw(self, runner, batch_idx: int, data_batch, outputs, loader) -> None:
        start, self._seen = self._seen, self._seen + len(outputs or [])
        if batch_idx % self.interval or not outputs:
            return
        padding = padded_positions(getattr(loader, 'sampler', None), self._seen)
        if self.max_images is not None and len(self.written) >= self.max_images:
            return
        vis = _visualizer(runner)
        style, vis.style = vis.style, self.style or vis.style
        try:
            compared = self._run_compare(data_batch) if self.compare_model is not None else None
            inputs = (data_batch or {}).get('inputs') or [None] * len(outputs)
            os.makedirs(self.out_dir, exist_ok=True)
            for i, sample in enumerate(outputs):
                if self.max_images is not None and len(self.written) >= self.max_images:
                    break
                if start + i in padding:
                    continue
                stem = osp.splitext(osp.basename(str(sample.metainfo.get('img_path', 'image'))))[0]
                index = sample.metainfo.get('sample_idx')
                index = f'{index:05d}' if isinstance(index, int) else f'{start + i:05d}'
                name = f"{sample.metainfo.get('dataset_name', 'data')}_{index}_{stem}.png"
                path = osp.join(self.out_dir, name)
                if compared is None:
                    figure = vis.render(inputs[i], sample, warnings=self.warnings)
                else:
                    figure = vis.render_comparison(inputs[i], [sample, compared[i]], self.names,
                                                   warnings=self.warnings)
                save_rgb(path, figure.image)
                self.written.append(path)
        finally:
            vis.style = style

    def _run_compare(self, data_batch):
        model = self.compare_model
        model = model.module if is_model_wrapper(model) else model
        was_training = model.training
        model.eval()
        try:
            return model.test_step(copy.deepcopy(data_batch))
        finally:
            model.train(was_training)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs,
                   getattr(runner, 'test_dataloader', None))

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.val:
            self._draw(runner, batch_idx, data_batch, outputs,
                       getattr(runner, 'val_dataloader', None))


__all__ = ['DepthVisualizationHook']
