"""Published model folders: the round trip (train the quickstart briefly, test, publish, load in a
fresh process: the same depth), the card's metrics and protocol, no pickle ever loaded, partial
folders refused in one line, the plain-data config, the Hub push and download paths (a fake
``HfApi`` and a stubbed ``snapshot_download``: no network), and the tools around them."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tr2m.apis import from_pretrained, infer_depth, init_depther
from tr2m.apis.hub import (
    CARD_FILE,
    CONFIG_FILE,
    MODEL_FILE,
    ModelFolderError,
    config_to_plain,
    plain_to_config,
    push_to_hub,
    save_pretrained,
)
from tr2m.datasets.depth_io import read_depth
from tr2m.utils.errors import ArgumentError, CheckpointError, MissingFileError

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / 'configs' / 'quickstart' / 'tr2m_synthetic.py')
FRAME = 'nyu_metric3d/rgb_00000.jpg'
CAPTION = 'A room with a white cabinet and boxes on the floor.'


def _tool(relpath: str):
    """A tool script's module (tools are scripts, not a package)."""
    import importlib.util

    path = REPO / relpath
    spec = importlib.util.spec_from_file_location('tr2m_hub_test_' + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def load_tool():
    return _tool


def _overrides(root):
    return [f'{loader}.dataset.data_root={root}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
            'train_dataloader.batch_size=4', 'train_cfg.max_epochs=2',
            'train_cfg.val_interval=100']


def _rel_from_gt(rgbd_real, manifest, rgb):
    """Median-normalised inverse GT depth (holes filled): the quickstart's relative depth."""
    frame = next(f for f in manifest if f['rgb'] == rgb)
    gt, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                           frame['depth_scale'])
    inv = np.where(valid, 1.0 / np.where(valid, gt, 1.0), 0.0)
    med = np.median(inv[valid])
    return (np.where(valid, inv, med) / med).astype(np.float32)


@pytest.fixture(scope='module')
def published(tmp_path_factory, synthetic_root, load_tool):
    """The quickstart trained for 2 epochs (4 steps), tested, and published with its metrics."""
    work = tmp_path_factory.mktemp('quickstart')
    ov = _overrides(synthetic_root)
    load_tool('tools/train.py').main([QUICKSTART, '--work-dir', str(work / 'train'),
                                      '--cfg-options', *ov])
    ckpt = work / 'train' / 'epoch_2.pth'
    metrics = work / 'metrics.json'
    load_tool('tools/test.py').main([QUICKSTART, str(ckpt), '--work-dir', str(work / 'test'),
                                     '--out', str(metrics), '--cfg-options', *ov])
    folder = work / 'tr2m-quickstart'
    meta = load_tool('tools/publish.py').main([QUICKSTART, str(ckpt), '--out-dir', str(folder),
                                               '--metrics', str(metrics), '--license', 'mit',
                                               '--cfg-options', *ov])
    return dict(ckpt=ckpt, metrics=metrics, folder=folder, meta=meta, overrides=ov)


@pytest.fixture(scope='module')
def toy_folder(tmp_path_factory, infer_config, infer_checkpoint):
    """The toy infer model (a relative-depth network, every frozen part random) published."""
    folder = tmp_path_factory.mktemp('toy') / 'toy-model'
    save_pretrained(init_depther(str(infer_config), str(infer_checkpoint)), str(folder))
    return folder


def test_round_trip_in_a_fresh_process(published, rgbd_real, rgbd_manifest, tmp_path):
    folder = published['folder']
    assert sorted(p.name for p in folder.iterdir()) == [CARD_FILE, CONFIG_FILE, MODEL_FILE]
    rel = _rel_from_gt(rgbd_real, rgbd_manifest, FRAME)
    np.save(tmp_path / 'rel.npy', rel)
    ref = infer_depth(init_depther(QUICKSTART, str(published['ckpt'])), str(rgbd_real / FRAME),
                      CAPTION, rel_depth=rel)
    script = (
        'import sys, numpy as np\n'
        'from tr2m.apis import from_pretrained, infer_depth\n'
        'model = from_pretrained(sys.argv[1])\n'
        'out = infer_depth(model, sys.argv[2], sys.argv[3], rel_depth=np.load(sys.argv[4]))\n'
        'np.save(sys.argv[5], out["depth"])\n')
    subprocess.run([sys.executable, '-c', script, str(folder), str(rgbd_real / FRAME), CAPTION,
                    str(tmp_path / 'rel.npy'), str(tmp_path / 'depth.npy')], check=True,
                   cwd=tmp_path, env=_env(), capture_output=True)
    depth = np.load(tmp_path / 'depth.npy')
    assert depth.shape == (480, 640) and ref['depth'].std() > 0
    np.testing.assert_allclose(depth, ref['depth'], rtol=0, atol=1e-6)


def _env():
    import os

    env = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1',
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('TR2M_RANDOM_INIT', None)
    return env


def test_folder_contents_card_and_config(published):
    folder, meta = published['folder'], published['meta']
    from safetensors.torch import load_file

    state = load_file(str(folder / MODEL_FILE))
    ckpt = torch.load(published['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    assert set(state) == set(ckpt)  # the trained parameters and the random frozen ones
    assert not any(k.startswith('text_encoder.') for k in state)  # MiniLM: from its hub id
    for key, value in ckpt.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)

    data = json.loads((folder / CONFIG_FILE).read_text())
    from tr2m.utils.config import load_config

    cfg = load_config(QUICKSTART, dict(x.split('=', 1) for x in published['overrides']
                                       if 'data_root' in x))  # the string-valued ones
    stored = plain_to_config(data['config'])
    assert stored['model']['neck'] == cfg.model.neck.to_dict()
    assert stored['model']['neck']['modalities'] == ('image', 'text')  # tuples survive
    assert stored['model']['image_encoder']['pretrained'] is None  # random, in the file
    assert stored['model']['text_encoder']['pretrained'] == \
        'sentence-transformers/all-MiniLM-L6-v2'
    frozen = {c['module']: c for c in data['tr2m']['frozen_components']}
    assert frozen['text_encoder']['weights'] == 'pretrained'
    assert frozen['image_encoder']['weights'] == 'random'
    assert frozen['relative_depth']['weights'] == 'none'
    assert data['tr2m']['external_prefixes'] == ['text_encoder.']
    assert meta['units'] == 'm' and meta['license'] == 'mit'

    # the card holds each result with its protocol, and the frozen components' hub ids
    card = (folder / CARD_FILE).read_text()
    results = json.loads(published['metrics'].read_text())['datasets']
    assert set(results) == {'synthetic_indoor', 'synthetic_outdoor', 'synthetic_endoscopic'}
    for name, entry in results.items():
        row = next(ln for ln in card.splitlines() if ln.startswith(f'| {name} |'))
        assert f'{entry["metrics"]["abs_rel"]:.4g}' in row
        assert f'{entry["metrics"]["d1"]:.4g}' in row
        assert f'max_depth {entry["protocol"]["max_depth"]:.4g}' in row
        assert 'units m' in row and 'caption_index 0' in row and 'alignment none' in row
    assert 'license: mit' in card and 'sentence-transformers/all-MiniLM-L6-v2' in card
    assert 'DepthManifestDataset' in card and 'arXiv:2506.13387' in card


def test_random_init_loads_frozen_parts_from_their_presets(published, monkeypatch):
    """TR2M_RANDOM_INIT=1: the text encoder published as pretrained is built random; the
    folder's weights still load (the external keys come from the build)."""
    monkeypatch.setenv('TR2M_RANDOM_INIT', '1')
    model = from_pretrained(str(published['folder']))
    assert model.text_encoder.weights_source == 'random'
    state = torch.load(published['ckpt'], map_location='cpu', weights_only=True)['state_dict']
    torch.testing.assert_close(model.neck.q.weight, state['neck.q.weight'])


class _Evil:
    """Unpickling this writes a marker file (what a malicious pickle would do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), 'pwned'))


def test_a_pickle_in_the_folder_is_never_loaded(toy_folder, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / 'with_pickles'
    shutil.copytree(toy_folder, folder)
    marker = tmp_path / 'marker.txt'
    for name in ('pytorch_model.bin', 'model.pth', 'weights.ckpt'):
        torch.save({'state_dict': _Evil(str(marker))}, folder / name)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, 'load', lambda *a, **k: calls.append(a) or real_load(*a, **k))
    model = from_pretrained(str(folder))
    assert not marker.exists() and calls == []
    assert type(model).__name__ == 'TR2M'

    # only a pickle where the weights should be: refused in one line, nothing unpickled
    (folder / MODEL_FILE).unlink()
    with pytest.raises(ModelFolderError, match='pickle file, which tr2m never loads'):
        from_pretrained(str(folder))
    assert not marker.exists() and calls == []


def test_missing_partial_and_foreign_folders(toy_folder, tmp_path):
    import shutil

    with pytest.raises(MissingFileError, match='model folder not found'):
        from_pretrained(str(tmp_path / 'nothing'))
    partial = tmp_path / 'partial'
    shutil.copytree(toy_folder, partial)
    (partial / CONFIG_FILE).unlink()
    with pytest.raises(ModelFolderError, match='missing config.json'):
        from_pretrained(str(partial))

    # weights missing a trained tensor: a partial folder, named
    from safetensors.torch import load_file, save_file

    cut = tmp_path / 'cut'
    shutil.copytree(toy_folder, cut)
    state = load_file(str(cut / MODEL_FILE))
    del state['scale_head.proj.weight']
    save_file(state, str(cut / MODEL_FILE))
    with pytest.raises(CheckpointError, match='1 missing keys.*scale_head.proj.weight'):
        from_pretrained(str(cut))
    (cut / MODEL_FILE).write_bytes(b'not safetensors')
    with pytest.raises(CheckpointError, match='not a readable safetensors file'):
        from_pretrained(str(cut))

    # a config that names a local file as a component source is refused before any build
    local = tmp_path / 'local_source'
    shutil.copytree(toy_folder, local)
    data = json.loads((local / CONFIG_FILE).read_text())
    data['config']['model']['text_encoder']['pretrained'] = str(local / 'evil.pth')
    (local / CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelFolderError, match='is a local path'):
        from_pretrained(str(local))
    (local / CONFIG_FILE).write_text('{"tr2m": {"format": "other"}}')
    with pytest.raises(ModelFolderError, match='not a tr2m model config'):
        from_pretrained(str(local))


def test_plain_config_round_trip_and_refusals():
    cfg = dict(a=(1, 2.5, ('x', None)), b=[dict(c=float('inf'), d=-float('inf'))], e=True)
    plain = config_to_plain(cfg)
    json.dumps(plain, allow_nan=False)  # strict JSON
    assert plain['a'] == {'__tuple__': [1, 2.5, {'__tuple__': ['x', None]}]}
    assert plain_to_config(json.loads(json.dumps(plain))) == cfg
    assert np.isnan(plain_to_config(config_to_plain(float('nan'))))
    with pytest.raises(ModelFolderError, match=r'config\.model\.neck\.act: a type'):
        config_to_plain(dict(model=dict(neck=dict(act=torch.nn.ReLU))))
    with pytest.raises(ModelFolderError, match='not a string'):
        config_to_plain({1: 2})


class FakeHfApi:
    """Stands in for ``huggingface_hub.HfApi``: records the calls and copies the files that
    ``upload_folder`` would upload (its ``allow_patterns``) into a local 'remote' folder."""

    def __init__(self, remote: Path):
        self.remote, self.calls = remote, []

    def create_repo(self, **kw):
        self.calls.append(('create_repo', kw))

    def upload_folder(self, folder_path, repo_id, allow_patterns, **kw):
        import fnmatch
        import shutil

        self.calls.append(('upload_folder', dict(repo_id=repo_id, allow=allow_patterns, **kw)))
        target = self.remote / repo_id
        target.mkdir(parents=True, exist_ok=True)
        for p in Path(folder_path).iterdir():
            if any(fnmatch.fnmatch(p.name, pat) for pat in allow_patterns):
                shutil.copy(p, target / p.name)
        return f'https://huggingface.co/{repo_id}/commit/0'


def test_push_and_download_paths(toy_folder, tmp_path, monkeypatch, rgbd_real):
    import shutil

    import huggingface_hub

    folder = tmp_path / 'to_push'
    shutil.copytree(toy_folder, folder)
    torch.save({'x': 1}, folder / 'pytorch_model.bin')  # never uploaded
    api = FakeHfApi(tmp_path / 'remote')
    url = push_to_hub(str(folder), 'someone/tr2m-toy', api=api, private=True)
    assert url.endswith('/commit/0')
    assert api.calls[0] == ('create_repo', dict(repo_id='someone/tr2m-toy', repo_type='model',
                                                private=True, exist_ok=True))
    remote = tmp_path / 'remote' / 'someone' / 'tr2m-toy'
    assert sorted(p.name for p in remote.iterdir()) == [CARD_FILE, CONFIG_FILE, MODEL_FILE]

    # a repo id downloads only the published files (stub: the 'remote' copy), then loads
    asked = {}

    def fake_snapshot(repo_id, revision=None, token=None, cache_dir=None, allow_patterns=None):
        asked.update(repo_id=repo_id, revision=revision, allow=allow_patterns)
        return str(tmp_path / 'remote' / repo_id)

    monkeypatch.setattr(huggingface_hub, 'snapshot_download', fake_snapshot)
    model = from_pretrained('someone/tr2m-toy', revision='main')
    assert asked == dict(repo_id='someone/tr2m-toy', revision='main',
                         allow=[CONFIG_FILE, MODEL_FILE, CARD_FILE])
    image = str(rgbd_real / FRAME)
    a = infer_depth(model, image, CAPTION)['depth']
    b = infer_depth(from_pretrained(str(toy_folder)), image, CAPTION)['depth']
    np.testing.assert_array_equal(a, b)

    with pytest.raises(ArgumentError, match='a Hub repo id is owner/name'):
        push_to_hub(str(folder), 'no-owner', api=api)


def test_unreachable_hub_id_is_one_line(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(ModelFolderError, match="'nobody/no-such-model' is no local folder"):
        from_pretrained('nobody/no-such-model')


def test_infer_and_publish_tools(load_tool, toy_folder, infer_config, infer_checkpoint,
                                 rgbd_real, tmp_path, capsys):
    infer = load_tool('tools/infer.py')
    out = tmp_path / 'out'
    image = rgbd_real / FRAME
    report = infer.main(['--model', str(toy_folder), '--img', str(image), '--text', CAPTION,
                         '--out-dir', str(out), '--device', 'cpu'])
    assert report['config'] == str(toy_folder) and report['units'] == 'm'
    depth = np.load(out / 'rgb_00000_depth.npy')
    ref = infer_depth(init_depther(str(infer_config), str(infer_checkpoint)), str(image),
                      CAPTION)
    np.testing.assert_allclose(depth, ref['depth'], rtol=1e-6)

    def exit_2(tool, argv):
        with pytest.raises(SystemExit) as exc:
            from tr2m.utils import cli

            cli.run(tool.main, argv)
        assert exc.value.code == 2
        return capsys.readouterr().err.strip().splitlines()

    err = exit_2(infer, ['--model', str(tmp_path / 'none'), '--img', str(image), '--text', 'x'])
    assert err == [f'infer.py: error: model folder not found: {tmp_path / "none"}'] or \
        len(err) == 1
    assert 'model folder not found' in err[-1]
    err = exit_2(infer, [str(infer_config), str(infer_checkpoint), '--model', str(toy_folder),
                         '--img', str(image), '--text', 'x'])
    assert '--model replaces CONFIG CKPT' in err[-1]
    publish = load_tool('tools/publish.py')
    err = exit_2(publish, [str(infer_config), str(infer_checkpoint), '--out-dir',
                           str(tmp_path / 'p'), '--metrics', str(tmp_path / 'missing.json')])
    assert len(err) == 1 and 'missing.json' in err[0]
    assert not (tmp_path / 'p').exists()  # checked before anything is written
    err = exit_2(publish, [str(infer_config), 'none', '--out-dir', str(tmp_path / 'p')])
    assert len(err) == 1 and 'untrained' in err[0]
    err = exit_2(publish, [str(infer_config), str(infer_checkpoint), '--out-dir',
                           str(tmp_path / 'p'), '--push', 'bad id'])
    assert len(err) == 1 and 'owner/name' in err[0]
