"""``tools/analysis_tools/analyze_logs.py``: curves of a work dir (several runs), from the JSON
lines mmengine's LocalVisBackend writes."""
import json

import cv2
import numpy as np
import pytest

from tr2m.utils.errors import DataError, MissingFileError
from tr2m.visualization.curves import PALETTE, plot_curves


def _write_run(work, stamp, records):
    folder = work / stamp / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))


@pytest.fixture
def work_dir(tmp_path):
    work = tmp_path / 'work'
    train = [dict(lr=1e-3, loss=4.0 - i, loss_silog=2.0 - i / 2, time=0.1, epoch=1 + i // 2,
                  iter=6 * (i + 1), step=6 * (i + 1)) for i in range(4)]
    val = [{'synthetic_indoor/abs_rel': [0.4, 0.3][e - 1], 'abs_rel': [0.5, 0.4][e - 1],
            'd1': [0.4, 0.2][e - 1], 'step': e} for e in (1, 2)]
    _write_run(work, '20260101_000000', train[:2] + val[:1])
    # a resumed training: a second run; its step 12 replaces the first run's
    train[1] = dict(train[1], loss=2.5)
    _write_run(work, '20260101_010000', train[1:] + val[1:])
    return work


def test_curves_of_all_runs(load_tool, work_dir, capsys):
    tool = load_tool('tools/analysis_tools/analyze_logs.py')
    written = tool.main([str(work_dir)])
    assert [p.rsplit('/', 1)[1] for p in written] == ['losses.png', 'metrics.png']
    curves = json.loads((work_dir / 'analysis' / 'curves.json').read_text())
    assert curves['losses']['loss'] == [[6, 12, 18, 24], [4.0, 2.5, 2.0, 1.0]]
    assert curves['losses']['loss_silog'][1] == [2.0, 1.5, 1.0, 0.5]
    assert curves['metrics']['abs_rel'] == {'all': [[1, 2], [0.5, 0.4]],
                                            'synthetic_indoor': [[1, 2], [0.4, 0.3]]}
    assert list(curves['metrics']) == ['abs_rel', 'd1']  # metrics that were logged
    printed = capsys.readouterr().out
    lines = [' '.join(ln.split()) for ln in printed.splitlines()]
    assert 'abs_rel all best 0.4 (epoch 2), last 0.4' in lines
    assert 'd1 all best 0.4 (epoch 1), last 0.2' in lines  # higher is better for d1
    assert 'loss last 1 (iteration 24)' in lines
    for path in written:
        img = cv2.imread(path)
        assert img is not None and img.shape[0] > 100


def test_errors(load_tool, tmp_path, work_dir):
    tool = load_tool('tools/analysis_tools/analyze_logs.py')
    with pytest.raises(MissingFileError, match='work dir not found'):
        tool.main([str(tmp_path / 'none')])
    with pytest.raises(MissingFileError, match='no \\*/vis_data/scalars.json'):
        tool.main([str(tmp_path)])
    with pytest.raises(DataError, match='none of'):
        tool.main([str(work_dir), '--losses', 'loss_typo'])
    (work_dir / '20260101_010000/vis_data/scalars.json').write_text('{"loss": 1,\n')
    with pytest.raises(DataError, match='scalars.json:1 is not JSON'):
        tool.main([str(work_dir)])


def test_plot_draws_each_series_in_its_colour():
    img = plot_curves({'a': ([0, 1, 2], [1.0, 2.0, 3.0]), 'b': ([0, 2], [3.0, 1.0])},
                      'title', 'x', size=(200, 300))
    assert img.shape == (200, 300, 3)
    for color in PALETTE[:2]:
        assert (np.abs(img.astype(int) - color).sum(2) < 30).sum() > 50
    empty = plot_curves({'a': ([0], [float('nan')])}, 'empty')
    assert (empty == 255).mean() > 0.95  # 'no data', nothing drawn
