"""tr2m/analysis/soc_report.py: medians over a training log and the per-seed pooling (the
tools: tests/test_tools/test_soc_reports.py)."""
import json

from tr2m.analysis.soc_report import median_scalar, report


def test_median_scalar_reads_the_newest_log(tmp_path):
    for stamp, values in (('20260101_000000', [9.0]), ('20260102_000000', [0.3, 0.1, 0.2])):
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        lines = [json.dumps(dict(loss=1.0, step=0))]
        lines += [json.dumps(dict(gratio_soc=v, step=i + 1)) for i, v in enumerate(values)]
        (folder / 'scalars.json').write_text('\n'.join(lines) + '\n')
    assert median_scalar(str(tmp_path), 'gratio_soc') == 0.2
    assert median_scalar(str(tmp_path), 'missing_key') is None


def test_report_pools_seeds_into_medians():
    rows = [dict(grid='g', setting='soc=sum', seed=s, abs_rel=a, sep=p, proj=None, gratio=r)
            for s, a, p, r in ((1, 0.2, 0.02, 0.5), (0, 0.3, 0.04, None))]
    lines = report(rows, 'neck').splitlines()
    assert lines[0].startswith('| grid | setting | seeds |') and '`neck`' in lines[0]
    assert lines[2] == ('| g | soc=sum | 0 1 | 0.300 0.200 | 0.250 | 0.0400 0.0200 | 0.0300 | '
                        '- | 0.5000 |')
