"""The vision-language captioner on real frames: batched equals one by one, seeded, provenance,
and the real loading path (a saved folder through ``from_pretrained``)."""
import pytest

from tr2m.captioners import CaptionerLoadError, build_captioner, image_seed
from tr2m.captioners.vlm_captioner import GumbelSampler, top_p_filter


def texts(rows):
    return [[c.text for c in row] for row in rows]


@pytest.mark.parametrize('preset', ['smolvlm_256m_toy', 'llava_v16_vicuna_toy',
                                    'llava_v16_mistral_toy'])
def test_batched_equals_one_by_one_and_seeded(preset, real_frames):
    images, keys = real_frames
    cap = build_captioner(preset, batch_size=4)
    batched = texts(cap.caption_images(images, keys))
    single = [texts(cap.caption_images([img], [key]))[0] for img, key in zip(images, keys)]
    assert batched == single
    assert all(len(row) == 5 and all(row) for row in batched)
    assert len({t for row in batched for t in row}) > 5  # sampling varies the captions
    again = texts(build_captioner(preset, batch_size=2).caption_images(images, keys))
    assert again == batched  # same seed, fresh model: same captions
    other = texts(build_captioner(preset, seed=1).caption_images(images[:2], keys[:2]))
    assert other != batched[:2]


def test_provenance(real_frames):
    images, keys = real_frames
    cap = build_captioner('llava_v16_vicuna_toy', seed=3)
    prov = cap.caption_images(images[:1], keys[:1])[0][0].provenance
    assert prov is cap.sources[0]
    assert prov['captioner'] == 'llava_v16_vicuna_toy' and prov['seed'] == 3
    assert prov['prompt'] == 'Describe the image concisely.'
    assert prov['chat_prompt'].endswith('USER: <image>\nDescribe the image concisely. ASSISTANT:')
    assert prov['generation']['temperature'] == 0.2 and prov['generation']['max_new_tokens'] == 8
    assert prov['model_class'] == 'LlavaNextForConditionalGeneration'
    assert prov['weights'].startswith('random') and prov['count'] == 5


def test_full_preset_under_random_init_keeps_its_hub_id(monkeypatch):
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    monkeypatch.setattr('tr2m.captioners.vlm_archs.VLM_ARCHS', dict(
        __import__('tr2m.captioners.vlm_archs', fromlist=['x']).VLM_ARCHS,
        smolvlm_256m=__import__('tr2m.captioners.vlm_archs', fromlist=['x']).VLM_ARCHS[
            'smolvlm_toy']))
    cap = build_captioner('smolvlm_256m', max_new_tokens=4)
    prov = cap.sources[0]
    assert prov['model'] == 'HuggingFaceTB/SmolVLM-256M-Instruct' and prov['revision'] == 'main'
    assert prov['weights'] == 'random (TR2M_RANDOM_INIT=1)'


def test_saved_folder_loads_through_from_pretrained(tmp_path, real_frames):
    images, keys = real_frames
    toy = build_captioner('smolvlm_256m_toy')
    toy.save_pretrained(str(tmp_path / 'smolvlm'))
    loaded = build_captioner('smolvlm_256m', model_path=str(tmp_path / 'smolvlm'),
                             max_new_tokens=8, suppress_special=True)
    assert loaded.weights == 'pretrained'
    assert loaded.sources[0]['model_path'] == str(tmp_path / 'smolvlm')
    assert texts(loaded.caption_images(images[:2], keys[:2])) == \
        texts(toy.caption_images(images[:2], keys[:2]))


def test_a_model_that_cannot_be_loaded_is_one_line(tmp_path, monkeypatch):
    import transformers

    def offline(*args, **kwargs):  # what from_pretrained raises without internet, at once
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files,\n"
                      "and couldn't find them in the cached files.")

    monkeypatch.setattr(transformers.AutoProcessor, 'from_pretrained', offline)
    with pytest.raises(CaptionerLoadError) as err:
        build_captioner('llava_v16_vicuna')
    message = str(err.value)
    assert '\n' not in message and 'llava-hf/llava-v1.6-vicuna-7b-hf' in message
    assert '--model-path' in message and 'huggingface-cli download' in message
    with pytest.raises(CaptionerLoadError, match='not a folder'):
        build_captioner('llava_v16_vicuna', model_path=str(tmp_path / 'missing'))


def test_gumbel_sampler_draws_from_the_softmax():
    import torch

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    draws = torch.stack([
        GumbelSampler([image_seed(0, 'k', i)], temperature=1.0)(None, logits.clone()).argmax(-1)
        for i in range(4000)]).flatten()
    freq = torch.bincount(draws, minlength=3).float() / len(draws)
    assert torch.allclose(freq, torch.tensor([0.5, 0.3, 0.2]), atol=0.03)
    greedy = GumbelSampler([1], temperature=0.0, banned=[0])(None, logits.clone())
    assert int(greedy.argmax()) == 1  # banned token never wins
    kept = top_p_filter(logits.clone(), 0.6)
    assert torch.isinf(kept[0, 2]) and not torch.isinf(kept[0, :2]).any()


@pytest.mark.parametrize('preset', ['smolvlm_256m_toy', 'llava_v16_mistral_toy'])
def test_encoding_once_gives_the_captions_of_encoding_every_copy(preset, real_frames):
    images, keys = real_frames
    once = build_captioner(preset, batch_size=2)
    every = build_captioner(preset, batch_size=2, encode_once=False)
    assert once.encode_once and not every.encode_once
    assert texts(once.caption_images(images, keys)) == texts(every.caption_images(images, keys))


def test_image_splitting_decides_the_image_tokens(real_frames):
    images, _ = real_frames
    single = build_captioner('smolvlm_256m_toy')  # the preset's setting: one tile
    split = build_captioner('smolvlm_256m_toy', image_splitting=True)
    assert single.sources[0]['image_splitting'] is False
    assert split.sources[0]['image_splitting'] is True
    image_token = single.processor.tokenizer.convert_tokens_to_ids('<image>')
    one = int((single._inputs(images[0])['input_ids'] == image_token).sum())
    many = int((split._inputs(images[0])['input_ids'] == image_token).sum())
    # toy: 32x32 tile, patch 8 -> 16 patches, pixel shuffle 2 -> 4 tokens per tile; a 64-pixel
    # longest edge at the frames' 4:3 gives a 2x2 grid plus the global tile when splitting
    assert one == 4 and many == 5 * 4
    with pytest.raises(ValueError, match='SmolVLM / Idefics3'):
        build_captioner('llava_v16_vicuna_toy', image_splitting=False)
