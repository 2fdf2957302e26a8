"""tr2m/visualization/colormaps.py: look-up tables oriented near = warm in every depth scale,
and no colour map containing the greys of invalid pixels."""
import numpy as np
import pytest

from tr2m.visualization import colormaps as cm


def test_colormaps_are_oriented_near_warm():
    turbo = cm.colormap_lut('turbo')
    assert turbo[255, 0] > turbo[255, 2] and turbo[0, 2] > turbo[0, 0]  # 255 red, 0 blue
    spectral = cm.colormap_lut('spectral')
    np.testing.assert_array_equal(spectral[255], cm.SPECTRAL_11[0])  # warm end: the red
    np.testing.assert_array_equal(spectral[0], cm.SPECTRAL_11[-1])
    # near (lo) maps to the warm end, far (hi) to the cold end, in every depth scale
    for scale in cm.DEPTH_SCALES:
        t = cm.depth_to_unit(np.array([1.0, 4.0]), 1.0, 4.0, scale)
        np.testing.assert_allclose(t, [1.0, 0.0])
    np.testing.assert_allclose(cm.depth_to_unit(np.array([2.5]), 1, 4, 'linear'), [0.5])
    np.testing.assert_allclose(cm.depth_to_unit(np.array([2.0]), 1, 4, 'log'), [0.5])
    # inverse: (1/2 - 1/4) / (1 - 1/4) = 1/3
    np.testing.assert_allclose(cm.depth_to_unit(np.array([2.0]), 1, 4, 'inverse'), [1 / 3])
    with pytest.raises(ValueError, match='unknown colour map'):
        cm.colormap_lut('rainbow2')
    with pytest.raises(ValueError, match='unknown depth scale'):
        cm.depth_to_unit(np.ones(1), 1, 2, 'sqrt')


def test_no_colormap_contains_the_invalid_greys():
    for name in cm.COLORMAPS:
        lut = cm.colormap_lut(name).astype(int)
        for grey in cm.HATCH_GREYS + (cm.INVALID_GREY,):
            assert np.abs(lut - grey).max(1).min() > 20, (name, grey)
