"""NeWCRFs: the released parameter count and module tree (meta device), training on real
frames, bounded predictions at the GT size, flip fusion, convex upsampling, checkpoints."""
import copy
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from projects.newcrfs.newcrfs import (
    NeWCRFs,
    convert_released_state_dict,
    convex_upsample,
    flip_fuse,
)
from tr2m.registry import DATASETS, MODELS
from tr2m.utils import register_all_modules
from tr2m.utils.errors import CheckpointError, MissingFileError

register_all_modules()

#: ``NewCRFDepth(version='large07')`` of aliyun/NeWCRFs, counted with the released code itself
#: (projects/newcrfs/tools/check_against_release.py), per module.
RELEASED_COUNTS = {'backbone': 194_998_164, 'decode_head.psp': 19_665_920,
                   'decode_head.crf_blocks.0': 660_296, 'decode_head.crf_blocks.1': 2_631_312,
                   'decode_head.crf_blocks.2': 10_505_504, 'decode_head.crf_blocks.3': 41_982_528,
                   'decode_head.disp_head': 1_153}


@pytest.fixture(scope='module')
def full_model():
    with torch.device('meta'):  # no memory, no initialisation cost
        return MODELS.build(dict(type='NeWCRFs', arch='large07', pretrained=None)).eval()


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_full_size_parameter_count(full_model):
    total = count(full_model)
    assert total == sum(RELEASED_COUNTS.values()) == 270_444_877
    assert abs(total - 270e6) / 270e6 < 0.02  # TR2M paper, Table 1: NeWCRFs ~270M
    for name, n in RELEASED_COUNTS.items():
        assert count(full_model.get_submodule(name)) == n, name


def test_full_size_named_features_at_the_nyu_input(full_model):
    shapes = {}
    names = ['decode_head.psp', 'decode_head.disp_head'] + [
        f'decode_head.crf_blocks.{i}' for i in range(4)]
    hooks = [full_model.get_submodule(n).register_forward_hook(
        lambda m, a, out, n=n: shapes.__setitem__(n, tuple(out.shape))) for n in names]
    with torch.no_grad():
        depth = full_model._forward(torch.empty(2, 3, 480, 640, device='meta'))
    for h in hooks:
        h.remove()
    assert depth.shape == (2, 1, 480, 640)
    assert shapes == {'decode_head.psp': (2, 512, 15, 20),
                      'decode_head.crf_blocks.3': (2, 1024, 15, 20),
                      'decode_head.crf_blocks.2': (2, 512, 30, 40),
                      'decode_head.crf_blocks.1': (2, 256, 60, 80),
                      'decode_head.crf_blocks.0': (2, 128, 120, 160),
                      'decode_head.disp_head': (2, 1, 480, 640)}


def toy_model(**kwargs):
    torch.manual_seed(0)
    return NeWCRFs(arch='toy', pretrained=None, **kwargs)


def real_batch(rgbd_real, datasets, size=(96, 128), load_depth_first=True):
    load, resize = [dict(type='LoadDepth')], [dict(type='Resize', scale=size,
                                                   resize_depth=load_depth_first)]
    pipe = [dict(type='LoadRGBImage'), *(load + resize if load_depth_first else resize + load),
            dict(type='PackDepthInputs')]
    with DefaultScope.overwrite_default_scope('tr2m'):
        ds = DATASETS.build(dict(type='DepthManifestDataset', data_root=str(rgbd_real),
                                 ann_file='manifest.json', datasets=datasets, pipeline=pipe))
    return pseudo_collate([ds[i] for i in range(len(ds))])


def test_training_on_real_frames_lowers_the_loss(rgbd_real):
    model = toy_model(max_depth=10.0).train()
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = model.data_preprocessor(real_batch(rgbd_real, ['nyu_v2'], size=(64, 96)), True)
    losses = []
    for _ in range(12):
        out = model(**data, mode='loss')
        assert set(out) == {'loss_silog'}
        optim.zero_grad()
        out['loss_silog'].backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all()
                   for p in model.parameters() if p.requires_grad)
        optim.step()
        losses.append(out['loss_silog'].item())
    assert losses[-1] < 0.7 * losses[0], losses
    # sparse LiDAR GT (KITTI, > 1 m supervised) trains too
    kitti = toy_model(max_depth=80.0, loss=dict(type='NeWCRFsSiLogLoss', min_depth=1.0)).train()
    data = kitti.data_preprocessor(real_batch(rgbd_real, ['kitti'], size=(96, 320)), True)
    loss = kitti(**data, mode='loss')['loss_silog']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()


@pytest.mark.parametrize('flip_test', [True, False])
def test_predict_is_positive_and_bounded_at_gt_size(rgbd_real, flip_test):
    model = toy_model(max_depth=10.0, flip_test=flip_test).eval()
    batch = real_batch(rgbd_real, ['nyu_v2'], size=(96, 128), load_depth_first=False)
    with torch.no_grad():
        preds = model.test_step(batch)
    for s in preds:
        assert s.pred_depth.shape == (480, 640)  # the GT kept its size
        d = s.pred_depth.data
        assert torch.isfinite(d).all() and (d > 0).all() and (d <= 10.0).all()


def test_odd_input_sizes_are_padded_and_cropped():
    model = toy_model().eval()
    with torch.no_grad():
        depth = model._forward(torch.rand(1, 3, 70, 100))
    assert depth.shape == (1, 1, 70, 100)


def test_flip_fuse_by_hand():
    depth = torch.arange(40.0).view(1, 1, 2, 20) + 1
    # a mirror-consistent pair fuses to itself
    torch.testing.assert_close(flip_fuse(depth, depth.flip(-1)), depth)
    other = torch.full_like(depth, 100.0)  # mirrored view predicts 100 everywhere
    fused = flip_fuse(depth, other)
    assert fused[0, 0, 0, 0] == 100.0  # left border: the mirrored view
    assert fused[0, 0, 0, -1] == depth[0, 0, 0, -1]  # right border: the direct view
    mid = 10  # x = 10/19 ~ 0.53: the mean
    assert fused[0, 0, 1, mid] == pytest.approx(0.5 * (depth[0, 0, 1, mid].item() + 100.0))


def test_convex_upsampling():
    x = torch.rand(2, 1, 3, 4)
    uniform = convex_upsample(x, torch.zeros(2, 9 * 16, 3, 4), factor=4)
    mean3 = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=True)  # zeros outside
    torch.testing.assert_close(uniform, mean3.repeat_interleave(4, -2).repeat_interleave(4, -1))
    peaked = torch.full((2, 9, 4, 4, 3, 4), -1e4)
    peaked[:, 4] = 0.0  # all weight on the centre neighbour: nearest upsampling
    up = convex_upsample(x, peaked.view(2, 144, 3, 4), factor=4)
    torch.testing.assert_close(up, x.repeat_interleave(4, -2).repeat_interleave(4, -1))
    model = toy_model(decode_head=dict(upsample='mask')).eval()
    with torch.no_grad():
        assert model._forward(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)
    with pytest.raises(ValueError, match='upsample'):
        toy_model(decode_head=dict(upsample='nearest'))


def test_checkpoint_round_trip_keeps_everything():
    model = toy_model().eval()
    state = model.state_dict()
    assert any(k.startswith('backbone.model.') for k in state)  # the backbone trains: saved
    other = toy_model()
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    other.load_state_dict(copy.deepcopy(state))
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(other.eval()._forward(x), model._forward(x))


def test_released_key_names_map_onto_ours():
    released = {
        'module.backbone.patch_embed.proj.weight': 1,
        'module.backbone.layers.0.blocks.1.attn.qkv.weight': 2,
        'module.backbone.layers.0.blocks.1.attn.relative_position_index': 0,
        'module.backbone.layers.2.downsample.reduction.weight': 3,
        'module.backbone.norm3.bias': 4,
        'module.decoder.psp_modules.2.1.gn.weight': 5,
        'module.decoder.bottleneck.bn.running_var': 6,
        'module.crf3.proj_v.weight': 7,
        'module.crf0.crf_layer.blocks.1.mlp.fc2.bias': 8,
        'module.crf2.crf_layer.blocks.0.attn.qk.weight': 9,
        'module.crf1.norm_crf.weight': 10,
        'module.disp_head1.conv1.weight': 11,
    }
    assert convert_released_state_dict(released) == {
        'backbone.model.patch_embed.proj.weight': 1,
        'backbone.model.layers.0.blocks.1.attn.qkv.weight': 2,
        'backbone.model.layers.3.downsample.reduction.weight': 3,  # timm: start of stage 3
        'backbone.out_norms.3.bias': 4,
        'decode_head.psp.branches.2.norm.weight': 5,
        'decode_head.psp.bottleneck.norm.running_var': 6,
        'decode_head.crf_blocks.3.proj_v.weight': 7,
        'decode_head.crf_blocks.0.blocks.1.mlp.2.bias': 8,
        'decode_head.crf_blocks.2.blocks.0.attn.qk.weight': 9,
        'decode_head.crf_blocks.1.norm.weight': 10,
        'decode_head.disp_head.conv.weight': 11,
    }
    with pytest.raises(KeyError, match='not a key of a released NeWCRFs'):
        convert_released_state_dict({'head.fc.weight': 0})


def test_unknown_arch_and_bad_depth():
    with pytest.raises(KeyError, match='large07'):
        NeWCRFs(arch='huge07', pretrained=None)
    with pytest.raises(ValueError, match='max_depth'):
        NeWCRFs(arch='toy', pretrained=None, max_depth=0)


def released_layout(state):
    """Our keys -> the released ``NewCRFDepth`` keys (DataParallel prefix included)."""
    rules = [(r'^backbone\.out_norms\.(\d)\.', r'backbone.norm\1.'),
             (r'^backbone\.model\.layers\.(\d)\.downsample\.',
              lambda m: f'backbone.layers.{int(m.group(1)) - 1}.downsample.'),
             (r'^backbone\.model\.', 'backbone.'),
             (r'^decode_head\.psp\.branches\.(\d)\.conv\.', r'decoder.psp_modules.\1.1.conv.'),
             (r'^decode_head\.psp\.branches\.(\d)\.norm\.', r'decoder.psp_modules.\1.1.gn.'),
             (r'^decode_head\.psp\.bottleneck\.conv\.', 'decoder.bottleneck.conv.'),
             (r'^decode_head\.psp\.bottleneck\.norm\.', 'decoder.bottleneck.bn.'),
             (r'^decode_head\.crf_blocks\.(\d)\.blocks\.(\d)\.mlp\.0\.',
              r'crf\1.crf_layer.blocks.\2.mlp.fc1.'),
             (r'^decode_head\.crf_blocks\.(\d)\.blocks\.(\d)\.mlp\.2\.',
              r'crf\1.crf_layer.blocks.\2.mlp.fc2.'),
             (r'^decode_head\.crf_blocks\.(\d)\.blocks\.', r'crf\1.crf_layer.blocks.'),
             (r'^decode_head\.crf_blocks\.(\d)\.norm\.', r'crf\1.norm_crf.'),
             (r'^decode_head\.crf_blocks\.(\d)\.', r'crf\1.'),
             (r'^decode_head\.disp_head\.conv\.', 'disp_head1.conv1.')]
    out = {}
    for key, value in state.items():
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                out['module.' + new] = value
                break
        else:
            raise AssertionError(key)
    return out


def test_convert_tool_round_trip(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        'newcrfs_convert_tool', Path(__file__).resolve().parents[1] / 'tools' /
        'convert_released_ckpt.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    src_model = toy_model().eval()
    released = dict(model=released_layout(src_model.state_dict()), global_step=1234,
                    best_eval_steps=np.zeros(9, dtype=np.int32),
                    best_eval_measures_lower_better=torch.zeros(6))
    torch.save(released, tmp_path / 'model_toy.ckpt')
    tool.main([str(tmp_path / 'model_toy.ckpt'), str(tmp_path / 'ours.pth'), '--arch', 'toy'])
    fresh = NeWCRFs(arch='toy', pretrained=None).eval()
    load_checkpoint(fresh, str(tmp_path / 'ours.pth'), map_location='cpu', strict=True)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(fresh._forward(x), src_model._forward(x))
    with pytest.raises(CheckpointError, match="does not fit NeWCRFs\\(arch='mini'\\)"):
        tool.convert(str(tmp_path / 'model_toy.ckpt'), str(tmp_path / 'x.pth'), arch='mini')
    with pytest.raises(MissingFileError):
        tool.convert(str(tmp_path / 'nothing.ckpt'), str(tmp_path / 'x.pth'))
