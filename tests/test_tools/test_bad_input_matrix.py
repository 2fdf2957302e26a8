"""The bad-input matrix: every way a user's input can be wrong ends in exit code 2 and exactly
one non-empty line on stderr naming the file, key or argument, with nothing lost and nothing
written outside its place.

Most cases call a tool's ``main`` in-process through :func:`tr2m.utils.cli.run` (the real
top level of every tool, fast); a few run the tool as a process for the real exit path
(``test_subprocess_exit_path``). A read-only folder is a read-only tmpfs mounted by the test
when it runs as root with the right to mount, else a ``chmod 555`` folder for a user that is
not root, else (root without mount rights) the write probe is made to fail with ``EROFS``; a
full disk is a small tmpfs, else the write is made to fail with ``ENOSPC``; each case says
which it got (``print``), and none skips.
"""
import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import pytest
import torch

from tr2m.utils import cli

REPO = Path(__file__).resolve().parents[2]


# ---- helpers ---------------------------------------------------------------------------------
def snapshot(root: Path) -> dict:
    """``{relative path: (size, mtime_ns)}`` of every file under ``root``."""
    out = {}
    for path in Path(root).rglob('*'):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def one_line(main, argv, capsys, prog='tool') -> str:
    """Run ``main(argv)`` under the tools' top level: exit code 2 and the single non-empty line
    of stderr (returned without the ``<prog>: error: `` prefix)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        cli.run(main, [str(a) for a in argv], prog=prog)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert info.value.code == 2, (info.value.code, err[-2000:])
    assert len(lines) == 1, lines
    assert ': error: ' in lines[0], lines[0]  # argparse's own errors name the script
    head, _, msg = lines[0].partition(': error: ')
    assert head == prog or ' ' not in head, lines[0]
    return msg


def _can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which('mount'):
        return False
    with tempfile.TemporaryDirectory() as d:
        ok = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(['umount', d], capture_output=True)
        return ok


CAN_MOUNT = _can_mount()


@contextlib.contextmanager
def _tmpfs(path: Path, options: str):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(path)], check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(['umount', '-l', str(path)], capture_output=True)


@pytest.fixture
def readonly_dir(tmp_path, monkeypatch):
    """A folder nothing can be written into (see the module docstring for how)."""
    path = tmp_path / 'readonly'
    if CAN_MOUNT:
        with _tmpfs(path, 'ro,size=64k'):
            print('read-only folder: a read-only tmpfs')
            yield path
        return
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        print('read-only folder: chmod 555')
        yield path
        path.chmod(0o755)
        return
    print('read-only folder: simulated (EROFS from the write probe; no mount rights)')
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve().is_relative_to(path.resolve()):
            raise OSError(errno.EROFS, 'Read-only file system', str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, 'mkstemp', mkstemp)
    yield path


@pytest.fixture
def data_copy(tmp_path, synthetic_root):
    """A private copy of the demo set (cases damage its files)."""
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    return root


def _config_on(tmp_path, tiny_config, root, name='cfg.py', extra=''):
    """The tiny config with its data at ``root`` (and ``extra`` lines)."""
    path = tmp_path / name
    path.write_text(f"_base_ = [{str(tiny_config)!r}]\n"
                    f"train_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n"
                    f"val_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n"
                    f"test_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n" + extra)
    return path


SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1000',
         'default_hooks.logger.interval=1']


def _jpeg_set(root: Path, truncate: int = None) -> Path:
    """Turn the first train and test frame of the demo set at ``root`` into JPEGs (the first
    train one cut to a third when ``truncate``); returns the cut file."""
    cut = None
    for split in ('train', 'test'):
        manifest = json.loads((root / f'{split}.json').read_text())
        frame = manifest['frames'][0]
        png = root / frame['rgb']
        jpg = png.with_suffix('.jpg')
        cv2.imwrite(str(jpg), cv2.imread(str(png)))
        frame['rgb'] = str(Path(frame['rgb']).with_suffix('.jpg'))
        (root / f'{split}.json').write_text(json.dumps(manifest))
        if truncate:
            data = jpg.read_bytes()
            jpg.write_bytes(data[:len(data) // 3])
            cut = cut or jpg
    return cut


# ---- 1. config, registry types -------------------------------------------------------------
def test_unknown_registry_type_in_a_config(load_tool, tiny_config, tmp_path, capsys):
    cfg = tmp_path / 'typo.py'
    cfg.write_text(f"_base_ = [{str(tiny_config)!r}]\n"
                   "model = dict(neck=dict(type='CrossModalAttentionNek'))\n")
    work = tmp_path / 'work'
    msg = one_line(load_tool('tools/train.py').main, [cfg, '--work-dir', work], capsys)
    assert msg == (f"config {cfg}: unknown type 'CrossModalAttentionNek' at model.neck.type; "
                   'did you mean CrossModalAttentionNeck?')
    assert not work.exists()  # found before the runner made its work dir


def test_unknown_registry_type_from_cfg_options(load_tool, tiny_config, tmp_path, capsys):
    msg = one_line(load_tool('tools/test.py').main,
                   [tiny_config, 'none', '--work-dir', tmp_path / 'w', '--cfg-options',
                    'test_evaluator.type=DepthMetrik'], capsys)
    assert "unknown type 'DepthMetrik' at test_evaluator.type; did you mean DepthMetric?" in msg


def test_every_shipped_config_passes_the_type_check():
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import check_registry_types, read_config

    register_all_modules()
    for path in ['configs/tr2m_da_s.py', 'configs/quickstart/tr2m_synthetic.py']:
        check_registry_types(read_config(str(REPO / path)))  # no false alarm
    # act_cfg names a torch.nn class, not a registered one
    from mmengine.config import Config

    check_registry_types(Config(dict(model=dict(type='TR2M', scale_head=dict(
        act_cfg=dict(type='LeakyReLU'))))))


# ---- 1. folders that cannot be written ------------------------------------------------------
def test_read_only_work_dir(load_tool, tiny_config, readonly_dir, capsys):
    work = readonly_dir / 'run'
    msg = one_line(load_tool('tools/train.py').main, [tiny_config, '--work-dir', work], capsys)
    assert msg.startswith(f'work_dir {work}: cannot write there (its parent {readonly_dir} '
                          'exists): ')
    assert list(readonly_dir.iterdir()) == []


def test_read_only_work_dir_of_test_py(load_tool, tiny_config, readonly_dir, capsys):
    msg = one_line(load_tool('tools/test.py').main,
                   [tiny_config, 'none', '--work-dir', readonly_dir], capsys)
    assert msg.startswith(f'work_dir {readonly_dir}: cannot write there: ')


def test_work_dir_is_a_file(load_tool, tiny_config, tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('keep me')
    msg = one_line(load_tool('tools/train.py').main,
                   [tiny_config, '--work-dir', blocker / 'run'], capsys)
    assert msg == f'work_dir {blocker}/run: {blocker} is a file, not a folder'
    assert blocker.read_text() == 'keep me'


def test_read_only_output_of_make_synthetic_rgbd(load_tool, readonly_dir, capsys):
    tool = load_tool('tools/dataset_converters/make_synthetic_rgbd.py')
    msg = one_line(tool.main, [readonly_dir / 'synthetic', '--train', '1', '--test', '1'],
                   capsys)
    assert msg.startswith(f'output folder {readonly_dir}/synthetic: cannot write there')
    assert list(readonly_dir.iterdir()) == []


@pytest.mark.parametrize('flag', ['--train', '--test'])
def test_negative_frame_count_of_make_synthetic_rgbd(load_tool, tmp_path, capsys, flag):
    tool = load_tool('tools/dataset_converters/make_synthetic_rgbd.py')
    msg = one_line(tool.main, [tmp_path / 'out', flag, '-3'], capsys)
    assert msg == f'{flag} -3: the number of frames per domain cannot be negative'
    assert not (tmp_path / 'out').exists()


def test_read_only_out_dir_of_infer_before_the_model_is_built(load_tool, infer_config,
                                                               infer_checkpoint, synthetic_root,
                                                               readonly_dir, capsys,
                                                               monkeypatch):
    infer = load_tool('tools/infer.py')
    built = []
    monkeypatch.setattr(infer, 'load_models', lambda args: built.append(1))
    img = synthetic_root / 'test' / 'indoor' / '0000_rgb.png'
    msg = one_line(infer.main, [infer_config, infer_checkpoint, '--img', img, '--text', 'a room',
                                '--out-dir', readonly_dir / 'out'], capsys)
    assert msg.startswith(f'--out-dir {readonly_dir}/out: cannot write there')
    assert built == []  # refused before the model was built


def test_read_only_show_dir_of_test_py(load_tool, tiny_config, readonly_dir, tmp_path, capsys):
    msg = one_line(load_tool('tools/test.py').main,
                   [tiny_config, 'none', '--work-dir', tmp_path / 'w', '--show-dir',
                    readonly_dir / 'vis'], capsys)
    assert msg.startswith(f'--show-dir {readonly_dir}/vis: cannot write there')
    assert not (tmp_path / 'w').exists()


# ---- 1. text that is not UTF-8 ----------------------------------------------------------------
def test_non_utf8_caption_file_of_infer(load_tool, infer_config, infer_checkpoint,
                                        synthetic_root, tmp_path, capsys):
    captions = tmp_path / 'captions.txt'
    captions.write_bytes('0000_rgb.png\tune chambre \xe0 coucher\n'.encode('latin-1'))
    img = synthetic_root / 'test' / 'indoor' / '0000_rgb.png'
    out = tmp_path / 'out'
    msg = one_line(load_tool('tools/infer.py').main,
                   [infer_config, infer_checkpoint, '--img', img, '--text-file', captions,
                    '--out-dir', out], capsys)
    assert msg == (f'caption file {captions} is not UTF-8 text (byte 0xe0 at offset 25): save '
                   'it as UTF-8')
    assert not out.exists()


def test_non_utf8_json_caption_file(tmp_path):
    from tr2m.datasets import JSONCaptionSource
    from tr2m.utils.errors import DataError

    path = tmp_path / 'captions.json'
    path.write_bytes(b'{"a.png": ["caf\xe9"]}')
    with pytest.raises(DataError) as info:
        JSONCaptionSource(str(path))
    assert str(info.value) == (f'caption file {path} is not UTF-8 text (byte 0xe9 at offset '
                               '15): save it as UTF-8')


def test_non_utf8_rsa_caption_file(tmp_path):
    from tr2m.datasets import RSACaptionSource
    from tr2m.utils.errors import DataError

    folder = tmp_path / 'nyu' / 'test' / 'bathroom'
    folder.mkdir(parents=True)
    (folder / 'rgb_00045.txt').write_bytes(b'a bathroom\n\xff\xfe broken\n')
    with pytest.raises(DataError, match=r'caption file .*rgb_00045.txt is not UTF-8 text '
                                        r'\(byte 0xff at offset 11\)'):
        RSACaptionSource(str(tmp_path), 'nyu', 'test').captions('bathroom/rgb_00045.jpg')


def test_non_utf8_manifest(load_tool, tiny_config, data_copy, tmp_path, capsys):
    manifest = data_copy / 'test.json'
    manifest.write_bytes(manifest.read_bytes().replace(b'"indoor"', b'"ind\xf6or"', 1))
    cfg = _config_on(tmp_path, tiny_config, data_copy)
    msg = one_line(load_tool('tools/test.py').main,
                   [cfg, 'none', '--work-dir', tmp_path / 'w'], capsys)
    assert msg.startswith(f'manifest {manifest} is not UTF-8 text (byte 0xf6 at offset ')


# ---- 1. checkpoints ---------------------------------------------------------------------------
def test_nan_weights_refused_before_the_model_is_built(load_tool, tiny_config, tiny_checkpoint,
                                                      tmp_path, capsys, monkeypatch):
    ckpt = torch.load(tiny_checkpoint, map_location='cpu', weights_only=True)
    name = next(k for k, v in ckpt['state_dict'].items() if v.is_floating_point())
    ckpt['state_dict'][name] = torch.full_like(ckpt['state_dict'][name], float('nan'))
    bad = tmp_path / 'nan.pth'
    torch.save(ckpt, bad)
    from tr2m.engine import DepthRunner

    monkeypatch.setattr(DepthRunner, 'from_cfg', classmethod(
        lambda cls, cfg: pytest.fail('the runner was built')))
    msg = one_line(load_tool('tools/test.py').main,
                   [tiny_config, bad, '--work-dir', tmp_path / 'w'], capsys)
    n = len(ckpt['state_dict'])
    assert msg == (f'checkpoint {bad}: 1 of {n} weights hold NaN or inf (first {name}); the '
                   'training that wrote it diverged: use an earlier checkpoint')


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory, tiny_config):
    """One short epoch of the tiny config: the work dir and its checkpoint."""
    import importlib.util

    spec = importlib.util.spec_from_file_location('tr2m_matrix_train', REPO / 'tools/train.py')
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    work = tmp_path_factory.mktemp('trained')
    train.main([str(tiny_config), '--work-dir', str(work), '--cfg-options', *SHORT])
    return work, work / 'epoch_1.pth'


def test_resume_with_another_architecture(load_tool, tiny_config, trained_run, tmp_path, capsys,
                                          monkeypatch):
    """Refused before the runner is built (the config's model loads no pretrained weights, so
    it is compared on the meta device)."""
    import tr2m.apis.runs as runs

    def no_runner(cfg):
        raise AssertionError('the runner was built before the checkpoint was compared')

    monkeypatch.setattr(runs.DepthRunner, 'from_cfg', no_runner)
    _, ckpt = trained_run
    work = tmp_path / 'w'
    shutil.copy(ckpt, tmp_path / 'epoch_1.pth')
    msg = one_line(load_tool('tools/train.py').main,
                   [tiny_config, '--work-dir', work, '--resume', tmp_path / 'epoch_1.pth',
                    '--cfg-options', *SHORT[:1], 'train_cfg.max_epochs=2',
                    'model.neck.head_dim=4'], capsys)
    assert msg.startswith(f'checkpoint {tmp_path}/epoch_1.pth: checkpoint does not fit TR2M '
                          '(is it from another model or config?)')
    assert not (work / 'epoch_2.pth').exists()


def test_resume_with_another_learning_rate_is_applied_and_said(load_tool, tiny_config,
                                                               trained_run, tmp_path, capsys):
    work, ckpt = trained_run
    run = tmp_path / 'run'
    shutil.copytree(work, run)
    saved = torch.load(ckpt, map_location='cpu', weights_only=True)
    old = saved['optimizer']['param_groups'][0]
    train = load_tool('tools/train.py')
    train.main([str(tiny_config), '--work-dir', str(run), '--resume', str(run / 'epoch_1.pth'),
                '--cfg-options', *SHORT, 'train_cfg.max_epochs=2',
                f"optim_wrapper.optimizer.lr={old['initial_lr'] / 2}"])
    log = ''.join(p.read_text() for p in run.rglob('*.log'))
    assert f"optimizer settings (lr {old['initial_lr']} -> {old['initial_lr'] / 2}): the " \
           "config's are applied" in log
    new = torch.load(run / 'epoch_2.pth', map_location='cpu', weights_only=True)
    group = new['optimizer']['param_groups'][0]
    assert group['initial_lr'] == pytest.approx(old['initial_lr'] / 2)
    # the schedule went on from the new base: one more decay step of gamma 0.95
    assert group['lr'] == pytest.approx(old['lr'] / 2 * 0.95, rel=1e-6)


def test_resume_with_another_learning_rate_can_be_refused(load_tool, tiny_config, trained_run,
                                                          tmp_path, capsys):
    work, ckpt = trained_run
    run = tmp_path / 'run'
    shutil.copytree(work, run)
    kept = {k: v for k, v in snapshot(run).items() if k.endswith(('.pth', 'last_checkpoint'))}
    msg = one_line(load_tool('tools/train.py').main,
                   [tiny_config, '--work-dir', run, '--resume', run / 'epoch_1.pth',
                    '--cfg-options', *SHORT, 'train_cfg.max_epochs=2',
                    'optim_wrapper.optimizer.weight_decay=0.5',
                    'default_hooks.checkpoint.on_optimizer_change=refuse'], capsys)
    assert msg.startswith('resuming with different optimizer settings (weight_decay ')
    assert '-> 0.5): refused (default_hooks.checkpoint.on_optimizer_change=refuse)' in msg
    after = {k: v for k, v in snapshot(run).items() if k.endswith(('.pth', 'last_checkpoint'))}
    assert after == kept  # no checkpoint lost, none written


def test_resume_with_another_optimizer_type_is_refused(load_tool, tiny_config, trained_run,
                                                       tmp_path, capsys):
    work, _ = trained_run
    run = tmp_path / 'run'
    shutil.copytree(work, run)
    sgd = tmp_path / 'sgd.py'
    sgd.write_text(f"_base_ = [{str(tiny_config)!r}]\n"
                   "optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.01))\n")
    msg = one_line(load_tool('tools/train.py').main,
                   [sgd, '--work-dir', run, '--resume', run / 'epoch_1.pth',
                    '--cfg-options', *SHORT, 'train_cfg.max_epochs=2'], capsys)
    assert 'refused (another optimizer type or parameter grouping' in msg
    assert 'load_from=CHECKPOINT' in msg


# ---- 1. grid files ----------------------------------------------------------------------------
def test_grid_file_with_a_syntax_error(load_tool, tmp_path, capsys):
    grid = tmp_path / 'grid.py'
    grid.write_text("base = 'configs/quickstart/tr2m_synthetic.py'\ngrid = {'a': [1, 2}\n")
    msg = one_line(load_tool('tools/ablate.py').main,
                   [grid, '--dry-run', '--work-dir', tmp_path / 'abl'], capsys)
    assert msg.startswith(f'grid file {grid} is not valid Python (line 2): ')
    assert not (tmp_path / 'abl').exists()


def test_grid_file_that_raises(load_tool, tmp_path, capsys):
    grid = tmp_path / 'grid.py'
    grid.write_text("base = 'configs/quickstart/tr2m_synthetic.py'\nx = 1 / 0\n")
    msg = one_line(load_tool('tools/ablate.py').main, [grid, '--dry-run'], capsys)
    assert msg == (f'grid file {grid} fails when run (line 2): ZeroDivisionError: division by '
                   'zero')


# ---- 1. truncated JPEG ------------------------------------------------------------------------
def test_truncated_jpeg_is_an_error_in_infer(load_tool, infer_config, infer_checkpoint,
                                             synthetic_root, tmp_path, capsys):
    img = tmp_path / 'cut.jpg'
    cv2.imwrite(str(img), cv2.imread(str(synthetic_root / 'test/indoor/0000_rgb.png')))
    data = img.read_bytes()
    img.write_bytes(data[:len(data) // 3])
    msg = one_line(load_tool('tools/infer.py').main,
                   [infer_config, infer_checkpoint, '--img', img, '--text', 'a room',
                    '--out-dir', tmp_path / 'out'], capsys)
    assert msg.startswith('truncated or corrupt image (image file is truncated')
    assert msg.endswith(f'{len(data) // 3} bytes): {img}')
    assert not (tmp_path / 'out').exists()


def test_complete_jpeg_and_jpeg_with_trailing_data_pass(tmp_path, synthetic_root):
    from tr2m.datasets.depth_io import check_jpeg_complete, read_rgb

    img = tmp_path / 'ok.jpg'
    cv2.imwrite(str(img), cv2.imread(str(synthetic_root / 'test/indoor/0000_rgb.png')))
    check_jpeg_complete(str(img))
    img.write_bytes(img.read_bytes() + b'camera trailer after the end marker')
    assert read_rgb(str(img)).shape == (96, 128, 3)


def test_truncated_jpeg_is_an_error_in_test(load_tool, tiny_config, data_copy, tmp_path, capsys):
    cut = _jpeg_set(data_copy, truncate=True)
    test_cut = data_copy / json.loads((data_copy / 'test.json').read_text())['frames'][0]['rgb']
    cfg = _config_on(tmp_path, tiny_config, data_copy)
    msg = one_line(load_tool('tools/test.py').main, [cfg, 'none', '--work-dir', tmp_path / 'w'],
                   capsys)
    assert msg.startswith('truncated or corrupt image (') and msg.endswith(str(test_cut))
    assert cut != test_cut


def test_truncated_jpeg_is_a_counted_skip_in_training(data_copy):
    from tr2m.datasets import DepthManifestDataset
    from tr2m.registry import TRANSFORMS
    from tr2m.utils import register_all_modules

    register_all_modules()
    cut = _jpeg_set(data_copy, truncate=True)
    pipeline = [TRANSFORMS.build(dict(type=t)) for t in ('LoadRGBImage', 'LoadDepth')]
    train = DepthManifestDataset(ann_file='train.json', data_root=str(data_copy),
                                 pipeline=pipeline)
    logged = []
    import tr2m.datasets.seeding as seeding

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(seeding, 'print_log', lambda msg, **kw: logged.append(msg))
        sample = train[0]  # the cut frame: skipped, another one loaded
    assert sample['img_path'] != str(cut)
    assert train.skipped_truncated == 1
    assert len(logged) == 1
    assert logged[0].startswith('DepthManifestDataset: skipped a truncated image (1 so far in '
                                'this process): truncated or corrupt image (')
    assert logged[0].endswith(f'{os.path.getsize(cut)} bytes): {cut}')
    test = DepthManifestDataset(ann_file='train.json', data_root=str(data_copy),
                                pipeline=pipeline, test_mode=True)
    from tr2m.datasets.depth_io import TruncatedImageError

    with pytest.raises(TruncatedImageError):
        test[0]


# ---- 2. a full disk -----------------------------------------------------------------------------
@contextlib.contextmanager
def full_disk(path: Path, size: str, monkeypatch, fail_write):
    """``path`` on a tmpfs of ``size`` (grown to 64m by calling the yielded function), or,
    without mount rights, a normal folder where ``fail_write(monkeypatch)`` makes the writes
    fail with ENOSPC (undone by the yielded function)."""
    if CAN_MOUNT:
        with _tmpfs(path, f'size={size}'):
            print(f'full disk: a tmpfs of {size}')

            def grow():
                subprocess.run(['mount', '-o', 'remount,size=64m', str(path)], check=True)

            yield grow
        return
    print('full disk: simulated (ENOSPC from the write; no mount rights)')
    path.mkdir(parents=True, exist_ok=True)
    with monkeypatch.context() as mp:
        fail_write(mp)
        yield mp.undo


def _enospc(path):
    return OSError(errno.ENOSPC, 'No space left on device', str(path))


def test_full_disk_during_training_keeps_the_last_checkpoint(load_tool, tiny_config, tmp_path,
                                                             capsys, monkeypatch):
    work = tmp_path / 'work'

    def fail_second_save(mp):
        import tr2m.engine.hooks.checkpoint_hook as hook

        real, calls = hook.replace_atomically, []

        def replace(tmp, final):
            calls.append(final)
            if len(calls) == 2:
                raise _enospc(tmp)
            real(tmp, final)

        mp.setattr(hook, 'replace_atomically', replace)

    train = load_tool('tools/train.py').main
    options = ['--cfg-options', *SHORT[1:], 'train_cfg.max_epochs=2']
    with full_disk(work, '8m', monkeypatch, fail_second_save) as grow:
        msg = one_line(train, [tiny_config, '--work-dir', work, *options], capsys)
        assert msg.startswith(f'cannot write checkpoint {work}/epoch_2.pth: No space left on '
                              'device (disk full?); nothing was deleted, the previous checkpoint '
                              'is kept')
        files = {p.name for p in work.iterdir()}
        assert 'epoch_1.pth' in files and 'epoch_2.pth' not in files
        assert not [f for f in files if f.endswith('.tmp')]  # no torn temporary left behind
        assert (work / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')
        torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)  # complete
        grow()  # space freed: the run goes on from the kept checkpoint
        train([str(tiny_config), '--work-dir', str(work), '--resume', *options])
        assert (work / 'epoch_2.pth').is_file()


def test_full_disk_while_the_log_is_written_is_one_line(tmp_path, capsys):
    """A full disk under the run's log file stops the run at the next log line with our line,
    not with logging's "--- Logging error ---" traceback for every record."""
    import logging

    from tr2m.engine.console import stop_on_full_disk

    handler = logging.FileHandler(tmp_path / 'run.log')
    stop_on_full_disk(handler)
    logger = logging.getLogger('tr2m_full_disk_test')
    logger.addHandler(handler)
    real_emit = logging.FileHandler.emit

    def emit(self, record):
        try:
            raise _enospc(tmp_path / 'run.log')
        except OSError:
            self.handleError(record)

    try:
        logging.FileHandler.emit = emit

        def main(argv):
            logger.warning('epoch 1')

        msg = one_line(main, [], capsys)
    finally:
        logging.FileHandler.emit = real_emit
        logger.removeHandler(handler)
    assert msg.startswith(f'no space left on the device writing {tmp_path}/run.log (')
    assert msg.endswith('MiB free there): free some space and run again')


CACHED = REPO / 'configs' / 'cache' / 'tr2m_synthetic.py'


def _cache_config(path: Path, data_root: Path, cache_root: Path, extra: str = '') -> Path:
    path.write_text(f"""_base_ = [{str(CACHED)!r}]
model = dict(text_encoder=dict(arch='bert_tiny', pretrained=None),
             scale_head=dict(channels=8), shift_head=dict(channels=8),
             neck=dict(num_heads=2, head_dim=8),
             soc=dict(projector=dict(hidden_channels=8, out_channels=8)){extra})
cache = dict(root={str(cache_root)!r})
train_dataloader = dict(batch_size=4, dataset=dict(data_root={str(data_root)!r}))
val_dataloader = dict(dataset=dict(data_root={str(data_root)!r}))
test_dataloader = dict(dataset=dict(data_root={str(data_root)!r}))
train_cfg = dict(max_epochs=1, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
""")
    return path


def test_full_disk_during_a_cache_build_then_the_rerun_continues(load_tool, synthetic_root,
                                                                 tmp_path, capsys, monkeypatch):
    import tr2m.cache.builder as builder
    from tr2m.cache.store import PartWriter

    root = tmp_path / 'cache'
    config = _cache_config(tmp_path / 'cfg.py', synthetic_root, root)
    tool = load_tool('tools/cache_features.py').main
    # the free-space check passes (another writer fills the disk after it)
    monkeypatch.setattr(builder, 'check_disk', lambda root, plans, log: None)

    def fail_appends(mp):
        real, calls = PartWriter._append, []

        def append(self, name, arr):
            calls.append(name)
            if len(calls) > 12:
                raise _enospc(osp_join(self.folder, name))
            return real(self, name, arr)

        mp.setattr(PartWriter, '_append', append)

    with full_disk(root, '300k', monkeypatch, fail_appends) as grow:
        msg = one_line(tool, [config, '--no-progress'], capsys)
        assert msg.startswith(f'no space left on the device writing {root}/')
        meta = json.loads((root / 'cache.json').read_text())
        assert not all(p['complete'] for p in meta['parts'].values())
        # training from the interrupted cache says so, in one line
        msg = one_line(load_tool('tools/train.py').main,
                       [config, '--work-dir', tmp_path / 'w'], capsys)
        assert 'of the feature cache' in msg and 'is incomplete; rerun tools/cache_features.py' \
            in msg
        grow()
        capsys.readouterr()
        meta = tool([str(config), '--no-progress'])  # continues from the committed chunks
        assert all(p['complete'] for p in meta['parts'].values())
        out = capsys.readouterr().out
        print(out)
        assert 'resuming (' in out and out.count(': done, ') == len(meta['parts'])


def osp_join(*parts):
    return os.path.join(*[str(p) for p in parts])


def test_cache_of_another_config(load_tool, synthetic_root, tmp_path, capsys):
    root = tmp_path / 'cache'
    config = _cache_config(tmp_path / 'cfg.py', synthetic_root, root)
    load_tool('tools/cache_features.py').main([str(config), '--no-progress'])
    other = _cache_config(tmp_path / 'other.py', synthetic_root, root,
                          extra=",\n             image_encoder=dict(arch='vit_small14')")
    msg = one_line(load_tool('tools/train.py').main, [other, '--work-dir', tmp_path / 'w'],
                   capsys)
    assert msg.startswith(f'config {other} does not match the feature cache {root}: the frozen '
                          'models differ (')
    assert not (tmp_path / 'w').exists()


# ---- 2. manifests and captions ------------------------------------------------------------------
@pytest.mark.parametrize('text, where', [
    ('{"frames": [', 'line 1, column 13: Expecting value'),
    ('{"frames": [{"rgb": "a.png", "depth": "a.png"},]}', 'line 1, column 48: Expecting value'),
    ('', 'line 1, column 1: Expecting value'),
])
def test_malformed_manifest_json(load_tool, tiny_config, data_copy, tmp_path, capsys, text,
                                 where):
    (data_copy / 'test.json').write_text(text)
    cfg = _config_on(tmp_path, tiny_config, data_copy)
    msg = one_line(load_tool('tools/test.py').main, [cfg, 'none', '--work-dir', tmp_path / 'w'],
                   capsys)
    assert msg == f'manifest {data_copy}/test.json is not valid JSON ({where})'


@pytest.mark.parametrize('manifest, expected', [
    ('{"images": []}', 'must hold {"frames": [...]} or a list of frames, got dict without a '
                       '"frames" list'),
    ('{"frames": [["a.png", "b.png"]]}', 'frame 0 is a list, not an object'),
    ('{"frames": [{"rgb": "a.png"}]}', "frame 0 has no ['depth']"),
])
def test_manifest_of_the_wrong_shape(load_tool, tiny_config, data_copy, tmp_path, capsys,
                                     manifest, expected):
    (data_copy / 'test.json').write_text(manifest)
    cfg = _config_on(tmp_path, tiny_config, data_copy)
    msg = one_line(load_tool('tools/test.py').main, [cfg, 'none', '--work-dir', tmp_path / 'w'],
                   capsys)
    assert msg.startswith(f'manifest {data_copy}/test.json') and expected in msg


def test_empty_caption_list_in_a_manifest(load_tool, tiny_config, data_copy, tmp_path, capsys):
    manifest = json.loads((data_copy / 'test.json').read_text())
    manifest['frames'][0]['captions'] = []
    (data_copy / 'test.json').write_text(json.dumps(manifest))
    cfg = _config_on(tmp_path, tiny_config, data_copy)
    msg = one_line(load_tool('tools/test.py').main, [cfg, 'none', '--work-dir', tmp_path / 'w'],
                   capsys)
    img = data_copy / manifest['frames'][0]['rgb']
    assert msg.startswith(f'no (non-empty) caption for image {img}')


def test_empty_caption_list_in_a_caption_file_of_infer(load_tool, infer_config, infer_checkpoint,
                                                       synthetic_root, tmp_path, capsys):
    captions = tmp_path / 'captions.json'
    captions.write_text('{"0000_rgb.png": []}')
    img = synthetic_root / 'test' / 'indoor' / '0000_rgb.png'
    msg = one_line(load_tool('tools/infer.py').main,
                   [infer_config, infer_checkpoint, '--img', img, '--text-file', captions,
                    '--out-dir', tmp_path / 'out'], capsys)
    assert msg == (f'empty caption for image {img} in {captions}: every image needs a '
                   'non-empty caption')
    assert not (tmp_path / 'out').exists()


def test_empty_caption_list_in_a_json_caption_source(tmp_path):
    from tr2m.datasets import JSONCaptionSource
    from tr2m.datasets.captions import CaptionNotFoundError

    path = tmp_path / 'captions.json'
    path.write_text('{"a.png": [], "b.png": ["  "]}')
    source = JSONCaptionSource(str(path))
    for key in ('a.png', 'b.png'):
        with pytest.raises(CaptionNotFoundError, match=key):
            source.captions(key)


# ---- 3. the matrix: every tool, every kind of mistake, exit 2 and one line ---------------------
class Ctx:
    """What a matrix case builds its bad input from (``tmp``: its own folder)."""

    def __init__(self, tmp, tiny_config, tiny_checkpoint, infer_config, infer_checkpoint, data,
                 monkeypatch):
        self.tmp, self.cfg, self.ckpt = tmp, tiny_config, tiny_checkpoint
        self.icfg, self.ickpt, self.data, self.mp = infer_config, infer_checkpoint, data, \
            monkeypatch
        self.img = data / 'test' / 'indoor' / '0000_rgb.png'

    def file(self, name, content=b''):
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo unsafe',))


def _torn(c):
    path = c.tmp / 'torn.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1000))), path)
    path.write_bytes(path.read_bytes()[:700])
    return path


def _evil(c):
    path = c.tmp / 'evil.pth'
    torch.save(dict(state_dict={}, x=_Evil()), path)
    return path


def _no_weights(c):
    path = c.tmp / 'meta_only.pth'
    torch.save(dict(meta=dict(epoch=1)), path)
    return path


def _no_launcher_env(c):
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        c.mp.delenv(var, raising=False)


def _grid(c, body):
    return c.file('grid.py', f"base = {str(c.cfg)!r}\n{body}\n")


TRAIN, TEST, INFER = 'tools/train.py', 'tools/test.py', 'tools/infer.py'
ABLATE, CACHE = 'tools/ablate.py', 'tools/cache_features.py'
SYNTH = 'tools/dataset_converters/make_synthetic_rgbd.py'
MANIFEST = 'tools/dataset_converters/make_manifest.py'
CAPTION = 'tools/caption.py'
#: ``(id, tool, argv(ctx) -> list, what the one line must contain[, where it may write])``;
#: ``{tmp}`` is the case's folder. (A config whose datasets are not prepared is exit 2 with one
#: line per dataset and its prepare command: tests/test_apis/test_data_check.py.)
MATRIX = [
    # train.py: config, keys, checkpoints, launcher, data, arguments
    ('train-config-missing', TRAIN, lambda c: [c.tmp / 'nope.py'],
     'config not found: {tmp}/nope.py'),
    ('train-config-syntax', TRAIN, lambda c: [c.file('bad.py', 'model = dict(\n')],
     'config {tmp}/bad.py is not valid Python (line'),
    ('train-config-base-missing', TRAIN,
     lambda c: [c.file('child.py', "_base_ = ['missing_base.py']\n")],
     'a file it inherits or reads does not exist'),
    ('train-unknown-key', TRAIN, lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options',
                                             'model.nek=1'],
     "unknown config key 'model.nek': model has no 'nek'; did you mean model.neck"),
    ('train-key-typo', TRAIN, lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options',
                                          'train_cfg.max_epoch=3'],
     'did you mean train_cfg.max_epochs?'),
    ('train-unknown-type', TRAIN, lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options',
                                              'model.type=TR2N'],
     "unknown type 'TR2N' at model.type"),
    ('train-max-epochs-not-a-number', TRAIN,
     lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options', 'train_cfg.max_epochs=abc'],
     "train_cfg.max_epochs='abc' (str): must be a positive integer"),
    ('train-max-epochs-zero', TRAIN,
     lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options', 'train_cfg.max_epochs=0'],
     'train_cfg.max_epochs=0 (int): must be a positive integer'),
    ('train-batch-size-negative', TRAIN,
     lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options',
                'train_dataloader.batch_size=-2'],
     'train_dataloader.batch_size=-2 (int): must be a positive integer'),
    ('train-workers-word', TRAIN,
     lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options',
                'train_dataloader.num_workers=many'],
     "train_dataloader.num_workers='many' (str): must be an integer >= 0 or 'auto'"),
    ('train-lr-negative', TRAIN,
     lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--cfg-options',
                'optim_wrapper.optimizer.lr=-0.001'],
     'optim_wrapper.optimizer.lr=-0.001 (float): must be a number >= 0'),
    ('train-resume-missing', TRAIN, lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--resume',
                                                c.tmp / 'nope.pth'],
     'checkpoint not found: {tmp}/nope.pth'),
    ('train-resume-empty', TRAIN, lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--resume',
                                              c.file('epoch_3.pth')],
     'checkpoint {tmp}/epoch_3.pth is empty (0 bytes)'),
    ('train-resume-torn', TRAIN, lambda c: [c.cfg, '--work-dir', c.tmp / 'w', '--resume',
                                             _torn(c)],
     'checkpoint {tmp}/torn.pth (700 bytes) is not a complete PyTorch checkpoint'),
    ('train-launcher-env', TRAIN,
     lambda c: [_no_launcher_env(c), c.cfg, '--work-dir', c.tmp / 'w', '--launcher',
                'pytorch'][1:],
     '--launcher pytorch: the environment lacks RANK, WORLD_SIZE'),
    ('train-work-dir-file', TRAIN, lambda c: [c.cfg, '--work-dir', c.file('f') / 'run'],
     'work_dir {tmp}/f/run: {tmp}/f is a file, not a folder'),
    ('train-bad-choice', TRAIN, lambda c: [c.cfg, '--amp-dtype', 'float8'],
     "argument --amp-dtype: invalid choice: 'float8'"),
    ('train-unknown-argument', TRAIN, lambda c: [c.cfg, '--epochs', '3'],
     'unrecognized arguments: --epochs 3'),
    ('train-no-config', TRAIN, lambda c: [],
     'the following arguments are required: config'),
    # test.py
    ('test-ckpt-missing', TEST, lambda c: [c.cfg, c.tmp / 'nope.pth'],
     'checkpoint not found: {tmp}/nope.pth'),
    ('test-ckpt-empty', TEST, lambda c: [c.cfg, c.file('e.pth'), '--work-dir', c.tmp / 'w'],
     'checkpoint {tmp}/e.pth is empty (0 bytes)'),
    ('test-ckpt-unsafe', TEST, lambda c: [c.cfg, _evil(c), '--work-dir', c.tmp / 'w'],
     'checkpoint {tmp}/evil.pth holds an object tr2m does not unpickle ('),
    ('test-ckpt-no-weights', TEST, lambda c: [c.cfg, _no_weights(c), '--work-dir', c.tmp / 'w'],
     'checkpoint {tmp}/meta_only.pth holds no weights'),
    ('test-ckpt-other-model', TEST,
     lambda c: [c.cfg, c.ickpt, '--work-dir', c.tmp / 'w'],
     'checkpoint does not fit TR2M (is it from another model or config?)'),  # before the build
    ('test-pretrained-unreachable', TEST,
     lambda c: [c.mp.delenv('TR2M_RANDOM_INIT', raising=False), c.mp.setenv('HF_HUB_OFFLINE', '1'),
                c.cfg, 'none', '--work-dir', c.tmp / 'w', '--cfg-options',
                'model.text_encoder.pretrained=tr2m-tests/no-such-model'][2:],
     "'tr2m-tests/no-such-model' was taken for a hub id and could not be fetched (looked for in "
     'the cache ', 'w/'),
    ('test-out-under-a-file', TEST,
     lambda c: [c.cfg, 'none', '--work-dir', c.tmp / 'w', '--out', c.file('f') / 'm.json'],
     '--out {tmp}/f/m.json: {tmp}/f is a file, not a folder'),
    ('test-compare-without-show-dir', TEST,
     lambda c: [c.cfg, 'none', '--compare', c.cfg, 'none'],
     '--compare draws pictures: give --show-dir DIR too'),
    ('test-bad-flip-merge', TEST, lambda c: [c.cfg, 'none', '--flip-merge', 'median'],
     "argument --flip-merge: invalid choice: 'median'"),
    ('test-config-missing', TEST, lambda c: [c.tmp / 'nope.py', 'none'],
     'config not found: {tmp}/nope.py'),
    # infer.py
    ('infer-demo-model-without-rel-depth', INFER,
     lambda c: [c.cfg, c.ckpt, '--img', c.img, '--text', 'a room', '--out-dir', c.tmp / 'out'],
     "simulates relative depth from ground truth (SimulatedRelativeDepth, the offline demo)"),
    ('infer-img-missing', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.tmp / 'nope.png', '--text', 'x'],
     '{tmp}/nope.png'),
    ('infer-img-folder-empty', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.file('empty/readme.txt', 'x').parent, '--text',
                'x'],
     '{tmp}/empty'),
    ('infer-img-corrupt', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.file('bad.png', b'\x89PNG not really'), '--text',
                'x', '--out-dir', c.tmp / 'out'],
     'cannot decode image (corrupt, empty or not an image): {tmp}/bad.png'),
    ('infer-text-file-missing', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text-file', c.tmp / 'nope.txt'],
     '{tmp}/nope.txt'),
    ('infer-text-file-no-tab', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text-file',
                c.file('caps.txt', '0000_rgb.png a room\n')],
     "{tmp}/caps.txt:1: expected 'image<TAB>caption'"),
    ('infer-text-file-unknown-image', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text-file',
                c.file('caps.json', '{"0000_rgb.png": "a", "zzz.png": "b"}')],
     'has captions for images that are not among the 1 given: zzz.png'),
    ('infer-text-file-bad-json', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text-file', c.file('caps.json', '{"a": ')],
     'caption file {tmp}/caps.json is not valid JSON (line 1, column 7'),
    ('infer-save-ply-without-intrinsics', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text', 'x', '--save-ply'],
     '--save-ply needs --intrinsics FX FY CX CY or --intrinsics-file F'),
    ('infer-batch-size-0', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text', 'x', '--batch-size', '0'],
     '--batch-size must be >= 1'),
    ('infer-no-model', INFER, lambda c: ['--img', c.img, '--text', 'x'],
     'give CONFIG CKPT, or --model REPO_ID_OR_DIR'),
    ('infer-intrinsics-file-missing', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text', 'x', '--intrinsics-file',
                c.tmp / 'K.txt'],
     'intrinsics file not found: {tmp}/K.txt'),
    ('infer-intrinsics-file-not-utf8', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text', 'x', '--intrinsics-file',
                c.file('K.txt', b'0000_rgb.png 1 1 1 1 \xff\n')],
     'intrinsics file {tmp}/K.txt is not UTF-8 text (byte 0xff at offset 21)'),
    ('infer-rel-depth-missing', INFER,
     lambda c: [c.icfg, c.ickpt, '--img', c.img, '--text', 'x', '--rel-depth',
                c.tmp / 'rel.npy'],
     '{tmp}/rel.npy'),
    ('infer-untrained', INFER,
     lambda c: [c.icfg, 'none', '--img', c.img, '--text', 'x', '--out-dir', c.tmp / 'out'],
     '--allow-untrained'),
    # ablate.py
    ('ablate-grid-missing', ABLATE, lambda c: [c.tmp / 'nope.py', '--dry-run'],
     'grid file not found: {tmp}/nope.py'),
    ('ablate-grid-unknown-name', ABLATE,
     lambda c: [_grid(c, "grid = {'model.neck.num_heads': [2]}\nrepeats = 3"), '--dry-run'],
     "grid file {tmp}/grid.py: unknown top-level names ['repeats']"),
    ('ablate-grid-unknown-key', ABLATE,
     lambda c: [_grid(c, "grid = {'model.nek.num_heads': [2, 4]}"), '--dry-run',
                '--work-dir', c.tmp / 'abl'],
     "unknown config key 'model.nek.num_heads'"),
    ('ablate-grid-bad-mode', ABLATE,
     lambda c: [_grid(c, "grid = {'model.neck.num_heads': [2]}\nmode = 'cross'"), '--dry-run'],
     "mode must be one of ('product', 'zip'), got 'cross'"),
    ('ablate-grid-not-utf8', ABLATE,
     lambda c: [c.file('grid.py', b"base = 'caf\xe9.py'\n"), '--dry-run'],
     'grid file {tmp}/grid.py is not valid Python (line 1)'),
    # converters and the cache tool
    ('synthetic-count-not-an-int', SYNTH, lambda c: [c.tmp / 'out', '--train', 'abc'],
     "argument --train: invalid int value: 'abc'"),
    ('cache-config-missing', CACHE, lambda c: [c.tmp / 'nope.py', '--dry-run'],
     'config not found: {tmp}/nope.py'),
    ('manifest-source-missing', MANIFEST,
     lambda c: ['--from-manifest', c.tmp / 'nope.json', '--out', c.tmp / 'm.json'],
     'manifest not found: {tmp}/nope.json'),
    ('manifest-source-malformed', MANIFEST,
     lambda c: ['--from-manifest', c.file('src.json', '{"frames": [}'), '--out',
                c.tmp / 'm.json'],
     'manifest {tmp}/src.json is not valid JSON (line 1, column 13'),
    ('manifest-source-not-utf8', MANIFEST,
     lambda c: ['--from-manifest', c.file('src.json', b'{"frames": ["\xe9"]}'), '--out',
                c.tmp / 'm.json'],
     'manifest {tmp}/src.json is not UTF-8 text (byte 0xe9 at offset 13)'),
    ('manifest-rgb-dir-missing', MANIFEST,
     lambda c: ['--rgb-dir', c.tmp / 'rgb', '--depth-dir', c.tmp / 'depth', '--out',
                c.tmp / 'm.json'],
     '{tmp}/rgb'),
    ('caption-no-input', CAPTION, lambda c: ['--captioner', 'object_list_toy'],
     'give exactly one of CONFIG and --img'),
    ('caption-unknown-preset', CAPTION,
     lambda c: ['--img', c.img, '--captioner', 'llava_v99', '--out', c.tmp / 'c.json'],
     'llava_v99'),
]


@pytest.mark.parametrize('case, tool, argv, expected, allowed',
                         [m if len(m) == 5 else (*m, None) for m in MATRIX],
                         ids=[m[0] for m in MATRIX])
def test_matrix(case, tool, argv, expected, allowed, load_tool, tiny_config, tiny_checkpoint,
                infer_config, infer_checkpoint, synthetic_root, tmp_path, capsys, monkeypatch):
    ctx = Ctx(tmp_path, tiny_config, tiny_checkpoint, infer_config, infer_checkpoint,
              synthetic_root, monkeypatch)
    args = argv(ctx)
    if 'dataset_converters' in tool:  # the converters import their shared helpers by name
        monkeypatch.syspath_prepend(str(REPO / 'tools' / 'dataset_converters'))
    before, data_before = snapshot(tmp_path), snapshot(synthetic_root)
    cwd_before = snapshot(Path.cwd() / 'work_dirs') if (Path.cwd() / 'work_dirs').is_dir() \
        else {}
    msg = one_line(load_tool(tool).main, args, capsys, prog=Path(tool).name)
    assert expected.format(tmp=tmp_path) in msg, msg
    after = snapshot(tmp_path)
    if allowed:  # the run's own place (its work dir: logs of a runner built before the check)
        after = {k: v for k, v in after.items() if not k.startswith(allowed)}
    assert after == before  # nothing written, nothing lost
    assert snapshot(synthetic_root) == data_before
    if (Path.cwd() / 'work_dirs').is_dir():
        assert snapshot(Path.cwd() / 'work_dirs') == cwd_before


# ---- 3. the real exit path: a few tools as processes --------------------------------------------
@pytest.mark.parametrize('argv, expected', [
    (['tools/train.py', '{cfg}', '--work-dir', '{tmp}/w', '--cfg-options', 'model.nek=1'],
     "unknown config key 'model.nek'"),
    (['tools/test.py', '{cfg}', '{tmp}/nope.pth'], 'checkpoint not found: {tmp}/nope.pth'),
    (['tools/dataset_converters/make_synthetic_rgbd.py', '{tmp}/out', '--train', '-3'],
     '--train -3: the number of frames per domain cannot be negative'),
    (['tools/ablate.py', '{tmp}/grid.py', '--dry-run'],
     'grid file {tmp}/grid.py is not valid Python (line 1)'),
    (['tools/train.py', '--amp-dtype', 'float8', '{cfg}'],
     "argument --amp-dtype: invalid choice: 'float8'"),
], ids=['train-unknown-key', 'test-ckpt-missing', 'synthetic-negative', 'ablate-syntax',
        'train-bad-choice'])
def test_subprocess_exit_path(argv, expected, tiny_config, tmp_path):
    (tmp_path / 'grid.py').write_text('grid = {\n')
    args = [a.format(cfg=tiny_config, tmp=tmp_path) for a in argv]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / args[0]), *args[1:]], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1, lines
    assert lines[0] == f'{Path(args[0]).name}: error: {expected.format(tmp=tmp_path)}' or \
        lines[0].startswith(f'{Path(args[0]).name}: error: {expected.format(tmp=tmp_path)}')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['grid.py']  # nothing written


# ---- 4. tools that answer at once ----------------------------------------------------------------
_PROBE = """
import runpy, sys
sys.argv = {argv!r}
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as done:
    print('exit', done.code, 'torch' in sys.modules, 'mmengine.runner' in sys.modules)
"""


@pytest.mark.parametrize('args', [['--help'], ['{cfg}', '--cfg-options', 'model.nek=1'],
                                  ['{cfg}', '--cfg-options', 'train_cfg.max_epoch=3'],
                                  ['--amp-dtype', 'float8', '{cfg}']],
                         ids=['help', 'unknown-model-key', 'unknown-loop-key', 'bad-choice'])
def test_train_answers_before_torch_is_imported(args, tiny_config, tmp_path):
    argv = [str(REPO / 'tools' / 'train.py'), *[a.format(cfg=tiny_config) for a in args]]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, '-c', _PROBE.format(argv=argv)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    last = proc.stdout.strip().splitlines()[-1]
    assert last == f"exit {0 if args == ['--help'] else 2} False False", proc.stderr[-2000:]


def test_static_constructor_arguments_equal_the_classes():
    """The source-read arguments that answer a key typo at once are those of the classes."""
    import tr2m.utils.config as config
    from tr2m import registry
    from tr2m.utils import register_all_modules

    register_all_modules()
    names = set()
    for node in [getattr(registry, n) for n in dir(registry) if n.isupper()]:
        while node is not None:
            names.update(node.module_dict)
            node = node.parent
    static = {n: config._static_init_params(n) for n in sorted(names)}
    settled = {n: p for n, p in static.items() if p is not None}
    assert len(settled) > 100 and {'TR2M', 'EpochBasedTrainLoop', 'DepthManifestDataset'} <= \
        set(settled)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, '_static_init_params', lambda name, depth=0: None)
        for name, params in settled.items():
            assert set(config._init_params(dict(type=name))) == set(params), name


def test_import_tr2m_is_cheap_and_still_allows_checkpoints(tmp_path):
    code = ("import sys, tr2m, tr2m.utils.cli, tr2m.utils.config\n"
            "print('torch' in sys.modules)\n"
            "import torch\n"
            "from mmengine.logging import MessageHub\n"
            "hub = MessageHub.get_instance('probe')\n"
            "hub.update_scalar('train/loss', 1.5)\n"
            f"torch.save(dict(message_hub=hub.state_dict()), {str(tmp_path / 'c.pth')!r})\n"
            f"print(torch.load({str(tmp_path / 'c.pth')!r}, weights_only=True)['message_hub']"
            "['log_scalars']['train/loss'].current())\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.split() == ['False', '1.5'], proc.stderr[-2000:]
