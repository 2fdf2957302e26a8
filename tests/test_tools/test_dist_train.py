"""tools/dist_train.sh: 2 processes (gloo on CPU) x b images train the same model as 1 process x 2b
images; the launcher errors are one clear line."""
import pytest
from dist_tool_utils import REPO, max_weight_diff, run_script, user_error_message


def _opts(batch: int, soc: bool) -> list:
    return ['train_cfg.max_epochs=3', 'train_cfg.val_interval=1000', 'train_cfg.val_begin=1000',
            f'train_dataloader.batch_size={batch}', 'default_hooks.logger.interval=1',
            *([] if soc else ['model.soc=None'])]


@pytest.mark.parametrize('soc', [False, True], ids=['soc_off', 'soc_on'])
def test_two_processes_train_the_one_process_model(load_tool, tiny_config, tmp_path, soc):
    # 6 training images: 1 process x 6 images per step, or 2 processes x 3, for 3 steps
    load_tool('tools/train.py').main([str(tiny_config), '--work-dir', str(tmp_path / 'one'),
                                      '--cfg-options', *_opts(6, soc)])
    run_script([REPO / 'tools/dist_train.sh', tiny_config, 2,
                '--work-dir', tmp_path / 'two', '--cfg-options', *_opts(3, soc)])
    log = '\n'.join(p.read_text() for p in (tmp_path / 'two').glob('*/*.log'))
    # gloo chosen from the machine (no CUDA here), two processes
    assert "dist_cfg: {'backend': 'gloo'}" in log and 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    diff = max_weight_diff(tmp_path / 'one' / 'epoch_3.pth', tmp_path / 'two' / 'epoch_3.pth')
    assert diff <= 1e-4, diff


def test_launcher_without_its_environment_is_one_clear_line(load_tool, tiny_config, tmp_path,
                                                           monkeypatch, capsys):
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'SLURM_PROCID'):
        monkeypatch.delenv(var, raising=False)
    train = load_tool('tools/train.py').main
    msg = user_error_message(train, [str(tiny_config), '--work-dir', str(tmp_path),
                                     '--launcher', 'pytorch'], capsys)
    assert msg.startswith('--launcher pytorch: the environment lacks RANK, WORLD_SIZE')
    assert 'bash tools/dist_train.sh CONFIG NPROC' in msg and 'torchrun' in msg
    msg = user_error_message(train, [str(tiny_config), '--work-dir', str(tmp_path),
                                     '--launcher', 'slurm'], capsys)
    assert msg.startswith('--launcher slurm: the environment lacks SLURM_PROCID')
    assert not list(tmp_path.glob('*/*.log'))  # nothing started


def test_scripts_need_their_arguments(tmp_path):
    import subprocess

    for script, usage in (('dist_train.sh', 'CONFIG NPROC'),
                          ('dist_test.sh', 'CONFIG CHECKPOINT NPROC'),
                          ('slurm_train.sh', 'PARTITION JOB_NAME CONFIG'),
                          ('slurm_test.sh', 'PARTITION JOB_NAME CONFIG CHECKPOINT')):
        proc = subprocess.run(['bash', str(REPO / 'tools' / script)], capture_output=True,
                              text=True)
        assert proc.returncode == 2 and 'usage: bash' in proc.stderr and usage in proc.stderr
