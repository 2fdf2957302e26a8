"""FLOPs per module of a depther (``tools/analysis_tools/get_flops.py`` is the CLI), with
``F.scaled_dot_product_attention`` counted on every device, and the analytic count of a ViT.

``torch.utils.flop_counter.FlopCounterMode`` has formulas for the CUDA attention kernels
(flash, memory-efficient, cuDNN) but not for the one CPU runs,
``aten._scaled_dot_product_flash_attention_for_cpu``, so on CPU every SDPA call -- each
DINOv2 layer (transformers' default attention), Depth Anything's backbone, the neck -- counted
0. :data:`SDPA_CPU_FORMULAS` adds PyTorch's own attention formulas for it: forward
``2 B H N M d`` (``Q K^T``) ``+ 2 B H N M d_v`` (``P V``), i.e. ``4 B H N M d``; backward
the score recomputation and four products (``10 B H N M d``). Softmax, like every elementwise
op, is not counted.
"""
from collections import OrderedDict

import torch

MODES = ('tensor', 'train')


def _sdpa_cpu_forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query, key, value)


def _sdpa_cpu_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_backward_flop_count

    return sdpa_backward_flop_count(grad_out, query, key, value)


def sdpa_cpu_formulas() -> dict:
    """``custom_mapping`` for ``FlopCounterMode``: the CPU flash-attention ops (forward and
    backward) with PyTorch's SDPA formulas (ops missing from this PyTorch are left out)."""
    aten = torch.ops.aten
    out = {}
    for name, fn in (('_scaled_dot_product_flash_attention_for_cpu', _sdpa_cpu_forward),
                     ('_scaled_dot_product_flash_attention_for_cpu_backward',
                      _sdpa_cpu_backward)):
        if hasattr(aten, name):
            out[getattr(aten, name)] = fn
    return out


def flop_counter(**kwargs):
    """``FlopCounterMode(display=False, custom_mapping=<SDPA on CPU>, **kwargs)``."""
    from torch.utils.flop_counter import FlopCounterMode

    return FlopCounterMode(display=False, custom_mapping=sdpa_cpu_formulas(), **kwargs)


def vit_flops(hidden: int, layers: int, patches: int, extra_tokens: int = 1,
              mlp_ratio: float = 4.0, patch_size: int = 14, in_chans: int = 3,
              batch: int = 1) -> int:
    """Analytic forward FLOPs of a ViT encoder (2 per multiply-add): patch embedding
    ``2 P D (C p^2)`` plus per layer QKV and output projections ``8 N D^2``, attention
    ``4 N^2 D`` (``Q K^T`` and ``P V`` over all heads) and the MLP ``4 r N D^2``, with
    ``N = P + extra_tokens`` (class and register tokens)."""
    n = patches + extra_tokens
    per_layer = 8 * n * hidden ** 2 + 4 * n * n * hidden + 4 * mlp_ratio * n * hidden ** 2
    embed = 2 * patches * hidden * in_chans * patch_size ** 2
    return int(batch * (embed + layers * per_layer))


def module_kind(module) -> str:
    """``frozen``, ``trainable``, ``mixed`` or ``-`` (no parameters)."""
    params = list(module.parameters())
    if hasattr(module, 'weights_source') and not any(p.requires_grad for p in params):
        return 'frozen'
    if not params:
        return '-'
    grads = {p.requires_grad for p in params}
    return 'mixed' if len(grads) == 2 else 'trainable' if True in grads else 'frozen'


def module_rows(model, counts: dict, depth: int) -> "OrderedDict[str, dict]":
    """FLOPs of every module ``depth`` levels down; a container that is never called itself
    (``ModuleList``) gets the sum of its called descendants."""
    root = type(model).__name__
    children = {}
    for name, _ in model.named_modules():
        if name:
            parent = name.rsplit('.', 1)[0] if '.' in name else ''
            children.setdefault(parent, []).append(name)

    def flops(name: str) -> int:
        key = f'{root}.{name}'
        if key in counts:
            return int(counts[key])
        return sum(flops(c) for c in children.get(name, []))

    rows = OrderedDict()
    for name, module in model.named_modules():
        if name and name.count('.') == depth - 1:
            value = flops(name)
            if value:
                rows[name] = dict(flops=value, kind=module_kind(module))
    return rows


def count_flops(model, data: dict, mode: str, depth: int) -> dict:
    """Total FLOPs of one call and the rows ``depth`` levels down; ``(self)`` is what runs
    outside them. ``mode='train'`` attributes the forward to modules and adds the backward as
    one row (``(backward)``): FlopCounterMode's per-module attribution of backward ops is not
    reliable, the total is."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    with flop_counter(depth=None) as forward:
        if mode == 'tensor':
            model.eval()
            with torch.no_grad():
                batch = model.data_preprocessor(data, False)
                model(batch['inputs'], batch['data_samples'], mode='tensor')
        else:
            model.train()
            batch = model.data_preprocessor(data, True)
            losses = model(batch['inputs'], batch['data_samples'], mode='loss')
            total_loss = sum(v for k, v in losses.items() if 'loss' in k)
    counts = {name: sum(ops.values()) for name, ops in forward.get_flop_counts().items()}
    rows = module_rows(model, counts, depth)
    fwd_total = int(forward.get_total_flops())
    rows['(self)'] = dict(flops=fwd_total - sum(r['flops'] for r in rows.values()), kind='-')
    total = fwd_total
    if mode == 'train':
        with flop_counter() as backward:
            total_loss.backward()
        rows['(backward)'] = dict(flops=int(backward.get_total_flops()), kind='-')
        total += rows['(backward)']['flops']
    for r in rows.values():
        r['share'] = r['flops'] / total if total else 0.0
    frozen = sum(r['flops'] for r in rows.values() if r['kind'] == 'frozen')
    trainable = sum(r['flops'] for r in rows.values() if r['kind'] == 'trainable')
    return dict(total_flops=total, frozen_flops=frozen, trainable_flops=trainable, modules=rows)


__all__ = ['MODES', 'sdpa_cpu_formulas', 'flop_counter', 'vit_flops', 'module_kind',
           'module_rows', 'count_flops']
