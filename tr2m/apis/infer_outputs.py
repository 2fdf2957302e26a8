"""What ``tools/infer.py`` does around the model: the unit of its outputs, building (and
refusing) the models, the warnings its outputs carry (an untrained model, the quickstart's demo
model, relative depth supplied by the user, one set of intrinsics for many images), and writing
each image's files (depth NPY/PNG, panels or the depth picture alone, comparison, PLY)."""
import os.path as osp
from typing import Dict, List, Optional

import cv2
import numpy as np

# PNG_SCALES: uint16 PNG scale per model unit, metres -> millimetres, millimetres -> 1/100 mm
# (defined without OpenCV, for tools/infer.py --units).
from tr2m.utils.choices import PNG_SCALES  # noqa: F401
from tr2m.utils.errors import ArgumentError

#: Depthers whose checkpoint ``none`` leaves trainable heads untrained (checked before the
#: build; any other model is checked after it by its trainable parameters).
TRAINED_DEPTHERS = ('TR2M', 'RSA')


def _units_of(protocol) -> Optional[str]:
    """The ``units`` a config's protocol (a dict of keys, or a ``DepthProtocol``) sets."""
    from tr2m.structures import DepthProtocol

    if isinstance(protocol, DepthProtocol):
        return protocol.units
    return protocol.get('units') if isinstance(protocol, dict) else None


def model_units(cfg) -> str:
    """``'m'`` or ``'mm'``: the ``units`` of the config's test-set protocols (``'m'`` when none
    is given or they disagree)."""
    from tr2m.registry import DATASETS

    found = set()

    def visit(node):
        if not isinstance(node, dict):
            return
        for proto in [node.get('protocol')] + list((node.get('protocols') or {}).values()):
            if _units_of(proto):
                found.add(_units_of(proto))
        cls = DATASETS.get(node['type']) if isinstance(node.get('type'), str) else None
        units = _units_of(getattr(cls, 'PROTOCOL', None))
        if units and not _units_of(node.get('protocol')):
            found.add(units)
        visit(node.get('dataset'))
        for sub in node.get('datasets') or []:
            visit(sub)

    visit((cfg.get('test_dataloader') or {}).get('dataset'))
    return found.pop() if len(found) == 1 else 'm'


def check_untrained_early(cfg, checkpoint: str, allow: bool) -> None:
    """Refuse ``none`` for a depther known to need training, before it is built."""
    from tr2m.apis.inference import is_none_checkpoint

    kind = (cfg.get('model') or {}).get('type')
    if is_none_checkpoint(checkpoint) and kind in TRAINED_DEPTHERS and not allow:
        raise ArgumentError(
            f"checkpoint 'none': {kind}'s heads would be untrained and its metric depth "
            'meaningless; pass a trained checkpoint (or --allow-untrained to write the outputs '
            'anyway, marked as untrained)')


def load_models(args):
    """Validate, then build: ``(model, compared or None, warnings)``."""
    import torch

    from tr2m.apis.inference import check_checkpoint, init_depther, untrained_reason
    from tr2m.models.tta import wrap_flip_tta
    from tr2m.utils.config import load_config

    specs = [(args.config, args.checkpoint)] + ([tuple(args.compare)] if args.compare else [])
    for i, (config, checkpoint) in enumerate(specs):  # everything before any model is built
        cfg = load_config(config, args.cfg_options if i == 0 else None)
        check_untrained_early(cfg, checkpoint, args.allow_untrained)
        check_checkpoint(checkpoint)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    models, warnings = [], []
    for i, (config, checkpoint) in enumerate(specs):
        model = init_depther(config, checkpoint, device=device,
                             cfg_options=args.cfg_options if i == 0 else None)
        reason = untrained_reason(model, checkpoint)
        if reason and not args.allow_untrained:
            raise ArgumentError(f'{reason}; pass a trained checkpoint (or --allow-untrained)')
        if reason:
            warnings.append(reason)
        models.append(wrap_flip_tta(model, args.flip_merge) if args.flip_test else model)
    return models[0], (models[1] if len(models) > 1 else None), warnings


#: Relative-depth components that are no network: a model built on one is the quickstart's demo.
DEMO_RELATIVE_DEPTHS = ('SimulatedRelativeDepth',)


def demo_model_reason(model) -> Optional[str]:
    """Why ``model``'s metric depth says nothing about a real photo (None for a real model):
    its relative depth is simulated from ground truth (the quickstart's demo model)."""
    inner = getattr(model, 'module', model)  # a flip-test wrapper holds the depther
    kind = type(getattr(inner, 'relative_depth', None)).__name__
    if kind in DEMO_RELATIVE_DEPTHS:
        return (f'demo model: its relative depth is simulated from ground truth ({kind}), as '
                'in the offline quickstart; its metric depth shows the code path, not a trained '
                'TR2M on real images')
    return None


def input_warnings(args, images: List[str]) -> List[str]:
    """Warnings about what the user supplied: relative depth given instead of computed, and
    one set of ``--intrinsics`` for several images."""
    found = []
    if getattr(args, 'rel_depth', None):
        found.append(f'relative depth supplied by the user (--rel-depth {args.rel_depth}), '
                     "not computed by the model's relative-depth network")
    if getattr(args, 'intrinsics', None) is not None and len(images) > 1:
        found.append(f'one set of --intrinsics for all {len(images)} images (per-image: '
                     '--intrinsics-file)')
    return found


def depth_picture(depth: np.ndarray, style, grayscale: bool = False) -> np.ndarray:
    """The depth alone at the image's size, RGB uint8 ``(H, W, 3)``: ``style``'s colour map,
    or grey levels (near = white, far = black; no depth = black) with ``grayscale``, over
    ``style``'s range (``'image'``: the 1st-99th percentiles of the image)."""
    from tr2m.visualization.colormaps import colorize_depth, depth_to_unit, robust_range

    valid = np.isfinite(depth) & (depth > 0)
    if isinstance(style.depth_range, tuple):
        lo, hi = style.depth_range
    else:
        lo, hi = robust_range(depth, valid, style.percentiles) or (1.0, 2.0)
    if not grayscale:
        return colorize_depth(depth, lo, hi, valid, style.cmap, style.depth_scale,
                              style.invalid)
    t = depth_to_unit(np.where(valid, depth, hi), lo, hi, style.depth_scale)
    grey = np.where(valid, np.round(t * 255), 0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def save_outputs(out_dir: str, stem: str, rgb: np.ndarray, result: Dict, png_scale: float,
                 args, units: str, warnings: List[str], compared: Optional[Dict] = None,
                 intrinsics: Optional[List[float]] = None) -> Dict:
    """Write the files of one image; return its ``infer.json`` entry.

    ``<stem>_vis.png`` is the panels, or with ``args.pred_only`` / ``args.grayscale`` the depth
    picture alone (:func:`depth_picture`). ``intrinsics`` (this image's ``[fx, fy, cx, cy]``,
    default ``args.intrinsics``) back-project the PLY."""
    from tr2m.apis.pointcloud import depth_to_points, write_ply
    from tr2m.structures import DepthProtocol
    from tr2m.visualization import DepthStyle, render_comparison, render_panels, save_rgb

    depth = result['depth']
    files = dict(npy=f'{stem}_depth.npy', png=f'{stem}_depth.png', vis=f'{stem}_vis.png')
    np.save(osp.join(out_dir, files['npy']), depth.astype(np.float32))
    valid = np.isfinite(depth) & (depth > 0)
    scaled = np.where(valid, np.round(depth * png_scale), 0)
    saturated = int((scaled > 65535).sum())
    cv2.imwrite(osp.join(out_dir, files['png']), np.clip(scaled, 0, 65535).astype(np.uint16))
    style = DepthStyle(cmap=args.cmap, depth_scale=args.depth_scale,
                       depth_range=tuple(args.depth_range) if args.depth_range else 'image')
    protocol = DepthProtocol(units=units)
    notes = [f'flip test ({args.flip_merge})'] if args.flip_test else []
    grayscale = getattr(args, 'grayscale', False)
    if getattr(args, 'pred_only', False) or grayscale:
        save_rgb(osp.join(out_dir, files['vis']), depth_picture(depth, style, grayscale))
    else:
        figure = render_panels(
            rgb, depth, scale=result.get('scale'), shift=result.get('shift'),
            caption=result['caption'], protocol=protocol, style=style,
            title=f'{osp.basename(args.config)}  {osp.basename(args.checkpoint)}',
            notes=notes, warnings=warnings)
        save_rgb(osp.join(out_dir, files['vis']), figure.image)
    if compared is not None:
        files['compare'] = f'{stem}_compare.png'
        names = [osp.splitext(osp.basename(c))[0] for c in (args.config, args.compare[0])]
        if names[0] == names[1]:
            names = [osp.basename(args.checkpoint), osp.basename(args.compare[1])]
        fig = render_comparison(rgb, [dict(depth=depth), dict(depth=compared['depth'])], names,
                                caption=result['caption'], protocol=protocol, style=style,
                                warnings=warnings)
        save_rgb(osp.join(out_dir, files['compare']), fig.image)
    ref = depth[valid] if valid.any() else np.ones(1)
    entry = dict(caption=result['caption'], size=list(depth.shape),
                 input_size=list(result['input_shape']), saturated_png_pixels=saturated,
                 depth_min=float(ref.min()), depth_median=float(np.median(ref)),
                 depth_max=float(ref.max()), files=files)
    if compared is not None:
        entry['compared_depth_median'] = float(np.median(compared['depth'][valid])) \
            if valid.any() else None
    intrinsics = intrinsics if intrinsics is not None else getattr(args, 'intrinsics', None)
    entry['intrinsics'] = None if intrinsics is None else [float(v) for v in intrinsics]
    if args.save_ply:
        if intrinsics is None:
            raise ArgumentError(f'--save-ply: no intrinsics for image {result["img_path"]} '
                                '(its entry in --intrinsics-file is null)')
        points, colors = depth_to_points(depth, intrinsics, rgb)
        files['ply'] = f'{stem}.ply'
        write_ply(osp.join(out_dir, files['ply']), points, colors, comments=[
            f'tr2m infer: {osp.basename(result["img_path"])}', f'units {units}',
            'intrinsics fx fy cx cy ' + ' '.join(f'{v:.6g}' for v in intrinsics)])
        entry['points'] = int(points.shape[0])
    return entry
