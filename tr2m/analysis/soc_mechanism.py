"""The controlled SOC experiment: does the contrast organise what the heads read?

A setting where the answer is known (the paper's Figure 5 as a number). Synthetic image tokens
carry each cell's depth class under heavy per-image noise, so a contrast *can* organise them:

- depth: a smooth random field per image (a ramp plus bilinearly upsampled coarse noise, a
  log-uniform base depth), ``H x W = grid * stride``;
- labels: eq. 7 on the full-resolution depth, then the per-cell mode on the token grid (what
  ``ScaleOrientedContrast`` does);
- image tokens ``(B, D, grid, grid)``: ``prototype[label] + image_noise * u_b +
  pixel_noise * n``, with unit class prototypes, one random unit direction ``u_b`` per image
  (the per-image noise, shared by all its tokens) and Gaussian per-token noise of norm
  ``~pixel_noise``;
- relative inverse depth: the per-image min-max normalised ``1/D``, so ``1/D = a Dr + b`` with
  one ``(a, b)`` per image; the caption embedding is a fixed random linear map of
  ``(log a, log b)`` plus noise (the heads need the caption for the scale, not the classes).

The project's real components train on it with AdamW for a few hundred CPU steps: a
``CrossModalAttentionNeck``, two ``RescaleHead``\\ s (``D = 1 / (A Dr + B)``, the paper's
SI-log in the ZoeDepth form) and, per variant, a ``ScaleOrientedContrast`` (its EMA branch
stepped after every optimizer step) or none. On held-out images it reports, for the neck's
output (what the heads read) and the projector's output (what is contrasted):

- separability: mean cosine of same-class minus different-class pixel pairs of one image
  (:func:`tr2m.models.losses.class_separability`), averaged over images;
- NCM accuracy: pixels of half of the held-out images are classified by the nearest (cosine)
  class mean of the other half's normalised features, and vice versa;

and the cosine diagnostics of eq. 8 (``soc_cos_pos`` / ``soc_cos_neg``, averaged over the last
tenth of training). Every variant of one seed sees the same data and starts from the same
neck and heads; seeds are pooled (mean and spread). The CLI is
``tools/analysis_tools/soc_mechanism.py``.
"""
import contextlib
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tr2m.functional import affine_inverse_to_depth
from tr2m.models.contrast import ScaleOrientedContrast
from tr2m.models.encoders.text_base import TextEmbedding
from tr2m.models.heads import RescaleHead
from tr2m.models.losses import class_separability, depth_classes, reduce_labels, silog_loss
from tr2m.models.necks import CrossModalAttentionNeck
from tr2m.utils.errors import ArgumentError

#: SOC configs by name (``None``: no SOC). The paper's form is eq. 8 as printed (the paper's
#: projector, summed negatives); the others let the contrast reach what the heads read.
VARIANTS: Dict[str, Optional[dict]] = {
    'no_soc': None,
    'paper': dict(projector=dict(type='SOCProjector'), negative_reduction='sum'),
    'paper_mean': dict(projector=dict(type='SOCProjector'), negative_reduction='mean'),
    'linear_mean': dict(projector=dict(type='LinearSOCProjector'), negative_reduction='mean'),
    'none_sum': dict(projector=None, negative_reduction='sum'),
    'none_mean': dict(projector=None, negative_reduction='mean'),
    'none_mean_t0.1': dict(projector=None, negative_reduction='mean', temperature=0.1),
}
#: What the tool runs without ``--variants``.
DEFAULT_VARIANTS = ('no_soc', 'paper', 'paper_mean', 'linear_mean', 'none_sum', 'none_mean')
#: Metrics of one run (``proj_*`` are None without SOC).
METRICS = ('neck_sep', 'neck_ncm', 'proj_sep', 'proj_ncm', 'cos_pos', 'cos_neg', 'loss_soc',
           'abs_rel')


@dataclass
class MechanismSetup:
    """Size of the experiment (the defaults are the documented run).

    Args:
        grid (int): token grid ``h = w``. Defaults to 12.
        stride (int): input pixels per token (the heads upsample x4). Defaults to 4.
        width (int): token width ``D``. Defaults to 64.
        text_width (int): caption embedding width. Defaults to 32.
        num_classes (int): ``C`` of eq. 7 (labels ``0..C``). Defaults to 10.
        image_noise (float): norm of the per-image direction added to every token of an image
            (class prototypes have norm 1). Defaults to 3.0.
        pixel_noise (float): norm of the per-token noise. Defaults to 0.5.
        batch (int): images per step. Defaults to 8.
        steps (int): optimizer steps. Defaults to 200.
        lr (float): AdamW learning rate. Defaults to 1e-3.
        head_channels (int): decoder width of the heads. Defaults to 8.
        num_heads (int): attention heads of the neck. Defaults to 4.
        eval_images (int): held-out images. Defaults to 16.
        soc_weight (float): ``loss_weight`` of SOC (paper 0.1). Defaults to 0.1.
        momentum (float): SOC's EMA momentum (paper 0.999). Defaults to 0.999.
    """

    grid: int = 12
    stride: int = 4
    width: int = 64
    text_width: int = 32
    num_classes: int = 10
    image_noise: float = 3.0
    pixel_noise: float = 0.5
    batch: int = 8
    steps: int = 200
    lr: float = 1e-3
    head_channels: int = 8
    num_heads: int = 4
    eval_images: int = 16
    soc_weight: float = 0.1
    momentum: float = 0.999

    @property
    def size(self) -> Tuple[int, int]:
        side = self.grid * self.stride
        return side, side


@dataclass
class SyntheticBatch:
    tokens: Tensor  # (B, D, h, w)
    text: TextEmbedding  # pooled (B, T)
    rel: Tensor  # (B, 1, H, W) relative inverse depth in [0, 1]
    gt: Tensor  # (B, 1, H, W) metric depth
    valid: Tensor  # (B, 1, H, W) bool
    labels: Tensor = field(default=None)  # (B, h, w) eq. 7 labels on the token grid


class SyntheticTokens:
    """The experiment's data: fixed class prototypes and caption map per seed, then any number
    of batches drawn from a generator (see the module docstring)."""

    def __init__(self, setup: MechanismSetup, seed: int) -> None:
        self.setup = setup
        gen = torch.Generator().manual_seed(10_000 + seed)
        labels = setup.num_classes + 1
        self.prototypes = F.normalize(torch.randn(labels, setup.width, generator=gen), dim=1)
        self.text_map = torch.randn(2, setup.text_width, generator=gen)
        self.gen = gen

    def batch(self, n: int) -> SyntheticBatch:
        s, gen = self.setup, self.gen
        height, width = s.size
        ramp = torch.linspace(-1, 1, height)[:, None].expand(height, width)
        coarse = torch.randn(n, 1, 4, 4, generator=gen)
        field_ = F.interpolate(coarse, size=(height, width), mode='bilinear',
                               align_corners=True)[:, 0]
        slope = torch.rand(n, 1, 1, generator=gen) * 1.5
        base = torch.exp(torch.rand(n, 1, 1, generator=gen) * math.log(20.0))  # 1..20
        depth = base * torch.exp(slope * ramp + 0.5 * field_)  # (n, H, W)
        valid = torch.ones_like(depth, dtype=torch.bool)
        cls = depth_classes(depth, valid, s.num_classes)
        labels = reduce_labels(cls, (s.grid, s.grid), s.num_classes + 1)  # (n, h, w)
        tokens = self.prototypes[labels].permute(0, 3, 1, 2)  # (n, D, h, w)
        direction = F.normalize(torch.randn(n, s.width, generator=gen), dim=1)
        tokens = tokens + s.image_noise * direction[:, :, None, None]
        tokens = tokens + s.pixel_noise / math.sqrt(s.width) * torch.randn(
            tokens.shape, generator=gen)
        inv = 1.0 / depth
        lo = inv.flatten(1).amin(1)[:, None, None]
        hi = inv.flatten(1).amax(1)[:, None, None]
        rel = (inv - lo) / (hi - lo)  # 1/D = (hi - lo) * rel + lo
        code = torch.stack([torch.log(hi - lo), torch.log(lo)], 1)[:, :, 0, 0]  # (n, 2)
        pooled = code @ self.text_map + 0.1 * torch.randn(n, s.text_width, generator=gen)
        text = TextEmbedding(pooled, pooled.new_zeros(n, 0, s.text_width),
                             torch.zeros(n, 0, dtype=torch.bool))
        return SyntheticBatch(tokens, text, rel[:, None], depth[:, None], valid[:, None],
                              labels)


class MechanismModel(nn.Module):
    """The project's neck and heads (and a SOC component, or none) on synthetic tokens."""

    def __init__(self, setup: MechanismSetup, soc: Optional[dict]) -> None:
        super().__init__()
        self.neck = CrossModalAttentionNeck(setup.width, text_channels=setup.text_width,
                                            num_heads=setup.num_heads)
        self.scale_head = RescaleHead(setup.width, channels=setup.head_channels)
        self.shift_head = RescaleHead(setup.width, channels=setup.head_channels)
        self.soc = None
        if soc is not None:
            cfg = dict(dict(feature='neck', num_classes=setup.num_classes,
                            loss_weight=setup.soc_weight, momentum=setup.momentum), **soc)
            self.soc = ScaleOrientedContrast(**cfg)
            self.soc.attach(self)

    def forward(self, batch: SyntheticBatch) -> Tuple[Tensor, Tensor]:
        """Neck output ``(B, D, h, w)`` and metric depth ``(B, 1, H, W)``."""
        feats = self.neck(batch.tokens, batch.text)
        size = tuple(batch.gt.shape[-2:])
        depth = affine_inverse_to_depth(batch.rel, self.scale_head(feats, size),
                                        self.shift_head(feats, size))
        return feats, depth


def depth_loss(depth: Tensor, batch: SyntheticBatch) -> Tensor:
    """The paper config's SI-log (ZoeDepth form ``10 sqrt(var(e) + 0.15 mean(e)^2)``)."""
    return silog_loss(depth, batch.gt, batch.valid, lambd=0.85, sqrt=True, scale=10.0)


def ncm_accuracy(feats: Tensor, labels: Tensor, num_labels: int) -> float:
    """Nearest-class-mean accuracy across images: class means of the L2-normalised features of
    the first half of the images classify the pixels of the second half by cosine, and vice
    versa (classes absent from the reference half are not candidates); the pixel-weighted
    mean of both directions."""
    n = feats.shape[0]
    halves = (slice(0, n // 2), slice(n // 2, n))
    correct = total = 0
    for ref, test in (halves, halves[::-1]):
        f = F.normalize(feats[ref].double(), dim=1)
        y = labels[ref]
        onehot = (y[:, None] == torch.arange(num_labels)[None, :, None, None]).double()
        sums = torch.einsum('bdhw,bchw->cd', f, onehot)  # (M, D)
        present = onehot.sum((0, 2, 3)) > 0
        means = F.normalize(sums, dim=1)
        ft = F.normalize(feats[test].double(), dim=1).permute(0, 2, 3, 1)  # (b, h, w, D)
        scores = ft @ means.T  # (b, h, w, M)
        scores[..., ~present] = -float('inf')
        yt = labels[test]
        ok = yt >= 0
        correct += int((scores.argmax(-1) == yt)[ok].sum())
        total += int(ok.sum())
    return correct / max(total, 1)


def separability(feats: Tensor, labels: Tensor, num_labels: int) -> float:
    """``intra - inter`` mean cosine of one image's pixel pairs, averaged over images."""
    intra, inter = class_separability(feats, labels, num_labels)
    return float(intra - inter)


def _labels_at(batch: SyntheticBatch, size: Sequence[int], num_classes: int) -> Tensor:
    cls = depth_classes(batch.gt[:, 0], batch.valid[:, 0], num_classes)
    return reduce_labels(cls, size, num_classes + 1)


@torch.no_grad()
def evaluate(model: MechanismModel, batch: SyntheticBatch, setup: MechanismSetup) -> dict:
    """Separability and NCM of the neck's (and projector's) output, AbsRel of the depth."""
    model.eval()
    labels = setup.num_classes + 1
    feats, depth = model(batch)
    out = dict(neck_sep=separability(feats, batch.labels, labels),
               neck_ncm=ncm_accuracy(feats, batch.labels, labels),
               proj_sep=None, proj_ncm=None)
    if model.soc is not None:
        q = model.soc.projector(feats)
        q_cls = _labels_at(batch, q.shape[-2:], setup.num_classes)
        out.update(proj_sep=separability(q, q_cls, labels), proj_ncm=ncm_accuracy(q, q_cls,
                                                                                  labels))
    out['abs_rel'] = float(((depth - batch.gt).abs() / batch.gt)[batch.valid].mean())
    model.train()
    return out


def run_one(setup: MechanismSetup, soc: Optional[dict], seed: int) -> dict:
    """Train one variant on one seed; the held-out metrics before and after, the diagnostics."""
    data = SyntheticTokens(setup, seed)
    held_out = data.batch(setup.eval_images)
    torch.manual_seed(seed)  # same neck and heads for every variant of a seed
    model = MechanismModel(setup, soc)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=setup.lr)
    start = evaluate(model, held_out, setup)
    cos_pos, cos_neg, soc_terms = [], [], []
    for _ in range(setup.steps):
        batch = data.batch(setup.batch)
        capture = model.soc.capture() if model.soc is not None else contextlib.nullcontext()
        with capture:
            _, depth = model(batch)
        loss = depth_loss(depth, batch)
        if model.soc is not None:
            out = model.soc(model, batch.tokens, None, batch.gt, batch.valid)
            loss = loss + out['loss_soc']
            cos_pos.append(float(out['soc_cos_pos']))
            cos_neg.append(float(out['soc_cos_neg']))
            soc_terms.append(float(out['loss_soc'].detach()))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if model.soc is not None:
            model.soc.momentum_update()
    end = evaluate(model, held_out, setup)
    tail = max(1, setup.steps // 10)

    def last(values):
        return statistics.fmean(values[-tail:]) if values else None

    end.update(cos_pos=last(cos_pos), cos_neg=last(cos_neg), loss_soc=last(soc_terms))
    return dict(seed=seed, start=start, end=end,
                first=dict(cos_pos=cos_pos[0] if cos_pos else None,
                           cos_neg=cos_neg[0] if cos_neg else None,
                           loss_soc=soc_terms[0] if soc_terms else None))


def pool(values: Sequence[Optional[float]]) -> Optional[dict]:
    """Mean, standard deviation (0 for one value), min and max of the non-None values."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return dict(mean=statistics.fmean(vals), std=statistics.stdev(vals) if len(vals) > 1 else 0.0,
                min=min(vals), max=max(vals))


def run_mechanism(variants: Dict[str, Optional[dict]], seeds: Sequence[int],
                  setup: Optional[MechanismSetup] = None) -> dict:
    """Every variant on every seed; per-seed results and the pooled ones.

    Returns:
        dict: ``setup`` (as a dict), ``variants`` (the SOC configs), ``runs``
        (``{variant: [per-seed result]}``), ``pooled`` (``{variant: {metric: {mean, std, min,
        max}}}`` at the end of training), ``start`` (the same before training: every variant
        of a seed starts from the same neck) and ``seconds`` (CPU-process wall time).
    """
    setup = setup or MechanismSetup()
    tic = time.perf_counter()
    runs = {name: [run_one(setup, cfg, seed) for seed in seeds] for name, cfg in variants.items()}
    pooled = {name: {m: pool([r['end'][m] for r in rs]) for m in METRICS}
              for name, rs in runs.items()}
    start = {name: {m: pool([r['start'].get(m) for r in rs]) for m in METRICS}
             for name, rs in runs.items()}
    return dict(setup=asdict(setup), seeds=list(seeds), variants=variants, runs=runs,
                pooled=pooled, start=start, seconds=time.perf_counter() - tic)


def setup_from(overrides: Sequence[str]) -> MechanismSetup:
    """A :class:`MechanismSetup` from ``name=value`` strings (typed by the field); a bad one
    is an :class:`~tr2m.utils.errors.ArgumentError` naming it."""
    kinds = {f.name: f.type for f in fields(MechanismSetup)}
    values = {}
    for item in overrides:
        name, sep, value = item.partition('=')
        if not sep or name not in kinds:
            raise ArgumentError(f'--set {item!r}: expected NAME=VALUE with NAME one of '
                                f'{", ".join(kinds)}')
        kind = int if kinds[name] in (int, 'int') else float
        try:
            values[name] = kind(value)
        except ValueError:
            raise ArgumentError(f'--set {item!r}: {name} takes a {kind.__name__}') from None
    return MechanismSetup(**values)


def variants_from(names: Sequence[str], extra: Sequence[str] = ()) -> Dict[str, Optional[dict]]:
    """The SOC configs to run: named presets of :data:`VARIANTS` and ``NAME=JSON`` additions
    (``'mine={"projector": null, "negative_reduction": "mean", "temperature": 0.5}'``;
    ``NAME=null`` is a run without SOC). Bad input is an ``ArgumentError`` naming it."""
    out: Dict[str, Optional[dict]] = {}
    for name in names:
        if name not in VARIANTS:
            raise ArgumentError(f'--variants: unknown variant {name!r}; known: '
                                f'{", ".join(VARIANTS)} (or add one with --variant NAME=JSON)')
        out[name] = VARIANTS[name]
    for item in extra:
        name, sep, text = item.partition('=')
        try:
            cfg = json.loads(text) if sep else None
        except json.JSONDecodeError as err:
            raise ArgumentError(f'--variant {item!r}: not JSON ({err.msg})') from None
        if not sep or not name or not (cfg is None or isinstance(cfg, dict)):
            raise ArgumentError(f'--variant {item!r}: expected NAME=JSON, the JSON an object '
                                'of ScaleOrientedContrast arguments or null')
        out[name] = cfg
    if not out:
        raise ArgumentError('no variant to run (--variants and --variant are both empty)')
    return out


def _cell(stat: Optional[dict], digits: int = 3) -> str:
    if stat is None:
        return '-'
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def format_table(result: dict) -> str:
    """The Markdown table: variants x {projector, neck} x {separability, NCM}, then the
    cosine diagnostics and AbsRel (mean ± std over seeds)."""
    lines = ['| variant | projector separability | projector NCM | neck separability | '
             'neck NCM | `soc_cos_pos` / `soc_cos_neg` | AbsRel |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for name, p in result['pooled'].items():
        cos = '-' if p['cos_pos'] is None else \
            f"{p['cos_pos']['mean']:.2f} / {p['cos_neg']['mean']:.2f}"
        lines.append(f"| {name} | {_cell(p['proj_sep'])} | {_cell(p['proj_ncm'], 2)} | "
                     f"{_cell(p['neck_sep'])} | {_cell(p['neck_ncm'], 2)} | {cos} | "
                     f"{_cell(p['abs_rel'])} |")
    first = next(iter(result['start'].values()))
    lines.append(f"| (start, every variant) | | | {_cell(first['neck_sep'])} | "
                 f"{_cell(first['neck_ncm'], 2)} | | {_cell(first['abs_rel'])} |")
    return '\n'.join(lines)


def per_seed_neck(result: dict) -> str:
    """One line per variant: the neck separability of each seed."""
    return '\n'.join(f"{name}: " + ' / '.join(f"{r['end']['neck_sep']:.3f}" for r in rs)
                     for name, rs in result['runs'].items())


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2)


__all__ = ['MechanismSetup', 'SyntheticTokens', 'MechanismModel', 'VARIANTS',
           'DEFAULT_VARIANTS', 'METRICS', 'run_one', 'run_mechanism', 'ncm_accuracy',
           'separability', 'pool', 'format_table', 'per_seed_neck', 'setup_from', 'variants_from',
           'to_json']
