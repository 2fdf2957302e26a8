"""What the demo page does, without Gradio: predict one image (panels, point-cloud view, the
files to download) and the caption sweep. Every picture and file comes from tr2m's own
drawing and writing code (``render_panels`` / ``render_comparison``, ``save_outputs``'s NPY,
16-bit PNG and PLY writers)."""
import math
import os
import os.path as osp
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from torch import nn

from tr2m.utils.errors import DataError

#: Default horizontal field of view (degrees) when no intrinsics are entered.
DEFAULT_FOV = 60.0
#: Captions of the sweep when none are typed (the paper's Table 10 contrasts scenes like these).
SWEEP_CAPTIONS = ('A small bedroom with a bed and a lamp.',
                  'A large hall with a high ceiling.',
                  'A wide street lined with tall buildings far away.',
                  'A close-up of a colon wall during an endoscopy.')


def guess_intrinsics(height: int, width: int, fov_deg: float = DEFAULT_FOV) -> List[float]:
    """``[fx, fy, cx, cy]`` of a pinhole camera with horizontal field of view ``fov_deg``,
    square pixels and the principal point at the image centre (pixel centres at integers)."""
    if not 1.0 <= fov_deg <= 179.0:
        raise DataError(f'field of view must be between 1 and 179 degrees, got {fov_deg}')
    f = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return [f, f, (width - 1) / 2.0, (height - 1) / 2.0]


def read_image(path: Optional[str]) -> np.ndarray:
    """The uploaded image, RGB uint8; anything else is a :class:`DataError` naming the file."""
    from tr2m.datasets.depth_io import read_rgb

    if not path:
        raise DataError('upload an image first')
    try:
        return read_rgb(str(path))
    except Exception as err:  # noqa: BLE001 - the one line for the page
        raise DataError(f'{osp.basename(str(path))} is not an image tr2m can read (PNG, JPEG, '
                        f'...): {str(err).splitlines()[0] if str(err) else type(err).__name__}'
                        ) from None


def read_rel_depth(path: Optional[str], size: Tuple[int, int]) -> Optional[np.ndarray]:
    """An uploaded relative inverse depth (``.npy`` or 16-bit PNG) of the image's size, or None;
    read by ``tools/infer.py --rel-depth``'s reader."""
    if not path:
        return None
    from tr2m.apis.infer_inputs import load_rel_depths

    rel = load_rel_depths(str(path), [str(path)], 1.0, 'none')[0]
    if rel is None or tuple(rel.shape) != tuple(size):
        raise DataError(f'relative depth {osp.basename(str(path))} has size '
                        f'{None if rel is None else tuple(rel.shape)}, the image {tuple(size)}')
    return rel


def _units(model: nn.Module) -> str:
    from tr2m.apis.infer_outputs import model_units

    return model_units(model.cfg) if getattr(model, 'cfg', None) is not None else 'm'


def render_point_view(points: np.ndarray, colors: np.ndarray, yaw_deg: float = 30.0,
                      size: Tuple[int, int] = (360, 480), max_points: int = 60000
                      ) -> np.ndarray:
    """A picture of a point cloud turned by ``yaw_deg`` about the vertical axis through its
    median point, orthographic, nearer points drawn last: RGB uint8 ``size``."""
    h, w = size
    canvas = np.full((h, w, 3), 245, np.uint8)
    if len(points) == 0:
        return canvas
    step = max(1, len(points) // max_points)
    pts, cols = points[::step].astype(np.float64), colors[::step]
    centre = np.median(pts, 0)
    a = math.radians(yaw_deg)
    rot = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    p = (pts - centre) @ rot.T
    lo, hi = np.percentile(p[:, :2], 1, 0), np.percentile(p[:, :2], 99, 0)
    scale = 0.9 * min(w / max(hi[0] - lo[0], 1e-9), h / max(hi[1] - lo[1], 1e-9))
    u = ((p[:, 0] - (lo[0] + hi[0]) / 2) * scale + w / 2).astype(int)
    v = ((p[:, 1] - (lo[1] + hi[1]) / 2) * scale + h / 2).astype(int)
    inside = (u >= 0) & (u < w - 1) & (v >= 0) & (v < h - 1)
    order = np.argsort(-p[inside, 2])  # far first, near last
    u, v, c = u[inside][order], v[inside][order], cols[inside][order]
    for du in (0, 1):  # 2x2 splats
        for dv in (0, 1):
            canvas[v + dv, u + du] = c
    return canvas


def predict(model: nn.Module, image_path: Optional[str], caption: str, out_dir: str,
            auto_caption: bool = False, captioner: Optional[str] = None,
            rel_path: Optional[str] = None, intrinsics: Optional[Sequence[float]] = None,
            fov_deg: float = DEFAULT_FOV, yaw_deg: float = 30.0) -> Dict:
    """One image through the model: the panels figure, the point-cloud view, the files.

    Returns:
        dict: ``panels`` (RGB uint8: image | depth with its colour bar | scale A | shift B),
        ``cloud`` (RGB uint8 view of the point cloud), ``files`` (``.npy``, 16-bit ``.png``,
        ``.ply`` paths), ``caption``, ``units``, ``depth_range`` (the bar's ends), ``intrinsics``
        and ``status`` (one line for the page).
    """
    from tr2m.apis.infer_outputs import PNG_SCALES, save_outputs
    from tr2m.apis.inference import infer_depth
    from tr2m.apis.pointcloud import depth_to_points

    rgb = read_image(image_path)
    rel = read_rel_depth(rel_path, rgb.shape[:2])
    captioned_by = None
    if auto_caption:
        from tr2m.apis.auto_caption import auto_captions

        captions, provenance = auto_captions([rgb], captioner)
        caption, captioned_by = captions[0], provenance
    if not caption or not caption.strip():
        raise DataError('type a caption (or tick "let the captioner write one")')
    h, w = rgb.shape[:2]
    given = [float(v) for v in intrinsics or []]
    intr = given if len(given) == 4 and all(v > 0 for v in given[:2]) else \
        guess_intrinsics(h, w, fov_deg)
    result = infer_depth(model, rgb, caption.strip(), rel_depth=rel)
    units = _units(model)
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(str(image_path)))[0] or 'image'
    args = SimpleNamespace(cmap='turbo', depth_scale='linear', depth_range=None,
                           flip_test=False, flip_merge='mean', save_ply=True, intrinsics=intr,
                           config=getattr(model, 'demo_name', 'tr2m demo'), checkpoint='')
    entry = save_outputs(out_dir, stem, rgb, result, PNG_SCALES[units], args, units, [])
    from tr2m.datasets.depth_io import read_rgb

    panels = read_rgb(osp.join(out_dir, entry['files']['vis']))
    points, colors = depth_to_points(result['depth'], intr, rgb)
    files = [osp.join(out_dir, entry['files'][k]) for k in ('npy', 'png', 'ply')]
    source = 'the uploaded relative depth' if rel is not None else 'the model\'s network'
    status = (f'depth {entry["depth_min"]:.3g}..{entry["depth_max"]:.3g} {units} (median '
              f'{entry["depth_median"]:.3g} {units}; colour bar in {units}); relative depth '
              f'from {source}; intrinsics fx={intr[0]:.1f} fy={intr[1]:.1f} cx={intr[2]:.1f} '
              f'cy={intr[3]:.1f}' + ('' if len(given) == 4 and given[0] > 0 else
                                     f' (guessed from a {fov_deg:g} degree field of view)')
              + f'; caption: "{result["caption"]}"'
              + (f' (written by {captioned_by.get("captioner", captioner)})'
                 if captioned_by is not None else ''))
    return dict(panels=panels, cloud=render_point_view(points, colors, yaw_deg), files=files,
                caption=result['caption'], units=units, intrinsics=intr, status=status,
                depth_range=(entry['depth_min'], entry['depth_max']), result=result)


def sweep(model: nn.Module, image_path: Optional[str], captions: Sequence[str],
          rel_path: Optional[str] = None) -> Dict:
    """The same image under several captions, side by side on one colour scale (the
    language's effect on the scale, the paper's Table 10): ``figure`` (RGB uint8), ``rows``
    (per caption: median depth, median scale A, median shift B), ``status``."""
    from tr2m.apis.inference import infer_depths
    from tr2m.structures import DepthProtocol
    from tr2m.visualization import DepthStyle, render_comparison

    rgb = read_image(image_path)
    rel = read_rel_depth(rel_path, rgb.shape[:2])
    captions = [c.strip() for c in captions if c and c.strip()]
    if len(captions) < 2:
        raise DataError('the sweep needs at least two captions, one per line')
    results = list(infer_depths(model, [rgb] * len(captions), captions,
                                rel_depths=[rel] * len(captions)))
    units = _units(model)
    names = [f'#{i + 1}' for i in range(len(captions))]
    fig = render_comparison(rgb, [dict(depth=r['depth']) for r in results], names,
                            caption=' | '.join(f'{n}: {c}' for n, c in zip(names, captions)),
                            protocol=DepthProtocol(units=units),
                            style=DepthStyle(panel_width=240, ncols=len(captions) + 1))

    def med(x):
        return float(np.median(x)) if x is not None else float('nan')

    rows = [dict(caption=c, depth=med(r['depth']), scale=med(r['scale']), shift=med(r['shift']))
            for c, r in zip(captions, results)]
    return dict(figure=fig.image, rows=rows, units=units,
                status=f'{len(captions)} captions, one colour scale {fig.depth_range[0]:.3g}..'
                       f'{fig.depth_range[1]:.3g} {units}')


def sweep_table(rows: Sequence[dict], units: str) -> str:
    """The sweep's Markdown table."""
    lines = [f'| # | caption | median depth ({units}) | median scale A | median shift B |',
             '| --- | --- | --- | --- | --- |']
    lines += [f'| {i + 1} | {r["caption"]} | {r["depth"]:.4g} | {r["scale"]:.4g} | '
              f'{r["shift"]:.4g} |' for i, r in enumerate(rows)]
    return '\n'.join(lines)
