"""ScaleDepth's 28 scene categories, their text prompts, and the scene label of each sample.

ScaleDepth supervises its scale queries with the similarity between them and the CLIP text
embeddings of one prompt per scene category. The categories of the released code are the 27
NYUv2 scene types (the NYUv2 scene folder names, e.g. ``kitchen_0028a`` -> ``kitchen``;
``nyu_office`` counts as ``office``) plus ``outdoor_scene`` for every KITTI frame. The names and
their order are those of the released code (the order indexes the released embedding file);
``excercise_room`` keeps NYUv2's spelling so that folder names match.

How a training image gets its label (:class:`SceneCategoryLabeler`), in this order:

1. a ``scene_category`` in the sample's metainfo (a name or an index), when a pipeline set one;
2. a fixed category for the sample's ``dataset_name`` (``kitti -> outdoor_scene``, as released);
3. the scene name in the image path (NYUv2's ``sync/<scene>_<number>/`` and
   ``official_splits/test/<scene>/``), as the released code reads it from the file name;
4. optional keywords in the caption (the offline demo set stores its room type only there);
5. otherwise -1: the sample has no label and the similarity loss skips it (the released code
   gives -1 to unknown NYUv2 scenes and to every zero-shot set too).
"""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Union

from tr2m.registry import TASK_UTILS
from tr2m.utils.errors import ConfigError, DataError

#: The 28 scene categories of the released ScaleDepth code, in its order.
SCALEDEPTH_SCENE_CLASSES = (
    'printer_room', 'bathroom', 'living_room', 'study', 'conference_room', 'study_room',
    'kitchen', 'home_office', 'bedroom', 'dinette', 'playroom', 'indoor_balcony', 'laundry_room',
    'basement', 'excercise_room', 'foyer', 'home_storage', 'cafe', 'furniture_store',
    'office_kitchen', 'student_lounge', 'dining_room', 'reception_room', 'computer_lab',
    'classroom', 'office', 'bookstore', 'outdoor_scene')
#: Folder-name prefixes that stand for another category (NYUv2's ``nyu_office_*`` scenes).
NYU_ALIASES = {'nyu_office': 'office'}
#: The prompt of each category. The released code ships its embeddings as a file and not the
#: prompts that made them; this is CLIP's usual zero-shot template (see the README).
DEFAULT_PROMPT_TEMPLATE = 'a photo of a {}.'

_LEADING_NAME = re.compile(r'^([a-z_]*?)_?\d')


def scene_prompts(classes: Sequence[str], template: str = DEFAULT_PROMPT_TEMPLATE) -> List[str]:
    """One prompt per category: ``template`` filled with the name, underscores as spaces."""
    if '{}' not in template:
        raise ConfigError(f'prompt_template {template!r} has no {{}} for the category name')
    return [template.format(c.replace('_', ' ')) for c in classes]


def scene_name_of(component: str) -> str:
    """The scene name a path component stands for: the part before its first digit without the
    joining underscore (``'kitchen_0028a' -> 'kitchen'``), or the whole component when it has
    no digit (``'living_room'``)."""
    m = _LEADING_NAME.match(component.lower())
    return m.group(1) if m else component.lower()


def scene_category_from_path(path: str, classes: Sequence[str],
                             aliases: Optional[Dict[str, str]] = None) -> int:
    """Index of the category named by a component of ``path`` (deepest first), else -1."""
    aliases = NYU_ALIASES if aliases is None else aliases
    parts = [p for p in re.split(r'[\\/]', osp.splitext(path)[0]) if p]
    for part in reversed(parts):
        name = scene_name_of(part)
        name = aliases.get(name, name)
        if name in classes:
            return list(classes).index(name)
    return -1


@TASK_UTILS.register_module()
class SceneCategoryLabeler:
    """The scene-category index of each sample (-1 = no label); see the module docstring.

    Args:
        classes (Sequence[str]): the category names. Defaults to ScaleDepth's 28.
        dataset_classes (dict, optional): ``dataset_name -> category`` for datasets of one
            scene type. Defaults to ``{'kitti': 'outdoor_scene'}`` (as released).
        from_path (bool): read NYUv2-style scene names from the image path. Defaults to True.
        aliases (dict, optional): scene names that stand for a category. Defaults to
            ``{'nyu_office': 'office'}``.
        caption_keywords (dict, optional): ``keyword -> category``; the first keyword found
            (case-insensitive) in the caption decides. Defaults to None (not used).
        strict (bool): raise instead of returning -1 for an unlabelled sample. Defaults to
            False.
    """

    def __init__(self, classes: Sequence[str] = SCALEDEPTH_SCENE_CLASSES,
                 dataset_classes: Optional[Dict[str, str]] = None, from_path: bool = True,
                 aliases: Optional[Dict[str, str]] = None,
                 caption_keywords: Optional[Dict[str, str]] = None,
                 strict: bool = False) -> None:
        self.classes = tuple(classes)
        if len(set(self.classes)) != len(self.classes):
            raise ConfigError(f'scene classes repeat a name: {self.classes}')
        self.dataset_classes = dict({'kitti': 'outdoor_scene'} if dataset_classes is None
                                    else dataset_classes)
        self.aliases = dict(NYU_ALIASES if aliases is None else aliases)
        self.caption_keywords = dict(caption_keywords or {})
        for what, table in (('dataset_classes', self.dataset_classes),
                            ('aliases', self.aliases),
                            ('caption_keywords', self.caption_keywords)):
            unknown = sorted(set(table.values()) - set(self.classes))
            if unknown:
                raise ConfigError(f'SceneCategoryLabeler {what} name categories that are not '
                                  f'among the classes: {unknown}')
        self.from_path = from_path
        self.strict = strict

    def index(self, name_or_index: Union[str, int], where: str) -> int:
        """A category index from a name or an index, checked."""
        if isinstance(name_or_index, str):
            if name_or_index not in self.classes:
                raise DataError(f'{where}: scene category {name_or_index!r} is not one of the '
                                f'{len(self.classes)} classes')
            return self.classes.index(name_or_index)
        idx = int(name_or_index)
        if not -1 <= idx < len(self.classes):
            raise DataError(f'{where}: scene category index {idx} outside [-1, '
                            f'{len(self.classes)})')
        return idx

    def label(self, metainfo: dict, caption: Optional[str] = None) -> int:
        """The category index of one sample (its metainfo and caption), or -1."""
        where = str(metainfo.get('img_path', 'a sample'))
        if metainfo.get('scene_category') is not None:
            return self.index(metainfo['scene_category'], where)
        name = metainfo.get('dataset_name')
        if name in self.dataset_classes:
            return self.classes.index(self.dataset_classes[name])
        if self.from_path and metainfo.get('img_path'):
            idx = scene_category_from_path(metainfo['img_path'], self.classes, self.aliases)
            if idx >= 0:
                return idx
        if caption and self.caption_keywords:
            text = caption.lower()
            for word, cls in self.caption_keywords.items():
                if word.lower() in text:
                    return self.classes.index(cls)
        if self.strict:
            raise DataError(f'{where}: no scene category (dataset {name!r}); give the dataset a '
                            'category in dataset_classes or set strict=False to skip it')
        return -1

    def __call__(self, data_samples: Sequence) -> List[int]:
        """Category indices of a batch of data samples."""
        return [self.label(s.metainfo, s.get('caption')) for s in data_samples]
