"""RSA's object-list grammar: hand cases, and every released object-list sentence reproduced."""
import random

import pytest

from tr2m.captioners.object_grammar import (
    COCO_NUM_THINGS,
    COCO_PANOPTIC_CLASSES,
    count_in_order,
    object_list_sentence,
    object_list_sentences,
    parse_object_list_sentence,
    rsa_object_name,
    vocabulary_of,
)

VOCAB = vocabulary_of(COCO_PANOPTIC_CLASSES)


def test_the_coco_panoptic_table():
    assert len(COCO_PANOPTIC_CLASSES) == 133 and len(set(COCO_PANOPTIC_CLASSES)) == 133
    assert COCO_PANOPTIC_CLASSES[COCO_NUM_THINGS - 1] == 'toothbrush'
    assert COCO_PANOPTIC_CLASSES[COCO_NUM_THINGS] == 'banner'
    assert COCO_PANOPTIC_CLASSES[-1] == 'rug-merged'


@pytest.mark.parametrize('label,name', [
    ('wall-other-merged', 'wall'), ('traffic light', 'traffic'), ('dining table', 'dining'),
    ('door-stuff', 'door'), ('person', 'person'), ('sky-other-merged', 'sky')])
def test_object_name_is_the_first_word(label, name):
    assert rsa_object_name(label) == name


def test_sentences_by_hand():
    names = ['laptop', 'wall', 'tv', 'table', 'paper', 'tv', 'cardboard']
    assert count_in_order(names) == [('laptop', 1), ('wall', 1), ('tv', 2), ('table', 1),
                                     ('paper', 1), ('cardboard', 1)]
    assert object_list_sentence(count_in_order(names)) == (
        'An image with a laptop, a wall, two tvs, a table, a paper, and a cardboard.')
    assert object_list_sentence([]) == 'An image.'
    assert object_list_sentence([('oven', 1)]) == 'An image with a oven.'  # 'a' before vowels
    assert object_list_sentence([('chair', 17)]) == 'An image with seventeen chairs.'
    assert object_list_sentence([('person', 2), ('book', 21)]) == (
        'An image with two people, and twenty-one books.')
    with pytest.raises(ValueError, match='count'):
        object_list_sentence([('chair', 0)])


def test_five_shuffled_orders_keep_the_counts_and_are_seeded():
    names = ['chair'] * 3 + ['table', 'wall', 'person', 'person', 'window']
    first = object_list_sentences(names, random.Random(7))
    assert first == object_list_sentences(names, random.Random(7)) and len(first) == 5
    assert len(set(first)) > 1  # the order changes
    for sentence in first:
        assert sorted(parse_object_list_sentence(sentence, VOCAB)) == sorted(
            count_in_order(names))
    assert object_list_sentences([], random.Random(0), 3) == ['An image.'] * 3


def test_parse_rejects_what_is_not_the_grammar():
    for bad in ('A picture with a cat.', 'An image with a cat, a dog.',
                'An image with many cats.', 'An image with a unicorn.'):
        with pytest.raises(ValueError):
            parse_object_list_sentence(bad, VOCAB)


def test_every_released_object_list_sentence_is_reproduced(rsa_text):
    """RSA's 2,106 test caption files (NYUv2, KITTI, VOID): lines 11-15 are object lists; each
    is parsed into ordered counts and written again by tr2m's writer, character for character;
    the five sentences of a file have the same counts."""
    files = sorted((rsa_text / 'text' / 'text_all').glob('*/test/**/*.txt'))
    assert len(files) == 2106
    from tr2m.captioners.object_grammar import number_words

    numbers = number_words(1000)
    sentences = 0
    for path in files:
        lines = [ln.strip() for ln in path.read_text(encoding='utf-8').splitlines() if ln.strip()]
        assert len(lines) == 15, path
        counts = []
        for sentence in lines[10:15]:
            pairs = parse_object_list_sentence(sentence, VOCAB, numbers)
            assert object_list_sentence(pairs) == sentence, path
            counts.append(sorted(pairs))
            sentences += 1
        assert all(c == counts[0] for c in counts), path
    assert sentences == 10530
