"""``tr2m.apis.inference``: init_depther / infer_depth against a direct ``model.predict``."""
import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from tr2m.apis import infer_depth, inference_pipeline_cfg, init_depther
from tr2m.datasets.depth_io import read_rgb
from tr2m.structures import DepthDataSample

CAPTION = 'A small bedroom with a bed against the wall.'


def _frames(root, split='test'):
    return json.loads((root / f'{split}.json').read_text())['frames']


def direct_predict(model, rgb, caption, size=(84, 112), rel=None):
    """What the test pipeline does by hand: area-resize to the network size, then predict."""
    h, w = rgb.shape[:2]
    img = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    inputs = torch.from_numpy(img.transpose(2, 0, 1).copy()).float()[None] / 255
    sample = DepthDataSample(metainfo=dict(ori_shape=(h, w), img_shape=size))
    sample.caption = caption
    if rel is not None:
        sample.rel_depth = PixelData(data=torch.from_numpy(rel)[None])
    with torch.no_grad():
        out = model.predict(inputs, [sample])[0]
    return out


@pytest.fixture(scope='module')
def model(infer_config, infer_checkpoint):
    return init_depther(str(infer_config), str(infer_checkpoint))


def test_pipeline_keeps_resize_only(infer_config):
    from mmengine.config import Config

    kept = inference_pipeline_cfg(Config.fromfile(str(infer_config)))
    assert [t['type'] for t in kept] == ['Resize']  # LoadRGBImage/LoadDepth/LoadCaption/Pack go
    assert tuple(kept[0]['scale']) == (84, 112)


def test_infer_matches_predict(model, synthetic_root):
    frame = _frames(synthetic_root)[0]
    path = str(synthetic_root / frame['rgb'])
    out = infer_depth(model, path, CAPTION, precision='fp32')  # compared with fp32 predict
    assert out['depth'].shape == (96, 128) and out['depth'].dtype == np.float32
    assert out['input_shape'] == (84, 112)
    for key in ('rel', 'scale', 'shift'):
        assert out[key].shape == (96, 128)
    assert out['depth'].std() > 0  # the perturbed heads make depth vary over the image
    ref = direct_predict(model, read_rgb(path), CAPTION)
    np.testing.assert_allclose(out['depth'], ref.pred_depth.data[0].numpy(), rtol=1e-5)
    np.testing.assert_allclose(out['scale'], ref.pred_scale.data[0].numpy(), rtol=1e-5)
    # eq. 3 holds at the network resolution; resizing afterwards keeps it approximately
    assert np.all(np.isfinite(out['depth'])) and np.all(out['depth'] > 0)
    # array input is the same as a path; another caption gives another prediction
    same = infer_depth(model, read_rgb(path), CAPTION, precision='fp32')
    np.testing.assert_array_equal(same['depth'], out['depth'])
    other = infer_depth(model, path, 'An outdoor street with tall buildings and cars.',
                        precision='fp32')
    assert np.abs(other['depth'] - out['depth']).max() > 1e-4


def test_untrained_model_with_none_is_seeded(infer_config, synthetic_root):
    a = init_depther(str(infer_config), 'none')
    b = init_depther(str(infer_config), None)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_errors_name_the_image(model, tmp_path, synthetic_root):
    path = str(synthetic_root / _frames(synthetic_root)[0]['rgb'])
    with pytest.raises(ValueError, match='empty caption for image .*0000_rgb.png'):
        infer_depth(model, path, '   ')
    with pytest.raises(FileNotFoundError, match='nowhere.png'):
        infer_depth(model, str(tmp_path / 'nowhere.png'), CAPTION)
    bad = tmp_path / 'corrupt.png'
    bad.write_bytes(b'not a png at all')
    with pytest.raises(OSError, match='corrupt.png'):
        infer_depth(model, str(bad), CAPTION)
    with pytest.raises(ValueError, match='uint8 RGB'):
        infer_depth(model, np.zeros((8, 8), np.uint8), CAPTION)
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        init_depther(model.cfg.filename, str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='config not found'):
        init_depther(str(tmp_path / 'missing.py'))
    with pytest.raises(KeyError, match='did you mean'):
        init_depther(model.cfg.filename, cfg_options={'model.nek': 1})


def test_simulated_relative_depth_needs_rel(tiny_config, synthetic_root, tmp_path):
    """The offline demo's relative model needs GT: plain images fail clearly, unless a
    precomputed relative depth is given."""
    model = init_depther(str(tiny_config), None)
    frame = _frames(synthetic_root)[1]
    path = tmp_path / 'img.png'
    shutil.copy(synthetic_root / frame['rgb'], path)
    with pytest.raises(ValueError, match='SimulatedRelativeDepth'):
        infer_depth(model, str(path), CAPTION)
    rel = np.linspace(0.5, 2.0, 96 * 128, dtype=np.float32).reshape(96, 128)
    out = infer_depth(model, str(path), CAPTION, intrinsics=frame['K'], rel_depth=rel)
    # the given map (resized to 84x112 and back) is what the model used
    np.testing.assert_allclose(out['rel'], rel, atol=0.02)
    # untrained heads: A = B = 1, so depth = 1 / (rel + 1)
    np.testing.assert_allclose(out['depth'], 1 / (out['rel'] + 1), rtol=1e-4)
    with pytest.raises(ValueError, match='rel_depth has shape'):
        infer_depth(model, str(path), CAPTION, rel_depth=rel[:10])


def test_checkpoints_are_checked_before_building(infer_checkpoint, tmp_path):
    import argparse

    from tr2m.apis.inference import check_checkpoint, untrained_reason
    from tr2m.utils.errors import CheckpointError, MissingCheckpointError

    assert check_checkpoint('none') is None and check_checkpoint(None) is None
    assert 'state_dict' in check_checkpoint(str(infer_checkpoint))
    with pytest.raises(MissingCheckpointError, match=r'nope.pth \(.* holds infer.pth\)'):
        check_checkpoint(str(infer_checkpoint.parent / 'nope.pth'))
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty.pth is empty'):
        check_checkpoint(str(tmp_path / 'empty.pth'))
    (tmp_path / 'torn.pth').write_bytes(infer_checkpoint.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r'torn.pth \(2000 bytes\) is not a complete'):
        check_checkpoint(str(tmp_path / 'torn.pth'))
    (tmp_path / 'text.pth').write_text('hello')
    with pytest.raises(CheckpointError, match='text.pth .* is not a complete PyTorch'):
        check_checkpoint(str(tmp_path / 'text.pth'))
    torch.save(dict(state_dict=dict(w=torch.ones(1)), extra=argparse.Namespace(a=1)),
               tmp_path / 'unsafe.pth')
    with pytest.raises(CheckpointError, match='unsafe.pth holds an object tr2m does not unpickle'):
        check_checkpoint(str(tmp_path / 'unsafe.pth'))
    torch.save(dict(meta=1), tmp_path / 'noweights.pth')
    with pytest.raises(CheckpointError, match='holds no weights'):
        check_checkpoint(str(tmp_path / 'noweights.pth'))
    model = torch.nn.Linear(2, 2)
    assert 'UNTRAINED Linear' in untrained_reason(model, 'none')
    assert untrained_reason(model, 'x.pth') is None
    assert untrained_reason(model.requires_grad_(False), 'none') is None
