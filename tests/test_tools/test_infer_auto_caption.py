"""``tools/infer.py --caption auto`` and the API without a caption: the captioner writes it, and
the caption used is reported in ``infer.json`` (and drawn under the picture)."""
import json
import shutil

from tr2m.apis.auto_caption import auto_captions, fill_captions


def test_infer_caption_auto(load_tool, infer_config, infer_checkpoint, synthetic_root, tmp_path):
    frames = json.loads((synthetic_root / 'test.json').read_text())['frames']
    folder = tmp_path / 'imgs'
    folder.mkdir()
    shutil.copy(synthetic_root / frames[0]['rgb'], folder / 'a.png')
    shutil.copy(synthetic_root / frames[2]['rgb'], folder / 'b.png')
    expected, provenance = auto_captions([str(folder / 'a.png'), str(folder / 'b.png')],
                                         'smolvlm_256m_toy')
    assert all(expected) and provenance['captioner'] == 'smolvlm_256m_toy'
    out = tmp_path / 'out'
    report = load_tool('tools/infer.py').main([
        str(infer_config), str(infer_checkpoint), '--img', str(folder), '--caption', 'auto',
        '--captioner', 'smolvlm_256m_toy', '--out-dir', str(out), '--device', 'cpu'])
    written = json.loads((out / 'infer.json').read_text())
    assert [written['images'][str(folder / n)]['caption'] for n in ('a.png', 'b.png')] == expected
    assert written['captioner']['captioner'] == 'smolvlm_256m_toy'
    assert written['captioner']['count'] == 1  # one caption is all infer needs
    assert report['captioner']['prompt'] == 'Describe the image concisely.'

    from tr2m.apis import infer_depth, init_depther

    model = init_depther(str(infer_config), str(infer_checkpoint))
    result = infer_depth(model, str(folder / 'a.png'), captioner='smolvlm_256m_toy')
    assert result['caption'] == expected[0]
    given = infer_depth(model, str(folder / 'a.png'), 'A given caption.')
    assert given['caption'] == 'A given caption.'


def test_fill_only_the_missing_captions(synthetic_root):
    frames = json.loads((synthetic_root / 'test.json').read_text())['frames']
    paths = [str(synthetic_root / f['rgb']) for f in frames[:2]]
    filled = fill_captions(paths, ['Mine.', None], 'object_list_toy')
    assert filled[0] == 'Mine.' and filled[1].startswith('An image')


def test_the_default_captioner_follows_the_device(monkeypatch, synthetic_root):
    import torch

    from tr2m.apis import auto_caption

    assert auto_caption.DEFAULT_CAPTIONER == 'auto'
    assert auto_caption.default_captioner(cuda=True) == 'llava_v16_vicuna'
    assert auto_caption.default_captioner(cuda=False) == 'smolvlm_256m'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert auto_caption.default_captioner() == 'smolvlm_256m'
    # 'auto' resolves through the rule (toys stand in for the full presets here)
    monkeypatch.setattr(auto_caption, 'AUTO_CAPTIONERS',
                        ('llava_v16_vicuna_toy', 'smolvlm_256m_toy'))
    frames = json.loads((synthetic_root / 'test.json').read_text())['frames']
    _, provenance = auto_captions([str(synthetic_root / frames[0]['rgb'])], 'auto')
    assert provenance['captioner'] == 'smolvlm_256m_toy'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert auto_caption.default_captioner() == 'llava_v16_vicuna_toy'


def test_an_unknown_captioner_is_one_line_before_the_model(load_tool, capsys):
    import pytest

    with pytest.raises(SystemExit) as err:
        load_tool('tools/infer.py').main(['missing.py', 'missing.pth', '--img', 'x.png',
                                          '--caption', 'auto', '--captioner', 'llava'])
    assert err.value.code == 2
    assert "--captioner 'llava' is no captioner preset" in capsys.readouterr().err
