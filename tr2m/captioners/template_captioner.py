"""Surgical template captioner: C3VD and SimCol captions from the dataset's metadata.

The TR2M paper (appendix A.1) describes C3VD and SimCol frames with one template sentence filled in
from the sequence the frame belongs to: "The image shows a surgical scene of descending colon with
texture type two." The colon segment and texture come from the path
(:data:`tr2m.datasets.captions.TEMPLATE_PRESETS`: C3VD sequences ``<segment>_t<texture>_<video>``,
SimCol's three synthetic colons ``SyntheticColon_I|II|III`` as texture types); this captioner writes
the texture number in words, as the paper does. It reads the image key only, never the pixels.
"""
from typing import Dict, List, Optional, Sequence

from tr2m.captioners.base import BaseCaptioner, Caption
from tr2m.registry import CAPTIONERS

#: Texture numbers as the paper writes them.
NUMBER_WORDS = {'1': 'one', '2': 'two', '3': 'three', '4': 'four', '5': 'five', '6': 'six',
                'I': 'one', 'II': 'two', 'III': 'three'}
PAPER_TEMPLATE = 'The image shows a surgical scene of {segment} with texture type {n}.'


@CAPTIONERS.register_module()
class SurgicalTemplateCaptioner(BaseCaptioner):
    """The paper's template sentence of a C3VD or SimCol frame, from its path.

    Args:
        dataset (str): ``'c3vd'`` or ``'simcol'`` (the path rules of
            :class:`~tr2m.datasets.captions.TemplateCaptionSource`).
        template (str): the sentence; fields ``{segment}`` and ``{n}``. Defaults to the paper's.
        number_words (bool): write the texture number in words ("two"). Defaults to True.
        **kwargs: :class:`~tr2m.captioners.base.BaseCaptioner` arguments.
    """

    needs_pixels = False

    def __init__(self, dataset: str, template: str = PAPER_TEMPLATE, number_words: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        from tr2m.datasets.captions import TEMPLATE_PRESETS, TemplateCaptionSource

        if dataset not in TEMPLATE_PRESETS:
            raise ValueError(f'dataset must be one of {sorted(TEMPLATE_PRESETS)}, got {dataset!r}')
        value_maps = dict(n=dict(NUMBER_WORDS)) if number_words else None
        self.source = TemplateCaptionSource(template=template, preset=dataset,
                                            value_maps=value_maps)
        self.dataset = dataset
        self._provenance = dict(captioner=self.name, type=type(self).__name__, dataset=dataset,
                                template=template, pattern=self.source.pattern.pattern,
                                number_words=number_words, seed=self.seed, count=1)

    @property
    def sources(self) -> List[Dict]:
        return [self._provenance]

    def caption_images(self, images: Sequence[Optional[object]],
                       keys: Sequence[str]) -> List[List[Caption]]:
        """Captions of each key; a key the dataset's path rule does not match gets an empty
        caption (the caption job lists it as skipped, with the reason from :meth:`explain`)."""
        from tr2m.datasets.captions import CaptionNotFoundError

        out = []
        for key in keys:
            try:
                texts = self.source.captions(key)
            except CaptionNotFoundError:
                texts = ['']
            out.append([Caption(t, self._provenance) for t in texts])
        return out

    def explain(self, key: str) -> str:
        """Why ``key`` has no caption."""
        return (f'the path does not match the {self.dataset} sequence pattern '
                f'{self.source.pattern.pattern!r}')
