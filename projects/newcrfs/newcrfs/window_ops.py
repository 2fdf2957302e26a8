"""Window partitioning, relative position indices and the shifted-window mask (Swin; NeWCRFs).

One implementation serves the Swin backbone and the NeWCRFs decoder, in the order the released
code (and the Swin-Transformer segmentation backbone it builds on) uses: **pad, then roll**.
A feature map whose sides are not multiples of the window is zero-padded at the bottom/right;
the padded canvas is cyclically shifted by ``-shift``; windows are cut from it; the attention
mask keeps tokens that come from different regions of the canvas apart (-100 added to their
logits, as released, rather than -inf). Padded tokens are ordinary keys of the windows they
fall in; only the shift boundaries are masked. (timm's Swin rolls first and pads after, which
gives other windows when a side is not a multiple of the window: at NYUv2's 480 x 640 input no
stage of Swin-L is a multiple of 7.)
"""
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

#: Logit added between tokens of different regions of a shifted window (the released value).
MASK_VALUE = -100.0


def window_partition(x: Tensor, window: int) -> Tensor:
    """``(B, H, W, C)`` with ``H, W`` multiples of ``window`` -> ``(B * nW, window**2, C)``,
    windows in row-major order, batch-major."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def window_reverse(windows: Tensor, window: int, h: int, w: int) -> Tensor:
    """Inverse of :func:`window_partition`: ``(B * nW, window**2, C)`` -> ``(B, h, w, C)``."""
    c = windows.shape[-1]
    b = windows.shape[0] // ((h // window) * (w // window))
    x = windows.view(b, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


def relative_position_index(window: int, device=None) -> Tensor:
    """``(N, N)`` index into a ``((2 window - 1)**2, heads)`` bias table, ``N = window**2``:
    ``(dy + window - 1) * (2 window - 1) + (dx + window - 1)`` for query minus key offsets."""
    coords = torch.stack(torch.meshgrid(torch.arange(window, device=device),
                                        torch.arange(window, device=device), indexing='ij'))
    flat = coords.flatten(1)  # (2, N)
    rel = (flat[:, :, None] - flat[:, None, :]) + (window - 1)  # (2, N, N), each in [0, 2w-2]
    return rel[0] * (2 * window - 1) + rel[1]


def shifted_window_mask(hp: int, wp: int, window: int, shift: int,
                        device=None, dtype=torch.float32) -> Tensor:
    """Additive attention mask ``(nW, N, N)`` (0 or :data:`MASK_VALUE`) of a padded
    ``hp x wp`` canvas rolled by ``-shift``: tokens of one window that come from different
    regions (the strips ``[0, -window)``, ``[-window, -shift)``, ``[-shift, end)`` of each axis)
    do not attend to each other."""
    label = torch.zeros(1, hp, wp, 1, device=device, dtype=dtype)
    strips = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    count = 0
    for hs in strips:
        for ws in strips:
            label[:, hs, ws, :] = count
            count += 1
    windows = window_partition(label, window).squeeze(-1)  # (nW, N)
    diff = windows[:, None, :] - windows[:, :, None]  # (nW, N, N)
    return torch.where(diff == 0, torch.zeros_like(diff), torch.full_like(diff, MASK_VALUE))


def padded_size(h: int, w: int, window: int) -> Tuple[int, int]:
    """``(h, w)`` rounded up to multiples of ``window``."""
    return -(-h // window) * window, -(-w // window) * window


def windowed(attend: Callable[[Tensor, Optional[Tensor], Optional[Tensor]], Tensor], x: Tensor,
             v: Optional[Tensor], window: int, shift: int) -> Tensor:
    """Run ``attend`` over (shifted) windows of ``x`` (and values ``v``), pad-then-roll.

    Args:
        attend (callable): ``(x_windows (B*nW, N, C), v_windows (B*nW, N, Cv) or None,
            mask (nW, N, N) or None) -> (B*nW, N, C_out)``.
        x (Tensor): ``(B, H, W, C)`` tokens that give queries and keys.
        v (Tensor, optional): ``(B, H, W, Cv)`` values of the NeWCRFs attention (None for
            self-attention, whose values come from ``x``).
        window (int): window side.
        shift (int): cyclic shift, ``0 <= shift < window`` (0: regular windows).

    Returns:
        Tensor: ``(B, H, W, C_out)``.
    """
    if not 0 <= shift < window:
        raise ValueError(f'shift must be in [0, window={window}), got {shift}')
    b, h, w, _ = x.shape
    hp, wp = padded_size(h, w, window)
    x = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))
    if v is not None:
        v = F.pad(v, (0, 0, 0, wp - w, 0, hp - h))
    mask = None
    if shift > 0:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
        if v is not None:
            v = torch.roll(v, shifts=(-shift, -shift), dims=(1, 2))
        mask = shifted_window_mask(hp, wp, window, shift, device=x.device, dtype=x.dtype)
    out = attend(window_partition(x, window),
                 None if v is None else window_partition(v, window), mask)
    out = window_reverse(out, window, hp, wp)  # (B, hp, wp, C_out)
    if shift > 0:
        out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
    return out[:, :h, :w].contiguous()
