"""``soc_separability.py`` (stdout is one JSON object) and ``soc_grid_report.py`` (per-seed
pooling of an ablation grid)."""
import json

import pytest


def test_separability_json_is_the_only_stdout(load_tool, tiny_checkpoint, tiny_config, capsys):
    tool = load_tool('tools/analysis_tools/soc_separability.py')
    out = tool.main([str(tiny_config), str(tiny_checkpoint), '--json'])
    printed = json.loads(capsys.readouterr().out)  # mmengine's loading messages went to stderr
    assert printed == json.loads(json.dumps(out))
    assert set(out) == {'all', 'synthetic_indoor', 'synthetic_outdoor', 'synthetic_endoscopic'}
    for feature in ('neck', 'soc.projector'):
        row = out['all'][feature]
        assert row['images'] == 6
        assert row['score'] == pytest.approx(row['intra'] - row['inter'])
        assert -1 <= row['inter'] <= 1 and -1 <= row['intra'] <= 1


def _run(grid, name, abs_rel, score, gratios=None, proj=None):
    run = grid / name
    (run / '20260101_000000' / 'vis_data').mkdir(parents=True)
    (run / 'run.json').write_text(json.dumps(dict(
        name=name, status='ok', checkpoint=str(run / 'epoch_1.pth'),
        metrics=dict(abs_rel=abs_rel, d1=0.5))))
    sep = {'neck': dict(intra=0.9, inter=0.9 - score, score=score, images=3)}
    if proj is not None:
        sep['soc.projector'] = dict(intra=0.5, inter=0.5 - proj, score=proj, images=3)
    (run / 'separability.json').write_text(json.dumps({'all': sep}))
    lines = [json.dumps(dict(loss=1.0, step=1))]
    lines += [json.dumps(dict(loss=1.0, gratio_soc=g, step=i + 2)) for i, g in
              enumerate(gratios or [])]
    (run / '20260101_000000' / 'vis_data' / 'scalars.json').write_text('\n'.join(lines) + '\n')


def test_grid_report_pools_seeds(load_tool, tmp_path):
    grid = tmp_path / 'my_grid'
    _run(grid, 'soc=sum__seed=0', 0.30, 0.04, [0.1, 0.3, 0.2], proj=0.01)
    _run(grid, 'soc=sum__seed=1', 0.20, 0.02, [0.5], proj=0.03)
    _run(grid, 'soc=sum__seed=2', 0.40, 0.06, [0.4], proj=0.02)
    _run(grid, 'soc=none__seed=0', 0.25, 0.05)
    (grid / 'failed_run').mkdir()
    (grid / 'failed_run' / 'run.json').write_text(json.dumps(dict(name='x', status='failed')))
    tool = load_tool('tools/analysis_tools/soc_grid_report.py')
    text = tool.main([str(grid), '--out', str(tmp_path / 'report.md')])
    rows = [line for line in text.splitlines() if line.startswith('| my_grid')]
    assert rows == [
        '| my_grid | soc=none | 0 | 0.250 | 0.250 | 0.0500 | 0.0500 | - | - |',
        # medians over seeds; gratio: median over training of each run, then over seeds
        '| my_grid | soc=sum | 0 1 2 | 0.300 0.200 0.400 | 0.300 | 0.0400 0.0200 0.0600 | '
        '0.0400 | 0.0200 | 0.4000 |',
    ]
    assert (tmp_path / 'report.md').read_text() == text + '\n'


def test_grid_report_missing_folder_is_one_line(load_tool, tmp_path):
    from tr2m.utils.errors import ArgumentError

    tool = load_tool('tools/analysis_tools/soc_grid_report.py')
    with pytest.raises(ArgumentError, match='grid folder not found'):
        tool.main([str(tmp_path / 'nope')])


def test_soc_terms_with_checkpoint_and_live_keys(load_tool, tiny_checkpoint, tiny_config,
                                                 capsys):
    tool = load_tool('tools/analysis_tools/soc_terms.py')
    lagged = tool.main([str(tiny_config), str(tiny_checkpoint), '--batches', '1', '--json'])
    assert json.loads(capsys.readouterr().out) == lagged  # stdout is the JSON alone
    live = tool.main([str(tiny_config), str(tiny_checkpoint), '--batches', '1',
                      '--live-keys'])
    assert lagged['keys'] == 'checkpoint' and live['keys'] == 'live'
    for out in (lagged, live):
        assert len(out['batches']) == 1
        row = out['batches'][0]
        assert set(row) == {'loss_soc', 'soc_cos_pos', 'soc_cos_neg'}
        assert row['loss_soc'] > 0 and -1 <= row['soc_cos_neg'] <= row['soc_cos_pos'] + 2
    # the perturbed checkpoint's momentum branch is the initial weights: other keys
    assert lagged['batches'][0]['soc_cos_pos'] != pytest.approx(live['batches'][0]['soc_cos_pos'])


def test_soc_terms_refuses_a_model_without_soc(load_tool, tiny_config, tmp_path):
    from tr2m.utils.errors import ArgumentError

    cfg = tmp_path / 'nosoc.py'
    cfg.write_text(f"_base_ = [{str(tiny_config)!r}]\nmodel = dict(soc=None)\n")
    tool = load_tool('tools/analysis_tools/soc_terms.py')
    with pytest.raises(ArgumentError, match='has no ScaleOrientedContrast'):
        tool.main([str(cfg), 'none'])
