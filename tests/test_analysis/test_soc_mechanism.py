"""The controlled SOC experiment (``tools/analysis_tools/soc_mechanism.py``): its data carry the
depth class, its metrics are right on hand-made features, and on a small pooled run (seeds
fixed) the variants that contrast the neck's output raise its separability above no-SOC's
for every seed, while the paper's form takes the turn-away shortcut."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from tr2m.analysis import soc_mechanism as mech
from tr2m.utils.errors import ArgumentError

REPO = Path(__file__).resolve().parents[2]
#: The test's size: 8 x 8 tokens of width 32, 4 images a step, 100 steps, 3 seeds.
SMALL = ['grid=8', 'width=32', 'batch=4', 'steps=100', 'eval_images=8']
SEEDS = [0, 1, 2]


def _tool():
    path = REPO / 'tools/analysis_tools/soc_mechanism.py'
    spec = importlib.util.spec_from_file_location('tr2m_tool_soc_mechanism', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tokens_carry_the_depth_class_under_per_image_noise():
    setup = mech.MechanismSetup(grid=8, width=32, image_noise=3.0, pixel_noise=0.0)
    batch = mech.SyntheticTokens(setup, seed=0).batch(4)
    assert batch.tokens.shape == (4, 32, 8, 8) and batch.gt.shape == (4, 1, 32, 32)
    assert batch.text.pooled.shape == (4, setup.text_width)
    # without per-token noise a token is its class prototype plus its image's offset
    protos = mech.SyntheticTokens(setup, seed=0).prototypes
    offset = batch.tokens - protos[batch.labels].permute(0, 3, 1, 2)
    torch.testing.assert_close(offset, offset[:, :, :1, :1].expand_as(offset))
    torch.testing.assert_close(offset[:, :, 0, 0].norm(dim=1), torch.full((4,), 3.0))
    # 1/D is exactly affine in the relative inverse depth, one (a, b) per image
    inv = 1 / batch.gt
    for b in range(4):
        x, y = batch.rel[b].flatten(), inv[b].flatten()
        a = (y.max() - y.min()) / (x.max() - x.min())
        torch.testing.assert_close(y, a * x + y.min(), rtol=1e-4, atol=1e-6)
    # labels are eq. 7 then the per-cell mode: every class of 0..C occurs somewhere
    assert batch.labels.min() >= 0 and batch.labels.max() <= setup.num_classes


def test_metrics_on_hand_made_features():
    labels = torch.tensor([[[0, 0], [1, 1]], [[0, 0], [1, 1]]])  # (2, 2, 2)
    clean = torch.zeros(2, 3, 2, 2)
    clean[:, 0][labels == 0] = 1
    clean[:, 1][labels == 1] = 1
    # orthogonal classes: intra cosine 1, inter 0
    assert mech.separability(clean, labels, 2) == pytest.approx(1.0)
    assert mech.ncm_accuracy(clean, labels, 2) == 1.0
    # swap the class directions in the second image: the means of one half misclassify all
    swapped = clean.clone()
    swapped[1, 0], swapped[1, 1] = clean[1, 1], clean[1, 0]
    assert mech.separability(swapped, labels, 2) == pytest.approx(1.0)  # per image: still 1
    assert mech.ncm_accuracy(swapped, labels, 2) == 0.0  # across images: every pixel wrong
    # a common vector of norm 3 added to every pixel: cosine separability 1 - 9/10
    common = clean + 3 * torch.tensor([0.0, 0.0, 1.0])[None, :, None, None]
    assert mech.separability(common, labels, 2) == pytest.approx(1 - 0.9)
    assert mech.pool([1.0, 3.0]) == dict(mean=2.0, std=pytest.approx(2 ** 0.5), min=1.0,
                                         max=3.0)
    assert mech.pool([None]) is None


def test_bad_arguments_are_one_clear_error():
    with pytest.raises(ArgumentError, match="unknown variant 'papr'"):
        mech.variants_from(['papr'])
    with pytest.raises(ArgumentError, match='not JSON'):
        mech.variants_from([], ['x={projector: 1}'])
    with pytest.raises(ArgumentError, match='expected NAME=JSON'):
        mech.variants_from([], ['x=[1]'])
    with pytest.raises(ArgumentError, match='NAME one of grid'):
        mech.setup_from(['stepz=3'])
    with pytest.raises(ArgumentError, match='steps takes a int'):
        mech.setup_from(['steps=1.5'])
    assert mech.variants_from(['paper'], ['off=null']) == {'paper': mech.VARIANTS['paper'],
                                                            'off': None}
    with pytest.raises(SystemExit) as err:
        from tr2m.utils import cli

        cli.run(_tool().main, ['--variants', 'nope'], prog='soc_mechanism.py')
    assert err.value.code == 2


@pytest.fixture(scope='module')
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('soc_mechanism') / 'result.json'
    args = ['--variants', 'no_soc,paper,none_mean,linear_mean', '--seeds', *map(str, SEEDS),
            '--json', str(out)]
    for item in SMALL:
        args += ['--set', item]
    _tool().main(args)
    return json.loads(out.read_text())


def _neck(result, variant):
    return [r['end']['neck_sep'] for r in result['runs'][variant]]


@pytest.mark.slow
def test_contrast_on_the_neck_raises_its_separability_for_every_seed(small_run):
    base = _neck(small_run, 'no_soc')
    assert small_run['seeds'] == SEEDS
    for variant in ('none_mean', 'linear_mean'):
        assert all(v > b for v, b in zip(_neck(small_run, variant), base)), variant
    # every variant of a seed starts from the same neck
    starts = {v: [r['start']['neck_sep'] for r in rs] for v, rs in small_run['runs'].items()}
    assert len({tuple(s) for s in starts.values()}) == 1


@pytest.mark.slow
def test_the_paper_form_takes_the_shortcut(small_run):
    paper = small_run['runs']['paper']
    # the turn-away signature: queries point away from their own class's keys ...
    assert all(r['end']['cos_pos'] < 0 for r in paper)
    # ... with no class structure in the contrasted space, unlike mean negatives
    mean = small_run['runs']['linear_mean']
    assert all(p['end']['proj_sep'] < m['end']['proj_sep'] for p, m in zip(paper, mean))
    assert all(r['end']['cos_pos'] > r['end']['cos_neg'] > 0 for r in mean)
