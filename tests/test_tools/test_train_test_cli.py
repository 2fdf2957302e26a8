"""tools/train.py and tools/test.py end to end on a tiny synthetic set: checkpoints, resume,
metrics JSON, weights_only loading, strict overrides."""
import json
from pathlib import Path

import pytest
import torch

from tr2m.utils.errors import CheckpointError, ConfigError, MissingCheckpointError

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/quickstart/tr2m_synthetic.py')


def overrides(root, epochs):
    return [f'{loader}.dataset.data_root={root}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
            'train_dataloader.batch_size=4',
            f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=100',
            'default_hooks.logger.interval=1']


def test_train_resume_and_test(load_tool, synthetic_root, tmp_path, capsys):
    train, test = load_tool('tools/train.py'), load_tool('tools/test.py')
    work = tmp_path / 'work'
    train.main([CONFIG, '--work-dir', str(work), '--cfg-options', *overrides(synthetic_root, 1)])
    ckpt1 = work / 'epoch_1.pth'
    assert ckpt1.is_file() and (work / 'last_checkpoint').is_file()

    # what mmengine wrote loads with weights_only=True (tr2m allowlists its classes)
    state = torch.load(ckpt1, map_location='cpu', weights_only=True)
    assert state['meta']['epoch'] == 1
    assert any(k.startswith('soc.momentum_branch.0.') for k in state['state_dict'])
    assert not any(k.startswith('text_encoder.') for k in state['state_dict'])  # pretrained

    # resuming restores the EMA branch exactly (it is part of the checkpoint)
    from mmengine.runner import Runner

    args = train.parse_args([CONFIG, '--work-dir', str(work), '--resume', '--cfg-options',
                             *overrides(synthetic_root, 2)])
    runner = Runner.from_cfg(train.build_config(args))
    runner.load_or_resume()
    for k, v in runner.model.soc.state_dict().items():
        torch.testing.assert_close(v, state['state_dict']['soc.' + k])
    assert runner.epoch == 1

    # resume from the work dir's latest checkpoint and train one more epoch
    train.main([CONFIG, '--work-dir', str(work), '--resume', '--cfg-options',
                *overrides(synthetic_root, 2)])
    log = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'Load checkpoint from' in log and 'resumed epoch: 1' in log
    for key in ('loss_silog', 'loss_pseudo', 'loss_soc', 'loss_smooth'):  # all four logged
        assert key in log
    state2 = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert state2['meta']['epoch'] == 2
    # the EMA branch moved on from the restored one, by at most (1 - m) per step
    key = next(k for k in state['state_dict'] if k.startswith('soc.momentum_projector.'))
    assert not torch.equal(state['state_dict'][key], state2['state_dict'][key])

    out = tmp_path / 'metrics.json'
    test.main([CONFIG, str(work / 'epoch_2.pth'), '--work-dir', str(tmp_path / 'test'),
               '--out', str(out), '--show-dir', str(tmp_path / 'vis'), '--cfg-options',
               *overrides(synthetic_root, 2)])
    printed = capsys.readouterr().out
    assert 'abs_rel' in printed and 'synthetic_outdoor' in printed
    result = json.loads(out.read_text())
    assert set(result['protocol']) == {'synthetic_indoor', 'synthetic_outdoor',
                                       'synthetic_endoscopic'}
    assert result['protocol']['synthetic_outdoor']['max_depth'] == 80.0
    assert result['protocol']['synthetic_outdoor']['count'] == 2
    assert 0 < result['metrics']['abs_rel'] < 10 and len(result['config_hash']) == 12
    outdoor = result['datasets']['synthetic_outdoor']
    assert outdoor['metrics']['abs_rel'] == result['metrics']['synthetic_outdoor/abs_rel']
    assert outdoor['protocol']['config_hash'] == result['config_hash']
    assert outdoor['protocol']['alignment'] == 'none'
    assert outdoor['protocol']['caption_index'] == 0
    assert outdoor['protocol']['tta'] == 'none'
    # --show-dir: one panel picture per test image, named by dataset, index and image
    pictures = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert len(pictures) == 6 and pictures[0].startswith('synthetic_endoscopic_')
    assert not any('UNTRAINED' in p for p in pictures)

    # --flip-test: averaged with the mirrored prediction, recorded per dataset
    flipped = tmp_path / 'flip.json'
    test.main([CONFIG, str(work / 'epoch_2.pth'), '--work-dir', str(tmp_path / 'test'),
               '--out', str(flipped), '--flip-test', '--cfg-options',
               *overrides(synthetic_root, 2)])
    flip = json.loads(flipped.read_text())
    for entry in flip['datasets'].values():
        assert entry['protocol']['tta'] == 'flip' and entry['protocol']['tta_merge'] == 'mean'
    assert flip['metrics']['silog'] != result['metrics']['silog']  # another prediction


def test_strict_cfg_options_and_checkpoint_errors(load_tool, synthetic_root, tmp_path):
    train, test = load_tool('tools/train.py'), load_tool('tools/test.py')
    with pytest.raises(ConfigError, match=r"did you mean model\.scale_head\.channels, "
                                          r"model\.scale_head\.in_channels\?$"):
        train.main([CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                    'model.scale_head.chanels=8'])
    with pytest.raises(ConfigError) as err:  # each suggestion once
        train.main([CONFIG, '--cfg-options', 'train_cfg.max_epoch=3'])
    assert str(err.value).endswith('did you mean train_cfg.max_epochs?')
    with pytest.raises(MissingCheckpointError, match='checkpoint not found'):
        test.main([CONFIG, str(tmp_path / 'nope.pth')])
    # a checkpoint of another model (different head width) is refused, not half-loaded
    other = tmp_path / 'other'
    train.main([CONFIG, '--work-dir', str(other), '--cfg-options', *overrides(synthetic_root, 1),
                'model.scale_head.channels=8'])
    with pytest.raises(CheckpointError, match='epoch_1.pth: checkpoint does not fit TR2M'):
        test.main([CONFIG, str(other / 'epoch_1.pth'), '--work-dir', str(tmp_path / 't'),
                   '--cfg-options', *overrides(synthetic_root, 1)])
