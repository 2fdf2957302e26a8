"""Mixed precision on CUDA (``pytest -m gpu`` on a CUDA machine; excluded from CPU CI)."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize('wrapper', [
    dict(type='AutocastOptimWrapper', dtype='bfloat16'),
    dict(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')])
def test_cuda_amp_step(tiny_tr2m, tiny_batch, wrapper):
    assert torch.cuda.is_available(), 'gpu tests need CUDA (CPU runs deselect them: -m "not gpu")'
    model = tiny_tr2m().cuda().train()
    with DefaultScope.overwrite_default_scope('tr2m'):
        optim = build_optim_wrapper(model, dict(wrapper, optimizer=dict(type='AdamW', lr=1e-4),
                                                constructor='TrainableOptimWrapperConstructor'))
    for _ in range(2):
        log = model.train_step(tiny_batch(), optim)
        assert all(torch.isfinite(v) for k, v in log.items() if 'loss' in k)
        assert log['loss_silog'].dtype == torch.float32
