"""Back-project a depth map to a coloured point cloud and write it as a PLY file."""
from typing import Optional, Sequence, Tuple

import numpy as np


def depth_to_points(depth: np.ndarray, intrinsics: Sequence[float],
                    rgb: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Pinhole back-projection of every pixel with a finite, positive depth.

    Pixel ``(u, v)`` (column, row; integer coordinates at pixel centres, the convention of
    tr2m's intrinsics) with depth ``Z`` becomes ``X = (u - cx) Z / fx``, ``Y = (v - cy) Z / fy``,
    ``Z`` (x right, y down, z forward; the unit of ``depth``). Points are in row-major pixel order.

    Args:
        depth (np.ndarray): ``(H, W)`` depth (z, not ray length).
        intrinsics (Sequence[float]): ``[fx, fy, cx, cy]`` in pixels of this ``(H, W)`` image.
        rgb (np.ndarray, optional): uint8 ``(H, W, 3)`` colours; grey when None.

    Returns:
        tuple[np.ndarray, np.ndarray]: float32 points ``(N, 3)`` and uint8 colours ``(N, 3)``.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f'depth must be (H, W), got {depth.shape}')
    if intrinsics is None or len(intrinsics) != 4:
        raise ValueError(f'intrinsics must be [fx, fy, cx, cy], got {intrinsics}')
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    if fx <= 0 or fy <= 0:
        raise ValueError(f'focal lengths must be positive, got fx={fx}, fy={fy}')
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    valid = np.isfinite(depth) & (depth > 0)
    z = depth[valid].astype(np.float64)
    x = (u[valid] - cx) * z / fx
    y = (v[valid] - cy) * z / fy
    points = np.stack([x, y, z], 1).astype(np.float32)
    if rgb is None:
        colors = np.full((points.shape[0], 3), 128, np.uint8)
    else:
        if rgb.shape[:2] != (h, w):
            raise ValueError(f'rgb has size {rgb.shape[:2]} but depth has {(h, w)}')
        colors = np.asarray(rgb, dtype=np.uint8)[valid]
    return points, colors


def write_ply(path: str, points: np.ndarray, colors: Optional[np.ndarray] = None,
              comments: Sequence[str] = ()) -> None:
    """Write a binary little-endian PLY with ``float x, y, z`` and ``uchar red, green, blue``.

    Args:
        path (str): output file.
        points (np.ndarray): ``(N, 3)`` coordinates.
        colors (np.ndarray, optional): uint8 ``(N, 3)``; grey when None.
        comments (Sequence[str]): ``comment`` lines of the header (one line each).
    """
    points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    n = points.shape[0]
    colors = np.full((n, 3), 128, np.uint8) if colors is None else \
        np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
    if colors.shape[0] != n:
        raise ValueError(f'{n} points but {colors.shape[0]} colours')
    vertex = np.empty(n, dtype=[('x', '<f4'), ('y', '<f4'), ('z', '<f4'),
                                ('red', 'u1'), ('green', 'u1'), ('blue', 'u1')])
    vertex['x'], vertex['y'], vertex['z'] = points.T
    vertex['red'], vertex['green'], vertex['blue'] = colors.T
    header = ['ply', 'format binary_little_endian 1.0']
    header += [f'comment {c}'.replace('\n', ' ') for c in comments]
    header += [f'element vertex {n}', 'property float x', 'property float y', 'property float z',
               'property uchar red', 'property uchar green', 'property uchar blue',
               'end_header']
    with open(path, 'wb') as f:
        f.write(('\n'.join(header) + '\n').encode('ascii'))
        f.write(vertex.tobytes())


def read_ply(path: str) -> Tuple[dict, np.ndarray]:
    """Read a PLY written by :func:`write_ply`: ``(header info, structured vertex array)``.

    The header info has ``format``, ``count`` and ``comments``. Only the binary little-endian
    ``x y z red green blue`` layout of :func:`write_ply` is supported.
    """
    with open(path, 'rb') as f:
        if f.readline().strip() != b'ply':
            raise ValueError(f'not a PLY file: {path}')
        info = dict(comments=[], count=None, format=None)
        while True:
            line = f.readline()
            if not line:
                raise ValueError(f'PLY header of {path} has no end_header')
            line = line.decode('ascii').strip()
            if line == 'end_header':
                break
            if line.startswith('format '):
                info['format'] = line.split()[1]
            elif line.startswith('comment '):
                info['comments'].append(line[len('comment '):])
            elif line.startswith('element vertex '):
                info['count'] = int(line.split()[2])
        if info['format'] != 'binary_little_endian':
            raise ValueError(f'{path}: only binary_little_endian PLY is supported')
        dtype = np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'),
                          ('red', 'u1'), ('green', 'u1'), ('blue', 'u1')])
        data = np.frombuffer(f.read(), dtype=dtype, count=info['count'])
    return info, data
