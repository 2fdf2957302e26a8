"""``tools/infer.py``: files, formats, PLY, caption files, errors; depth equals model.predict."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tr2m.apis import init_depther
from tr2m.apis.pointcloud import depth_to_points, read_ply
from tr2m.datasets.depth_io import read_rgb
from tr2m.structures import DepthDataSample

REPO = Path(__file__).resolve().parents[2]

CAPTIONS = {'a.png': 'A small bedroom with a bed against the wall.',
            'b.png': 'A wide street lined with tall buildings and 2 parked cars.'}


@pytest.fixture
def image_dir(tmp_path, synthetic_root):
    frames = json.loads((synthetic_root / 'test.json').read_text())['frames']
    folder = tmp_path / 'imgs'
    folder.mkdir()
    shutil.copy(synthetic_root / frames[0]['rgb'], folder / 'a.png')  # indoor
    shutil.copy(synthetic_root / frames[2]['rgb'], folder / 'b.png')  # outdoor
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_infer_writes_every_output(load_tool, infer_config, infer_checkpoint, image_dir,
                                   tmp_path):
    infer = load_tool('tools/infer.py')
    caps = tmp_path / 'captions.json'
    caps.write_text(json.dumps({'a.png': CAPTIONS['a.png'], 'b.png': [CAPTIONS['b.png'], 'x']}))
    out = tmp_path / 'out'
    intr = [100.0, 110.0, 63.5, 47.5]
    report = infer.main([str(infer_config), str(infer_checkpoint), '--img', str(image_dir),
                         '--text-file', str(caps), '--out-dir', str(out), '--intrinsics',
                         *map(str, intr), '--save-ply', '--device', 'cpu'])
    assert report['units'] == 'm' and report['png_scale'] == 1000.0
    saved = json.loads((out / 'infer.json').read_text())
    assert [e['caption'] for e in saved['images'].values()] == list(CAPTIONS.values())

    model = init_depther(str(infer_config), str(infer_checkpoint))
    for name, caption in CAPTIONS.items():
        stem = name[:-4]
        depth = np.load(out / f'{stem}_depth.npy')
        assert depth.shape == (96, 128) and depth.dtype == np.float32 and depth.std() > 0
        png = cv2.imread(str(out / f'{stem}_depth.png'), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint16
        np.testing.assert_array_equal(png, np.clip(np.round(depth * 1000), 0, 65535))
        vis = cv2.imread(str(out / f'{stem}_vis.png'))
        assert vis.shape == (96, 256, 3)  # RGB | colourised depth

        # the same prediction as model.predict on the resized image, at the original size
        rgb = read_rgb(str(image_dir / name))
        small = cv2.resize(rgb, (112, 84), interpolation=cv2.INTER_AREA)
        inputs = torch.from_numpy(small.transpose(2, 0, 1).copy()).float()[None] / 255
        sample = DepthDataSample(metainfo=dict(ori_shape=(96, 128)))
        sample.caption = caption
        with torch.no_grad():
            ref = model.predict(inputs, [sample])[0].pred_depth.data[0].numpy()
        np.testing.assert_allclose(depth, ref, rtol=1e-5)

        info, vertex = read_ply(str(out / f'{stem}.ply'))
        assert info['count'] == int((depth > 0).sum()) == len(vertex) == 96 * 128
        assert 'units m' in info['comments']
        points, colors = depth_to_points(depth, intr, rgb)
        xyz = np.stack([vertex['x'], vertex['y'], vertex['z']], 1)
        np.testing.assert_allclose(xyz, points, rtol=1e-6)
        # pixel (u=10, v=20): X = (10 - cx) Z / fx, Y = (20 - cy) Z / fy
        z = depth[20, 10]
        np.testing.assert_allclose(xyz[20 * 128 + 10], [(10 - 63.5) * z / 100,
                                                        (20 - 47.5) * z / 110, z], rtol=1e-5)
        np.testing.assert_array_equal(vertex['red'], rgb[..., 0].ravel())


def test_untrained_checkpoint_none_single_file_and_text(load_tool, infer_config, image_dir,
                                                        tmp_path):
    infer = load_tool('tools/infer.py')
    out = tmp_path / 'out'
    report = infer.main([str(infer_config), 'none', '--img', str(image_dir / 'b.png'),
                         '--text', 'A street.', '--out-dir', str(out)])
    assert list(report['images']) == [str(image_dir / 'b.png')]
    assert sorted(p.name for p in out.iterdir()) == [
        'b_depth.npy', 'b_depth.png', 'b_vis.png', 'infer.json']
    # untrained TR2M heads are constant exp(0) = 1: depth = 1 / (rel + 1) <= 1 with rel >= 0
    assert np.load(out / 'b_depth.npy').max() <= 1.0 + 1e-6


def test_caption_text_file(load_tool, image_dir, tmp_path):
    infer = load_tool('tools/infer.py')
    images = infer.collect_images(str(image_dir))
    assert [p.split('/')[-1] for p in images] == ['a.png', 'b.png']  # sorted, images only
    lines = tmp_path / 'caps.txt'
    lines.write_text('# one caption per image, sorted by name\nfirst caption\n\nsecond\n')
    assert infer.read_captions(images, str(image_dir), None, str(lines)) == ['first caption',
                                                                             'second']
    lines.write_text('only one\n')
    with pytest.raises(SystemExit, match='1 captions but there are 2 images'):
        infer.read_captions(images, str(image_dir), None, str(lines))
    js = tmp_path / 'caps.json'
    js.write_text(json.dumps({'a.png': 'x'}))
    with pytest.raises(SystemExit, match='no caption for image .*b.png'):
        infer.read_captions(images, str(image_dir), None, str(js))
    assert infer.read_captions(images, str(image_dir), 'same', None) == ['same', 'same']
    assert infer.collect_images(str(image_dir / '*.png')) == images  # glob


def test_errors_before_any_work(load_tool, infer_config, image_dir, tmp_path):
    infer = load_tool('tools/infer.py')
    js = tmp_path / 'caps.json'
    js.write_text(json.dumps({'a.png': 'fine', 'b.png': ' '}))
    with pytest.raises(SystemExit, match='empty caption for image .*b.png'):
        infer.main([str(infer_config), 'none', '--img', str(image_dir), '--text-file', str(js)])
    with pytest.raises(SystemExit, match='image not found'):
        infer.main([str(infer_config), 'none', '--img', str(tmp_path / 'no.png'), '--text', 'a'])
    # a command line from the repo root, without PYTHONPATH: argparse rejects --save-ply alone
    proc = subprocess.run([sys.executable, 'tools/infer.py', str(infer_config), 'none', '--img',
                           str(image_dir), '--text', 'a', '--save-ply'], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and '--save-ply needs --intrinsics' in proc.stderr


def test_units_and_png_scale(load_tool, infer_config):
    from mmengine.config import Config

    infer = load_tool('tools/infer.py')
    assert infer.model_units(Config.fromfile(str(infer_config))) == 'm'
    c3vd = Config(dict(test_dataloader=dict(dataset=dict(type='C3VDDataset'))))
    assert infer.model_units(c3vd) == 'mm' and infer.PNG_SCALES['mm'] == 100.0
    nyu_mm = Config(dict(test_dataloader=dict(dataset=dict(
        type='NYUv2Dataset', protocol=dict(units='mm')))))
    assert infer.model_units(nyu_mm) == 'mm'
    mixed = Config(dict(test_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[
        dict(type='NYUv2Dataset'), dict(type='C3VDDataset')]))))
    assert infer.model_units(mixed) == 'm'  # ambiguous: metres (use --units)
