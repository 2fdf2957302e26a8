"""``ValidationPanelHook``: during training, the depth panels of a fixed set of validation
images every N iterations, sent to the visualizer's backends (TensorBoard, local files)."""
import copy
from typing import List, Optional, Sequence

from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from tr2m.registry import HOOKS


def fixed_indices(dataset, num_images: int) -> List[int]:
    """``num_images`` indices spread over ``dataset``; over every part of a
    ``ConcatDataset`` (at least one each), so each domain of a mixed set is shown."""
    n = len(dataset)
    if n == 0 or num_images < 1:
        return []
    parts = getattr(dataset, 'datasets', None)
    if parts:
        sizes = [len(p) for p in parts]
        per = max(1, num_images // len(parts))
        out, start = [], 0
        for size in sizes:
            out += [start + i * size // per for i in range(min(per, size))]
            start += size
        return out
    k = min(num_images, n)
    return [i * n // k for i in range(k)]


@HOOKS.register_module()
class ValidationPanelHook(Hook):
    """Every ``interval`` training iterations, predict a fixed set of validation images and add
    their panels (image | GT | prediction | AbsRel | scale A | shift B, with caption and
    metrics) to the runner's visualizer as images ``val_panels/<dataset>_<index>`` at the
    iteration step: a TensorBoard backend shows them as an image series.

    The images are picked once, before training (:func:`fixed_indices`, or ``indices``), from
    the validation dataloader's dataset and loaded through its (deterministic) test pipeline.
    Only the main process draws; the model is put back into training mode afterwards.

    Args:
        interval (int): iterations between two drawings. Defaults to 1000.
        num_images (int): how many validation images. Defaults to 4.
        indices (Sequence[int], optional): explicit dataset indices (override ``num_images``).
        draw_at_start (bool): also draw before the first iteration (the untrained model).
            Defaults to False.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, num_images: int = 4,
                 indices: Optional[Sequence[int]] = None, draw_at_start: bool = False) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.num_images = num_images
        self.indices = None if indices is None else [int(i) for i in indices]
        self.draw_at_start = draw_at_start
        self._items: List[tuple] = []

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        loop = getattr(runner, 'val_loop', None)
        if loop is None:
            print_log('ValidationPanelHook: no validation loop, so no panels are drawn',
                      logger='current')
            return
        dataset = loop.dataloader.dataset
        indices = self.indices if self.indices is not None else fixed_indices(
            dataset, self.num_images)
        self._items = [(i, dataset[i]) for i in indices]
        if self.draw_at_start:
            self.draw(runner, step=0)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._items and self.every_n_train_iters(runner, self.interval):
            self.draw(runner, step=runner.iter + 1)

    def draw(self, runner, step: int) -> list:
        """Predict and draw the fixed images now; returns the figures."""
        from tr2m.engine.hooks.visualization_hook import _visualizer

        model = runner.model
        was_training = model.training
        model.eval()
        figures = []
        try:
            vis = _visualizer(runner)
            for index, item in self._items:
                batch = pseudo_collate([copy.deepcopy(item)])
                sample = model.test_step(batch)[0]
                name = f"val_panels/{sample.metainfo.get('dataset_name', 'val')}_{index}"
                figure = vis.render(batch['inputs'][0], sample,
                                    title=f'iteration {step}')
                runner.visualizer.add_image(name, figure.image, step)
                figures.append(figure)
        finally:
            model.train(was_training)
        return figures


__all__ = ['ValidationPanelHook', 'fixed_indices']
