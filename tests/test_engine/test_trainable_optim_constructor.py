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
