"""What ``tools/infer.py`` does around the model: the unit of its outputs, building (and
refusing) the models, and writing each image's files (depth NPY/PNG, panels, comparison, PLY)."""
import os.path as osp
from typing import Dict, List, Optional

import cv2
import numpy as np

from tr2m.utils.errors import ArgumentError

#: uint16 PNG scale per model unit: metres -> millimetres, millimetres -> 1/100 mm.
PNG_SCALES = {'m': 1000.0, 'mm': 100.0}
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


def save_outputs(out_dir: str, stem: str, rgb: np.ndarray, result: Dict, png_scale: float,
                 args, units: str, warnings: List[str], compared: Optional[Dict] = None
                 ) -> Dict:
    """Write the files of one image; return its ``infer.json`` entry."""
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
    figure = render_panels(rgb, depth, scale=result.get('scale'), shift=result.get('shift'),
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
    if args.save_ply:
        points, colors = depth_to_points(depth, args.intrinsics, rgb)
        files['ply'] = f'{stem}.ply'
        write_ply(osp.join(out_dir, files['ply']), points, colors, comments=[
            f'tr2m infer: {osp.basename(result["img_path"])}', f'units {units}',
            'intrinsics fx fy cx cy ' + ' '.join(f'{v:.6g}' for v in args.intrinsics)])
        entry['points'] = int(points.shape[0])
    return entry
