"""Caption sources: where the text describing each image comes from.

A caption source maps an image to its list of captions::

    source.captions(key, img_path=None) -> list[str]

``key`` is the image path *relative to the dataset's image folder*, exactly as the split file
writes it (``bathroom/rgb_00045.jpg``, ``2011_09_26/2011_09_26_drive_0002_sync/image_02/data/
0000000069.png``, ``void_1500/data/desktop2/image/1552625295.7828.png``); ``img_path`` (the full
path) only makes error messages precise. A missing caption raises :class:`CaptionNotFoundError`
naming the image; the dataset decides whether that is fatal (``missing_caption``).

Sources are registered in :data:`tr2m.registry.TASK_UTILS`, so datasets take
``caption_source=dict(type='RSACaptionSource', root=..., dataset='nyu', split='test')`` or a built
object. Choosing *which* caption a sample uses is the pipeline's job (``LoadCaption``: a random
one for training, a fixed index for evaluation).
"""
import os.path as osp
import re
from typing import Dict, List, Mapping, Optional, Sequence, Union

from tr2m.registry import TASK_UTILS
from tr2m.utils.errors import DataError
from tr2m.utils.files import load_json, read_text


class CaptionNotFoundError(FileNotFoundError):
    """No caption for an image; the message names the image and where it was looked for."""


def read_json_object(path: str, expected: str) -> dict:
    """The JSON object in the caption file ``path``.

    Raises:
        DataError: the file is not valid JSON, or holds something else than an object
            (``expected`` describes the object in the message, e.g. ``'an object {image:
            [captions]}'``).
    """
    data = load_json(path, 'caption file')  # not UTF-8 / not JSON: one line naming it
    if not isinstance(data, Mapping):
        raise DataError(f'caption file {path} must hold {expected}, got {type(data).__name__}')
    return dict(data)


def normalise_key(key: str) -> str:
    """Relative image path with ``/`` separators and no leading ``./`` or ``/``."""
    key = key.replace('\\', '/')
    while key.startswith('./'):
        key = key[2:]
    return key.lstrip('/')


def _clean(captions: Sequence[str]) -> List[str]:
    return [c.strip() for c in captions if isinstance(c, str) and c.strip()]


class BaseCaptionSource:
    """Interface: ``captions(key, img_path=None) -> list[str]`` (non-empty, stripped)."""

    def captions(self, key: str, img_path: Optional[str] = None) -> List[str]:
        raise NotImplementedError

    def __call__(self, key: str, img_path: Optional[str] = None) -> List[str]:
        return self.captions(key, img_path)


@TASK_UTILS.register_module()
class RSACaptionSource(BaseCaptionSource):
    """RSA's caption tree: one ``.txt`` per image, one caption per line (15 for RSA's sets).

    Path of the file of image ``key``: ``<root>/<dataset>/<split>/<key without extension>.txt``,
    e.g. ``text/text_all/nyu/test/bathroom/rgb_00045.txt`` for ``bathroom/rgb_00045.jpg``.
    Lines are stripped; empty lines are dropped; the order of the file is kept (so caption
    index ``i`` is line ``i``).

    Args:
        root (str): the ``text_all`` folder (``data/rsa_text/text/text_all``).
        dataset (str): RSA's dataset folder: ``'nyu'``, ``'kitti'`` or ``'void'``.
        split (str): ``'train'`` or ``'test'``.
    """

    def __init__(self, root: str, dataset: str, split: str) -> None:
        self.root = root
        self.dataset = dataset
        self.split = split

    def path_of(self, key: str) -> str:
        """The caption file of image ``key``."""
        stem = osp.splitext(normalise_key(key))[0]
        return osp.join(self.root, self.dataset, self.split, stem + '.txt')

    def captions(self, key: str, img_path: Optional[str] = None) -> List[str]:
        path = self.path_of(key)
        if not osp.isfile(path):
            raise CaptionNotFoundError(
                f'no caption file for image {img_path or key}: {path} does not exist')
        captions = _clean(read_text(path, 'caption file').splitlines())
        if not captions:
            raise CaptionNotFoundError(f'caption file {path} of image {img_path or key} is empty')
        return captions

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(root={self.root!r}, dataset={self.dataset!r}, '
                f'split={self.split!r})')


@TASK_UTILS.register_module()
class JSONCaptionSource(BaseCaptionSource):
    """A JSON file ``{relative image path: [captions]}`` (a single string is one caption).

    Keys are matched after normalising separators and a leading ``./`` or ``/``; with
    ``match_stem=True`` the extension is ignored too (``rgb_00045`` matches ``rgb_00045.jpg``).

    Args:
        ann_file (str): the JSON file.
        match_stem (bool): compare paths without extensions. Defaults to False.
    """

    def __init__(self, ann_file: str, match_stem: bool = False) -> None:
        self.ann_file = ann_file
        self.match_stem = match_stem
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'caption JSON not found: {ann_file}')
        table = read_json_object(ann_file, 'an object {image path: [captions]}')
        self._table: Dict[str, List[str]] = {}
        for key, value in table.items():
            value = [value] if isinstance(value, str) else list(value)
            self._table[self._key(key)] = _clean(value)

    def _key(self, key: str) -> str:
        key = normalise_key(key)
        return osp.splitext(key)[0] if self.match_stem else key

    def captions(self, key: str, img_path: Optional[str] = None) -> List[str]:
        captions = self._table.get(self._key(key))
        if not captions:
            raise CaptionNotFoundError(
                f'no caption for image {img_path or key} in {self.ann_file} (key {key!r})')
        return list(captions)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ann_file={self.ann_file!r}, '
                f'match_stem={self.match_stem})')


#: Presets of :class:`TemplateCaptionSource`; each documents its path rule.
TEMPLATE_PRESETS: Dict[str, dict] = dict(
    # C3VD sequences are named <segment>_t<texture>_<video>[_...], e.g. cecum_t1_a/0000_color.png
    # or sigmoid_t3_b/0102_color.png; segments: cecum, sigmoid, trans(verse), desc(ending).
    c3vd=dict(
        template='The image shows a surgical scene of {segment} with texture type {n}.',
        pattern=r'(?:^|/)(?P<segment>cecum|sigmoid|trans|desc)_t(?P<n>\d+)_[a-z]',
        value_maps=dict(segment=dict(cecum='cecum', sigmoid='sigmoid colon',
                                     trans='transverse colon', desc='descending colon'))),
    # SimCol3D: SyntheticColon_<I|II|III>/Frames_<seq>/FrameBuffer_XXXX.png; the three synthetic
    # colons differ in texture, so the colon's roman numeral is the texture type.
    simcol=dict(
        template='The image shows a surgical scene of {segment} with texture type {n}.',
        pattern=r'SyntheticColon_(?P<n>I{1,3})(?:/|$)',
        value_maps=dict(n=dict(I='1', II='2', III='3')),
        fields=dict(segment='colon')),
)


@TASK_UTILS.register_module()
class TemplateCaptionSource(BaseCaptionSource):
    """Captions filled in from the image path: ``template.format(**fields)``.

    Fields are the named groups of ``pattern`` (``re.search`` on the relative image path), each
    translated through ``value_maps[field]`` when it has an entry, plus the constants in
    ``fields``. Presets (:data:`TEMPLATE_PRESETS`): ``'c3vd'`` turns ``sigmoid_t3_b/0042_color.png``
    into "The image shows a surgical scene of sigmoid colon with texture type 3."; ``'simcol'``
    turns ``SyntheticColon_II/Frames_B5/FrameBuffer_0001.png`` into "The image shows a surgical
    scene of colon with texture type 2.". A path the pattern does not match has no caption.

    Args:
        template (str | Sequence[str]): one or several ``str.format`` templates (several give
            several captions per image). Defaults to the preset's.
        pattern (str): regular expression with named groups. Defaults to the preset's.
        value_maps (dict, optional): ``{field: {matched text: word}}``.
        fields (dict, optional): constant fields.
        preset (str, optional): ``'c3vd'`` or ``'simcol'``; explicit arguments override it.
    """

    def __init__(self, template: Union[str, Sequence[str], None] = None,
                 pattern: Optional[str] = None,
                 value_maps: Optional[Dict[str, Dict[str, str]]] = None,
                 fields: Optional[Dict[str, str]] = None, preset: Optional[str] = None) -> None:
        base: dict = {}
        if preset is not None:
            if preset not in TEMPLATE_PRESETS:
                raise KeyError(f'unknown template preset {preset!r}; '
                               f'known: {sorted(TEMPLATE_PRESETS)}')
            base = TEMPLATE_PRESETS[preset]
        template = template if template is not None else base.get('template')
        pattern = pattern if pattern is not None else base.get('pattern', '')
        if template is None:
            raise ValueError('TemplateCaptionSource needs a template (or a preset)')
        self.templates = [template] if isinstance(template, str) else list(template)
        self.pattern = re.compile(pattern)
        self.value_maps = {**base.get('value_maps', {}), **(value_maps or {})}
        self.fields = {**base.get('fields', {}), **(fields or {})}
        self.preset = preset

    def fields_of(self, key: str) -> Optional[dict]:
        """The template fields of image ``key``, or None when the pattern does not match."""
        match = self.pattern.search(normalise_key(key))
        if match is None:
            return None
        values = dict(self.fields)
        for name, text in match.groupdict().items():
            if text is not None:
                values[name] = self.value_maps.get(name, {}).get(text, text)
        return values

    def captions(self, key: str, img_path: Optional[str] = None) -> List[str]:
        values = self.fields_of(key)
        if values is None:
            raise CaptionNotFoundError(f'image {img_path or key} does not match the caption '
                                       f'template pattern {self.pattern.pattern!r}')
        try:
            return [t.format(**values) for t in self.templates]
        except KeyError as err:
            raise CaptionNotFoundError(f'caption template field {err} has no value for image '
                                       f'{img_path or key} (fields: {sorted(values)})') from err

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(templates={self.templates!r}, '
                f'pattern={self.pattern.pattern!r}, preset={self.preset!r})')


@TASK_UTILS.register_module()
class FixedCaptionSource(BaseCaptionSource):
    """The same caption(s) for every image (ablations without language, custom data).

    Args:
        captions (str | Sequence[str]): the caption or captions.
    """

    def __init__(self, captions: Union[str, Sequence[str]]) -> None:
        captions = [captions] if isinstance(captions, str) else list(captions)
        self._captions = _clean(captions)
        if not self._captions:
            raise ValueError('FixedCaptionSource needs at least one non-empty caption')

    def captions(self, key: str, img_path: Optional[str] = None) -> List[str]:
        return list(self._captions)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(captions={self._captions!r})'


def build_caption_source(cfg: Union[dict, BaseCaptionSource, None]) -> Optional[BaseCaptionSource]:
    """Build a caption source from a config dict; pass objects with ``captions`` through."""
    if cfg is None:
        return None
    if isinstance(cfg, dict):
        return TASK_UTILS.build(cfg)
    if callable(getattr(cfg, 'captions', None)):
        return cfg
    raise TypeError(f'caption_source must be a config dict or an object with a captions() '
                    f'method, got {type(cfg).__name__}')
