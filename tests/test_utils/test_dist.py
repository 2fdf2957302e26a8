"""tr2m.utils.dist: the backend from the machine, the launcher errors, and global_mean, which
makes N ranks with unequal counts give the gradient of one process over the whole batch."""
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config

from tr2m.utils.dist import global_mean, init_distributed, resolve_backend
from tr2m.utils.errors import ArgumentError


def test_global_mean_on_one_process():
    total = torch.tensor(6.0, requires_grad=True)
    out = global_mean(total, 4)
    assert out.item() == 1.5
    zero = global_mean(total, 0)
    zero.backward()
    assert zero.item() == 0 and total.grad.item() == 0  # still connected to the graph


def test_backend_from_the_machine():
    if torch.cuda.is_available():
        assert resolve_backend(None) == 'nccl'
    else:
        assert resolve_backend(None) == 'gloo' and resolve_backend('auto') == 'gloo'
        with pytest.raises(ArgumentError, match="backend='nccl' needs CUDA"):
            resolve_backend('nccl')
    assert resolve_backend('gloo') == 'gloo'


def test_ddp_wrapper_options_are_accepted_overrides():
    from tr2m.utils.config import load_config

    config = Path(__file__).resolve().parents[2] / 'configs/quickstart/tr2m_synthetic.py'
    cfg = load_config(str(config), {
        'model_wrapper_cfg.device_ids': None, 'model_wrapper_cfg.find_unused_parameters': True,
        'env_cfg.dist_cfg.backend': 'gloo'})
    assert cfg.model_wrapper_cfg.device_ids is None and cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'


def test_launchers_need_their_environment(monkeypatch):
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'SLURM_PROCID',
                'SLURM_NTASKS', 'SLURM_NODELIST', 'OMPI_COMM_WORLD_RANK'):
        monkeypatch.delenv(var, raising=False)
    assert init_distributed(Config(dict(launcher='none'))) is False
    with pytest.raises(ArgumentError, match='--launcher pytorch: the environment lacks RANK'):
        init_distributed(Config(dict(launcher='pytorch')))
    with pytest.raises(ArgumentError, match='--launcher mpi: the environment lacks'):
        init_distributed(Config(dict(launcher='mpi')))
    with pytest.raises(ArgumentError, match="--launcher must be one of .*got 'ssh'"):
        init_distributed(Config(dict(launcher='ssh')))


def _worker(rank, world, init_file, counts, values, out):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    try:
        w = torch.tensor(2.0, requires_grad=True)
        per_item = w * torch.tensor(values[rank])  # this rank's items
        loss = global_mean(per_item.sum(), counts[rank])
        loss.backward()
        grad = w.grad.clone()
        dist.all_reduce(grad)
        out[rank] = (grad / world).item()  # DDP averages the ranks' gradients
    finally:
        dist.destroy_process_group()


def test_global_mean_over_unequal_counts_matches_one_process(tmp_path):
    values = [[1.0, 2.0, 3.0], [10.0]]  # 3 items on rank 0, 1 on rank 1
    out = mp.Manager().dict()
    mp.start_processes(_worker, args=(2, str(tmp_path / 'init'), [3, 1], values, out),
                       nprocs=2, start_method='fork')  # fork: no re-import, fast
    one_process = sum(sum(v) for v in values) / 4  # d/dw of mean(w * v) over all 4 items
    assert out[0] == pytest.approx(one_process) and out[1] == pytest.approx(one_process)
    # the naive per-rank mean would give (2 + 10) / 2 = 6, not 4
    assert one_process == 4.0
    assert not os.environ.get('RANK')
