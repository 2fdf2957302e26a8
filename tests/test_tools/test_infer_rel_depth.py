"""tools/infer.py --rel-depth: the quickstart model (relative depth simulated from GT) runs on
images without GT when their relative depth is given (.npy or 16-bit PNG)."""
import json

import cv2
import numpy as np
import pytest


def test_demo_model_runs_on_images_with_given_relative_depth(load_tool, tiny_config,
                                                             tiny_checkpoint, synthetic_root,
                                                             tmp_path):
    from tr2m.apis import infer_depth, init_depther

    infer = load_tool('tools/infer.py')
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    rel_dir = tmp_path / 'rel'
    rel_dir.mkdir()
    rng = np.random.default_rng(0)
    rels = {}
    for i, src in enumerate(sorted((synthetic_root / 'test' / 'indoor').glob('*_rgb.png'))[:2]):
        rgb = cv2.imread(str(src))
        cv2.imwrite(str(imgs / f'img{i}.png'), rgb)
        rel = (0.5 + rng.random(rgb.shape[:2])).astype(np.float32)
        if i == 0:
            np.save(rel_dir / 'img0.npy', rel)
        else:  # a 16-bit PNG, read as value / --rel-depth-scale
            png = np.round(rel * 10000).astype(np.uint16)
            cv2.imwrite(str(rel_dir / 'img1.png'), png)
            rel = png.astype(np.float32) / 10000
        rels[f'img{i}'] = rel
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match='simulates relative depth from ground truth'):  # refused
        infer.main([str(tiny_config), str(tiny_checkpoint), '--img', str(imgs / 'img0.png'),
                    '--text', 'a room', '--out-dir', str(tmp_path / 'refused')])
    infer.main([str(tiny_config), str(tiny_checkpoint), '--img', str(imgs), '--text',
                'a small bedroom', '--out-dir', str(out), '--rel-depth', str(rel_dir),
                '--rel-depth-scale', '10000'])
    report = json.loads((out / 'infer.json').read_text())
    assert len(report['images']) == 2
    model = init_depther(str(tiny_config), str(tiny_checkpoint))
    for stem, rel in rels.items():
        depth = np.load(out / f'{stem}_depth.npy')
        assert np.isfinite(depth).all() and (depth > 0).all()
        ref = infer_depth(model, str(imgs / f'{stem}.png'), 'a small bedroom', rel_depth=rel)
        np.testing.assert_allclose(depth, ref['depth'], rtol=1e-5)
    # median normalisation divides each map by its median
    maps = infer.load_rel_depths(str(rel_dir), [str(imgs / 'img0.png')], norm='median')
    assert np.median(maps[0]) == pytest.approx(1.0)


def test_outputs_warn_of_the_demo_model_and_the_given_inputs(load_tool, tiny_config,
                                                           tiny_checkpoint, synthetic_root,
                                                           tmp_path):
    """infer.json and the pictures say: demo model, relative depth from the user; per-image
    intrinsics reach the PLY; --pred-only / --grayscale write the depth picture alone."""
    infer = load_tool('tools/infer.py')
    imgs, rel_dir = tmp_path / 'imgs', tmp_path / 'rel'
    imgs.mkdir()
    rel_dir.mkdir()
    for i, src in enumerate(sorted((synthetic_root / 'test' / 'indoor').glob('*_rgb.png'))[:2]):
        rgb = cv2.imread(str(src))
        cv2.imwrite(str(imgs / f'img{i}.png'), rgb)
        np.save(rel_dir / f'img{i}.npy', np.linspace(0.5, 2, rgb.shape[0] * rgb.shape[1],
                                                     dtype=np.float32).reshape(rgb.shape[:2]))
    k = {'img0.png': [100.0, 100.0, 40.0, 30.0], 'img1.png': [200.0, 200.0, 40.0, 30.0]}
    (tmp_path / 'k.json').write_text(json.dumps(k))
    common = [str(tiny_config), str(tiny_checkpoint), '--img', str(imgs), '--text', 'a room',
              '--rel-depth', str(rel_dir)]
    out = tmp_path / 'out'
    infer.main(common + ['--out-dir', str(out), '--intrinsics-file', str(tmp_path / 'k.json'),
                         '--save-ply'])
    report = json.loads((out / 'infer.json').read_text())
    assert report['untrained'] is False and len(report['warnings']) == 2
    assert report['warnings'][0].startswith('demo model: its relative depth is simulated')
    assert report['warnings'][1].startswith('relative depth supplied by the user')
    for name, entry in report['images'].items():
        assert entry['intrinsics'] == k[name.rsplit('/', 1)[-1]]
        header = (out / entry['files']['ply']).read_bytes().split(b'end_header')[0].decode()
        fx = k[name.rsplit('/', 1)[-1]][0]
        assert f'intrinsics fx fy cx cy {fx:.6g} {fx:.6g} 40 30' in header
    panels = cv2.imread(str(out / 'img0_vis.png'))
    assert panels.shape[1] > 2 * 80  # the panels, with the warnings under them

    grey = tmp_path / 'grey'
    infer.main(common + ['--out-dir', str(grey), '--grayscale', '--intrinsics', '1', '1', '0',
                         '0'])
    report = json.loads((grey / 'infer.json').read_text())
    assert report['warnings'][-1] == ('one set of --intrinsics for all 2 images (per-image: '
                                      '--intrinsics-file)')
    pic = cv2.imread(str(grey / 'img0_vis.png'))
    depth = np.load(grey / 'img0_depth.npy')
    assert pic.shape[:2] == depth.shape  # the depth alone, at the image size
    assert (pic[..., 0] == pic[..., 1]).all() and (pic[..., 1] == pic[..., 2]).all()
    near, far = np.unravel_index(depth.argmin(), depth.shape), \
        np.unravel_index(depth.argmax(), depth.shape)
    assert pic[near][0] > pic[far][0]  # near is brighter
    colour = tmp_path / 'colour'
    infer.main(common[:-2] + ['--out-dir', str(colour), '--pred-only', '--rel-depth',
                              str(rel_dir)])
    pic = cv2.imread(str(colour / 'img1_vis.png'))
    assert pic.shape[:2] == depth.shape and not (pic[..., 0] == pic[..., 1]).all()
