"""Real NYUv2 / KITTI frames and a plain numpy reference of the depth metrics (shared by the
functional, evaluation and visualization tests)."""
import numpy as np
import pytest

from tr2m.datasets.depth_io import read_depth


def _frames(rgbd_real, manifest, dataset):
    frames = []
    for frame in manifest:
        if frame['dataset'] == dataset:
            depth, valid = read_depth(str(rgbd_real / frame['depth']), frame['depth_format'],
                                      frame['depth_scale'])
            frames.append(dict(depth=depth, valid=valid, path=frame['depth']))
    assert frames, f'no {dataset} frame in the manifest'
    return frames


@pytest.fixture(scope='session')
def nyu_frames(rgbd_real, rgbd_manifest):
    """The 3 real NYUv2 frames (480 x 640, metres): dicts of depth, valid, path."""
    frames = _frames(rgbd_real, rgbd_manifest, 'nyu_v2')
    assert all(f['depth'].shape == (480, 640) for f in frames)
    return frames


@pytest.fixture(scope='session')
def kitti_frames(rgbd_real, rgbd_manifest):
    """The 3 real KITTI frames (375 x 1242, sparse LiDAR GT, metres)."""
    frames = _frames(rgbd_real, rgbd_manifest, 'kitti')
    assert all(f['depth'].shape == (375, 1242) for f in frames)
    return frames


def numpy_metrics(pred, gt):
    """BTS / AdaBins metrics on 1-D arrays of valid pixels, written independently in numpy."""
    pred = pred.astype(np.float64)
    gt = gt.astype(np.float64)
    thresh = np.maximum(gt / pred, pred / gt)
    err = np.log(pred) - np.log(gt)
    return dict(
        abs_rel=np.mean(np.abs(gt - pred) / gt),
        sq_rel=np.mean((gt - pred) ** 2 / gt),
        rmse=np.sqrt(np.mean((gt - pred) ** 2)),
        rmse_log=np.sqrt(np.mean((np.log(gt) - np.log(pred)) ** 2)),
        log10=np.mean(np.abs(np.log10(gt) - np.log10(pred))),
        silog=np.sqrt(np.mean(err ** 2) - np.mean(err) ** 2) * 100,
        d1=np.mean(thresh < 1.25),
        d2=np.mean(thresh < 1.25 ** 2),
        d3=np.mean(thresh < 1.25 ** 3),
    )


@pytest.fixture(scope='session')
def np_metrics():
    """:func:`numpy_metrics` as a fixture."""
    return numpy_metrics


def numpy_eval_mask(gt, min_depth, max_depth, crop):
    """Literal-index evaluation mask of BTS for NYUv2 (eigen) / KITTI (garg)."""
    mask = (gt > min_depth) & np.isfinite(gt)
    if max_depth is not None:
        mask &= gt < max_depth
    region = np.zeros_like(mask)
    h, w = gt.shape
    if crop == 'eigen':
        assert (h, w) == (480, 640)
        region[45:471, 41:601] = True
    elif crop == 'garg':
        region[int(0.40810811 * h):int(0.99189189 * h),
               int(0.03594771 * w):int(0.96405229 * w)] = True
    else:
        region[:] = True
    return mask & region


@pytest.fixture(scope='session')
def np_eval_mask():
    """:func:`numpy_eval_mask` as a fixture."""
    return numpy_eval_mask


def perturbed(gt, seed):
    """A prediction: GT times log-normal noise, random positive depths where GT is missing."""
    rng = np.random.default_rng(seed)
    pred = gt * np.exp(0.15 * rng.standard_normal(gt.shape)) + 0.05 * rng.standard_normal(gt.shape)
    fill = rng.uniform(0.5, 20.0, gt.shape)
    pred = np.where(gt > 0, pred, fill)
    return np.abs(pred).astype(np.float32) + 1e-3


@pytest.fixture(scope='session')
def perturb():
    """:func:`perturbed` as a fixture."""
    return perturbed
