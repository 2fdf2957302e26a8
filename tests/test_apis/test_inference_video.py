"""``tools/infer.py --video``: a 3-second video made from real frames in, a depth video out
(decoded: frame count, size, the colour-bar panels), per-frame ``.npy`` equal to single-image
inference, the clip auto-captioned once, and one-line errors."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tr2m.apis import infer_depth, init_depther
from tr2m.visualization import DepthStyle, render_panels

REPO = Path(__file__).resolve().parents[2]
FPS, SECONDS = 10, 3
CAPTION = 'A kitchen with a counter, a kettle and cupboards.'


def _tool(relpath: str):
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location('tr2m_video_test_' + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def clip(rgbd_real, tmp_path_factory) -> Path:
    """3 s at 10 fps of the real 7-Scenes kitchen frames (640x480), written with OpenCV."""
    frames = sorted((rgbd_real / '7scenes_redkitchen').glob('*.color.jpg'))[:FPS * SECONDS]
    assert len(frames) == FPS * SECONDS
    path = tmp_path_factory.mktemp('video') / 'kitchen.mp4'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), FPS, (640, 480))
    for f in frames:
        writer.write(cv2.imread(str(f)))
    writer.release()
    return path


def _decode(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    cap.release()
    return frames, cap


def test_video_in_depth_video_out(clip, infer_config, infer_checkpoint, tmp_path):
    infer = _tool('tools/infer.py')
    out = tmp_path / 'out'
    report = infer.main([str(infer_config), str(infer_checkpoint), '--video', str(clip),
                         '--text', CAPTION, '--out-dir', str(out), '--save-npy',
                         '--batch-size', '8', '--device', 'cpu'])
    assert report['frames'] == FPS * SECONDS and report['fps'] == pytest.approx(FPS)
    assert json.loads((out / 'infer.json').read_text())['frames'] == FPS * SECONDS

    inputs, _ = _decode(clip)
    video, _ = _decode(out / 'kitchen_depth.mp4')
    cap = cv2.VideoCapture(str(out / 'kitchen_depth.mp4'))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS)
    cap.release()
    assert len(video) == len(inputs) == FPS * SECONDS

    # each frame: image | depth with its colour bar in metres, on the clip's one range
    model = init_depther(str(infer_config), str(infer_checkpoint))
    lo, hi = report['depth_range']
    for i in (0, 17, 29):
        ref = infer_depth(model, np.ascontiguousarray(inputs[i]), CAPTION)['depth']
        depth = np.load(out / 'kitchen_depth' / f'{i:06d}.npy')
        assert depth.shape == (480, 640) and depth.dtype == np.float32
        np.testing.assert_allclose(depth, ref, rtol=1e-5)
        fig = render_panels(inputs[i], depth, caption=CAPTION, protocol=dict(units='m'),
                            style=DepthStyle(depth_range=(lo, hi), ncols=2),
                            title=f'{infer_config.name}  {infer_checkpoint.name}')
        assert list(fig.panels) == ['image', 'pred']
        assert all(t.label.endswith(' m') for t in fig.panels['pred'].ticks)
        assert video[i].shape == fig.image.shape
        assert np.abs(video[i].astype(int) - fig.image).mean() < 6  # mp4v compression
    assert len(list((out / 'kitchen_depth').glob('*.npy'))) == FPS * SECONDS


def test_auto_caption_once_per_clip_and_errors(clip, infer_config, infer_checkpoint,
                                               tiny_config, tiny_checkpoint, tmp_path,
                                               capsys):
    infer = _tool('tools/infer.py')
    report = infer.main([str(infer_config), str(infer_checkpoint), '--video', str(clip),
                         '--caption', 'auto', '--captioner', 'smolvlm_256m_toy',
                         '--out-dir', str(tmp_path / 'auto'), '--batch-size', '16'])
    assert report['frames'] == FPS * SECONDS and report['caption'].strip()
    assert report['captioner']  # provenance of the one caption

    from tr2m.utils import cli

    def error(argv):
        with pytest.raises(SystemExit) as exc:
            cli.run(infer.main, argv)
        assert exc.value.code == 2
        return capsys.readouterr().err.strip().splitlines()

    base = [str(infer_config), str(infer_checkpoint), '--text', CAPTION, '--out-dir',
            str(tmp_path / 'e')]
    assert 'file not found' in error(base + ['--video', str(tmp_path / 'none.mp4')])[-1]
    bad = tmp_path / 'bad.mp4'
    bad.write_text('not a video')
    assert 'cannot decode' in error(base + ['--video', str(bad)])[-1]
    assert 'one of --img and --video' in error(base + ['--video', str(clip), '--img', 'x'])[-1]
    err = error([str(tiny_config), str(tiny_checkpoint), '--text', CAPTION, '--video',
                 str(clip), '--out-dir', str(tmp_path / 'e')])
    assert len(err) == 1 and 'ground truth' in err[0]
