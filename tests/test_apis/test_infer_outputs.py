"""What infer's outputs carry beyond the depth: the depth picture alone (colour or grey), the
warnings of a demo model and of user-supplied inputs."""
from types import SimpleNamespace

import numpy as np
import torch

from tr2m.apis.infer_outputs import demo_model_reason, depth_picture, input_warnings
from tr2m.visualization import DepthStyle


def test_grey_depth_picture_is_near_white_far_black_and_no_depth_black():
    depth = np.array([[1.0, 2.0, 3.0], [0.0, np.nan, 3.0]], np.float32)
    img = depth_picture(depth, DepthStyle(depth_range=(1.0, 3.0)), grayscale=True)
    assert img.shape == (2, 3, 3) and img.dtype == np.uint8
    assert (img[..., 0] == img[..., 2]).all()  # grey: R = G = B
    assert img[0, :, 0].tolist() == [255, 128, 0]  # linear: 1 m white, 2 m mid, 3 m black
    assert img[1, :2, 0].tolist() == [0, 0]  # no depth: black
    log = depth_picture(depth, DepthStyle(depth_range=(1.0, 3.0), depth_scale='log'), True)
    assert log[0, 1, 0] == round(255 * (np.log(3) - np.log(2)) / np.log(3))


def test_colour_depth_picture_is_the_depth_at_image_size():
    depth = np.linspace(1, 5, 24, dtype=np.float32).reshape(4, 6)
    img = depth_picture(depth, DepthStyle(cmap='turbo'))
    assert img.shape == (4, 6, 3)
    assert not (img[..., 0] == img[..., 1]).all()  # coloured
    assert (img[0, 0] != img[-1, -1]).any()  # near and far differ


def test_demo_model_and_user_inputs_are_named():
    class SimulatedRelativeDepth(torch.nn.Module):
        pass

    demo = torch.nn.Module()
    demo.relative_depth = SimulatedRelativeDepth()
    assert 'simulated from ground truth' in demo_model_reason(demo)
    wrapped = SimpleNamespace(module=demo)  # a flip-test wrapper
    assert demo_model_reason(wrapped) == demo_model_reason(demo)
    real = torch.nn.Module()
    real.relative_depth = torch.nn.Identity()
    assert demo_model_reason(real) is None and demo_model_reason(torch.nn.Module()) is None
    args = SimpleNamespace(rel_depth='rel/', intrinsics=[500.0, 500.0, 320.0, 240.0])
    found = input_warnings(args, ['a.png', 'b.png'])
    assert found[0].startswith('relative depth supplied by the user (--rel-depth rel/)')
    assert found[1] == ('one set of --intrinsics for all 2 images (per-image: '
                        '--intrinsics-file)')
    assert input_warnings(SimpleNamespace(rel_depth=None, intrinsics=[1, 1, 0, 0]),
                          ['a.png']) == []
