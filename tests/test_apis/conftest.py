"""Shared fixtures of the API and tool tests (``tests/test_tools/conftest.py`` re-exports them).

Everything is offline and tiny: the procedural demo set with 2 train / 2 test frames per domain,
the quickstart config with toy text encoder and decoders, and checkpoints whose trainable
weights are perturbed so that predictions depend on the image and the caption (an untrained
TR2M's zero-initialised last decoder convs make both constant).
"""
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs' / 'quickstart' / 'tr2m_synthetic.py'

#: Toy widths for the quickstart model (the architecture is unchanged, only narrower).
TOY_MODEL = """
    text_encoder=dict(arch='bert_tiny', pretrained=None),
    scale_head=dict(channels=8),
    shift_head=dict(channels=8),
    neck=dict(num_heads=2, head_dim=8),
    soc=dict(projector=dict(hidden_channels=8, out_channels=8)),
"""


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> Path:
    """The procedural demo set: 2 train and 2 test frames per domain (3 domains)."""
    from tr2m.datasets.synthetic import generate_synthetic_rgbd

    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_rgbd(str(root), dict(train=2, test=2))
    return root


def _write_config(path: Path, root: Path, model_extra: str = '') -> Path:
    path.write_text(f"""_base_ = [{str(QUICKSTART)!r}]
model = dict({TOY_MODEL}{model_extra})
train_dataloader = dict(batch_size=6, dataset=dict(data_root={str(root)!r}))
val_dataloader = dict(dataset=dict(data_root={str(root)!r}))
test_dataloader = dict(dataset=dict(data_root={str(root)!r}))
""")
    return path


@pytest.fixture(scope='session')
def tiny_config(tmp_path_factory, synthetic_root) -> Path:
    """The quickstart (simulated relative depth from GT) at toy width on ``synthetic_root``."""
    return _write_config(tmp_path_factory.mktemp('cfg') / 'tiny_tr2m.py', synthetic_root)


@pytest.fixture(scope='session')
def infer_config(tmp_path_factory, synthetic_root) -> Path:
    """Like ``tiny_config`` with a real (random-init, toy) relative-depth network, so it runs
    on images without GT."""
    extra = ("    relative_depth=dict(_delete_=True, type='TransformersRelativeDepth', "
             "arch='da_tiny', pretrained=None),\n")
    return _write_config(tmp_path_factory.mktemp('cfg') / 'tiny_infer.py', synthetic_root, extra)


def perturbed_checkpoint(config: Path, out: Path, std: float = 0.1) -> Path:
    """Save the config's untrained model with seeded noise on every trainable weight."""
    from tr2m.apis import init_depther

    model = init_depther(str(config), None)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * std)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(note='perturbed for tests')), out)
    return out


@pytest.fixture(scope='session')
def infer_checkpoint(tmp_path_factory, infer_config) -> Path:
    return perturbed_checkpoint(infer_config, tmp_path_factory.mktemp('ckpt') / 'infer.pth')


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory, tiny_config) -> Path:
    return perturbed_checkpoint(tiny_config, tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
