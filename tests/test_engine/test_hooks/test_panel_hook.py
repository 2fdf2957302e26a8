"""``ValidationPanelHook`` with a TensorBoard backend: a real training run writes the panels
of fixed validation images and the scalars to an event file, read back with tensorboard's own
event reader."""
import glob
import os.path as osp

import cv2
import numpy as np
from mmengine.runner import Runner
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tr2m.engine.hooks.panel_hook import fixed_indices
from tr2m.utils import register_all_modules
from tr2m.utils.config import load_config
from tr2m.visualization import depth_panels as dp


def test_fixed_indices_cover_every_part():
    class Part(list):
        pass

    class Concat:
        datasets = [Part(range(10)), Part(range(4)), Part(range(6))]

        def __len__(self):
            return 20

    assert fixed_indices(list(range(6)), 3) == [0, 2, 4]
    assert fixed_indices(list(range(2)), 5) == [0, 1]
    assert fixed_indices(Concat(), 3) == [0, 10, 14]  # the first frame of each part
    assert fixed_indices(Concat(), 6) == [0, 5, 10, 12, 14, 17]
    assert fixed_indices([], 4) == []


def test_tensorboard_event_file_holds_panels_and_scalars(tiny_config, synthetic_root, tmp_path):
    register_all_modules()
    work = tmp_path / 'work'
    cfg = load_config(str(tiny_config), {'train_dataloader.batch_size': 2,
                                         'train_cfg.max_epochs': 1,
                                         'train_cfg.val_interval': 100,
                                         'default_hooks.logger.interval': 1},
                      work_dir=str(work))
    cfg.visualizer = dict(type='DepthVisualizer', panel_width=96,
                          vis_backends=[dict(type='TensorboardVisBackend')])
    cfg.custom_hooks = [dict(type='ValidationPanelHook', interval=2, num_images=3,
                             draw_at_start=True)]
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if type(h).__name__ == 'ValidationPanelHook')
    runner.train()  # 6 frames, batch 2: 3 iterations; panels at steps 0 and 2

    events = glob.glob(str(work / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(osp.dirname(events[0]), size_guidance={'images': 0, 'scalars': 0})
    acc.Reload()
    tags = acc.Tags()
    # the fixed images: evenly spread over the 6 test frames (2 per domain)
    assert sorted(tags['images']) == ['val_panels/synthetic_endoscopic_4',
                                      'val_panels/synthetic_indoor_0',
                                      'val_panels/synthetic_outdoor_2']
    figures = hook.draw(runner, step=99)  # the same model state as after the last drawing
    for tag in tags['images']:
        images = acc.Images(tag)
        assert [e.step for e in images] == [0, 2]
        png = np.frombuffer(images[-1].encoded_image_string, np.uint8)
        decoded = cv2.imdecode(png, cv2.IMREAD_COLOR)[..., ::-1]
        index = int(tag.rsplit('_', 1)[1])
        figure = figures[[i for i, _ in hook._items].index(index)]
        assert decoded.shape == figure.image.shape
        # the picture: a depth colour bar under the GT panel, the panels the hook drew
        bx0, by0, bx1, by1 = figure.panels['gt'].bar_box
        np.testing.assert_array_equal(decoded[by0:by1, bx0:bx1],
                                      figure.image[by0:by1, bx0:bx1])
        assert set(figure.panels) == {'image', 'gt', 'pred', 'error', 'scale', 'shift'}
    # the outdoor frame's sky has no GT: hatched in the TensorBoard image too
    outdoor = figures[[i for i, _ in hook._items].index(2)]
    x0, y0, x1, y1 = outdoor.panels['gt'].box
    png = np.frombuffer(acc.Images('val_panels/synthetic_outdoor_2')[-1].encoded_image_string,
                        np.uint8)
    panel = cv2.imdecode(png, cv2.IMREAD_COLOR)[y0:y1, x0:x1].astype(int)
    neutral = panel.max(2) == panel.min(2)
    assert neutral.any() and set(np.unique(panel[neutral][:, 0])) <= set(dp.HATCH_GREYS)
    # the scalars the logger wrote, one per iteration
    assert 'loss' in tags['scalars'] and 'loss_silog' in tags['scalars']
    assert [e.step for e in acc.Scalars('loss')] == [1, 2, 3]
