"""A *simulated* relative-depth model for the offline quickstart, built from the ground truth.

No pretrained relative-depth network can be had offline, so the demo stands one in: each
image's inverse GT depth, normalised by its median (which removes the metric scale, as a real
relative model does), distorted by a smooth low-frequency field and mapped through a random
per-image affine. It needs the GT, so it only runs where the data have GT; it is not a model.
"""
import math
from typing import List, Sequence, Tuple

import torch
from torch import Tensor, nn

from tr2m.models.layers.image_ops import resize_to, stable_hash
from tr2m.registry import MODELS


@MODELS.register_module()
class SimulatedRelativeDepth(nn.Module):
    """Relative inverse depth simulated from GT: ``a * (1/D / median(1/D)) * (1 + eps*f) - b``.

    ``a`` is log-uniform in ``scale_range``, ``b`` uniform in ``[0, shift_frac * a * m]`` with
    ``m`` the smallest normalised inverse depth of the image (so the output stays positive and
    the metric inverse depth is ``A * Dr + B`` with a positive ``B``, as TR2M's ``exp`` heads
    require), ``f`` a sum
    of ``num_waves`` random low-frequency sinusoids in [-1, 1]; all drawn from a generator seeded
    by the image path, so an image always gets the same simulated prediction. Invalid GT pixels
    are filled with the image's median inverse depth before distortion.

    Args:
        scale_range (tuple[float, float]): range of the random scale ``a``. Defaults to
            (0.8, 1.25): real relative models are affine-invariant but their output range is
            fairly stable from image to image.
        shift_frac (float): the shift ``b`` is at most this fraction of ``a * m``. Defaults to
            0.5.
        distortion (float): amplitude ``eps`` of the smooth multiplicative distortion.
            Defaults to 0.05.
        num_waves (int): sinusoids in the distortion field. Defaults to 3.
    """

    weights_source = 'random'  # nothing to load; it has no weights

    def __init__(self, scale_range: Sequence[float] = (0.8, 1.25), shift_frac: float = 0.5,
                 distortion: float = 0.05, num_waves: int = 3) -> None:
        super().__init__()
        self.scale_range = tuple(scale_range)
        self.shift_frac = shift_frac
        self.distortion = distortion
        self.num_waves = num_waves

    def draw(self, key: str, shape, flip: bool = False) -> Tuple[Tensor, float, float]:
        """The image's random draws: the distortion field ``f`` ``(H, W)`` in [-1, 1], the
        scale ``a`` and the shift fraction ``u`` in [0, 1] (``b = shift_frac * u * min(rel)``)."""
        gen = torch.Generator().manual_seed(stable_hash(key) % (2**63))
        rand = lambda *s: torch.rand(*s, generator=gen, dtype=torch.float64)  # noqa: E731
        h, w = shape
        ys = torch.linspace(0, 1, h, dtype=torch.float64)[:, None]
        xs = torch.linspace(0, 1, w, dtype=torch.float64)[None, :]
        if flip:
            xs = xs.flip(-1)
        field = torch.zeros(h, w, dtype=torch.float64)
        for _ in range(self.num_waves):
            fy, fx, phase = rand(3) * torch.tensor([2.0, 2.0, 2 * math.pi], dtype=torch.float64)
            field += torch.sin(2 * math.pi * (fy * ys + fx * xs) + phase)
        field /= max(self.num_waves, 1)
        lo, hi = (math.log(v) for v in self.scale_range)
        a = math.exp(lo + (hi - lo) * rand(1).item())
        return field, a, rand(1).item()

    @staticmethod
    def normalised_inverse(depth: Tensor, valid: Tensor) -> Tensor:
        """``(1/D) / median(1/D)`` over the valid pixels, holes filled with 1 (float64)."""
        inv = torch.zeros_like(depth, dtype=torch.float64)
        inv[valid] = 1.0 / depth[valid].double()
        med = inv[valid].median() if valid.any() else torch.tensor(1.0, dtype=torch.float64)
        return torch.where(valid, inv, med) / med

    def compose(self, inv_n: Tensor, field: Tensor, a, u) -> Tensor:
        """``a * inv_n * (1 + eps * f) - b`` with ``b = shift_frac * u * min`` (broadcasts over
        leading dims of ``a`` and ``u``, e.g. many draws at once)."""
        rel = a * inv_n * (1 + self.distortion * field)
        return rel - self.shift_frac * u * rel.flatten(-2).amin(-1)[..., None, None]

    def _one(self, depth: Tensor, valid: Tensor, key: str, flip: bool) -> Tensor:
        field, a, u = self.draw(key, depth.shape[-2:], flip)
        return self.compose(self.normalised_inverse(depth, valid), field, a, u).float()

    def forward(self, images: Tensor, data_samples: List) -> Tensor:
        """``(B, 1, H, W)`` simulated relative inverse depth at the size of ``images``."""
        if data_samples is None or any('gt_depth' not in s for s in data_samples):
            raise ValueError('SimulatedRelativeDepth needs each sample\'s gt_depth: it stands in '
                             'for a relative-depth model in the offline demo only. Use a real '
                             'relative-depth backbone (e.g. TransformersRelativeDepth) for images '
                             'without GT.')
        h, w = images.shape[-2:]
        out = []
        for s in data_samples:
            depth = s.gt_depth.data.to(images.device)[None].float()  # (1, 1, h0, w0)
            valid = s.gt_valid.data.to(images.device)[None].float()
            if depth.shape[-2:] != (h, w):  # GT kept at full size at test time
                valid = (resize_to(valid, (h, w), 'nearest') > 0.5)
                depth = resize_to(depth, (h, w), 'nearest')
            else:
                valid = valid > 0.5
            flip = bool(s.metainfo.get('flip', False))
            rel = self._one(depth[0, 0].cpu(), valid[0, 0].cpu(), s.img_path, flip)
            out.append(rel.to(images.device))
        return torch.stack(out)[:, None]
