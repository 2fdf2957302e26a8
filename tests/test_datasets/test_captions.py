import json

import numpy as np
import pytest

from tr2m.datasets import (
    CaptionNotFoundError,
    FixedCaptionSource,
    JSONCaptionSource,
    NYUv2Dataset,
    RSACaptionSource,
    TemplateCaptionSource,
    build_caption_source,
)
from tr2m.datasets.transforms import LoadCaption
from tr2m.registry import TASK_UTILS

from ._trees import rsa_captions


def test_rsa_source_reads_rsa_files(rsa_text):
    source = RSACaptionSource(root=str(rsa_text / 'text' / 'text_all'), dataset='kitti',
                              split='test')
    key = '2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png'
    caps = source.captions(key)
    assert len(caps) == 15
    assert caps == rsa_captions(rsa_text, 'kitti', key)
    assert source.path_of('/' + key).endswith(
        'kitti/test/2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.txt')
    void = RSACaptionSource(root=str(rsa_text / 'text' / 'text_all'), dataset='void',
                            split='test')
    assert void('void_1500/data/desktop2/image/1552625295.7828.png')[0] == (
        'A black computer monitor on a wooden desk.')


def test_missing_caption_names_the_image(rsa_text):
    source = RSACaptionSource(root=str(rsa_text / 'text' / 'text_all'), dataset='nyu',
                              split='test')
    with pytest.raises(CaptionNotFoundError, match='bathroom/rgb_99999.jpg'):
        source.captions('bathroom/rgb_99999.jpg', img_path='/data/nyu/bathroom/rgb_99999.jpg')
    assert issubclass(CaptionNotFoundError, FileNotFoundError)


def test_dataset_missing_caption_error_fallback_skip(trees, tmp_path):
    text_root = tmp_path / 'text_all'
    (text_root / 'nyu' / 'test' / 'bathroom').mkdir(parents=True)
    key = trees.nyu_test[0][0]
    (text_root / 'nyu' / 'test' / (key[:-4] + '.txt')).write_text('Only this one.\n\n')
    source = dict(type='RSACaptionSource', root=str(text_root), dataset='nyu', split='test')
    with pytest.raises(CaptionNotFoundError, match=trees.nyu_test[1][0]):
        NYUv2Dataset(data_root=str(trees.nyu), caption_source=source)
    ds = NYUv2Dataset(data_root=str(trees.nyu), caption_source=source,
                      caption_fallback='An indoor scene.')
    assert [ds.get_data_info(i)['captions'] for i in range(3)] == [
        ['Only this one.'], ['An indoor scene.'], ['An indoor scene.']]
    skipped = NYUv2Dataset(data_root=str(trees.nyu), caption_source=source,
                           missing_caption='skip')
    assert len(skipped) == 1
    with pytest.raises(ValueError, match='caption_fallback'):
        NYUv2Dataset(data_root=str(trees.nyu), caption_source=source,
                     missing_caption='fallback')
    with pytest.raises(ValueError, match='missing_caption'):
        NYUv2Dataset(data_root=str(trees.nyu), caption_source=source, missing_caption='ignore')


def test_json_source(tmp_path):
    path = tmp_path / 'captions.json'
    path.write_text(json.dumps({'./scene/a.jpg': ['one', ' two ', ''], 'b.png': 'single'}))
    source = JSONCaptionSource(str(path))
    assert source.captions('scene/a.jpg') == ['one', 'two']
    assert source.captions('/b.png') == ['single']
    with pytest.raises(CaptionNotFoundError, match='scene/a.png'):
        source.captions('scene/a.png')
    assert JSONCaptionSource(str(path), match_stem=True).captions('scene/a.png') == ['one', 'two']
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match='must hold an object'):
        JSONCaptionSource(str(path))


def test_template_presets_and_custom():
    c3vd = TemplateCaptionSource(preset='c3vd')
    assert c3vd.captions('trans_t4_b/0102_color.png') == [
        'The image shows a surgical scene of transverse colon with texture type 4.']
    assert c3vd.captions('c3vd/desc_t4_a/0000_color.png') == [
        'The image shows a surgical scene of descending colon with texture type 4.']
    with pytest.raises(CaptionNotFoundError, match='kitchen/0001.png'):
        c3vd.captions('kitchen/0001.png')
    simcol = TemplateCaptionSource(preset='simcol')
    assert simcol.captions('SyntheticColon_III/Frames_O1/FrameBuffer_0000.png') == [
        'The image shows a surgical scene of colon with texture type 3.']
    custom = TemplateCaptionSource(template=['A {room}.', 'Photo {n} of a {room}.'],
                                   pattern=r'(?P<room>[a-z]+)_(?P<n>\d+)')
    assert custom.captions('office_12.png') == ['A office.', 'Photo 12 of a office.']
    with pytest.raises(KeyError, match='unknown template preset'):
        TemplateCaptionSource(preset='kitti')


def test_fixed_source_and_registry():
    assert FixedCaptionSource('An image.').captions('x.png') == ['An image.']
    with pytest.raises(ValueError):
        FixedCaptionSource(['', ' '])
    built = TASK_UTILS.build(dict(type='FixedCaptionSource', captions=['a', 'b']))
    assert built.captions('any') == ['a', 'b']
    assert build_caption_source(built) is built and build_caption_source(None) is None
    with pytest.raises(TypeError):
        build_caption_source('not a source')


def test_load_caption_random_vs_index(rsa_text):
    caps = rsa_captions(rsa_text, 'nyu', 'bathroom/rgb_00045.jpg')
    np.random.seed(0)
    picks = [LoadCaption(mode='random')(dict(captions=caps))['caption'] for _ in range(60)]
    assert set(picks) <= set(caps) and len(set(picks)) > 5
    np.random.seed(0)
    again = [LoadCaption(mode='random')(dict(captions=caps))['caption'] for _ in range(60)]
    assert picks == again  # seeded like mmengine's per-worker numpy seeding
    for index in (0, 7, 14):
        out = LoadCaption(mode='index', index=index)(dict(captions=caps))
        assert out['caption'] == caps[index] and out['caption_index'] == index
    with pytest.raises(IndexError, match='15 captions'):
        LoadCaption(mode='index', index=15)(dict(captions=caps, img_path='x.jpg'))
    fallback = LoadCaption(fallback='A scene.')(dict(captions=[], img_path='x.jpg'))
    assert fallback['caption'] == 'A scene.' and fallback['caption_index'] == -1
