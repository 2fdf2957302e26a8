"""``tools/cache_features.py``, then ``tools/train.py`` and ``tools/test.py`` on the cached
config: the commands a user types (the library is tested in ``tests/test_cache/``)."""
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CACHED = REPO / 'configs' / 'cache' / 'tr2m_synthetic.py'
TOY = """
    text_encoder=dict(arch='bert_tiny', pretrained=None),
    scale_head=dict(channels=8), shift_head=dict(channels=8),
    neck=dict(num_heads=2, head_dim=8),
    soc=dict(projector=dict(hidden_channels=8, out_channels=8)),
"""


def write_config(path: Path, data_root: Path, cache_root: Path) -> Path:
    """The cached demo config at toy width on the demo set."""
    path.write_text(f"""_base_ = [{str(CACHED)!r}]
model = dict({TOY})
cache = dict(root={str(cache_root)!r})
train_dataloader = dict(batch_size=4, dataset=dict(data_root={str(data_root)!r}))
val_dataloader = dict(dataset=dict(data_root={str(data_root)!r}))
test_dataloader = dict(dataset=dict(data_root={str(data_root)!r}))
train_cfg = dict(max_epochs=1, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
""")
    return path


def run_tool(load_tool, config, *args):
    return load_tool('tools/cache_features.py').main([str(config), '--no-progress', *args])


def test_dry_run_and_refusals(load_tool, synthetic_root, tmp_path, capsys):
    config = write_config(tmp_path / 'cfg.py', synthetic_root, tmp_path / 'root')
    run_tool(load_tool, config, '--dry-run')
    printed = capsys.readouterr().out
    assert 'still to write' in printed and '6 samples x 2 view(s)' in printed
    assert not (tmp_path / 'root' / 'cache.json').exists()
    # an augmentation the cache cannot reproduce is refused before anything is computed
    crop = tmp_path / 'crop.py'  # the quickstart itself trains with RandomCrop
    crop.write_text(f"_base_ = [{str(REPO / 'configs/quickstart/tr2m_synthetic.py')!r}]\n"
                    f"train_dataloader = dict(dataset=dict(data_root={str(synthetic_root)!r}))\n")
    from tr2m.utils import cli

    with pytest.raises(SystemExit) as err:  # through the tool's top level: one line, exit 2
        cli.run(load_tool('tools/cache_features.py').main,
                [str(crop), '--no-progress', '--out', str(tmp_path / 'c')])
    assert err.value.code == 2
    assert 'RandomCrop cannot be cached' in capsys.readouterr().err


def test_train_resume_and_test_from_cache(load_tool, synthetic_root, tmp_path, capsys):
    config = write_config(tmp_path / 'cfg.py', synthetic_root, tmp_path / 'root')
    meta = run_tool(load_tool, config)
    assert len(meta['parts']) == 2 and all(p['complete'] for p in meta['parts'].values())
    train, test = load_tool('tools/train.py'), load_tool('tools/test.py')
    work = tmp_path / 'work'
    train.main([str(config), '--work-dir', str(work)])
    state = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert not any(k.startswith(('image_encoder.', 'text_encoder.', 'relative_depth.'))
                   for k in state['state_dict'])  # nothing frozen is saved
    assert any(k.startswith('soc.momentum_branch.0.') for k in state['state_dict'])
    train.main([str(config), '--work-dir', str(work), '--resume', '--cfg-options',
                'train_cfg.max_epochs=2'])
    log = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'resumed epoch: 1' in log and 'loss_soc' in log
    test.main([str(config), str(work / 'epoch_2.pth'), '--work-dir', str(tmp_path / 't')])
    assert 'abs_rel' in capsys.readouterr().out
    # the config the run dumped (readers in place of the frozen models) tests as well
    dumped = work / 'cfg.py'
    assert "type='CachedImageEncoder'" in dumped.read_text()
    test.main([str(dumped), str(work / 'epoch_2.pth'), '--work-dir', str(tmp_path / 'd')])
    assert 'abs_rel' in capsys.readouterr().out
