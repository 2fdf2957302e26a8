"""Predict metric depth for images and their captions.

``python tools/infer.py CONFIG CKPT --img PATH_OR_DIR (--text "..." | --text-file F)
[--out-dir DIR] [--intrinsics FX FY CX CY] [--save-ply]``

``CKPT`` may be ``none`` (the untrained model). ``--img`` is an image file, a folder (its images,
not recursive: ``.png .jpg .jpeg .bmp .tif .tiff .webp``, sorted by name) or a quoted glob
pattern (``'data/x/*_rgb.png'``).

Captions: ``--text`` gives one caption for every image. ``--text-file`` is either

- a JSON object ``{image name: caption}`` (file ending ``.json``), keys being the file name
  (``0001.png``) or the path relative to the ``--img`` folder; a value may also be a list of
  captions, of which the first is used. Every image needs an entry; extra entries are ignored.
- a text file with one caption per line, matched to the images sorted by name; blank lines and
  lines starting with ``#`` are ignored; the number of captions must equal the number of images.

Outputs, per image ``<stem>`` in ``--out-dir`` (default ``work_dirs/infer``):

- ``<stem>_depth.npy``: float32 ``(H, W)`` metric depth, exact, in the model's unit;
- ``<stem>_depth.png``: uint16 ``round(depth * png_scale)`` (0 = no depth; values above 65535
  saturate and are counted in ``infer.json``); ``png_scale`` is 1000 (millimetres) for models
  working in metres and 100 (1/100 mm) for models working in millimetres, or ``--png-scale``;
- ``<stem>_vis.png``: the RGB image beside the colourised depth (inverse-depth magma colour map,
  near = bright, scaled to the 1st-99th percentile);
- with ``--save-ply``: ``<stem>.ply``, a binary little-endian PLY of coloured points
  (``float x y z``, ``uchar red green blue``; camera frame x right, y down, z forward, in the
  model's unit), back-projected with ``--intrinsics`` (required: ``fx fy cx cy`` in pixels of the
  original images);

and ``infer.json``: config, checkpoint, unit, png_scale, and per image its caption, size, network
input size, depth range and output files.

The model's unit is the ``units`` of the config's test-set protocol (``m`` unless a dataset says
``mm``); ``--units`` overrides it.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
#: uint16 PNG scale per model unit: metres -> millimetres, millimetres -> 1/100 mm.
PNG_SCALES = {'m': 1000.0, 'mm': 100.0}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Metric depth from images and captions with a tr2m depther',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none'")
    parser.add_argument('--img', required=True, help='image file, folder or glob pattern')
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument('--text', help='one caption for every image')
    text.add_argument('--text-file', help='captions: JSON {image name: caption} or one per line')
    parser.add_argument('--out-dir', default='work_dirs/infer', help='output folder')
    parser.add_argument('--intrinsics', nargs=4, type=float, metavar=('FX', 'FY', 'CX', 'CY'),
                        help='pinhole intrinsics in pixels of the original images')
    parser.add_argument('--save-ply', action='store_true',
                        help='also write a coloured point cloud (needs --intrinsics)')
    parser.add_argument('--units', choices=sorted(PNG_SCALES),
                        help="the model's depth unit (default: from the config's test protocol)")
    parser.add_argument('--png-scale', type=float,
                        help='uint16 PNG value per depth unit (default: 1000 for m, 100 for mm)')
    parser.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:1' (default: cuda "
                        'when available)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per forward pass (images of one network input size are '
                        'batched together, in order)')
    parser.add_argument('--amp', action='store_true',
                        help='bfloat16 autocast (CPU or CUDA); the depth is returned in float32')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    args = parser.parse_args(argv)
    if args.save_ply and args.intrinsics is None:
        parser.error('--save-ply needs --intrinsics FX FY CX CY')
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    return args


def collect_images(spec: str) -> List[str]:
    """Image files of a file, a folder (non-recursive, sorted by name) or a glob pattern."""
    if osp.isfile(spec):
        return [spec]
    if osp.isdir(spec):
        files = [osp.join(spec, n) for n in sorted(os.listdir(spec))
                 if n.lower().endswith(IMG_EXTS) and osp.isfile(osp.join(spec, n))]
        if not files:
            raise SystemExit(f'no images ({", ".join(IMG_EXTS)}) in folder {spec}')
        return files
    if glob.has_magic(spec):
        files = sorted(f for f in glob.glob(spec) if osp.isfile(f))
        if not files:
            raise SystemExit(f'no file matches {spec}')
        return files
    raise SystemExit(f'image not found: {spec}')


def read_captions(images: List[str], img_spec: str, text: Optional[str],
                  text_file: Optional[str]) -> List[str]:
    """One caption per image (see the module docstring for the file formats)."""
    if text is not None:
        return [text] * len(images)
    if not osp.isfile(text_file):
        raise SystemExit(f'caption file not found: {text_file}')
    if text_file.lower().endswith('.json'):
        with open(text_file, encoding='utf-8') as f:
            try:
                table = json.load(f)
            except json.JSONDecodeError as err:
                raise SystemExit(f'caption file {text_file} is not valid JSON: {err}') from err
        if not isinstance(table, dict):
            raise SystemExit(f'caption file {text_file} must hold a JSON object '
                             '{image name: caption}')
        root = img_spec if osp.isdir(img_spec) else None
        captions = []
        for path in images:
            keys = [osp.basename(path)]
            if root is not None:
                keys.append(osp.relpath(path, root).replace(os.sep, '/'))
            key = next((k for k in keys if k in table), None)
            if key is None:
                raise SystemExit(f'no caption for image {path} in {text_file} '
                                 f'(looked for {keys})')
            value = table[key]
            if isinstance(value, list):
                value = next((v for v in value if isinstance(v, str) and v.strip()), '')
            captions.append(value)
        return captions
    with open(text_file, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    captions = [ln for ln in lines if ln and not ln.startswith('#')]
    if len(captions) != len(images):
        raise SystemExit(f'{text_file} has {len(captions)} captions but there are '
                         f'{len(images)} images (one caption per line, in the order of the '
                         'images sorted by name)')
    return captions


def model_units(cfg) -> str:
    """``'m'`` or ``'mm'``: the ``units`` of the config's test-set protocols (``'m'`` when none
    is given or they disagree)."""
    from tr2m.registry import DATASETS

    found = set()

    def visit(node):
        if not isinstance(node, dict):
            return
        for proto in [node.get('protocol')] + list((node.get('protocols') or {}).values()):
            if isinstance(proto, dict) and proto.get('units'):
                found.add(proto['units'])
        cls = DATASETS.get(node['type']) if isinstance(node.get('type'), str) else None
        units = getattr(cls, 'PROTOCOL', {}).get('units') if cls is not None else None
        if units and not (isinstance(node.get('protocol'), dict)
                          and node['protocol'].get('units')):
            found.add(units)
        visit(node.get('dataset'))
        for sub in node.get('datasets') or []:
            visit(sub)

    visit((cfg.get('test_dataloader') or {}).get('dataset'))
    return found.pop() if len(found) == 1 else 'm'


def save_outputs(out_dir: str, stem: str, rgb: np.ndarray, result: Dict, png_scale: float,
                 intrinsics: Optional[List[float]], save_ply: bool, units: str) -> Dict:
    """Write the files of one image; return its ``infer.json`` entry."""
    from tr2m.apis.pointcloud import depth_to_points, write_ply
    from tr2m.engine.hooks.visualization_hook import colorize

    depth = result['depth']
    files = dict(npy=f'{stem}_depth.npy', png=f'{stem}_depth.png', vis=f'{stem}_vis.png')
    np.save(osp.join(out_dir, files['npy']), depth.astype(np.float32))
    valid = np.isfinite(depth) & (depth > 0)
    scaled = np.where(valid, np.round(depth * png_scale), 0)
    saturated = int((scaled > 65535).sum())
    cv2.imwrite(osp.join(out_dir, files['png']), np.clip(scaled, 0, 65535).astype(np.uint16))
    ref = depth[valid] if valid.any() else np.ones(1)
    lo, hi = np.percentile(ref, 1), np.percentile(ref, 99)
    lo, hi = max(lo, 1e-6), max(hi, max(lo, 1e-6) * 1.01)
    panel = np.hstack([rgb[..., ::-1], colorize(depth, lo, hi)])
    cv2.imwrite(osp.join(out_dir, files['vis']), panel)
    entry = dict(caption=result['caption'], size=list(depth.shape),
                 input_size=list(result['input_shape']), saturated_png_pixels=saturated,
                 depth_min=float(ref.min()), depth_median=float(np.median(ref)),
                 depth_max=float(ref.max()), files=files)
    if save_ply:
        points, colors = depth_to_points(depth, intrinsics, rgb)
        files['ply'] = f'{stem}.ply'
        write_ply(osp.join(out_dir, files['ply']), points, colors, comments=[
            f'tr2m infer: {osp.basename(result["img_path"])}', f'units {units}',
            'intrinsics fx fy cx cy ' + ' '.join(f'{v:.6g}' for v in intrinsics)])
        entry['points'] = int(points.shape[0])
    return entry


# ---- batched and mixed-precision prediction -------------------------------------------------
def _autocast(model, amp: bool):
    import contextlib

    import torch

    if not amp:
        return contextlib.nullcontext()
    device = next(model.parameters()).device.type
    return torch.autocast(device, dtype=torch.bfloat16)


def _packed(model, path: str, caption: str, intrinsics: Optional[List[float]]) -> dict:
    """One image through the model's inference pipeline (as ``infer_depth`` does)."""
    from tr2m.apis.inference import build_inference_pipeline
    from tr2m.datasets.depth_io import read_rgb

    pipeline = getattr(model, '_tr2m_inference_pipeline', None)
    if pipeline is None:
        pipeline = build_inference_pipeline(getattr(model, 'cfg', None))
        model._tr2m_inference_pipeline = pipeline
    img = read_rgb(path)
    h, w = img.shape[:2]
    results = dict(img=img, img_path=path, img_shape=(h, w), ori_shape=(h, w),
                   intrinsics=None if intrinsics is None else [float(v) for v in intrinsics],
                   caption=caption, captions=[caption], caption_index=0)
    return pipeline(results)


def predict_batched(model, images: List[str], captions: List[str],
                    intrinsics: Optional[List[float]] = None, batch_size: int = 1,
                    amp: bool = False):
    """Yield ``(path, result)`` in input order, ``result`` as ``tr2m.apis.infer_depth`` returns
    it; up to ``batch_size`` consecutive images of one network input size share a forward pass,
    under bfloat16 autocast with ``amp``."""
    import torch

    def field(sample, name):
        if name not in sample:
            return None
        return getattr(sample, name).data.detach().float().cpu().numpy()[0]

    model.eval()
    pending: List[tuple] = []

    def flush():
        inputs = [p['inputs'] for _, _, p in pending]
        with torch.no_grad(), _autocast(model, amp):
            preds = model.test_step(dict(inputs=inputs,
                                         data_samples=[p['data_samples'] for _, _, p in pending]))
        for (path, caption, packed), pred in zip(pending, preds):
            depth = field(pred, 'pred_depth')
            if depth is None:
                raise RuntimeError(f'{type(model).__name__}.predict gave no pred_depth for {path}')
            yield path, dict(depth=depth.astype(np.float32), rel=field(pred, 'rel_depth'),
                             scale=field(pred, 'pred_scale'), shift=field(pred, 'pred_shift'),
                             caption=caption, img_path=path,
                             input_shape=tuple(int(v) for v in packed['inputs'].shape[-2:]))
        pending.clear()

    for path, caption in zip(images, captions):
        packed = _packed(model, path, caption, intrinsics)
        if pending and (len(pending) >= batch_size
                        or pending[0][2]['inputs'].shape != packed['inputs'].shape):
            yield from flush()
        pending.append((path, caption, packed))
    if pending:
        yield from flush()


def main(argv=None):
    args = parse_args(argv)
    import torch

    from tr2m.apis import infer_depth, init_depther
    from tr2m.datasets.depth_io import read_rgb

    images = collect_images(args.img)
    stems = [osp.splitext(osp.basename(p))[0] for p in images]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise SystemExit(f'images with the same name stem would overwrite each other: {dupes}')
    captions = read_captions(images, args.img, args.text, args.text_file)
    for path, caption in zip(images, captions):  # fail before any work is done
        if not isinstance(caption, str) or not caption.strip():
            raise SystemExit(f'empty caption for image {path}')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = init_depther(args.config, args.checkpoint, device=device,
                         cfg_options=args.cfg_options)
    units = args.units or model_units(model.cfg)
    png_scale = args.png_scale or PNG_SCALES[units]
    os.makedirs(args.out_dir, exist_ok=True)
    report = dict(config=args.config, checkpoint=args.checkpoint, units=units,
                  png_scale=png_scale, intrinsics=args.intrinsics, images={})
    if args.batch_size > 1 or args.amp:
        results = (r for _, r in predict_batched(model, images, captions, args.intrinsics,
                                                 args.batch_size, args.amp))
    else:
        results = (infer_depth(model, p, c, intrinsics=args.intrinsics)
                   for p, c in zip(images, captions))
    for path, stem, caption, result in zip(images, stems, captions, results):
        rgb = read_rgb(path)  # raises naming the file when missing or corrupt
        entry = save_outputs(args.out_dir, stem, rgb, result, png_scale, args.intrinsics,
                             args.save_ply, units)
        report['images'][path] = entry
        print(f'{path}: depth {entry["depth_min"]:.4g}..{entry["depth_max"]:.4g} {units} '
              f'(median {entry["depth_median"]:.4g}) <- "{caption}"')
    with open(osp.join(args.out_dir, 'infer.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(f'{len(images)} image(s) written to {args.out_dir}')
    return report


if __name__ == '__main__':
    main()
