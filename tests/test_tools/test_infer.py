"""``tools/infer.py``: files, formats, PLY, pictures, caption files, flip test, comparison;
every input checked before the model is built; an untrained model refused or marked."""
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
from tr2m.utils.errors import ArgumentError, DataError, MissingCheckpointError, MissingFileError
from tr2m.visualization import DepthStyle, render_panels
from tr2m.visualization.depth_panels import WARNING

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


def _predict(model, rgb, caption):
    """``model.predict`` on the image resized as the quickstart pipeline does."""
    small = cv2.resize(rgb, (112, 84), interpolation=cv2.INTER_AREA)
    inputs = torch.from_numpy(small.transpose(2, 0, 1).copy()).float()[None] / 255
    sample = DepthDataSample(metainfo=dict(ori_shape=rgb.shape[:2]))
    sample.caption = caption
    with torch.no_grad():
        return model.predict(inputs, [sample])[0]


def test_infer_writes_every_output(load_tool, infer_config, infer_checkpoint, image_dir,
                                   tmp_path):
    infer = load_tool('tools/infer.py')
    caps = tmp_path / 'captions.json'
    caps.write_text(json.dumps({'a.png': CAPTIONS['a.png'], 'b.png': [CAPTIONS['b.png'], 'x']}))
    out = tmp_path / 'out'
    intr = [100.0, 110.0, 63.5, 47.5]
    report = infer.main([str(infer_config), str(infer_checkpoint), '--img', str(image_dir),
                         '--text-file', str(caps), '--out-dir', str(out), '--intrinsics',
                         *map(str, intr), '--save-ply', '--device', 'cpu',
                         '--precision', 'fp32'])  # compared with float32 predict below
    assert report['units'] == 'm' and report['png_scale'] == 1000.0
    assert report['untrained'] is False and report['flip_test'] is None
    assert report['warnings'] == ['one set of --intrinsics for all 2 images (per-image: '
                                  '--intrinsics-file)']  # one set for two images: said
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

        # the same prediction as model.predict on the resized image, at the original size
        rgb = read_rgb(str(image_dir / name))
        ref = _predict(model, rgb, caption)
        np.testing.assert_allclose(depth, ref.pred_depth.data[0].numpy(), rtol=1e-5)

        # the picture: image | depth | scale A | shift B with bars in metres and the caption,
        # exactly what the visualisation module renders for these maps
        vis = cv2.imread(str(out / f'{stem}_vis.png'))[..., ::-1]
        fig = render_panels(rgb, depth, scale=ref.pred_scale.data[0].numpy(),
                            shift=ref.pred_shift.data[0].numpy(), caption=caption,
                            protocol=dict(units='m'), style=DepthStyle(),
                            title=f'{infer_config.name}  {infer_checkpoint.name}',
                            warnings=report['warnings'])
        assert list(fig.panels) == ['image', 'pred', 'scale', 'shift']
        assert vis.shape == fig.image.shape
        assert np.abs(vis.astype(int) - fig.image).mean() < 1.0  # float32 round-off only
        assert all(t.label.endswith(' m') for t in fig.panels['pred'].ticks)

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


def test_untrained_is_refused_before_building_then_marked(load_tool, infer_config, image_dir,
                                                          tmp_path, monkeypatch):
    infer = load_tool('tools/infer.py')
    out = tmp_path / 'out'
    import tr2m.apis.inference as inference

    def no_build(*args, **kwargs):
        raise AssertionError('the model must not be built')

    with monkeypatch.context() as m:
        m.setattr(inference, 'init_depther', no_build)
        with pytest.raises(ArgumentError, match="checkpoint 'none': TR2M's heads would be "
                                                'untrained.*--allow-untrained'):
            infer.main([str(infer_config), 'none', '--img', str(image_dir / 'b.png'),
                        '--text', 'A street.', '--out-dir', str(out)])
    assert not out.exists()
    report = infer.main([str(infer_config), 'none', '--img', str(image_dir / 'b.png'),
                         '--text', 'A street.', '--out-dir', str(out), '--allow-untrained'])
    assert report['untrained'] is True and 'UNTRAINED TR2M' in report['warnings'][0]
    assert json.loads((out / 'infer.json').read_text())['untrained'] is True
    assert sorted(p.name for p in out.iterdir()) == [
        'b_depth.npy', 'b_depth.png', 'b_vis.png', 'infer.json']
    # untrained TR2M heads are constant softplus(log(e - 1)) = 1: depth = 1 / (rel + 1) <= 1
    # with rel >= 0
    assert np.load(out / 'b_depth.npy').max() <= 1.0 + 1e-6
    # ... and the picture says so, in red under the panels
    vis = cv2.imread(str(out / 'b_vis.png'))[..., ::-1].astype(int)
    footer = vis[-60:]  # the lines under the panels
    assert (np.abs(footer - np.array(WARNING)).sum(2) < 60).sum() > 100


def test_caption_files_match_by_name(load_tool, image_dir, tmp_path):
    infer = load_tool('tools/infer.py')
    images = infer.collect_images(str(image_dir))
    assert [p.split('/')[-1] for p in images] == ['a.png', 'b.png']  # sorted, images only
    tsv = tmp_path / 'caps.tsv'
    tsv.write_text('# image<TAB>caption\nb.png\tsecond\n\na.png\tfirst caption\n')
    assert infer.read_captions(images, str(image_dir), None, str(tsv)) == ['first caption',
                                                                           'second']
    plain = tmp_path / 'caps.txt'
    plain.write_text('first caption\nsecond\n')  # the order of the lines is never trusted
    with pytest.raises(DataError, match=r"caps.txt:1: expected 'image<TAB>caption'"):
        infer.read_captions(images, str(image_dir), None, str(plain))
    tsv.write_text('a.png\tx\na.png\ty\n')
    with pytest.raises(DataError, match="image 'a.png' has a caption already"):
        infer.read_captions(images, str(image_dir), None, str(tsv))
    js = tmp_path / 'caps.json'
    js.write_text(json.dumps({'a.png': 'x'}))
    with pytest.raises(DataError, match='no caption for image .*b.png'):
        infer.read_captions(images, str(image_dir), None, str(js))
    js.write_text(json.dumps({'a.png': 'x', 'b.png': 'y', 'c.png': 'z'}))
    with pytest.raises(DataError, match='not among the 2 given: c.png'):
        infer.read_captions(images, str(image_dir), None, str(js))
    assert infer.read_captions(images, str(image_dir), 'same', None) == ['same', 'same']
    assert infer.collect_images(str(image_dir / '*.png')) == images  # glob


def test_every_input_is_checked_before_the_model_is_built(load_tool, infer_config, image_dir,
                                                          infer_checkpoint, tmp_path,
                                                          monkeypatch):
    infer = load_tool('tools/infer.py')
    import tr2m.apis.inference as inference

    monkeypatch.setattr(inference, 'init_depther', lambda *a, **k: (_ for _ in ()).throw(
        AssertionError('the model must not be built')))
    out = tmp_path / 'out'
    base = [str(infer_config), str(infer_checkpoint), '--out-dir', str(out)]
    js = tmp_path / 'caps.json'
    js.write_text(json.dumps({'a.png': 'fine', 'b.png': ' '}))
    with pytest.raises(DataError, match='empty caption for image .*b.png'):
        infer.main(base + ['--img', str(image_dir), '--text-file', str(js)])
    with pytest.raises(MissingFileError, match='image not found'):
        infer.main(base + ['--img', str(tmp_path / 'no.png'), '--text', 'a'])
    (image_dir / 'c.png').write_bytes(b'\x89PNG truncated')
    with pytest.raises(DataError, match='cannot decode image .*c.png'):
        infer.main(base + ['--img', str(image_dir), '--text', 'a'])
    (image_dir / 'c.png').unlink()
    with pytest.raises(MissingCheckpointError, match='checkpoint not found: .*nope.pth'):
        infer.main([str(infer_config), str(tmp_path / 'nope.pth'), '--img', str(image_dir),
                    '--text', 'a', '--out-dir', str(out)])
    torn = tmp_path / 'torn.pth'
    torn.write_bytes(infer_checkpoint.read_bytes()[:1000])
    from tr2m.utils.errors import CheckpointError

    with pytest.raises(CheckpointError, match='torn.pth .* is not a complete PyTorch checkpoint'):
        infer.main([str(infer_config), str(torn), '--img', str(image_dir), '--text', 'a',
                    '--out-dir', str(out)])
    assert not out.exists()  # nothing was created


def test_command_line_errors_are_one_line_exit_2(load_tool, infer_config, image_dir, tmp_path,
                                                 capsys):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    # from the repo root without PYTHONPATH, as a user runs it
    proc = subprocess.run([sys.executable, 'tools/infer.py', str(infer_config), 'none',
                           '--out-dir', str(tmp_path / 'o'), '--img', str(bad), '--text', 'a'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f'infer.py: error: cannot decode image (corrupt, empty or not ' \
        f'an image): {bad}'
    assert not (tmp_path / 'o').exists()
    infer = load_tool('tools/infer.py')
    with pytest.raises(SystemExit) as exit_info:
        infer.parse_args([str(infer_config), 'none', '--img', str(image_dir), '--text', 'a',
                          '--save-ply'])
    assert exit_info.value.code == 2 and '--save-ply needs --intrinsics' in capsys.readouterr().err
    proc = subprocess.run([sys.executable, 'tools/infer.py', str(infer_config), 'none',
                           '--img', str(bad), '--text', 'a', '--debug'], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and 'Traceback' in proc.stderr  # --debug: the traceback


def test_flip_test_and_comparison(load_tool, infer_config, infer_checkpoint, image_dir,
                                  tmp_path):
    infer = load_tool('tools/infer.py')
    out = tmp_path / 'out'
    report = infer.main([str(infer_config), str(infer_checkpoint), '--img',
                         str(image_dir / 'a.png'), '--text', CAPTIONS['a.png'], '--out-dir',
                         str(out), '--flip-test', '--compare', str(infer_config),
                         str(infer_checkpoint), '--precision', 'fp32'])
    assert report['flip_test'] == 'mean'
    model = init_depther(str(infer_config), str(infer_checkpoint))
    rgb = read_rgb(str(image_dir / 'a.png'))
    plain = _predict(model, rgb, CAPTIONS['a.png']).pred_depth.data[0].numpy()
    mirrored = _predict(model, np.ascontiguousarray(rgb[:, ::-1]),
                        CAPTIONS['a.png']).pred_depth.data[0].numpy()[:, ::-1]
    depth = np.load(out / 'a_depth.npy')
    np.testing.assert_allclose(depth, 0.5 * (plain + mirrored), rtol=1e-4)
    assert np.abs(depth - plain).max() > 1e-4  # the flip changed something
    compare = cv2.imread(str(out / 'a_compare.png'))
    assert compare is not None and compare.shape[1] > compare.shape[0]


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
