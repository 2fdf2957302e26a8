"""A small, deterministic, procedurally generated multi-domain RGB-D set for the offline demo.

Three domains, each at its own metric scale, rendered by ray casting simple geometry:

- ``synthetic_indoor``: a box-shaped room (2.5-9 m deep) with a piece of furniture;
- ``synthetic_outdoor``: a street canyon (facades, ground, parked cars; up to 80 m; the sky has
  no depth, like LiDAR GT);
- ``synthetic_endoscopic``: a tube of 8-25 mm radius seen from inside, 0.1 m long (all in metres).

Each frame gets an RGB PNG, a uint16 depth PNG (``png_uint16``; scale 1000 indoor/outdoor,
100000 endoscopic so millimetre detail survives), pinhole intrinsics and several captions
derived from the scene parameters, written as a manifest that :class:`DepthManifestDataset`
reads. ``python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic`` writes it.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from tr2m.structures import DepthProtocol

DOMAINS = ('indoor', 'outdoor', 'endoscopic')
#: Depth PNG scale per domain (stored integer / scale = metres).
DEPTH_SCALE = {'indoor': 1000.0, 'outdoor': 256.0, 'endoscopic': 100000.0}
#: Evaluation protocol per domain (metres), as ``configs/_base_/datasets/synthetic_rgbd.py``
#: gives them to ``DepthManifestDataset(protocols=...)``.
PROTOCOLS = {
    'synthetic_indoor': DepthProtocol(min_depth=1e-3, max_depth=10.0),
    'synthetic_outdoor': DepthProtocol(min_depth=1e-3, max_depth=80.0),
    'synthetic_endoscopic': DepthProtocol(min_depth=1e-3, max_depth=0.2),
}


def _rays(h: int, w: int, fx: float, fy: float) -> Tuple[np.ndarray, np.ndarray]:
    """Ray directions with unit z (so the ray parameter t is the depth). y points down."""
    xs = (np.arange(w) + 0.5 - w / 2) / fx
    ys = (np.arange(h) + 0.5 - h / 2) / fy
    return np.meshgrid(xs, ys)


def _box_hit(dx, dy, origin, lo, hi) -> np.ndarray:
    """Depth of the first hit of rays ``origin + t (dx, dy, 1)`` with an axis-aligned box."""
    d = np.stack([dx, dy, np.ones_like(dx)], -1)
    with np.errstate(divide='ignore', invalid='ignore'):
        t1 = (np.asarray(lo) - origin) / d
        t2 = (np.asarray(hi) - origin) / d
    tmin = np.nanmax(np.minimum(t1, t2), -1)
    tmax = np.nanmin(np.maximum(t1, t2), -1)
    return np.where((tmax >= tmin) & (tmin > 0), tmin, np.inf)


def _shade(base: np.ndarray, depth: np.ndarray, falloff: float, rng) -> np.ndarray:
    light = 1.0 / (1.0 + (depth / falloff) ** 2)
    img = base * (0.35 + 0.65 * light[..., None])
    img += rng.normal(0, 0.01, img.shape)
    return np.clip(img, 0, 1)


def _indoor(rng, h, w, fx, fy):
    width, height, length = rng.uniform(3, 7), rng.uniform(2.4, 3.2), rng.uniform(2.5, 9)
    cam_y = rng.uniform(1.2, 1.6)  # camera height above the floor
    dx, dy = _rays(h, w, fx, fy)
    with np.errstate(divide='ignore'):
        planes = {
            'floor': np.where(dy > 0, cam_y / dy, np.inf),
            'ceiling': np.where(dy < 0, (cam_y - height) / dy, np.inf),
            'left': np.where(dx < 0, (-width / 2) / dx, np.inf),
            'right': np.where(dx > 0, (width / 2) / dx, np.inf),
            'back': np.full_like(dx, length),
        }
    kinds = ['bed', 'table', 'sofa', 'shelf']
    kind = kinds[rng.integers(len(kinds))]
    bw, bh, bd = rng.uniform(0.8, 2.0), rng.uniform(0.4, 1.8), rng.uniform(0.5, 1.5)
    bx = rng.uniform(-width / 2 + bw / 2, width / 2 - bw / 2)
    bz = rng.uniform(1.0, max(1.1, length - bd))
    origin = np.zeros(3)
    planes['object'] = _box_hit(dx, dy, origin, (bx - bw / 2, cam_y - bh, bz),
                                (bx + bw / 2, cam_y, bz + bd))
    names = list(planes)
    stack = np.stack([planes[n] for n in names])
    idx, depth = stack.argmin(0), stack.min(0)
    palette = rng.uniform(0.2, 0.9, (len(names), 3))
    base = palette[idx]
    floor = idx == names.index('floor')
    px, pz = dx * depth, depth
    checker = ((np.floor(px * 2) + np.floor(pz * 2)) % 2)[..., None]
    base = np.where(floor[..., None], base * (0.75 + 0.25 * checker), base)
    img = _shade(base, depth, 6.0, rng)
    size = 'small' if length * width < 20 else ('spacious' if length * width > 35 else 'medium')
    room = ['bedroom', 'living room', 'office', 'kitchen'][rng.integers(4)]
    caps = [f'A {size} {room} with a {kind} against the wall.',
            f'An indoor scene: a {size} {room} seen from the doorway, with a {kind}.',
            f'A photo of a {room} with plain walls and a {kind}.']
    return depth, np.isfinite(depth), img, caps


def _outdoor(rng, h, w, fx, fy):
    street = rng.uniform(8, 22)
    cam_y, cam_x = rng.uniform(1.5, 1.8), rng.uniform(-street / 5, street / 5)
    bld_h = rng.uniform(6, 30)
    far = 80.0
    dx, dy = _rays(h, w, fx, fy)
    with np.errstate(divide='ignore', invalid='ignore'):
        ground = np.where(dy > 0, cam_y / dy, np.inf)
        left = np.where(dx < 0, (-street / 2 - cam_x) / dx, np.inf)
        right = np.where(dx > 0, (street / 2 - cam_x) / dx, np.inf)
        for wall in (left, right):  # facades end at the roof line
            top = cam_y - bld_h
            wall[(dy * wall) < top] = np.inf
    surfaces = [ground, left, right]
    n_cars = int(rng.integers(1, 4))
    origin = np.array([cam_x, 0.0, 0.0])
    for _ in range(n_cars):
        side = rng.choice([-1, 1])
        cx, cz = side * (street / 2 - 1.5), rng.uniform(6, 40)
        surfaces.append(_box_hit(dx, dy, origin, (cx - 0.9, cam_y - 1.5, cz),
                                 (cx + 0.9, cam_y, cz + 4.2)))
    stack = np.stack(surfaces)
    idx, depth = stack.argmin(0), stack.min(0)
    valid = np.isfinite(depth) & (depth <= far)
    palette = np.concatenate([[[0.35, 0.35, 0.38]], rng.uniform(0.4, 0.8, (2, 3)),
                              rng.uniform(0.1, 0.9, (n_cars, 3))])
    base = palette[idx]
    dfin = np.where(valid, depth, 0.0)
    windows = ((np.floor(dy * dfin * 1.5) + np.floor(dfin)) % 2)[..., None]
    base = np.where(((idx == 1) | (idx == 2))[..., None], base * (0.7 + 0.3 * windows), base)
    sky = np.array([0.55, 0.7, 0.95])
    img = np.where(valid[..., None], _shade(base, np.where(valid, depth, far), 60.0, rng), sky)
    depth = np.where(valid, depth, 0.0)
    width = 'narrow' if street < 12 else 'wide'
    height = 'low' if bld_h < 12 else 'tall'
    cars = f'{n_cars} parked car' + ('s' if n_cars > 1 else '')
    caps = [f'A {width} street lined with {height} buildings and {cars}.',
            f'A driving scene on a {width} city road with {height} buildings on both sides.',
            f'An outdoor street view under a clear sky with {cars}.']
    return depth, valid, img.clip(0, 1), caps


def _endoscopic(rng, h, w, fx, fy):
    radius = rng.uniform(0.008, 0.025)
    ox, oy = rng.uniform(-0.4, 0.4, 2) * radius
    far = 0.1
    dx, dy = _rays(h, w, fx, fy)
    a = dx ** 2 + dy ** 2
    b = 2 * (ox * dx + oy * dy)
    c = ox ** 2 + oy ** 2 - radius ** 2  # < 0: the camera is inside the tube
    with np.errstate(divide='ignore', invalid='ignore'):
        t = (-b + np.sqrt(b ** 2 - 4 * a * c)) / (2 * a)
    depth = np.where(np.isfinite(t) & (t > 0), np.minimum(t, far), far)
    angle = np.arctan2(oy + dy * depth, ox + dx * depth)
    folds = 0.5 + 0.5 * np.sin(angle * rng.integers(3, 9) + depth * rng.uniform(100, 300))
    tissue = np.array([0.85, 0.45, 0.4]) + rng.uniform(-0.08, 0.08, 3)
    base = tissue * (0.8 + 0.2 * folds[..., None])
    img = _shade(base, depth, 0.02, rng)
    texture = int(rng.integers(1, 6))
    width = 'narrow' if radius < 0.015 else 'wide'
    caps = [f'An endoscopic view inside a {width} colon segment with texture type {texture}.',
            f'The image shows a surgical scene of a {width} lumen with texture type {texture}.',
            f'A close-up colonoscopy frame of pink tissue folds in a {width} tube.']
    return depth, depth > 0, img, caps


RENDERERS = dict(indoor=_indoor, outdoor=_outdoor, endoscopic=_endoscopic)


def render_frame(domain: str, seed: int, size: Tuple[int, int] = (96, 128)) -> Dict:
    """Render one frame: ``depth`` (m), ``valid``, ``img`` (float RGB in [0, 1]), ``captions``
    and ``K``."""
    if domain not in RENDERERS:
        raise KeyError(f'unknown synthetic domain {domain!r}; known: {DOMAINS}')
    rng = np.random.default_rng([DOMAINS.index(domain), seed])
    h, w = size
    fx = fy = w * rng.uniform(0.7, 0.9)  # about 70-80 degrees horizontal field of view
    depth, valid, img, caps = RENDERERS[domain](rng, h, w, fx, fy)
    return dict(depth=np.where(valid, depth, 0.0), valid=valid, img=img, captions=caps,
                K=[float(fx), float(fy), w / 2 - 0.5, h / 2 - 0.5])


def generate_synthetic_rgbd(root: str, frames_per_domain: Dict[str, int] = None,
                            size: Tuple[int, int] = (96, 128), overwrite: bool = False) -> None:
    """Write ``train.json`` and ``test.json`` manifests plus images under ``root``.

    Args:
        root (str): output folder.
        frames_per_domain (dict): ``{'train': n, 'test': m}`` frames per domain. Defaults to
            48 train and 12 test per domain.
        size (tuple[int, int]): ``(H, W)`` of the frames. Defaults to (96, 128).
        overwrite (bool): regenerate when the manifests already exist. Defaults to False.
    """
    counts = frames_per_domain or dict(train=48, test=12)
    negative = {k: n for k, n in counts.items() if n < 0}
    if negative:
        raise ValueError(f'frames per domain cannot be negative: {negative}')
    if not overwrite and all(osp.isfile(osp.join(root, f'{s}.json')) for s in counts):
        return
    for split, n in counts.items():
        frames: List[dict] = []
        for domain in DOMAINS:
            folder = osp.join(root, split, domain)
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                seed = i if split == 'train' else 100000 + i
                fr = render_frame(domain, seed, size)
                scale = DEPTH_SCALE[domain]
                raw = np.round(fr['depth'] * scale)
                if raw.max() > 65535:
                    raise ValueError(f'{domain} depth exceeds uint16 at scale {scale}')
                stem = f'{split}/{domain}/{i:04d}'
                rgb = (fr['img'] * 255).round().astype(np.uint8)
                for name, pixels in (('_rgb.png', rgb[..., ::-1]),
                                     ('_depth.png', raw.astype(np.uint16))):
                    if not cv2.imwrite(osp.join(root, stem + name), pixels):  # False, no raise
                        raise OSError(f'cannot write {osp.join(root, stem + name)}')
                valid_depth = fr['depth'][fr['valid']]
                frames.append(dict(
                    dataset=f'synthetic_{domain}', scene_type=domain, rgb=stem + '_rgb.png',
                    depth=stem + '_depth.png', depth_format='png_uint16', depth_scale=scale,
                    K=fr['K'], captions=fr['captions'], rgb_hw=list(size),
                    depth_hw=list(size), valid_frac=round(float(fr['valid'].mean()), 3),
                    depth_min_m=round(float(valid_depth.min()), 4),
                    depth_median_m=round(float(np.median(valid_depth)), 4),
                    depth_max_m=round(float(valid_depth.max()), 4),
                    source='tr2m procedural generator', license='Apache-2.0'))
        with open(osp.join(root, f'{split}.json'), 'w') as f:
            json.dump(dict(frames=frames), f, indent=1)
