"""Composite captioner: several captioners' captions of an image, one after the other."""
from typing import Dict, List, Optional, Sequence, Union

from tr2m.captioners.base import BaseCaptioner, Caption
from tr2m.registry import CAPTIONERS


@CAPTIONERS.register_module()
class CompositeCaptioner(BaseCaptioner):
    """The captions of ``captioners`` concatenated per image, in order.

    RSA's caption files are this with LLaVA v1.6 Mistral (5), LLaVA v1.6 Vicuna (5) and object
    lists (5): preset ``rsa_15``.

    Args:
        captioners (Sequence[dict | str | BaseCaptioner]): configs, preset names or built
            captioners. A child without its own ``seed`` takes this one's.
        **kwargs: :class:`~tr2m.captioners.base.BaseCaptioner` arguments.
    """

    def __init__(self, captioners: Sequence[Union[dict, str, BaseCaptioner]], **kwargs) -> None:
        super().__init__(**kwargs)
        from tr2m.captioners.presets import build_captioner

        if not captioners:
            raise ValueError('CompositeCaptioner needs at least one captioner')
        self.captioners: List[BaseCaptioner] = []
        for child in captioners:
            if isinstance(child, BaseCaptioner):
                self.captioners.append(child)
            elif isinstance(child, str):
                self.captioners.append(build_captioner(child, seed=self.seed,
                                                       batch_size=self.batch_size))
            else:
                child = dict(child)
                child.setdefault('seed', self.seed)
                child.setdefault('batch_size', self.batch_size)
                self.captioners.append(build_captioner(child))
        self.needs_pixels = any(c.needs_pixels for c in self.captioners)

    @property
    def sources(self) -> List[Dict]:
        return [s for c in self.captioners for s in c.sources]

    def to(self, device) -> 'CompositeCaptioner':
        for c in self.captioners:
            c.to(device)
        return self

    def caption_images(self, images: Sequence[Optional[object]],
                       keys: Sequence[str]) -> List[List[Caption]]:
        rows: List[List[Caption]] = [[] for _ in keys]
        for child in self.captioners:
            for row, captions in zip(rows, child.caption_images(images, keys)):
                row.extend(captions)
        return rows
