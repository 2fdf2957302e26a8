"""``AutocastOptimWrapper``: a bfloat16 training step on CPU, losses in float32."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

OPTIM = dict(constructor='TrainableOptimWrapperConstructor',
             optimizer=dict(type='AdamW', lr=1e-3))


def test_bf16_step_on_cpu_finite_and_close_to_fp32(tiny_tr2m, tiny_batch):
    results = {}
    for amp in (False, True):
        model = tiny_tr2m().train()
        cfg = dict(OPTIM, type='AutocastOptimWrapper') if amp else dict(OPTIM)
        with DefaultScope.overwrite_default_scope('tr2m'):
            wrapper = build_optim_wrapper(model, cfg)
        seen = {}

        def record(module, args, out, seen=seen):
            seen.setdefault('neck', out.dtype)  # a hook that returns None keeps the output

        model.neck.q.register_forward_hook(record)  # a projection of the neck
        before = {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}
        log = model.train_step(tiny_batch(), wrapper)
        results[amp] = log
        for key in ('loss_silog', 'loss_pseudo', 'loss_soc', 'loss_smooth'):
            assert torch.isfinite(log[key]) and log[key].dtype == torch.float32, key
        moved = [k for k, p in model.named_parameters()
                 if p.requires_grad and not torch.equal(p, before[k])]
        assert moved and all(p.dtype == torch.float32 for p in model.parameters())
        expected = torch.bfloat16 if amp else torch.float32
        assert seen['neck'] == expected  # the trainable part ran in bfloat16
    for key in ('loss_silog', 'loss_pseudo', 'loss_soc'):
        torch.testing.assert_close(results[True][key], results[False][key], rtol=0.05, atol=0.02)


def test_float32_guard_keeps_loss_maths_in_float32():
    from tr2m.models.losses import fit_scale_shift, silog_loss, soc_loss

    gen = torch.Generator().manual_seed(0)
    pred = (torch.rand(2, 1, 8, 8, generator=gen) + 0.5).to(torch.bfloat16)
    gt = torch.rand(2, 1, 8, 8, generator=gen) + 0.5
    valid = torch.ones_like(gt, dtype=torch.bool)
    q = torch.randn(2, 8, 4, 4, generator=gen).to(torch.bfloat16)
    k = torch.randn(2, 2, 8, 4, 4, generator=gen)
    cls = torch.randint(0, 3, (2, 4, 4), generator=gen)
    k_cls = torch.randint(0, 3, (2, 2, 4, 4), generator=gen)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        si = silog_loss(pred, gt, valid)
        soc = soc_loss(q, k, cls, k_cls, num_classes=2)
        alpha, _ = fit_scale_shift(pred, gt, valid)
    assert si.dtype == soc.dtype == alpha.dtype == torch.float32
    ref_si = silog_loss(pred.float(), gt, valid)
    ref_soc = soc_loss(q.float(), k, cls, k_cls, num_classes=2)
    assert si.item() == ref_si.item() and soc.item() == ref_soc.item()  # not bf16 maths


def test_bad_dtype():
    with pytest.raises(ValueError, match='float16 needs loss scaling'):
        from tr2m.engine import AutocastOptimWrapper

        AutocastOptimWrapper(dtype='float16',
                             optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)],
                                                       lr=1.0))


def test_train_tool_amp_config():
    import importlib.util
    from pathlib import Path

    from mmengine.config import Config

    path = Path(__file__).resolve().parents[2] / 'tools' / 'train.py'
    spec = importlib.util.spec_from_file_location('tr2m_tool_train_amp', path)
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='AdamW'))))
    train.apply_amp(cfg, 'bfloat16')
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    if not torch.cuda.is_available():
        from tr2m.utils.errors import ArgumentError  # one line, exit code 2 (cli.run)

        with pytest.raises(ArgumentError, match='float16 needs CUDA'):
            train.apply_amp(cfg, 'float16')
