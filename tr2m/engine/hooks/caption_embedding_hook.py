"""``CaptionEmbeddingHook``: embed every caption of the data once, before training starts."""
import time
from typing import Iterable, List

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from tr2m.registry import HOOKS


def dataset_captions(dataset) -> List[str]:
    """Every distinct non-empty caption of a dataset (``ConcatDataset`` and wrappers followed
    through ``get_data_info``), in first-seen order."""
    seen = {}
    for i in range(len(dataset)):
        for c in dataset.get_data_info(i).get('captions') or []:
            if isinstance(c, str) and c.strip():
                seen[c] = None
    return list(seen)


@HOOKS.register_module()
class CaptionEmbeddingHook(Hook):
    """Before training, embed every distinct caption of the train and val sets with the model's
    frozen text encoder (``precompute``), so each is encoded once per run and a step never waits
    for the text tower. With the feature cache the model has no text encoder and the hook does
    nothing; models without one are left alone.

    Memory: the encoder's caption table keeps float16 pooled embeddings (see
    :mod:`tr2m.models.encoders.text_base`; ~1.15 GB for 750k CLIP-L captions). Under DDP every
    rank embeds every caption into its own table (the same work on each rank; the feature
    cache does it once for all).

    A default hook (``default_hooks.caption_embedding`` in
    ``configs/_base_/default_runtime.py``): ``default_hooks.caption_embedding.loaders=[]``
    switches it off (captions are then embedded when a step first meets them).

    Args:
        batch_size (int): captions per encoder call. Defaults to 256.
        loaders (Iterable[str]): ``'train'``, ``'val'``, ``'test'``: whose captions. Defaults
            to ('train', 'val').
    """

    priority = 'NORMAL'

    def __init__(self, batch_size: int = 256, loaders: Iterable[str] = ('train', 'val')) -> None:
        self.batch_size = batch_size
        self.loaders = tuple(loaders)

    def _datasets(self, runner) -> list:
        out = []
        for name in self.loaders:
            loop = getattr(runner, f'{name}_loop', None) if name != 'train' else None
            try:
                loader = runner.train_dataloader if name == 'train' else \
                    getattr(loop, 'dataloader', None)
            except Exception:  # noqa: BLE001 - a loop without a dataloader in this run
                loader = None
            if loader is not None and hasattr(loader, 'dataset'):
                out.append(loader.dataset)
        return out

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        encoder = getattr(model, 'text_encoder', None)
        if not self.loaders or encoder is None or not hasattr(encoder, 'precompute'):
            return
        captions: List[str] = []
        for dataset in self._datasets(runner):
            captions += dataset_captions(dataset)
        start = time.perf_counter()
        n = encoder.precompute(captions, batch_size=self.batch_size)
        table = encoder.caption_table
        print_log(f'CaptionEmbeddingHook: embedded {n} captions in '
                  f'{time.perf_counter() - start:.1f} s; the caption table holds {len(table)} '
                  f'({table.nbytes / 2**20:.1f} MiB)', logger='current')
