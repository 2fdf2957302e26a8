"""ONNX export of TR2M (toy presets) checked against PyTorch with onnxruntime on real frames:
the whole graph and the trainable part, dynamic image size, the caption as its pooled
embedding, refusals, and the export tool's report."""
import json

import cv2
import numpy as np
import onnx
import pytest
import torch

from tr2m.apis import init_depther
from tr2m.apis.inference import _pack
from tr2m.datasets.depth_io import read_rgb
from tr2m.deploy.onnx import (
    caption_embedding,
    example_inputs,
    export_onnx,
    graph_module,
    run_session,
    session,
)
from tr2m.utils.errors import ArgumentError

FRAMES = ('nyu_metric3d/rgb_00000.jpg', 'kitti_metric3d/rgb_00000.png',
          '7scenes_redkitchen/frame-000000.color.jpg')
CAPTIONS = ('A bedroom with a bed and a lamp.', 'A street with parked cars and trees.',
            'A kitchen counter with a kettle.')
TOL = 1e-4


@pytest.fixture(scope='module')
def model(infer_config, infer_checkpoint):
    """The toy TR2M (da_tiny relative depth, DINOv2 vit_tiny14, bert_tiny text), perturbed."""
    return init_depther(str(infer_config), str(infer_checkpoint))


def _inputs(model, rgbd_real, manifest):
    """Each real frame at the pipeline's network size and at a second size (its aspect ratio,
    sides multiples of 14)."""
    out = []
    names = [f['rgb'] for f in manifest]
    for rel, caption in zip(FRAMES, CAPTIONS):
        path = rel if rel in names else next(n for n in names if n.startswith(rel.split('/')[0]))
        rgb = read_rgb(str(rgbd_real / path))
        packed, _, _ = _pack(model, rgb, caption, None, None)
        out.append((packed['inputs'][None].float() / 255, caption))
        h, w = rgb.shape[:2]
        th = 98
        tw = max(14, int(round(w * th / h / 14)) * 14)
        small = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)
        out.append((torch.from_numpy(small.transpose(2, 0, 1).copy())[None].float() / 255,
                    caption))
    return out


def _check(model, path, part, inputs):
    sess = session(str(path))
    graph = graph_module(model, part)
    worst = 0.0
    for image, caption in inputs:
        feed = example_inputs(model, part, image, [caption])
        got = run_session(sess, feed)
        with torch.no_grad():
            ref = [o.numpy() for o in graph(*feed.values())]
        for g, r in zip(got, ref):
            assert g.shape == r.shape
            worst = max(worst, float(np.abs(g - r).max()))
    assert worst < TOL, worst
    return worst


def test_full_graph_matches_pytorch_on_real_frames(model, rgbd_real, rgbd_manifest, tmp_path):
    inputs = _inputs(model, rgbd_real, rgbd_manifest)
    path = tmp_path / 'tr2m_full.onnx'
    report = export_onnx(model, str(path), *inputs[0][:1], [inputs[0][1]], part='full')
    assert report['dynamic'] is True
    assert report['max_difference']['depth_abs'] < TOL
    _check(model, path, 'full', inputs)  # 3 real frames x 2 sizes, one file

    # the graph is the model: the same depth as the depther's own forward at the network size
    image, caption = inputs[0]
    from tr2m.structures import DepthDataSample

    sample = DepthDataSample(metainfo=dict(ori_shape=tuple(image.shape[-2:])))
    sample.caption = caption
    with torch.no_grad():
        ref = model._forward(image, [sample])
    got = run_session(session(str(path)), example_inputs(model, 'full', image, [caption]))[0]
    np.testing.assert_allclose(got, ref.numpy(), rtol=TOL, atol=TOL)

    # captions enter as the text encoder's pooled embedding: a different caption, other depth
    other = run_session(session(str(path)), example_inputs(model, 'full', image,
                                                           ['A wide empty beach.']))[0]
    assert np.abs(other - got).max() > 1e-3
    emb = caption_embedding(model, [caption])
    assert emb.shape == (1, model.text_encoder.out_channels) and emb.dtype == torch.float32
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta['tr2m_part'] == 'full' and 'pooled embedding' in meta['tr2m_caption_input']
    assert json.loads(meta['tr2m_text_encoder'])['type'] == 'SentenceTextEncoder'
    names = [i.name for i in onnx.load(str(path)).graph.input]
    assert names == ['image', 'text_embedding']


def test_trainable_part_and_static_export(model, rgbd_real, rgbd_manifest, tmp_path):
    inputs = _inputs(model, rgbd_real, rgbd_manifest)
    path = tmp_path / 'tr2m_trainable.onnx'
    report = export_onnx(model, str(path), inputs[0][0], [inputs[0][1]], part='trainable')
    assert report['dynamic'] is True
    assert list(report['inputs']) == ['rel', 'image_features', 'text_embedding']
    _check(model, path, 'trainable', inputs)

    static = tmp_path / 'tr2m_static.onnx'
    report = export_onnx(model, str(static), inputs[0][0], [inputs[0][1]], dynamic=False)
    assert report['dynamic'] is False and 'max_difference_other_size' not in report
    shape = [d.dim_value for d in onnx.load(str(static)).graph.input[0].type.tensor_type
             .shape.dim]
    assert shape == list(inputs[0][0].shape)


def test_models_the_full_graph_cannot_take(tmp_path, tiny_config, tiny_checkpoint,
                                           infer_config):
    quickstart = init_depther(str(tiny_config), str(tiny_checkpoint))  # simulated rel depth
    image = torch.rand(1, 3, 84, 112)
    with pytest.raises(ArgumentError, match='export --part trainable'):
        export_onnx(quickstart, str(tmp_path / 'q.onnx'), image, ['x'], part='full')
    report = export_onnx(quickstart, str(tmp_path / 'q.onnx'), image, ['A room.'],
                         part='trainable')
    assert report['max_difference']['depth_abs'] < TOL
    dpt = init_depther(str(infer_config), None, cfg_options={
        'model.relative_depth.arch': 'dpt_tiny'})
    with pytest.raises(ArgumentError, match='run at the image'):
        export_onnx(dpt, str(tmp_path / 'd.onnx'), image, ['x'], part='full')
    model = init_depther(str(infer_config), None)
    with pytest.raises(ArgumentError, match='not at the network size'):
        export_onnx(model, str(tmp_path / 'm.onnx'), torch.rand(1, 3, 80, 110), ['x'])


def test_export_tool(load_tool, infer_config, infer_checkpoint, rgbd_real, tmp_path, capsys):
    tool = load_tool('tools/deploy/export_onnx.py')
    out = tmp_path / 'model.onnx'
    report = tool.main([str(infer_config), str(infer_checkpoint), '--out', str(out), '--img',
                        str(rgbd_real / FRAMES[0]), '--text', CAPTIONS[0], '--benchmark', '2'])
    saved = json.loads((tmp_path / 'model.json').read_text())
    assert saved['max_difference'] == report['max_difference']
    assert saved['max_difference']['depth_abs'] < TOL
    speed = saved['speed']
    assert speed['threads'] == 1 and speed['torch']['wall_s'] > 0 \
        and speed['onnxruntime']['wall_s'] > 0
    assert 'onnxruntime vs PyTorch' in capsys.readouterr().out

    from tr2m.utils import cli

    with pytest.raises(SystemExit) as exc:
        cli.run(tool.main, [str(infer_config), str(infer_checkpoint), '--out', 'x.pt'])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.run(tool.main, [str(infer_config), 'none', '--out', str(out)])
    assert exc.value.code == 2 and 'untrained' in capsys.readouterr().err
