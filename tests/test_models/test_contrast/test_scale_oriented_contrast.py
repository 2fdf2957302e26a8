"""``ScaleOrientedContrast``: the SOC component against the functional loss and naive
references (label order, class ranges, keys, queue, momentum branch, DDP equivalence)."""
import os
import tempfile

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.structures import PixelData
from torch import nn

from tr2m.models.contrast import ScaleOrientedContrast
from tr2m.models.depthers import TR2M
from tr2m.models.depthers.base import BaseDepther
from tr2m.models.losses import (
    class_separability,
    depth_classes,
    downsample_depth,
    reduce_labels,
    soc_loss,
)
from tr2m.structures import DepthDataSample

TINY = dict(
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
    image_encoder=dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None),
    text_encoder=dict(type='CLIPTextEncoder', arch='tiny', pretrained=None),
    neck=dict(type='CrossModalAttentionNeck', num_heads=2),
    scale_head=dict(type='RescaleHead', channels=8),
    shift_head=dict(type='RescaleHead', channels=8),
    loss_pseudo=None, loss_smooth=None)
PROJ = dict(type='SOCProjector', hidden_channels=8, out_channels=8)


def build(seed=0, **soc):
    torch.manual_seed(seed)
    return TR2M(**TINY, soc=dict(type='ScaleOrientedContrast', projector=PROJ, **soc))


def batch(n=4, size=(56, 70), seed=0, datasets=None, sample_idx=None):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.rand(n, 3, *size, generator=gen)
    samples = []
    for i in range(n):
        meta = dict(img_path=f'img{i}.png', dataset_name=(datasets or ['toy'] * n)[i])
        if sample_idx is not None:
            meta['sample_idx'] = sample_idx[i]
        s = DepthDataSample(metainfo=meta)
        ramp = torch.linspace(1 + i, 6 + 3 * i, size[0])[:, None].expand(*size)
        depth = ramp * (1 + 0.3 * torch.rand(size, generator=gen))
        valid = torch.rand(size, generator=gen) > 0.2
        s.gt_depth = PixelData(data=torch.where(valid, depth, 0.0)[None])
        s.gt_valid = PixelData(data=valid[None])
        s.caption = ['a kitchen', 'a street', 'a colon', 'a hall'][i % 4]
        samples.append(s)
    return inputs, samples


def captured_qk(model, inputs, samples):
    """Query and key projections of the step (what the component contrasts)."""
    with model.soc.capture():
        model.loss(inputs, samples)
    feats = model.soc._captured['output']
    with torch.no_grad():
        k = model.soc.momentum_projector(model.soc._key_features(model, inputs, samples))
    return model.soc.projector(feats), k


def test_reduce_labels_hand_case():
    labels = torch.tensor([[[0, 0, 1, 2],
                            [0, 1, 2, 2],
                            [-1, -1, 3, 1],
                            [-1, -1, 1, 3]]])
    # cells: top-left {0,0,0,1} -> 0; top-right {1,2,2,2} -> 2; bottom-left all invalid -> -1;
    # bottom-right {3,1,1,3} -> a tie, the smaller label (farther class) wins -> 1
    assert reduce_labels(labels, (2, 2), 4).tolist() == [[[0, 2], [-1, 1]]]
    assert reduce_labels(labels, (2, 2), 4, 'nearest').tolist() == [[[0, 1], [-1, 3]]]
    # non-dividing sizes: rows 0-1 -> cell 0, row 2 -> cell 1 (floor(y * 2 / 3))
    three = torch.tensor([[[5, 5], [4, 5], [4, 4]]])
    assert reduce_labels(three, (2, 1), 6).tolist() == [[[5], [4]]]
    with pytest.raises(ValueError, match='mode'):
        reduce_labels(labels, (2, 2), 4, 'mean')


def test_depth_classes_with_shared_range():
    depth = torch.tensor([[[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0]]])
    valid = torch.ones_like(depth, dtype=torch.bool)
    own = depth_classes(depth, valid, num_classes=4)
    assert own.tolist() == [[[4, 2, 0]], [[4, 2, 0]]]  # per image: both span 0..C
    shared = depth_classes(depth, valid, 4, torch.tensor([1.0, 1.0]), torch.tensor([6.0, 6.0]))
    # round((6 - d) / 5 * 4): 1 -> 4, 2 -> 3.2 -> 3, 3 -> 2.4 -> 2, 4 -> 1.6 -> 2, 6 -> 0
    assert shared.tolist() == [[[4, 3, 2]], [[3, 2, 0]]]


def test_component_equals_functional_loss_in_the_earlier_order():
    """reduce_then_classify + per-image range + batch neighbour = the pre-component code."""
    model = build(label_order='reduce_then_classify')
    model.train()
    inputs, samples = batch()
    losses = model(inputs, samples, mode='loss')
    q, k = captured_qk(model, inputs, samples)
    gt, valid = model.stack_gt(inputs, samples)
    small, small_valid = downsample_depth(gt, valid, tuple(q.shape[-2:]))
    cls = depth_classes(small, small_valid, 20)[:, 0]
    keys = torch.stack([k, k.roll(1, 0)], 1)
    ref = soc_loss(q, keys, cls, torch.stack([cls, cls.roll(1, 0)], 1), num_classes=20)
    torch.testing.assert_close(losses['loss_soc'], 0.1 * ref)


def _naive_targets(q, k, gt, valid, mode, num_classes=20):
    """Per query image b: keys = [own, neighbour b-1]; labels eq. 7 at full resolution with the
    range of ``mode`` then the per-cell mode; returns soc_loss of explicit key sets."""
    size = tuple(q.shape[-2:])
    depth, mask = gt[:, 0], valid[:, 0]
    n = depth.shape[0]
    lo = torch.stack([depth[i][mask[i]].min() for i in range(n)])
    hi = torch.stack([depth[i][mask[i]].max() for i in range(n)])
    q_cls, k_cls = [], []
    for b in range(n):
        p = (b - 1) % n
        if mode == 'image':
            rq, rp = (lo[b], hi[b]), (lo[p], hi[p])
        elif mode == 'pair':
            rq = rp = (torch.minimum(lo[b], lo[p]), torch.maximum(hi[b], hi[p]))
        else:
            rq = rp = (lo.min(), hi.max())
        lab = lambda i, r: reduce_labels(depth_classes(  # noqa: E731
            depth[i:i + 1], mask[i:i + 1], num_classes, r[0][None], r[1][None]), size,
            num_classes + 1)[0]
        qb = lab(b, rq)
        q_cls.append(qb)
        k_cls.append(torch.stack([qb, lab(p, rp)]))
    keys = torch.stack([k, k.roll(1, 0)], 1)
    return soc_loss(q, keys, torch.stack(q_cls), torch.stack(k_cls), num_classes=num_classes)


@pytest.mark.parametrize('class_range', ['image', 'pair', 'batch'])
def test_class_ranges_match_naive_reference(class_range):
    model = build(class_range=class_range)
    model.train()
    inputs, samples = batch()
    losses = model(inputs, samples, mode='loss')
    q, k = captured_qk(model, inputs, samples)
    gt, valid = model.stack_gt(inputs, samples)
    ref = _naive_targets(q, k, gt, valid, class_range)
    torch.testing.assert_close(losses['loss_soc'], 0.1 * ref)


def test_ranges_change_the_labels():
    """Depth ranges differ between the images, so a shared range changes the targets."""
    values = {}
    for class_range in ('image', 'pair', 'batch'):
        model = build(class_range=class_range)
        model.train()
        inputs, samples = batch()
        values[class_range] = float(model(inputs, samples, mode='loss')['loss_soc'])
    assert len({round(v, 6) for v in values.values()}) == 3


def test_global_order_uses_dataset_and_sample_index():
    """The neighbour key is the previous image by (dataset, sample index), not by position."""
    model = build()
    model.train()
    inputs, samples = batch(sample_idx=[3, 0, 2, 1])
    out = model(inputs, samples, mode='loss')
    perm = [1, 3, 2, 0]  # positions sorted by sample index
    inputs_sorted = inputs[perm]
    samples_sorted = [samples[i] for i in perm]
    ref = build()
    ref.train()
    out_sorted = ref(inputs_sorted, samples_sorted, mode='loss')
    torch.testing.assert_close(out['loss_soc'], out_sorted['loss_soc'])


def test_queue_takes_keys_from_another_dataset():
    model = build(queue_size=8)
    model.train()
    a = batch(datasets=['nyu'] * 4, sample_idx=[0, 1, 2, 3], seed=0)
    b = batch(datasets=['kitti'] * 4, sample_idx=[0, 1, 2, 3], seed=1)
    first = model(*a, mode='loss')
    assert first['soc_other_dataset_frac'] == 0  # empty queue: the batch neighbour
    assert int(model.soc.queue_filled.sum()) == 0  # queued only once the step is applied
    model.soc.momentum_update()  # what SOCMomentumHook does after the optimizer step
    assert int(model.soc.queue_filled.sum()) == 4
    second = model(*b, mode='loss')
    assert second['soc_other_dataset_frac'] == 1  # every kitti query got a queued nyu key
    assert (model.soc.queue_dataset[:4] != model.soc.queue_dataset[4:]).all()
    # the queued statistics are exactly those of the nyu images (own range, momentum keys)
    q, k = captured_qk(model, *a)
    gt, valid = model.stack_gt(a[0], a[1])
    cls = reduce_labels(depth_classes(gt[:, 0], valid[:, 0], 20), tuple(q.shape[-2:]), 21)
    from tr2m.models.losses import soc_class_stats

    sums, counts = soc_class_stats(k, cls, 21)
    torch.testing.assert_close(model.soc.queue_sums[:4], sums)
    torch.testing.assert_close(model.soc.queue_counts[:4], counts)
    # a step that is not applied (skipped by the NaN guard) never reaches the queue
    ptr = int(model.soc.queue_ptr)
    model(*a, mode='loss')
    model(*b, mode='loss')  # the next forward replaces the pending statistics
    model.soc.momentum_update()
    assert int(model.soc.queue_ptr) == (ptr + 4) % 8
    with pytest.raises(ValueError, match='queue'):
        ScaleOrientedContrast(queue_size=4, class_range='pair')


def test_queue_pick_order():
    """Query image i takes the i-th newest eligible entry (another dataset)."""
    soc = ScaleOrientedContrast(queue_size=4)
    soc.projector = nn.Identity()
    soc.register_buffer('queue_sums', torch.arange(4.0).view(4, 1, 1).expand(4, 2, 3).clone())
    soc.register_buffer('queue_counts', torch.ones(4, 3))
    soc.register_buffer('queue_dataset', torch.tensor([7, 9, 7, 9]))
    soc.register_buffer('queue_filled', torch.tensor([True, True, True, False]))
    soc.register_buffer('queue_ptr', torch.tensor(3))  # newest entry is 2, then 1, then 0
    sums, counts, used = soc._from_queue(torch.tensor([9, 9, 9, 7]), torch.arange(4),
                                         torch.zeros(4, 2, 3), torch.zeros(4, 3))
    # dataset 9 queries: eligible (dataset 7, filled) entries by age: 2, 0 -> picks 2, 0, 2
    # dataset 7 query (4th image): eligible entries: 1 -> 1
    assert sums[:, 0, 0].tolist() == [2.0, 0.0, 2.0, 1.0]
    assert used.all()


def _paper_model(neck=None):
    """configs/tr2m_da_s.py's neck and SOC settings with tiny encoders and narrow heads."""
    from mmengine.config import Config

    from tr2m.registry import MODELS

    cfg = Config.fromfile('configs/tr2m_da_s.py').model.to_dict()
    cfg.update(relative_depth=TINY['relative_depth'], image_encoder=TINY['image_encoder'],
               text_encoder=TINY['text_encoder'], scale_head=TINY['scale_head'],
               shift_head=TINY['shift_head'])
    if neck is not None:
        cfg['neck'] = neck
    cfg['soc']['projector'] = PROJ
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.mark.parametrize('form', ['paper', 'param_free'])
def test_soc_gradient_reaches_the_neck_pixel_by_pixel(form):
    """Done-when of issue 8: with the paper config's neck, ``loss_soc`` alone has a gradient on
    neck parameters other than a text linear, and moving them changes ``F_out`` differently
    at different pixels. The parameter-free ablation shows what it fixes."""
    neck = None if form == 'paper' else dict(type='CrossModalAttentionNeck', num_heads=1,
                                             qkv_proj=False)
    model = _paper_model(neck)
    model.train()
    inputs, samples = batch()
    loss_soc = model(inputs, samples, mode='loss')['loss_soc']
    named = dict(model.neck.named_parameters())
    grads = dict(zip(named, torch.autograd.grad(loss_soc, list(named.values()),
                                                allow_unused=True)))
    reached = {n for n, g in grads.items() if g is not None and g.abs().sum() > 0}
    feats = model.frozen_features(inputs, samples)
    before = model.neck(feats.img_feats, feats.text)
    with torch.no_grad():
        for name in reached:
            named[name].add_(0.05 * grads[name] / grads[name].norm())
    change = model.neck(feats.img_feats, feats.text) - before  # (B, D, h, w)
    spatial_std = change.flatten(2).std(-1).mean()
    if form == 'paper':
        assert {'q.weight', 'k_img.weight', 'v_img.weight', 'out_img.weight'} <= reached
        assert spatial_std > 1e-3 * change.abs().mean()
        assert spatial_std > 1e-4
    else:
        assert reached == {'text_proj.weight', 'text_proj.bias'}  # one vector per image
        assert spatial_std < 1e-5


def test_momentum_modules_rerun_equals_cheap_path():
    """An EMA copy of [neck, shift_head] (the head does not change the neck's output) run
    through a second forward gives the same keys as the EMA neck on the captured inputs."""
    cheap = build()
    rerun = build(momentum_modules=['neck', 'shift_head'])
    for m in (cheap, rerun):
        m.train()
    inputs, samples = batch()
    a = cheap(inputs, samples, mode='loss')
    b = rerun(inputs, samples, mode='loss')
    torch.testing.assert_close(a['loss_soc'], b['loss_soc'])
    assert len(rerun.soc.momentum_branch) == 2


def test_momentum_hook_updates_every_component():
    from tr2m.engine.hooks import SOCMomentumHook

    model = build(momentum=0.5)
    with torch.no_grad():
        for p in model.neck.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.soc.momentum_branch[0].parameters()]

    class Runner:
        optim_wrapper = type('W', (), {'should_update': lambda self: True})()

    runner = Runner()
    runner.model = model
    SOCMomentumHook().after_train_iter(runner, 0)
    for b, q, k in zip(before, model.neck.parameters(), model.soc.momentum_branch[0].parameters()):
        torch.testing.assert_close(k, 0.5 * b + 0.5 * q)


def test_class_separability_matches_pairwise_loop():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 5, 3, 4, generator=gen)
    cls = torch.randint(-1, 3, (2, 3, 4), generator=gen)
    intra, inter = class_separability(feats, cls, 3)
    same, cross = [], []
    for b in range(2):
        f = nn.functional.normalize(feats[b].reshape(5, -1).T.double(), dim=1)
        y = cls[b].reshape(-1)
        s_b, c_b = [], []
        for i in range(f.shape[0]):
            for j in range(f.shape[0]):
                if i == j or y[i] < 0 or y[j] < 0:
                    continue
                (s_b if y[i] == y[j] else c_b).append(float(f[i] @ f[j]))
        same.append(sum(s_b) / len(s_b))
        cross.append(sum(c_b) / len(c_b))
    assert float(intra) == pytest.approx(sum(same) / 2)
    assert float(inter) == pytest.approx(sum(cross) / 2)


def test_loss_balance_diagnostics_are_gradient_norms():
    model = build()
    model.train()
    inputs, samples = batch()
    with torch.no_grad():  # non-zero last convs so the depth loss reaches the neck
        for head in (model.scale_head, model.shift_head):
            head.out[-1].weight.normal_(0, 0.1)
    model.loss_balance_due = True
    out = model(inputs, samples, mode='loss')
    assert not model.loss_balance_due  # one-shot
    neck = list(model.neck.parameters())
    g_soc = torch.autograd.grad(out['loss_soc'], neck, retain_graph=True)
    g_si = torch.autograd.grad(out['loss_silog'], neck, retain_graph=True)
    norm = lambda gs: torch.sqrt(sum((g ** 2).sum() for g in gs))  # noqa: E731
    # SOC shares exactly the neck with the depth loss (the projector is its own)
    torch.testing.assert_close(out['gnorm_soc'], norm(g_soc))
    torch.testing.assert_close(out['gratio_soc'], norm(g_soc) / norm(g_si))
    assert not any('loss' in k for k in out if k.startswith(('gnorm', 'gratio')))


# ---- DDP: 2 ranks x 2 images == 1 process x 4 images -------------------------------------
QUEUES = (0, 4)  # without and with the cross-dataset key queue


def _step(model, inputs, samples):
    out = model(inputs, samples, mode='loss')
    out['loss_soc'].backward()
    model.soc.momentum_update()  # enqueues the step's keys (no optimizer step: EMA unchanged)
    return out['loss_soc'].detach(), [p.grad.clone() for p in model.soc.projector.parameters()]


def _rank(rank, world, init_file, result_file):
    import torch.distributed as dist

    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    results = {}
    for queue in QUEUES:
        model = build(queue_size=queue)
        model.train()
        inputs, samples = batch(sample_idx=[0, 1, 2, 3], datasets=['a', 'b', 'a', 'b'])
        mine = [rank, rank + 2]  # DistributedSampler deals indices r, r + world, ...
        steps = []
        for _ in range(2):  # the second step reads the queue the first one filled
            loss, grads = _step(model, inputs[mine], [samples[i] for i in mine])
            for t in [loss, *grads]:  # what DDP does: average over ranks
                dist.all_reduce(t)
                t /= world
            steps.append((loss, grads))
            model.zero_grad()
        results[queue] = steps
    if rank == 0:
        torch.save(results, result_file)
    dist.destroy_process_group()


def test_two_ranks_optimise_the_one_process_objective(tmp_path):
    init_file = tempfile.mktemp(dir=tmp_path)
    result = tmp_path / 'rank0.pt'
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    mp.start_processes(_rank, args=(2, init_file, str(result)), nprocs=2, start_method='spawn')
    got = torch.load(result, weights_only=True)
    for queue in QUEUES:
        single = build(queue_size=queue)
        single.train()
        inputs, samples = batch(sample_idx=[0, 1, 2, 3], datasets=['a', 'b', 'a', 'b'])
        for loss_g, grads_g in got[queue]:
            loss, grads = _step(single, inputs, samples)
            single.zero_grad()
            torch.testing.assert_close(loss_g, loss, rtol=1e-5, atol=1e-6)
            for g, r in zip(grads_g, grads):
                torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-7)


# ---- feature grids of padded inputs (feature_stride) ---------------------------------------
class _PaddingDepther(BaseDepther):
    """Pads its input with zeros at the bottom/right to a multiple of 8 (as NeWCRFs pads to 32)
    and returns its feature on the padded grid (stride 2)."""

    def __init__(self, soc=None):
        super().__init__()
        self.feat = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.head = nn.Conv2d(8, 1, 1)
        self.attach_soc(soc)

    def _forward(self, inputs, data_samples=None):
        h, w = inputs.shape[-2:]
        x = nn.functional.pad(inputs, (0, -w % 8, 0, -h % 8))
        depth = nn.functional.interpolate(self.head(self.feat(x)).exp(), scale_factor=2)
        return depth[..., :h, :w]

    def loss(self, inputs, data_samples, gt=None):
        gt, valid = gt if gt is not None else self.stack_gt(inputs, data_samples)
        return dict(loss_l1=(self._forward(inputs) - gt).abs()[valid].mean())

    def predict(self, inputs, data_samples=None):
        return self.add_pred(data_samples, inputs.shape[0], pred_depth=self._forward(inputs))


def _padding_model(**soc):
    torch.manual_seed(0)
    return _PaddingDepther(soc=dict(type='ScaleOrientedContrast', feature='feat', projector=PROJ,
                                    **soc)).train()


def test_feature_stride_labels_the_cells_of_a_padded_grid():
    """An 18 x 21 input is padded to 24 x 24 (feature 12 x 12): with feature_stride=2 the loss
    equals that of the same image padded by hand with invalid GT, where the grid spans the
    input; without it the labels are stretched over the unpadded image and the loss differs."""
    from tr2m.models.contrast.scale_oriented_contrast import cover_grid

    inputs, samples = batch(size=(18, 21))
    padded_inputs = nn.functional.pad(inputs, (0, 3, 0, 6))
    padded = []
    for s in samples:
        p = s.clone()
        p.gt_depth = PixelData(data=nn.functional.pad(s.gt_depth.data, (0, 3, 0, 6)))
        p.gt_valid = PixelData(data=nn.functional.pad(s.gt_valid.data, (0, 3, 0, 6)))
        padded.append(p)
    strided = _padding_model(feature_stride=2)(inputs, samples, mode='loss')['loss_soc']
    by_hand = _padding_model()(padded_inputs, padded, mode='loss')['loss_soc']
    stretched = _padding_model()(inputs, samples, mode='loss')['loss_soc']
    torch.testing.assert_close(strided, by_hand)
    assert abs(float((stretched - by_hand).detach())) > 1e-3
    # a grid that spans its input exactly is left as it is; a smaller one crops
    gt, valid = torch.rand(1, 1, 4, 6), torch.ones(1, 1, 4, 6, dtype=torch.bool)
    same = cover_grid(gt, valid, (2, 3), 2)
    assert torch.equal(same[0], gt) and torch.equal(same[1], valid)
    big, big_valid = cover_grid(gt, valid, (3, 2), 2)  # 6 x 4: two invalid rows, cols cropped
    assert torch.equal(big[..., :4, :], gt[..., :4]) and not big_valid[..., 4:, :].any()
    assert big.shape == (1, 1, 6, 4) and big_valid[..., :4, :].all()
    with pytest.raises(ValueError, match='feature_stride'):
        ScaleOrientedContrast(feature_stride=0)


def test_feature_stride_is_a_no_op_when_the_grid_spans_the_input():
    """TR2M's neck: 56 x 70 input, 14-pixel patches, a 4 x 5 grid."""
    inputs, samples = batch()
    plain = build()(inputs, samples, mode='loss')['loss_soc']
    strided = build(feature_stride=14)(inputs, samples, mode='loss')['loss_soc']
    torch.testing.assert_close(plain, strided)


def test_similarity_stats_match_a_naive_loop():
    from tr2m.models.losses import soc_class_stats, soc_similarity_stats

    gen = torch.Generator().manual_seed(3)
    q = torch.randn(2, 6, 3, 3, generator=gen)
    k = torch.randn(2, 6, 4, 3, generator=gen)
    q_cls = torch.randint(-1, 4, (2, 3, 3), generator=gen)
    k_cls = torch.randint(-1, 3, (2, 4, 3), generator=gen)  # class 3: no key, no positive
    sums, counts = soc_class_stats(k, k_cls, 4)
    cos_pos, cos_neg = soc_similarity_stats(q, q_cls, sums, counts)
    pos, neg = [], []
    for b in range(2):
        qn = nn.functional.normalize(q[b].reshape(6, -1).T, dim=1)
        kn = nn.functional.normalize(k[b].reshape(6, -1).T, dim=1)
        yk = k_cls[b].reshape(-1)
        means = {c: kn[yk == c].mean(0) for c in range(4) if (yk == c).any()}
        for i, y in enumerate(q_cls[b].reshape(-1).tolist()):
            if y < 0 or y not in means:
                continue
            pos.append(float(qn[i] @ means[y]))
            neg += [float(qn[i] @ m) for c, m in means.items() if c != y]
    assert cos_pos.item() == pytest.approx(sum(pos) / len(pos), abs=1e-6)
    assert cos_neg.item() == pytest.approx(sum(neg) / len(neg), abs=1e-6)
    # a constant feature: every cosine is 1
    ones = soc_similarity_stats(torch.ones(1, 6, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long),
                                *soc_class_stats(torch.ones(1, 6, 2, 2),
                                                 torch.tensor([[[0, 1], [1, 0]]]), 2))
    assert [round(v.item(), 6) for v in ones] == [1.0, 1.0]
