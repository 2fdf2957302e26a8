"""ScaleDepth's losses (hand-computed cases), scene labels, prompts and colour augmentation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from projects.scaledepth.scaledepth.color_aug import (
    RandomColorAugment,
    brightness_contrast_lut,
    gamma_lut,
    hsv_shift,
)
from projects.scaledepth.scaledepth.scene_categories import (
    SCALEDEPTH_SCENE_CLASSES,
    SceneCategoryLabeler,
    scene_category_from_path,
    scene_prompts,
)
from projects.scaledepth.scaledepth.si_loss import ScaleDepthSILoss, scaledepth_si_loss
from projects.scaledepth.scaledepth.text_image_loss import (
    TextImageSimilarityLoss,
    scene_accuracy,
    text_image_similarity_loss,
)
from tr2m.utils.errors import ConfigError, DataError


def test_si_loss_hand_case():
    pred = torch.tensor([1.0, 2.0, 4.0, 8.0]).view(1, 1, 2, 2)
    gt = torch.tensor([1.0, 1.0, 2.0, 99.0]).view(1, 1, 2, 2)
    valid = torch.tensor([True, True, True, False]).view(1, 1, 2, 2)
    g = np.log(np.array([1, 2, 4]) + 1e-3) - np.log(np.array([1, 1, 2]) + 1e-3)
    expected = math.sqrt(np.var(g, ddof=1) + 0.15 * np.mean(g) ** 2)
    assert scaledepth_si_loss(pred, gt, valid).item() == pytest.approx(expected, rel=1e-6)
    assert ScaleDepthSILoss()(pred, gt, valid).item() == pytest.approx(10 * expected, rel=1e-6)
    biased = math.sqrt(np.var(g) + 0.15 * np.mean(g) ** 2)
    assert scaledepth_si_loss(pred, gt, valid, unbiased=False).item() == pytest.approx(
        biased, rel=1e-6)


def test_si_loss_batch_pooling_vs_per_image():
    torch.manual_seed(0)
    pred, gt = torch.rand(2, 1, 3, 3) + 0.5, torch.rand(2, 1, 3, 3) + 0.5
    valid = torch.ones(2, 1, 3, 3, dtype=torch.bool)
    valid[1, 0, 0] = False
    g = (torch.log(pred + 1e-3) - torch.log(gt + 1e-3))
    pooled = torch.sqrt(g[valid].var() + 0.15 * g[valid].mean() ** 2)
    per = [torch.sqrt(g[i][valid[i]].var() + 0.15 * g[i][valid[i]].mean() ** 2) for i in range(2)]
    torch.testing.assert_close(scaledepth_si_loss(pred, gt, valid), pooled)
    torch.testing.assert_close(scaledepth_si_loss(pred, gt, valid, reduction='image'),
                               torch.stack(per).mean())
    # a global scale of the prediction moves only the mean term: 0.15 * log(2)^2 more under
    # the root when the prediction was exact
    two = scaledepth_si_loss(2 * gt, gt, valid, eps=0.0)
    assert two.item() == pytest.approx(math.sqrt(0.15) * math.log(2), rel=1e-5)
    with pytest.raises(ValueError, match='reduction'):
        scaledepth_si_loss(pred, gt, valid, reduction='mean')


def test_si_loss_without_valid_pixels_is_zero_with_a_gradient():
    pred = torch.ones(1, 1, 2, 2, requires_grad=True)
    loss = scaledepth_si_loss(pred, torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2).bool())
    assert loss.item() == 0.0 and not str(loss.item()).startswith('-')
    loss.backward()
    assert pred.grad is not None


def test_text_image_loss_as_released_and_as_in_the_paper():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 2, -1])
    p = logits[:2].softmax(-1)
    released = -(F.log_softmax(p, -1)[[0, 1], [0, 2]]).mean()
    paper = -(F.log_softmax(logits[:2], -1)[[0, 1], [0, 2]]).mean()
    torch.testing.assert_close(text_image_similarity_loss(logits, labels), released)
    torch.testing.assert_close(text_image_similarity_loss(logits, labels, softmax_first=False),
                               paper)
    torch.testing.assert_close(TextImageSimilarityLoss()(logits, labels), 0.01 * released)
    # the released double softmax is bounded: between log(K - 1 + e) - 1 and log K
    assert math.log(2 + math.e) - 1 < released.item() < math.log(3)
    assert scene_accuracy(logits, labels).item() == 1.0
    none = torch.full((3,), -1)
    assert scene_accuracy(logits, none) is None
    x = logits.clone().requires_grad_()
    loss = text_image_similarity_loss(x, none)
    loss.backward()
    assert loss.item() == 0.0 and x.grad is not None
    with pytest.raises(ValueError, match=r'\(B, K\)'):
        text_image_similarity_loss(logits, labels[:2])


def test_the_28_categories_and_prompts():
    assert len(SCALEDEPTH_SCENE_CLASSES) == len(set(SCALEDEPTH_SCENE_CLASSES)) == 28
    assert SCALEDEPTH_SCENE_CLASSES[0] == 'printer_room'
    assert SCALEDEPTH_SCENE_CLASSES[-1] == 'outdoor_scene'
    prompts = scene_prompts(SCALEDEPTH_SCENE_CLASSES)
    assert prompts[2] == 'a photo of a living room.' and len(prompts) == 28
    assert scene_prompts(['home_office'], 'an image of the {}') == ['an image of the home office']
    with pytest.raises(ConfigError, match='no {}'):
        scene_prompts(['office'], 'a photo')


@pytest.mark.parametrize('path, name', [
    ('data/nyu/sync/kitchen_0028a/rgb_00045.jpg', 'kitchen'),
    ('sync/living_room_0038/rgb_00101.jpg', 'living_room'),
    ('sync/study_room_0005b/rgb_00012.jpg', 'study_room'),
    ('sync/study_0004/rgb_00012.jpg', 'study'),
    ('sync/office_kitchen_0001a/rgb_00001.jpg', 'office_kitchen'),
    ('sync/nyu_office_0/rgb_00001.jpg', 'office'),
    ('official_splits/test/living_room/rgb_00001.jpg', 'living_room'),
    ('images/train/bathroom_0003_00012.jpg', 'bathroom'),  # released file-name layout
    ('kitti/2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069.png', None),
    ('nyu_metric3d/rgb_00000.jpg', None),
])
def test_scene_category_from_path(path, name):
    idx = scene_category_from_path(path, SCALEDEPTH_SCENE_CLASSES)
    assert idx == (SCALEDEPTH_SCENE_CLASSES.index(name) if name else -1)


def sample(**meta):
    caption = meta.pop('caption', None)
    s = BaseDataElement(metainfo=meta)
    if caption is not None:
        s.caption = caption
    return s


def test_labeler_precedence_and_errors():
    lab = SceneCategoryLabeler(caption_keywords={'living room': 'living_room'})
    idx = SCALEDEPTH_SCENE_CLASSES.index
    samples = [
        sample(img_path='sync/kitchen_0001/rgb_1.jpg', scene_category='bedroom'),  # metainfo
        sample(img_path='sync/kitchen_0001/rgb_1.jpg', scene_category=3),
        sample(img_path='kitchen_0001/x.png', dataset_name='kitti'),  # dataset wins over path
        sample(img_path='sync/kitchen_0001/rgb_1.jpg', dataset_name='nyu'),
        sample(img_path='frame.png', caption='A spacious Living Room with a sofa.'),
        sample(img_path='frame.png', dataset_name='void'),
    ]
    assert lab(samples) == [idx('bedroom'), 3, idx('outdoor_scene'), idx('kitchen'),
                            idx('living_room'), -1]
    with pytest.raises(DataError, match='frame.png'):
        SceneCategoryLabeler(strict=True)([samples[-1]])
    with pytest.raises(DataError, match='not one of'):
        lab([sample(img_path='a.png', scene_category='garage')])
    with pytest.raises(ConfigError, match='garage'):
        SceneCategoryLabeler(dataset_classes={'x': 'garage'})
    extra = SceneCategoryLabeler(classes=SCALEDEPTH_SCENE_CLASSES + ('endoscopic_scene',),
                                 dataset_classes={'c3vd': 'endoscopic_scene'})
    assert extra([sample(img_path='a.png', dataset_name='c3vd')]) == [28]


def test_colour_luts_and_augment():
    x = np.arange(256, dtype=np.uint8)
    assert np.array_equal(brightness_contrast_lut(1.0, 0.0), x)
    assert np.array_equal(gamma_lut(1.0), x)
    lut = brightness_contrast_lut(1.2, 0.1)  # 1.2 x + 25.5, clipped
    assert lut[10] == int(12 + 25.5) and lut[250] == 255
    assert gamma_lut(2.0)[128] == int((128 / 255) ** 2 * 255)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    assert np.abs(hsv_shift(img, 0, 0, 0).astype(int) - img).max() <= 3  # HSV round trip
    depth = rng.random((8, 10)).astype(np.float32)
    out = RandomColorAugment(prob=0.0).transform(dict(img=img.copy(), gt_depth=depth))
    assert np.array_equal(out['img'], img)
    np.random.seed(0)
    out = RandomColorAugment(prob=1.0).transform(dict(img=img.copy(), gt_depth=depth.copy()))
    assert out['img'].dtype == np.uint8 and out['img'].shape == img.shape
    assert not np.array_equal(out['img'], img) and np.array_equal(out['gt_depth'], depth)
    with pytest.raises(ValueError, match='uint8'):
        RandomColorAugment().transform(dict(img=img.astype(np.float32)))
