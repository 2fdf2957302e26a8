"""``LoadCachedFeatures``: the data side of cache mode (the last transform of every pipeline)."""
import torch
from mmengine.structures import PixelData

from tr2m.cache.store import PartReader, sample_key
from tr2m.datasets.transforms.base import BaseTransform
from tr2m.registry import TRANSFORMS
from tr2m.utils.errors import DataError


@TRANSFORMS.register_module()
class LoadCachedFeatures(BaseTransform):
    """Attach a sample's cached frozen image outputs; the last transform of a cache-mode pipeline.

    Runs after ``PackDepthInputs`` (:func:`~tr2m.cache.mode.apply_feature_cache` appends it to
    every pipeline of a config with ``cache=dict(root=...)``), in the dataloader workers. It
    reads, memory-mapped, the entries keyed by the sample's image path (relative to
    ``data_root``) and its view (``flip`` from ``RandomFlip``), and sets on the data sample
    ``rel_depth`` (float32 ``(1, H, W)``), ``img_feats`` (``(D, h, w)``, float16 as stored or
    float32 from int8) and the metainfo ``cached_flip`` (the view read). The cache readers of
    the model (:mod:`tr2m.cache.readers`) take them from there; captions are looked up by the
    model's ``CachedTextEncoder``. A sample or view that is not cached, or a cached ``Dr`` of
    another size than the image, is an error naming the image: the frozen models never run
    instead.

    Args:
        folder (str): the dataset's part of the cache (``<root>/<part id>``).
        data_root (str): the dataset's ``data_root`` (sample keys are relative to it).
            Defaults to ''.
    """

    def __init__(self, folder: str, data_root: str = '') -> None:
        self.folder = folder
        self.data_root = data_root
        self.reader = PartReader(folder)

    def transform(self, results: dict) -> dict:
        sample = results.get('data_samples')
        if sample is None or 'inputs' not in results:
            raise ValueError('LoadCachedFeatures goes after PackDepthInputs in the pipeline')
        path = sample.metainfo.get('img_path')
        flip = bool(sample.metainfo.get('flip', False))
        rel, img = self.reader.image(sample_key(path, self.data_root), flip)
        size = tuple(results['inputs'].shape[-2:])
        if rel.shape != size:
            raise DataError(f'{path}: cached relative depth has size {rel.shape} but the '
                            f'pipeline gives the network {size}; the cache was built with other '
                            'preprocessing, rebuild it')
        sample.rel_depth = PixelData(data=torch.from_numpy(rel)[None])
        sample.img_feats = torch.from_numpy(img)
        sample.set_metainfo(dict(cached_flip=flip))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(folder={self.folder!r}, data_root={self.data_root!r})'
