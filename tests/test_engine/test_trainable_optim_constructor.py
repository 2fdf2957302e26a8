"""``TrainableOptimWrapperConstructor``: the optimizer holds the trainable parameters only."""
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope


def held(wrapper):
    return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}


def test_only_trainable_parameters(tiny_tr2m):
    model = tiny_tr2m()
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    frozen = {id(p) for p in model.parameters() if not p.requires_grad}
    assert frozen and trainable  # encoders and the SOC momentum branch are frozen
    base = dict(constructor='TrainableOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=1e-5, weight_decay=0.01))
    with DefaultScope.overwrite_default_scope('tr2m'):
        plain = build_optim_wrapper(model, base)
        paramwise = build_optim_wrapper(model, dict(base, paramwise_cfg=dict(norm_decay_mult=0.0)))
        default = build_optim_wrapper(model, dict(optimizer=base['optimizer']))
    assert held(plain) == trainable == held(paramwise)
    assert held(default) == trainable | frozen  # what mmengine's default does
    norms = [g for g in paramwise.optimizer.param_groups if g.get('weight_decay') == 0.0]
    assert norms  # the paramwise rules still apply (LayerNorm of the neck)


def test_adamw_fused_by_default(tiny_tr2m):
    model = tiny_tr2m()
    base = dict(constructor='TrainableOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=1e-5, weight_decay=0.01))
    with DefaultScope.overwrite_default_scope('tr2m'):
        fused = build_optim_wrapper(model, base)
        paramwise = build_optim_wrapper(model, dict(base, paramwise_cfg=dict(norm_decay_mult=0.0)))
        loop = build_optim_wrapper(model, dict(base, optimizer=dict(base['optimizer'],
                                                                     fused=False)))
        foreach = build_optim_wrapper(model, dict(base, optimizer=dict(base['optimizer'],
                                                                        foreach=True)))
        sgd = build_optim_wrapper(model, dict(base, optimizer=dict(type='SGD', lr=0.1)))
    assert fused.optimizer.defaults['fused'] is True
    assert paramwise.optimizer.defaults['fused'] is True
    assert not loop.optimizer.defaults['fused'] and not foreach.optimizer.defaults['fused']
    assert 'fused' not in sgd.optimizer.defaults or not sgd.optimizer.defaults['fused']


def test_prefer_fused_rules():
    import torch

    from tr2m.engine.trainable_optim_constructor import prefer_fused

    p = [torch.zeros(2, requires_grad=True)]
    assert prefer_fused(dict(type='AdamW'), p)['fused'] is True
    assert prefer_fused(dict(type=torch.optim.Adam), p)['fused'] is True
    assert 'fused' not in prefer_fused(dict(type='AdamW', foreach=False), p)
    assert prefer_fused(dict(type='AdamW', fused=False), p)['fused'] is False
    assert 'fused' not in prefer_fused(dict(type='SGD'), p)
    assert 'fused' not in prefer_fused(dict(type='AdamW'), [torch.zeros(2, dtype=torch.int64)])
    assert 'fused' not in prefer_fused(dict(type='AdamW'), [])


def test_fused_adamw_equals_for_loop():
    """Fused, foreach and for-loop AdamW from the same weights and gradients agree after 5
    steps (weight decay, amsgrad off, parameters of several shapes including scalars)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    shapes = [(64, 32), (32,), (8, 4, 3, 3), (1,), (1000,)]
    init = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) * 10 ** float(torch.randint(-4, 2, (1,),
                                                                         generator=gen))
              for s in shapes] for _ in range(5)]
    finals = {}
    for mode in ('loop', 'foreach', 'fused'):
        params = [torch.nn.Parameter(t.clone()) for t in init]
        kw = dict(fused=mode == 'fused', foreach=mode == 'foreach') if mode != 'fused' else \
            dict(fused=True)
        opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-2, **kw)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            opt.step()
        finals[mode] = [p.detach() for p in params]
    for mode in ('foreach', 'fused'):
        for a, b, start in zip(finals['loop'], finals[mode], init):
            assert not torch.equal(a, start)  # the steps moved the weights
            torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7)
