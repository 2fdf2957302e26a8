"""RSA's object-list sentences: counts of panoptic segments written as one English sentence.

The grammar, derived from RSA's released caption files (``text_all/<set>/<split>/*.txt``, lines
11-15) and checked against all 2,106 of its test files (``tests/test_captioners/
test_object_grammar.py``):

- every segment of the panoptic segmentation is one object; its name is the **first word** of its
  class name, the class name cut at the first ``-`` (COCO's ``wall-other-merged`` -> ``wall``,
  ``traffic light`` -> ``traffic``, ``dining table`` -> ``dining``);
- objects are counted by name, in the order of their first appearance;
- a count of one is written ``a <name>`` (always ``a``, also before a vowel: ``a oven``), more
  is ``<number in words> <plural>`` (``seventeen chairs``, ``twenty-one books``, ``two
  people``), number words and plurals from ``inflect``;
- ``"An image with X."`` for one name, ``"An image with X, Y, and Z."`` for more, ``"An image."``
  for none;
- five sentences per image: the segment list is shuffled in place five times in a row and each
  shuffle is written (so the order of first appearance changes, the counts do not).

Stuff classes are fused per class (one segment per stuff class), as the panoptic inference of
Mask2Former / MaskDINO does; different stuff classes of one first word add up (``wall-brick`` and
``wall-other-merged`` make ``two walls``).
"""
import functools
import random
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

#: The 133 COCO panoptic classes in the contiguous order of panoptic models (0..79 things,
#: 80..132 stuff), as detectron2 and the transformers checkpoints name them.
COCO_PANOPTIC_CLASSES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
    'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush',
    'banner', 'blanket', 'bridge', 'cardboard', 'counter', 'curtain', 'door-stuff', 'floor-wood',
    'flower', 'fruit', 'gravel', 'house', 'light', 'mirror-stuff', 'net', 'pillow', 'platform',
    'playingfield', 'railroad', 'river', 'road', 'roof', 'sand', 'sea', 'shelf', 'snow', 'stairs',
    'tent', 'towel', 'wall-brick', 'wall-stone', 'wall-tile', 'wall-wood', 'water-other',
    'window-blind', 'window-other', 'tree-merged', 'fence-merged', 'ceiling-merged',
    'sky-other-merged', 'cabinet-merged', 'table-merged', 'floor-other-merged', 'pavement-merged',
    'mountain-merged', 'grass-merged', 'dirt-merged', 'paper-merged', 'food-other-merged',
    'building-other-merged', 'rock-merged', 'wall-other-merged', 'rug-merged')
#: Number of COCO panoptic "thing" classes (ids below it); the others are stuff.
COCO_NUM_THINGS = 80
COCO_PANOPTIC_STUFF = frozenset(COCO_PANOPTIC_CLASSES[COCO_NUM_THINGS:])

EMPTY_SENTENCE = 'An image.'
_PREFIX = 'An image with '
_INSTALL = ("the object-list grammar needs the 'inflect' package (number words and plurals as "
            "RSA wrote them): pip install inflect, or pip install -e '.[captions]'")
_ENGINE = None


def inflect_engine():
    """The shared ``inflect.engine()``; an ImportError says how to install it."""
    global _ENGINE
    if _ENGINE is None:
        try:
            import inflect
        except ImportError as err:
            raise ImportError(_INSTALL) from err
        _ENGINE = inflect.engine()
    return _ENGINE


def rsa_object_name(label: str) -> str:
    """The word RSA writes for a class: the first word of the class name cut at ``-``.

    ``'wall-other-merged'`` -> ``'wall'``, ``'traffic light'`` -> ``'traffic'``.
    """
    name = label.strip().split('-')[0].strip()
    return name.split()[0] if name else name


def count_in_order(names: Iterable[str]) -> List[Tuple[str, int]]:
    """``[(name, count)]`` in the order of each name's first appearance."""
    counts: Dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return list(counts.items())


@functools.lru_cache(maxsize=4096)
def plural(name: str) -> str:
    """``inflect``'s plural of ``name`` (``person`` -> ``people``)."""
    return inflect_engine().plural(name)


@functools.lru_cache(maxsize=4096)
def number_in_words(count: int) -> str:
    """``inflect``'s words for ``count`` (21 -> ``twenty-one``)."""
    return inflect_engine().number_to_words(count)


def object_phrase(name: str, count: int) -> str:
    """``'a chair'`` for one, ``'seventeen chairs'`` for more."""
    if count < 1:
        raise ValueError(f'count of {name!r} must be >= 1, got {count}')
    if count == 1:
        return f'a {name}'
    return f'{number_in_words(count)} {plural(name)}'


def object_list_sentence(counts: Sequence[Tuple[str, int]]) -> str:
    """RSA's sentence for ordered ``(name, count)`` pairs (see the module docstring).

    >>> object_list_sentence([('laptop', 1), ('tv', 2), ('cardboard', 1)])
    'An image with a laptop, two tvs, and a cardboard.'
    """
    phrases = [object_phrase(name, count) for name, count in counts]
    if not phrases:
        return EMPTY_SENTENCE
    if len(phrases) == 1:
        return f'{_PREFIX}{phrases[0]}.'
    return f'{_PREFIX}{", ".join(phrases[:-1])}, and {phrases[-1]}.'


def object_list_sentences(names: Sequence[str], rng: random.Random, num: int = 5) -> List[str]:
    """``num`` sentences of one image's objects: the list is shuffled in place ``num`` times in a
    row with ``rng`` and each order is written (RSA's procedure).

    Args:
        names (Sequence[str]): one name per segment (already :func:`rsa_object_name`).
        rng (random.Random): the image's generator (seeded per image for reproducibility).
        num (int): number of sentences. Defaults to 5.
    """
    items = list(names)
    sentences = []
    for _ in range(num):
        rng.shuffle(items)
        sentences.append(object_list_sentence(count_in_order(items)))
    return sentences


def number_words(limit: int = 1000) -> Dict[str, int]:
    """``{words: n}`` for ``2 <= n <= limit`` as :func:`object_phrase` writes them."""
    return {number_in_words(n): n for n in range(2, limit + 1)}


def parse_object_list_sentence(sentence: str, vocabulary: Iterable[str],
                               numbers: Optional[Dict[str, int]] = None
                               ) -> List[Tuple[str, int]]:
    """The ordered ``(name, count)`` pairs an object-list sentence was written from.

    A plural is mapped back to the name of ``vocabulary`` whose ``inflect`` plural it is, so a
    sentence parses only if every word is a vocabulary name or its plural.

    Raises:
        ValueError: the sentence is not in the grammar, naming the part that is not.
    """
    if sentence == EMPTY_SENTENCE:
        return []
    if not (sentence.startswith(_PREFIX) and sentence.endswith('.')):
        raise ValueError(f'not an object-list sentence: {sentence!r}')
    names = set(vocabulary)
    plurals: Dict[str, str] = {}
    for name in sorted(names):
        plurals.setdefault(plural(name), name)
    numbers = numbers if numbers is not None else number_words()
    parts = sentence[len(_PREFIX):-1].split(', ')
    if len(parts) > 1:
        if not parts[-1].startswith('and '):
            raise ValueError(f"the last object of {sentence!r} does not start with 'and '")
        parts[-1] = parts[-1][4:]
    pairs = []
    for part in parts:
        if part.startswith('a '):
            name, count = part[2:], 1
            if name not in names:
                raise ValueError(f'{name!r} in {sentence!r} is not a vocabulary name')
        else:
            words, _, word = part.rpartition(' ')
            if words not in numbers:
                raise ValueError(f'{words!r} in {sentence!r} is not a number in words')
            if word not in plurals:
                raise ValueError(f'{word!r} in {sentence!r} is not the plural of a vocabulary '
                                 'name')
            name, count = plurals[word], numbers[words]
        pairs.append((name, count))
    return pairs


_WORD = re.compile(r'^[a-z]+$')


def vocabulary_of(labels: Iterable[str]) -> List[str]:
    """The sorted distinct object names (:func:`rsa_object_name`) of class labels."""
    return sorted({rsa_object_name(label) for label in labels if _WORD.match(
        rsa_object_name(label) or '-')})
