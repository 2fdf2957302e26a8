"""Depth of a video: frames read with OpenCV, predicted in batches, written as a depth video.

``tools/infer.py ... --video FILE (--text "..." | --caption auto)`` calls :func:`infer_video`:
every frame gets the one caption of the clip (given, or written once by a captioner from the
first frame); frames go through the model ``batch_size`` at a time; each output frame is the
input frame beside its metric depth with a colour bar in the model's unit (the panels of
:func:`tr2m.visualization.render_panels`), on **one colour range for the whole clip**
(``depth_range``, else the 1st..99th percentile of the first batch's depth), so a colour means
the same depth in every frame. With ``save_npy`` each frame's depth is also written as a
``float32`` ``.npy``.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from torch import nn

from tr2m.utils.errors import DataError, MissingFileError

#: FourCC of the written video (MPEG-4 part 2, in every OpenCV build's FFmpeg).
VIDEO_FOURCC = 'mp4v'


def probe_video(path: str) -> Tuple[float, int, Tuple[int, int]]:
    """``(fps, frame count, (H, W))`` of a video file, checked by decoding its first frame.

    Raises:
        MissingFileError: no such file.
        DataError: OpenCV cannot open or decode it.
    """
    if not osp.isfile(path):
        raise MissingFileError(f'--video: file not found: {path}')
    cap = cv2.VideoCapture(path)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            raise DataError(f'--video {path}: OpenCV cannot decode it (not a video, or a codec '
                            'this OpenCV lacks)')
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return (fps if fps > 0 else 25.0), count, tuple(frame.shape[:2])
    finally:
        cap.release()


def iter_frame_batches(path: str, batch_size: int) -> Iterator[List[np.ndarray]]:
    """RGB uint8 frames ``(H, W, 3)`` of a video, ``batch_size`` at a time, in order."""
    cap = cv2.VideoCapture(path)
    batch: List[np.ndarray] = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            batch.append(np.ascontiguousarray(frame[..., ::-1]))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        cap.release()


def check_video_model(model: nn.Module) -> None:
    """A model whose relative depth is simulated from GT (the quickstart's) cannot run on
    video frames: refuse it before any frame is read."""
    rel = getattr(getattr(model, 'module', model), 'relative_depth', None)
    if type(rel).__name__ == 'SimulatedRelativeDepth':
        raise DataError('this model simulates its relative depth from ground truth (the '
                        'quickstart demo), which video frames do not have; use a model with a '
                        'relative-depth network')


def infer_video(model: nn.Module, video: str, caption: str, out_dir: str, units: str = 'm',
                batch_size: int = 4, save_npy: bool = False,
                depth_range: Optional[Sequence[float]] = None, cmap: str = 'turbo',
                amp: bool = False, title: Optional[str] = None,
                warnings: Sequence[str] = (), precision: str = 'auto') -> dict:
    """Predict every frame of ``video`` and write ``<stem>_depth.mp4`` (+ per-frame ``.npy``).

    Args:
        model (nn.Module): a depther (``init_depther`` / ``from_pretrained``).
        video (str): the input video file.
        caption (str): the clip's caption (every frame's).
        out_dir (str): output folder (created).
        units (str): the model's unit, for the colour bar. Defaults to 'm'.
        batch_size (int): frames per forward pass. Defaults to 4.
        save_npy (bool): also write ``<stem>_depth/<frame:06d>.npy``. Defaults to False.
        depth_range (Sequence[float], optional): fixed colour range ``(lo, hi)``; None: the
            first batch's 1st..99th percentile. Defaults to None.
        cmap (str): depth colour map. Defaults to 'turbo'.
        amp (bool): bfloat16 autocast (same as ``precision='bf16'``). Defaults to False.
        title, warnings: footer lines of every frame.
        precision (str): 'auto', 'bf16' or 'fp32' (``infer_depths``). Defaults to 'auto'.

    Returns:
        dict: ``video``, ``frames``, ``fps``, ``size``, ``depth_range``, ``caption``, files.
    """
    from tr2m.apis.inference import infer_depths
    from tr2m.structures import DepthProtocol
    from tr2m.visualization import DepthStyle, render_panels
    from tr2m.visualization.colormaps import robust_range

    check_video_model(model)
    fps, _, _ = probe_video(video)
    stem = osp.splitext(osp.basename(video))[0]
    os.makedirs(out_dir, exist_ok=True)
    out_path = osp.join(out_dir, f'{stem}_depth.mp4')
    npy_dir = osp.join(out_dir, f'{stem}_depth')
    if save_npy:
        os.makedirs(npy_dir, exist_ok=True)
    writer, count, rng, depths = None, 0, depth_range, []
    protocol = DepthProtocol(units=units)
    try:
        for frames in iter_frame_batches(video, batch_size):
            results = list(infer_depths(model, frames, [caption] * len(frames),
                                        batch_size=batch_size, amp=amp,
                                        precision=precision))
            if rng is None:
                stacked = np.stack([r['depth'] for r in results])
                rng = robust_range(stacked, np.isfinite(stacked) & (stacked > 0)) or (0.0, 1.0)
            style = DepthStyle(cmap=cmap, depth_range=tuple(float(v) for v in rng), ncols=2)
            for frame, result in zip(frames, results):
                fig = render_panels(frame, result['depth'], caption=caption, protocol=protocol,
                                    style=style, title=title, warnings=warnings)
                picture = np.ascontiguousarray(fig.image[..., ::-1])
                if writer is None:
                    size = (picture.shape[1], picture.shape[0])
                    writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*VIDEO_FOURCC),
                                             fps, size)
                    if not writer.isOpened():
                        raise OSError(f'OpenCV cannot write {out_path} ({VIDEO_FOURCC})')
                writer.write(picture)
                if save_npy:
                    np.save(osp.join(npy_dir, f'{count:06d}.npy'), result['depth'])
                depths.append(float(np.median(result['depth'])))
                count += 1
    finally:
        if writer is not None:
            writer.release()
    files = dict(video=osp.basename(out_path))
    if save_npy:
        files['npy_dir'] = osp.basename(npy_dir)
    return dict(video=video, frames=count, fps=fps, caption=caption,
                depth_range=[float(v) for v in rng] if rng is not None else None,
                median_depth_per_frame=depths, files=files)


def video_job(model: nn.Module, args, warnings: Sequence[str] = ()) -> dict:
    """``tools/infer.py --video``: the clip's caption (``--text``, or ``--caption auto`` on the
    first frame), :func:`infer_video`, and ``infer.json`` beside the video."""
    import json

    from tr2m.apis.infer_outputs import model_units

    caption, captioned_by = args.text, None
    if args.caption == 'auto':
        from tr2m.apis.auto_caption import auto_captions

        check_video_model(model)
        captions, captioned_by = auto_captions(next(iter_frame_batches(args.video, 1)),
                                               args.captioner)
        caption = captions[0]
    units = args.units or model_units(model.cfg)
    report = infer_video(model, args.video, caption, args.out_dir, units, args.batch_size,
                         args.save_npy, args.depth_range, args.cmap, args.amp,
                         title=f'{osp.basename(args.config)}  {osp.basename(args.checkpoint)}',
                         warnings=warnings, precision=getattr(args, 'precision', 'auto'))
    report.update(config=args.config, checkpoint=args.checkpoint, units=units,
                  captioner=captioned_by, untrained=bool(warnings), warnings=list(warnings))
    with open(osp.join(args.out_dir, 'infer.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(f'{args.video}: {report["frames"]} frames -> '
          f'{osp.join(args.out_dir, report["files"]["video"])} <- "{caption}"')
    return report


__all__ = ['VIDEO_FOURCC', 'probe_video', 'iter_frame_batches', 'check_video_model',
           'infer_video', 'video_job']
