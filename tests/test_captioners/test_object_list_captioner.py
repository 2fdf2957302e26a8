"""The object-list captioner (Mask2Former toy) on real frames."""
from tr2m.captioners import COCO_PANOPTIC_CLASSES, build_captioner, parse_object_list_sentence
from tr2m.captioners.object_grammar import vocabulary_of


def test_batched_equals_one_by_one_and_sentences_are_in_the_grammar(real_frames):
    images, keys = real_frames
    cap = build_captioner('object_list_toy', batch_size=3)
    rows = cap.caption_images(images, keys)
    single = [cap.caption_images([img], [key])[0] for img, key in zip(images, keys)]
    assert [[c.text for c in r] for r in rows] == [[c.text for c in r] for r in single]
    vocab = vocabulary_of(COCO_PANOPTIC_CLASSES)
    names = cap.segment_names(images)
    for row, segments in zip(rows, names):
        assert len(row) == 5 and segments  # the toy keeps every query: never empty
        for caption in row:
            pairs = parse_object_list_sentence(caption.text, vocab)
            assert sum(n for _, n in pairs) == len(segments)
    prov = rows[0][0].provenance
    assert prov['segmentation']['fused_stuff_classes'] == 53 and prov['count'] == 5
    assert prov['model_class'] == 'Mask2FormerForUniversalSegmentation'


def test_composite_gives_rsas_5_5_5(real_frames):
    images, keys = real_frames
    cap = build_captioner('rsa_15_toy')
    rows = cap.caption_images(images[:2], keys[:2])
    assert cap.num_captions == 15 and all(len(r) == 15 for r in rows)
    names = [s['captioner'] for s in cap.sources]
    assert names == ['llava_v16_mistral_toy', 'llava_v16_vicuna_toy', 'object_list_toy']
    assert [c.provenance['captioner'] for c in rows[0]] == [n for n in names for _ in range(5)]
    assert all(c.text.startswith('An image') for c in rows[0][10:])
    mistral = build_captioner('llava_v16_mistral_toy').caption_images(images[:2], keys[:2])
    assert [c.text for c in rows[1][:5]] == [c.text for c in mistral[1]]


def test_every_preset_has_a_toy_twin_that_builds():
    from tr2m.captioners import CAPTIONER_PRESETS, preset_names

    full = preset_names(toy=False)
    assert set(preset_names(toy=True)) == {f'{n}_toy' for n in full}
    for name in full:
        toy = CAPTIONER_PRESETS[f'{name}_toy'][0]
        assert toy['type'] == CAPTIONER_PRESETS[name][0]['type']
    for name in preset_names(toy=True):
        assert build_captioner(name).num_captions in (1, 5, 15)
