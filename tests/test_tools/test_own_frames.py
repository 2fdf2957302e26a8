"""Your own RGB-D frames: a manifest of the real frames in ../shared (read in place, never
copied) with their intrinsics, depth scales and a caption template; train and evaluate on it
with ``configs/custom/tr2m_own_frames.py`` and write the panels."""
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
CONVERTERS = REPO / 'tools' / 'dataset_converters'

#: The paper model at toy width (the tools and data path are what is tested here).
CHILD = """_base_ = [{base!r}]
model = dict(
    relative_depth=dict(_delete_=True, type='SimulatedRelativeDepth'),
    image_encoder=dict(arch='vit_tiny14', pretrained=None),
    text_encoder=dict(_delete_=True, type='SentenceTextEncoder', arch='bert_tiny',
                      pretrained=None),
    scale_head=dict(channels=8), shift_head=dict(channels=8),
    neck=dict(num_heads=2, head_dim=8),
    soc=dict(projector=dict(hidden_channels=8, out_channels=8)))
train_dataloader = dict(batch_size=2, num_workers=0)
val_dataloader = dict(num_workers=0)
test_dataloader = dict(num_workers=0)
"""


def test_train_and_evaluate_on_real_frames(load_tool, rgbd_real, tmp_path, capsys):
    if str(CONVERTERS) not in sys.path:
        sys.path.insert(0, str(CONVERTERS))
    make_manifest = load_tool('tools/dataset_converters/make_manifest.py')
    manifest = tmp_path / 'frames' / 'manifest.json'
    make_manifest.main(['--from-manifest', str(rgbd_real / 'manifest.json'), '--datasets',
                        'nyu_v2', 'kitti', '--caption-template',
                        'A photo of an {scene_type} scene.', '--out', str(manifest)])
    assert os.listdir(manifest.parent) == ['manifest.json']  # the frames stay where they are
    frames = json.loads(manifest.read_text())['frames']
    assert {f['dataset'] for f in frames} == {'nyu_v2', 'kitti'} and len(frames) == 6

    config = tmp_path / 'own.py'
    config.write_text(CHILD.format(base=str(REPO / 'configs/custom/tr2m_own_frames.py')))
    size = '(84,112)'
    options = ['--cfg-options', f'train_dataloader.dataset.ann_file={manifest}',
               f'val_dataloader.dataset.ann_file={manifest}',
               f'test_dataloader.dataset.ann_file={manifest}',
               f'train_dataloader.dataset.pipeline.2.scale={size}',
               f'test_dataloader.dataset.pipeline.2.scale={size}',
               f'val_dataloader.dataset.pipeline.2.scale={size}',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=100']
    work = tmp_path / 'work'
    load_tool('tools/train.py').main([str(config), '--work-dir', str(work), *options])
    assert (work / 'epoch_1.pth').is_file()

    out, vis = tmp_path / 'metrics.json', tmp_path / 'panels'
    load_tool('tools/test.py').main([str(config), str(work / 'epoch_1.pth'), '--work-dir',
                                     str(tmp_path / 'test'), '--out', str(out), '--show-dir',
                                     str(vis), *options])
    result = json.loads(out.read_text())
    assert set(result['datasets']) == {'nyu_v2', 'kitti'}
    assert result['datasets']['kitti']['protocol']['max_depth'] == 80.0  # per-dataset protocol
    assert result['datasets']['nyu_v2']['protocol']['max_depth'] == 10.0
    assert result['datasets']['nyu_v2']['protocol']['units'] == 'm'
    pictures = sorted(p.name for p in vis.iterdir())
    assert len(pictures) == 6 and sum(p.startswith('kitti_') for p in pictures) == 3
    kitti = cv2.imread(str(vis / next(p for p in pictures if p.startswith('kitti_'))))
    neutral = (kitti.max(2) == kitti.min(2)) & (kitti[..., 0] < 200)
    assert neutral.mean() > 0.05  # the sparse LiDAR GT: most GT pixels hatched
    # the frames' intrinsics reach the samples (scaled with the image by Resize)
    from tr2m.datasets import DepthManifestDataset
    from tr2m.utils import register_all_modules

    register_all_modules()
    from tr2m.utils.config import load_config

    cfg = load_config(str(config))
    ds_cfg = dict(cfg.test_dataloader.dataset, ann_file=str(manifest))
    ds_cfg.pop('type')
    sample = DepthManifestDataset(**ds_cfg)[0]['data_samples']
    fx = frames[0]['K'][0]
    scale = sample.metainfo['img_shape'][1] / 640
    np.testing.assert_allclose(sample.metainfo['intrinsics'][0], fx * scale, rtol=1e-4)
    assert sample.caption == 'A photo of an indoor scene.'


#: RSA at toy width on a folder of your own frames with the folder dataset's default protocol
#: (``max_depth=None``: no upper bound). Standalone but for the runtime defaults.
RSA_FOLDER = """_base_ = [{runtime!r}]
model = dict(
    type='RSA',
    data_preprocessor=dict(type='DepthDataPreprocessor', mixed_sizes='list'),
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
    text_encoder=dict(type='CLIPTextEncoder', arch='tiny', pretrained=None),
    head=dict(type='GlobalScaleShiftHead', channels=(16, 16), head_channels=(8,)))
train_pipeline = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
                  dict(type='Resize', scale=(56, 70)), dict(type='LoadCaption', mode='random'),
                  dict(type='PackDepthInputs')]
test_pipeline = [dict(type='LoadRGBImage'), dict(type='LoadDepth'),
                 dict(type='Resize', scale=(56, 70), resize_depth=False),
                 dict(type='LoadCaption', mode='index'), dict(type='PackDepthInputs')]
folder = dict(type='DepthFolderDataset', data_root={root!r})
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(folder, pipeline=train_pipeline))
test_dataloader = dict(batch_size=1, num_workers=0,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(folder, pipeline=test_pipeline, test_mode=True))
test_evaluator = dict(type='DepthMetric')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                     clip_grad=dict(max_norm=1.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
"""


def test_rsa_trains_and_tests_on_a_folder_without_max_depth(load_tool, rgbd_real, tmp_path):
    """The folder dataset's default protocol has no upper bound (``max_depth=None``): RSA's
    training mask and the evaluation take it as 'no bound' (RSA's own lookup used to raise a
    TypeError on it). The real NYUv2 frames are linked into a folder layout, not copied."""
    root = tmp_path / 'frames'
    (root / 'rgb').mkdir(parents=True)
    (root / 'depth').mkdir()
    captions = {}
    for i, stem in enumerate(('00000', '00050', '00100')):
        os.symlink(rgbd_real / 'nyu_metric3d' / f'rgb_{stem}.jpg', root / 'rgb' / f'f{i}.jpg')
        os.symlink(rgbd_real / 'nyu_metric3d' / f'sync_depth_{stem}.png',
                   root / 'depth' / f'f{i}.png')
        captions[f'f{i}.jpg'] = ['A room in a house.', 'An indoor scene.']
    (root / 'captions.json').write_text(json.dumps(captions))
    config = tmp_path / 'rsa_folder.py'
    config.write_text(RSA_FOLDER.format(
        runtime=str(REPO / 'configs/_base_/default_runtime.py'), root=str(root)))

    from tr2m.datasets import DepthFolderDataset

    assert DepthFolderDataset.PROTOCOL.max_depth is None  # the case under test
    work = tmp_path / 'work'
    load_tool('tools/train.py').main([str(config), '--work-dir', str(work)])  # 2 steps
    log = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'loss_custom' in log and 'err_custom' in log  # RSA's per-dataset loss
    out = tmp_path / 'metrics.json'
    load_tool('tools/test.py').main([str(config), str(work / 'epoch_1.pth'), '--work-dir',
                                     str(tmp_path / 'test'), '--out', str(out)])
    result = json.loads(out.read_text())
    protocol = result['protocol']['custom']
    assert protocol['count'] == 3 and protocol['max_depth'] is None  # no bound, recorded
    assert protocol['min_depth'] == 1e-3 and protocol['split'] == 'custom'
    assert protocol['caption_index'] == 0  # a run note, next to the numbers
    assert all(np.isfinite(v) for v in result['metrics'].values())
