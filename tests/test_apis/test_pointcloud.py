"""``tr2m.apis.pointcloud``: pinhole back-projection and the PLY writer/reader."""
import numpy as np
import pytest

from tr2m.apis.pointcloud import depth_to_points, read_ply, write_ply


def test_back_projection_by_hand():
    depth = np.array([[2.0, 0.0], [4.0, np.nan]], np.float32)
    rgb = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    points, colors = depth_to_points(depth, [2.0, 4.0, 0.5, 0.5], rgb)
    # pixel (u=0, v=0), Z=2: X = (0 - 0.5) * 2 / 2, Y = (0 - 0.5) * 2 / 4
    # pixel (u=0, v=1), Z=4: X = (0 - 0.5) * 4 / 2, Y = (1 - 0.5) * 4 / 4
    np.testing.assert_allclose(points, [[-0.5, -0.25, 2.0], [-1.0, 0.5, 4.0]])
    np.testing.assert_array_equal(colors, [[0, 1, 2], [6, 7, 8]])
    with pytest.raises(ValueError, match='intrinsics'):
        depth_to_points(depth, [1.0, 1.0, 0.0])


def test_ply_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 3)).astype(np.uint8)
    path = tmp_path / 'cloud.ply'
    write_ply(str(path), points, colors, comments=['units m'])
    header = path.read_bytes().split(b'end_header\n')[0].decode()
    assert header.startswith('ply\nformat binary_little_endian 1.0\ncomment units m\n')
    assert 'element vertex 50' in header
    info, data = read_ply(str(path))
    assert info['count'] == 50 and info['comments'] == ['units m']
    np.testing.assert_array_equal(np.stack([data['x'], data['y'], data['z']], 1), points)
    np.testing.assert_array_equal(np.stack([data['red'], data['green'], data['blue']], 1),
                                  colors)
