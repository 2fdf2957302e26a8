"""Predict metric depth for images and their captions.

``python tools/infer.py CONFIG CKPT --img PATH_OR_DIR (--text "..." | --text-file F)
[--out-dir DIR] [--intrinsics FX FY CX CY | --intrinsics-file F] [--save-ply] [--flip-test]
[--compare CFG2 CKPT2] [--rel-depth FILE_OR_DIR] [--pred-only] [--grayscale]``

``python tools/infer.py --model REPO_ID_OR_DIR (--img ... | --video FILE) ...``: a published
model folder (``tools/publish.py``) or Hugging Face Hub repo id instead of CONFIG CKPT.
``--video FILE`` (with ``--text`` or ``--caption auto``, which captions the first frame once for
the clip) writes ``<stem>_depth.mp4``: each frame beside its depth with a colour bar, one colour
range for the clip (``--depth-range`` or the first batch's); ``--save-npy`` adds each frame's
depth as ``<stem>_depth/<frame>.npy``; ``--batch-size`` frames per forward pass.

``--img`` is an image file, a folder (its images, not recursive: ``.png .jpg .jpeg .bmp .tif
.tiff .webp .ppm``) or a quoted glob pattern (``'data/x/*_rgb.png'``).

Captions are matched to images by name, never by order: ``--text`` gives one caption for every
image; ``--text-file`` is a JSON object ``{image: caption}`` (``.json``; a value may be a list,
whose first caption is used) or ``image<TAB>caption`` lines; ``--caption auto`` has
``--captioner PRESET`` write each image's caption (its provenance goes to ``infer.json``).
Keys are the file name (``0001.png``) or the path relative to the ``--img`` folder. Every image
needs a caption and every entry must name an image.

Everything is checked before the model is built -- config, checkpoint (opened with
``weights_only=True``), every image (decoded), every caption -- and a mistake ends in one line
and exit code 2 (``--debug`` shows the traceback); no output folder is left behind.

``CKPT`` ``none`` builds the model untrained. For a model with trainable parts (TR2M's or RSA's
heads) that means meaningless metric depth, so infer refuses unless ``--allow-untrained`` is
given, and then marks every picture and ``infer.json`` as untrained.

Outputs, per image ``<stem>`` in ``--out-dir`` (default ``work_dirs/infer``):

- ``<stem>_depth.npy``: float32 ``(H, W)`` metric depth, exact, in the model's unit;
- ``<stem>_depth.png``: uint16 ``round(depth * png_scale)`` (0 = no depth; values above 65535
  saturate and are counted in ``infer.json``); ``png_scale`` is 1000 (millimetres) for models
  working in metres and 100 (1/100 mm) for models working in millimetres, or ``--png-scale``;
- ``<stem>_vis.png``: the panels image | depth | scale A | shift B (turbo, near = warm, colour
  bars in the model's unit; ``--cmap``, ``--depth-scale``, ``--depth-range LO HI``), the caption
  and any warning under them; with ``--pred-only`` the depth picture alone at the image's size
  (``--cmap``), with ``--grayscale`` the depth alone in grey levels (near = white, no depth =
  black);
- with ``--compare CFG2 CKPT2``: ``<stem>_compare.png``, both models on one colour scale;
- with ``--save-ply``: ``<stem>.ply``, a binary little-endian PLY of coloured points
  (``float x y z``, ``uchar red green blue``; camera frame x right, y down, z forward, in the
  model's unit), back-projected with each image's intrinsics (required: ``fx fy cx cy`` in pixels
  of the original images);

and ``infer.json``: config, checkpoint, unit, png_scale, flip test, untrained, ``warnings``, and
per image its caption, size, network input size, intrinsics, depth range and output files.

Intrinsics: ``--intrinsics FX FY CX CY`` is one set for every image (``infer.json`` warns when
there are several); ``--intrinsics-file F`` gives each image its own: a JSON object
``{image: [fx, fy, cx, cy]}``, ``image fx fy cx cy`` lines, or a dataset manifest
(``{"frames": [{"rgb": ..., "K": [fx, fy, cx, cy]}]}``, e.g. the ``manifest.json`` of
``tools/dataset_converters/make_manifest.py``), matched by name like the captions.

Warnings: ``infer.json`` (``warnings``) and every picture say when the model is untrained,
when it is the quickstart's demo model (relative depth simulated from GT), when the relative
depth came from ``--rel-depth`` instead of the model, and when one set of intrinsics served
several images.

Relative depth: ``--rel-depth FILE_OR_DIR`` gives each image's relative inverse depth (what the
model's frozen relative-depth network would output), so that network is not run: a ``.npy``
float array or a 16-bit PNG (value / ``--rel-depth-scale``) of the image's size; a folder holds
``<image stem>.npy`` or ``<image stem>.png`` per image. ``--rel-depth-norm median`` divides
each map by its median (the quickstart demo's convention). This is how a model whose relative
depth is simulated from GT (the quickstart demo) runs on images without GT.

The model's unit is the ``units`` of the config's test-set protocol (``m`` unless a dataset says
``mm``); ``--units`` overrides it.

Precision: ``--precision auto`` (the default) runs the forward under bfloat16 autocast where
the device computes bfloat16 faster -- CUDA GPUs with bf16 support and CPUs with AMX -- and in
float32 elsewhere (a CPU without bf16 instructions runs bfloat16 several times slower; the
measurements are in ``tr2m/utils/hardware.py`` and ``docs/user_guides/speed.md``);
``--precision bf16`` / ``fp32`` force one (``--amp`` is ``--precision bf16``). The saved depth
is float32 either way. ``python -m tr2m.utils.hardware`` prints what ``auto`` picks here.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
from typing import TYPE_CHECKING

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone

# Only light imports here: --help and argument errors answer before torch, OpenCV and the
# models are imported. The inference library's names are bound on first use (PEP 562
# __getattr__ for ``tool.name``; main() binds them all once the arguments are parsed).
from tr2m.utils import cli  # noqa: E402
from tr2m.utils.choices import (  # noqa: E402
    COLORMAPS,
    DEPTH_SCALES,
    FLIP_MERGES,
    PNG_SCALES,
    PRECISIONS,
)
from tr2m.utils.cli import DictAction  # noqa: E402
from tr2m.utils.errors import DataError  # noqa: E402
from tr2m.utils.files import check_writable_dir  # noqa: E402
from tr2m.utils.lazy import LazyNames  # noqa: E402

_INPUTS, _OUTPUTS = 'tr2m.apis.infer_inputs', 'tr2m.apis.infer_outputs'
_LIBRARY = LazyNames(globals(), {
    'IMG_EXTS': _INPUTS,
    'check_images': _INPUTS,
    'collect_images': _INPUTS,
    'load_rel_depths': _INPUTS,
    'match_intrinsics': _INPUTS,
    'read_captions': _INPUTS + ':match_captions',
    'DEMO_RELATIVE_DEPTHS': _OUTPUTS,
    'TRAINED_DEPTHERS': _OUTPUTS,
    'check_untrained_early': _OUTPUTS,
    'demo_model_reason': _OUTPUTS,
    'input_warnings': _OUTPUTS,
    'load_models': _OUTPUTS,
    'model_units': _OUTPUTS,
    'save_outputs': _OUTPUTS,
})
__getattr__, __dir__ = _LIBRARY.getattr, _LIBRARY.dir
if TYPE_CHECKING:  # those the functions below use, for readers and linters
    from tr2m.apis.infer_inputs import (
        check_images,
        collect_images,
        load_rel_depths,
        match_intrinsics,
    )
    from tr2m.apis.infer_inputs import match_captions as read_captions
    from tr2m.apis.infer_outputs import (
        DEMO_RELATIVE_DEPTHS,
        demo_model_reason,
        input_warnings,
        load_models,
        model_units,
        save_outputs,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Metric depth from images and captions with a tr2m depther',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 2)[2])
    parser.add_argument('config', nargs='?', help='config file (or --model)')
    parser.add_argument('checkpoint', nargs='?', help="checkpoint file, or 'none'")
    parser.add_argument('--model', metavar='REPO_ID_OR_DIR',
                        help='a published model folder or Hub repo id (instead of CONFIG CKPT)')
    parser.add_argument('--img', help='image file, folder or glob pattern')
    parser.add_argument('--video', metavar='FILE', help='a video file: writes a depth video')
    parser.add_argument('--save-npy', action='store_true',
                        help="with --video: also each frame's depth as .npy")
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument('--text', help='one caption for every image')
    text.add_argument('--text-file', help='captions: JSON {image: caption} or image<TAB>caption '
                      'lines')
    text.add_argument('--caption', choices=['auto'],
                      help="'auto': caption every image with --captioner (written to infer.json "
                      'and under each picture)')
    parser.add_argument('--captioner', default='auto',
                        help="captioner preset of --caption auto (default 'auto': "
                        "llava_v16_vicuna, the paper's for unseen images, with CUDA; "
                        'smolvlm_256m without; tools/caption.py --list)')
    parser.add_argument('--out-dir', default='work_dirs/infer', help='output folder')
    intrinsics = parser.add_mutually_exclusive_group()
    intrinsics.add_argument('--intrinsics', nargs=4, type=float,
                            metavar=('FX', 'FY', 'CX', 'CY'),
                            help='pinhole intrinsics in pixels of the original images, one set '
                            'for every image')
    intrinsics.add_argument('--intrinsics-file', metavar='F',
                            help='per-image intrinsics: JSON {image: [fx, fy, cx, cy]}, '
                            "'image fx fy cx cy' lines, or a dataset manifest.json")
    parser.add_argument('--save-ply', action='store_true',
                        help='also write a coloured point cloud (needs intrinsics)')
    parser.add_argument('--pred-only', action='store_true',
                        help='<stem>_vis.png is the depth picture alone (no panels)')
    parser.add_argument('--grayscale', action='store_true',
                        help='<stem>_vis.png is the depth alone in grey levels (near = white)')
    parser.add_argument('--units', choices=sorted(PNG_SCALES),
                        help="the model's depth unit (default: from the config's test protocol)")
    parser.add_argument('--png-scale', type=float,
                        help='uint16 PNG value per depth unit (default: 1000 for m, 100 for mm)')
    parser.add_argument('--flip-test', '--tta', action='store_true', dest='flip_test',
                        help='horizontal-flip test-time augmentation')
    parser.add_argument('--flip-merge', choices=FLIP_MERGES, default='mean')
    parser.add_argument('--compare', nargs=2, metavar=('CONFIG2', 'CKPT2'),
                        help='also run this model and draw both side by side')
    parser.add_argument('--allow-untrained', action='store_true',
                        help="write outputs of an untrained model (CKPT 'none'), marked as such")
    parser.add_argument('--cmap', choices=COLORMAPS, default='turbo')
    parser.add_argument('--depth-scale', choices=DEPTH_SCALES, default='linear')
    parser.add_argument('--depth-range', nargs=2, type=float, metavar=('LO', 'HI'),
                        help='fixed colour range in the model unit (default: per image)')
    parser.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:1' (default: cuda "
                        'when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys (key=value; unknown keys are errors)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per forward pass (consecutive images of one network input '
                        'size are batched together, in order)')
    parser.add_argument('--precision', choices=PRECISIONS, default='auto',
                        help='auto: bfloat16 autocast where the device computes it faster (CUDA '
                        'with bf16, CPUs with AMX), else float32; the depth is returned in '
                        'float32 (default: auto)')
    parser.add_argument('--amp', action='store_true',
                        help='same as --precision bf16')
    parser.add_argument('--rel-depth', metavar='FILE_OR_DIR',
                        help="precomputed relative inverse depth instead of the model's "
                        'relative-depth network: a file (one image) or a folder of '
                        '<image stem>.npy (float) / <image stem>.png (16-bit)')
    parser.add_argument('--rel-depth-scale', type=float, default=1.0, metavar='S',
                        help='a 16-bit PNG relative depth is its value / S (default 1)')
    parser.add_argument('--rel-depth-norm', choices=('none', 'median'), default='none',
                        help="'median': divide each map by its median positive value (the "
                        "quickstart demo's convention)")
    cli.add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.model and (args.config or args.checkpoint or args.compare):
        parser.error('--model replaces CONFIG CKPT (and does not take --compare)')
    if not args.model and not (args.config and args.checkpoint):
        parser.error('give CONFIG CKPT, or --model REPO_ID_OR_DIR')
    if (args.img is None) == (args.video is None):
        parser.error('give one of --img and --video')
    if args.video and (args.text_file or args.save_ply or args.rel_depth
                       or args.intrinsics_file):
        parser.error('--video takes --text or --caption auto (no --text-file, --save-ply, '
                     '--rel-depth or --intrinsics-file)')
    if args.save_ply and args.intrinsics is None and args.intrinsics_file is None:
        parser.error('--save-ply needs --intrinsics FX FY CX CY or --intrinsics-file F')
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.amp and args.precision == 'fp32':
        parser.error('--amp asks for bf16, --precision fp32 for float32: give one')
    if args.png_scale is not None and not args.png_scale > 0:
        parser.error('--png-scale must be positive')
    if args.caption == 'auto' and args.captioner != 'auto':
        from tr2m.captioners.presets import CAPTIONER_PRESETS

        if args.captioner not in CAPTIONER_PRESETS:
            parser.error(f'--captioner {args.captioner!r} is no captioner preset '
                         '(tools/caption.py --list)')
    return args






def load_published(args):
    """``--model``: the published model (folder checked first), flip-wrapped on request."""
    import torch

    from tr2m.apis.hub import MODEL_FILE, from_pretrained
    from tr2m.models.tta import wrap_flip_tta

    model = from_pretrained(args.model, args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    args.config, args.checkpoint = args.model, MODEL_FILE  # named in infer.json and pictures
    return (wrap_flip_tta(model, args.flip_merge) if args.flip_test else model), None, []


def run_video(args):
    """``--video``: one caption for the clip, a depth video out (checked before the build)."""
    from tr2m.apis.inference_video import probe_video, video_job

    probe_video(args.video)
    model, _, warnings = load_published(args) if args.model else load_models(args)
    return video_job(model, args, warnings)


def check_relative_depth_source(config: str, image: str) -> None:
    """A demo config simulates its relative depth from ground truth, which a photo lacks: one
    line before the model is built, naming the image and ``--rel-depth``."""
    from tr2m.utils.config import load_config

    _LIBRARY.bind()
    kind = (load_config(config).model.get('relative_depth') or {}).get('type')
    if kind in DEMO_RELATIVE_DEPTHS:
        raise DataError(f'{config} simulates relative depth from ground truth ({kind}, the '
                        f'offline demo), which {image} does not have: give each image\'s '
                        'relative depth with --rel-depth FILE_OR_DIR, or use a config with a '
                        'real relative-depth model')


def main(argv=None):
    args = parse_args(argv)
    _LIBRARY.bind()  # the inference library, now that the arguments are sound
    if args.video:
        return run_video(args)
    from tr2m.apis import infer_depths
    from tr2m.datasets.depth_io import read_rgb

    images = collect_images(args.img)
    captioned_by = None
    if args.caption == 'auto':
        from tr2m.apis.auto_caption import auto_captions

        check_images(images)
        captions, captioned_by = auto_captions(images, args.captioner)
    else:
        captions = read_captions(images, args.img, args.text, args.text_file)
    sizes = check_images(images)
    intrinsics = (match_intrinsics(images, args.img, args.intrinsics_file)
                  if args.intrinsics_file else [args.intrinsics] * len(images))
    if args.save_ply and None in intrinsics:
        missing = images[intrinsics.index(None)]
        raise DataError(f'--save-ply: {args.intrinsics_file} gives no intrinsics for {missing}')
    rel_depths = load_rel_depths(args.rel_depth, images, args.rel_depth_scale,
                                 args.rel_depth_norm)
    for path, size, rel in zip(images, sizes, rel_depths):
        if rel is not None and tuple(rel.shape) != tuple(size):
            raise DataError(f'--rel-depth for {path} has size {tuple(rel.shape)}, the image '
                            f'{tuple(size)}')
    check_writable_dir(args.out_dir, '--out-dir')  # before the model is built
    missing_rel = [path for path, rel in zip(images, rel_depths) if rel is None]
    if not args.model and missing_rel:
        check_relative_depth_source(args.config, missing_rel[0])
    model, compared_model, untrained = (load_published(args) if args.model
                                        else load_models(args))
    warnings = untrained + [w for w in [demo_model_reason(model)] if w] + \
        input_warnings(args, images)
    units = args.units or model_units(model.cfg)
    png_scale = args.png_scale or PNG_SCALES[units]
    created = not osp.isdir(args.out_dir)
    os.makedirs(args.out_dir, exist_ok=True)
    report = dict(config=args.config, checkpoint=args.checkpoint, units=units,
                  png_scale=png_scale, intrinsics=args.intrinsics,
                  intrinsics_file=args.intrinsics_file,
                  flip_test=args.flip_merge if args.flip_test else None,
                  untrained=bool(untrained), warnings=warnings, images={})
    if captioned_by is not None:
        report['captioner'] = captioned_by
    if args.compare:
        report['compare'] = dict(config=args.compare[0], checkpoint=args.compare[1])
    def predictions(m):
        return infer_depths(m, images, captions, intrinsics, rel_depths, args.batch_size,
                            args.amp, precision=args.precision)

    results = predictions(model)
    compared = predictions(compared_model) if compared_model is not None else None
    try:
        for path, caption, result, k in zip(images, captions, results, intrinsics):
            stem = osp.splitext(osp.basename(path))[0]
            rgb = read_rgb(path)
            other = next(compared) if compared is not None else None
            entry = save_outputs(args.out_dir, stem, rgb, result, png_scale, args, units,
                                 warnings, other, intrinsics=k)
            report['images'][path] = entry
            print(f'{path}: depth {entry["depth_min"]:.4g}..{entry["depth_max"]:.4g} {units} '
                  f'(median {entry["depth_median"]:.4g}) <- "{caption}"')
    except BaseException:
        if created and not report['images']:  # nothing written: leave no empty folder
            shutil.rmtree(args.out_dir, ignore_errors=True)
        raise
    with open(osp.join(args.out_dir, 'infer.json'), 'w') as f:
        json.dump(report, f, indent=2)
    for warning in warnings:
        print(f'WARNING: {warning}')
    print(f'{len(images)} image(s) written to {args.out_dir}')
    return report


if __name__ == '__main__':
    cli.run(main)
