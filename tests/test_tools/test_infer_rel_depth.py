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
    with pytest.raises(ValueError, match='needs each sample.s gt_depth'):  # without: refused
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
