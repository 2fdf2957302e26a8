"""Bad input, as users hand it over: each case gives one clear line naming the file, key or
argument (a ``UserError``; the tools' CLI wrapper turns it into exit code 2)."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
import torch
from dist_tool_utils import user_error_message

from tr2m.utils.errors import ArgumentError, CheckpointError, DataError, MissingFileError, UserError


class Evil:
    def __reduce__(self):
        return (os.system, ('echo unsafe',))


@pytest.fixture
def data_copy(tmp_path, synthetic_root):
    """A private copy of the demo set (cases damage its files)."""
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    return root


def _manifest(root):
    return json.loads((root / 'train.json').read_text())


def _frame(root, i=0):
    frames = _manifest(root)
    frames = frames['frames'] if isinstance(frames, dict) else frames
    return frames[i]


def _dataset(root, **kwargs):
    from tr2m.datasets import DepthManifestDataset
    from tr2m.registry import TRANSFORMS

    pipeline = [TRANSFORMS.build(dict(type=t)) for t in ('LoadRGBImage', 'LoadDepth')]
    return DepthManifestDataset(ann_file='train.json', data_root=str(root), pipeline=pipeline,
                                **kwargs)


def _raises(cls, fn, *args, **kwargs) -> str:
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, UserError)
    msg = str(info.value)
    assert '\n' not in msg  # one line
    return msg


# ---- checkpoints ------------------------------------------------------------------------------
def test_empty_checkpoint_through_test_py(load_tool, tiny_config, tmp_path, capsys):
    empty = tmp_path / 'epoch_3.pth'
    empty.write_bytes(b'')
    msg = user_error_message(load_tool('tools/test.py').main,
                             [str(tiny_config), str(empty), '--work-dir', str(tmp_path / 'w')],
                             capsys)
    assert msg == f'checkpoint {empty} is empty (0 bytes): its save was cut off; use an ' \
                  'earlier checkpoint'


def test_unsafe_checkpoint_gets_our_line_not_torchs_advice(tmp_path):
    from tr2m.utils.checkpoint import load_checkpoint_file

    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, x=Evil()), path)
    msg = _raises(CheckpointError, load_checkpoint_file, str(path))
    assert msg.startswith(f'checkpoint {path} holds an object tr2m does not unpickle (')
    assert 'system' in msg and 'weights_only=True only' in msg
    assert 'weights_only` set to `False' not in msg and 'Re-running' not in msg


def test_torn_and_missing_checkpoints(tmp_path, load_tool, tiny_config, capsys):
    from tr2m.utils.checkpoint import load_checkpoint_file

    torn = tmp_path / 'torn.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1000))), torn)
    torn.write_bytes(torn.read_bytes()[:700])
    msg = _raises(CheckpointError, load_checkpoint_file, str(torn))
    assert msg == f'checkpoint {torn} (700 bytes) is not a complete PyTorch checkpoint ' \
                  '(truncated, or not written by torch.save)'
    missing = tmp_path / 'nope.pth'
    msg = user_error_message(load_tool('tools/train.py').main,
                             [str(tiny_config), '--work-dir', str(tmp_path), '--resume',
                              str(missing)], capsys)
    assert msg == f'checkpoint not found: {missing} ({tmp_path} holds torn.pth)'  # near files


# ---- datasets: found when the dataset is built --------------------------------------------------
@pytest.mark.parametrize('key', ['rgb', 'depth'])
def test_missing_image_or_depth_found_when_the_dataset_is_built(data_copy, key):
    name = _frame(data_copy)[key]
    os.remove(data_copy / name)
    msg = _raises(MissingFileError, _dataset, data_copy)
    field = 'img_path' if key == 'rgb' else 'depth_path'
    assert msg.startswith('DepthManifestDataset: 1 of ')
    assert f'files listed by the manifest {data_copy}/train.json are missing, first ' \
           f'{data_copy}/{name} ({field}); ' in msg
    assert 'check_files=False' in msg
    ds = _dataset(data_copy, check_files=False)  # the check can be skipped...
    msg = _raises(MissingFileError, ds.__getitem__, 0)  # ...and loading still names the file
    assert msg == f'file not found: {data_copy}/{name}'


def test_wrong_dataset_root(tmp_path):
    msg = _raises(MissingFileError, _dataset, tmp_path / 'nowhere')
    assert msg == f"manifest not found: {tmp_path}/nowhere/train.json (data_root " \
                  f"'{tmp_path}/nowhere'; is the dataset root right?)"


@pytest.mark.parametrize('key', ['rgb', 'depth'])
def test_corrupt_image_or_depth(data_copy, key):
    name = _frame(data_copy)[key]
    (data_copy / name).write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    msg = _raises(DataError, _dataset(data_copy).__getitem__, 0)
    what = 'image' if key == 'rgb' else 'depth image'
    assert msg == f'cannot decode {what} (corrupt or unsupported format): {data_copy}/{name}'
    assert isinstance(pytest.raises(OSError, _dataset(data_copy).__getitem__, 0).value, OSError)


def test_depth_of_the_wrong_size(data_copy):
    frame = _frame(data_copy)
    depth = cv2.imread(str(data_copy / frame['depth']), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(data_copy / frame['depth']), depth[:50])
    msg = _raises(DataError, _dataset(data_copy).__getitem__, 0)
    assert msg == f"depth map {data_copy}/{frame['depth']} has size (50, {depth.shape[1]}), " \
                  f"but its image {data_copy}/{frame['rgb']} has size {depth.shape}"


def test_nan_and_inf_depth_are_invalid_and_an_all_invalid_batch_is_warned(tmp_path,
                                                                        monkeypatch):
    from mmengine.logging import MessageHub
    from mmengine.structures import PixelData

    from tr2m.datasets.depth_io import read_depth
    from tr2m.engine.hooks import NonFiniteGuardHook
    from tr2m.engine.hooks import nonfinite_guard_hook as guard_module
    from tr2m.structures import DepthDataSample

    path = tmp_path / 'd.npy'
    depth = np.full((4, 5), 2.0, np.float32)
    depth[0, 0], depth[1, 1] = np.nan, np.inf
    np.save(path, depth)
    _, valid = read_depth(str(path), 'npy', None)
    assert not valid[0, 0] and not valid[1, 1] and valid.sum() == 18  # ignored, not trained on
    np.save(path, np.full((4, 5), np.nan, np.float32))
    gt, valid = read_depth(str(path), 'npy', None)
    sample = DepthDataSample(metainfo=dict(img_path='all_nan.png'))
    sample.gt_depth = PixelData(data=torch.from_numpy(gt)[None])
    sample.gt_valid = PixelData(data=torch.from_numpy(valid)[None])
    warned = []
    monkeypatch.setattr(guard_module, 'print_log', lambda msg, **kw: warned.append(msg))
    hook = NonFiniteGuardHook()
    hook._samples = [sample]

    class _Runner:
        iter = 0
        message_hub = MessageHub.get_instance('tr2m_bad_inputs')

    hook._count_empty_gt(_Runner)
    assert warned == ['iter 1: no image of the batch has a valid GT pixel, so its GT losses are '
                      '0 (check the depth decoding and range): all_nan.png']


def test_nan_in_cached_relative_depth(tmp_path):
    from tr2m.datasets.transforms import LoadRelativeDepth

    path = tmp_path / 'rel.npy'
    rel = np.ones((4, 5), np.float32)
    rel[2] = np.nan
    np.save(path, rel)
    msg = _raises(DataError, LoadRelativeDepth(), dict(rel_depth_path=str(path),
                                                       img_shape=(4, 5)))
    assert msg == f'relative depth {path} contains NaN or inf'


# ---- config, arguments, launchers --------------------------------------------------------------
def test_unknown_config_key(load_tool, tiny_config, tmp_path, capsys):
    train = load_tool('tools/train.py').main
    try:
        train([str(tiny_config), '--work-dir', str(tmp_path), '--cfg-options', 'model.nek=1'])
    except KeyError as err:  # ConfigError once tr2m.utils.config raises it
        msg = str(err).strip("'\"")
    except SystemExit as err:
        assert err.code == 2
        msg = capsys.readouterr().err
    assert "unknown config key 'model.nek': model has no 'nek'; did you mean model.neck" in msg


def test_launcher_without_torchrun_and_nccl_without_cuda(load_tool, tiny_config, tmp_path,
                                                         monkeypatch, capsys):
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(var, raising=False)
    msg = user_error_message(load_tool('tools/train.py').main,
                             [str(tiny_config), '--work-dir', str(tmp_path), '--launcher',
                              'pytorch'], capsys)
    assert msg.startswith('--launcher pytorch: the environment lacks RANK, WORLD_SIZE')
    if not torch.cuda.is_available():
        from tr2m.utils.dist import resolve_backend

        msg = _raises(ArgumentError, resolve_backend, 'nccl')
        assert msg.startswith("env_cfg.dist_cfg.backend='nccl' needs CUDA")


def test_out_to_an_unwritable_path_fails_before_the_evaluation(load_tool, tiny_config, tmp_path,
                                                              capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    work = tmp_path / 'work'
    msg = user_error_message(load_tool('tools/test.py').main,
                             [str(tiny_config), 'none', '--work-dir', str(work), '--out',
                              str(blocker / 'metrics.json')], capsys)
    assert msg == f'--out {blocker}/metrics.json: {blocker} is a file, not a folder'
    assert not work.exists()  # nothing was built, nothing evaluated


# ---- captions ---------------------------------------------------------------------------------
def test_first_caption_empty_records_the_one_used():
    from tr2m.datasets.transforms import LoadCaption

    out = LoadCaption(mode='index', index=0)(dict(captions=['', 'a bedroom']))
    assert out['caption'] == 'a bedroom' and out['caption_index'] == 1
    assert out['run_notes'].caption_index == 1
    msg = _raises(DataError, LoadCaption(), dict(captions=['', ' '], img_path='x.png'))
    assert msg.startswith('no (non-empty) caption for image x.png')


# ---- infer.py --rel-depth ---------------------------------------------------------------------
def test_rel_depth_inputs(load_tool, tmp_path):
    infer = load_tool('tools/infer.py')
    images = [str(tmp_path / 'a.png'), str(tmp_path / 'b.png')]
    rel = tmp_path / 'rel'
    rel.mkdir()
    np.save(rel / 'a.npy', np.ones((4, 5), np.float32))
    msg = _raises(MissingFileError, infer.load_rel_depths, str(rel), images)
    assert msg == f'--rel-depth {rel}: no b.npy or b.png for image {images[1]}'
    cv2.imwrite(str(rel / 'b.png'), np.full((4, 5), 9, np.uint8))  # 8-bit
    msg = _raises(DataError, infer.load_rel_depths, str(rel), images)
    assert msg == f'depth image must be 16-bit, got uint8: {rel}/b.png'
    np.save(rel / 'a.npy', np.full((4, 5), np.inf, np.float32))
    msg = _raises(DataError, infer.load_rel_depths, str(rel / 'a.npy'), images[:1])
    assert msg == f'--rel-depth {rel}/a.npy: contains NaN or inf'
    msg = _raises(ArgumentError, infer.load_rel_depths, str(rel / 'a.npy'), images)
    assert msg.startswith(f'--rel-depth {rel}/a.npy is one file but there are 2 images')
