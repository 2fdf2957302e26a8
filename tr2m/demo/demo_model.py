"""The offline demo model: the quickstart's TR2M with a toy relative-depth network.

What it is: TR2M at the quickstart's widths (``configs/quickstart/tr2m_synthetic.py``: DINOv2
at toy width, the real all-MiniLM-L6-v2 sentence encoder shipped by a PyPI package, a 4-head
neck, 64-wide decoders) whose relative depth comes from the toy Depth Anything network
(``da_tiny``) instead of the quickstart's GT simulation, so it runs on any image. Every weight
but the text encoder's is **random**: built from seed 0, the trainable ones then moved by seeded
noise (std 0.03) so that the scale and shift maps depend on the image and the caption (untrained
TR2M heads start as the constant 1), and the toy network's output bias set to 1 (its random
output is otherwise 0 after the final ReLU). It shows the pipeline, not a trained model's
accuracy; a relative-depth file given with the image replaces the toy network.
"""
import copy

import torch
from torch import nn

#: The demo model's config (plain data): model and the test pipeline inference uses.
DEMO_CONFIG = dict(
    model=dict(
        type='TR2M',
        data_preprocessor=dict(type='DepthDataPreprocessor'),
        relative_depth=dict(type='TransformersRelativeDepth', arch='da_tiny', pretrained=None),
        image_encoder=dict(type='DINOv2Encoder', arch='vit_tiny14', pretrained=None),
        text_encoder=dict(type='SentenceTextEncoder', arch='all-MiniLM-L6-v2',
                          pretrained='sentence-transformers/all-MiniLM-L6-v2'),
        neck=dict(type='CrossModalAttentionNeck', num_heads=4, head_dim=16, qkv_proj=True,
                  text_tokens='pooled', modalities=('image', 'text')),
        scale_head=dict(type='RescaleHead', channels=64, num_stages=2),
        shift_head=dict(type='RescaleHead', channels=64, num_stages=2),
    ),
    test_dataloader=dict(dataset=dict(type='DepthManifestDataset', pipeline=[
        dict(type='LoadRGBImage'),
        dict(type='Resize', scale=(84, 112), size_divisor=14),
        dict(type='PackDepthInputs'),
    ], protocol=dict(units='m'))),
)
#: What the demo page says about the model.
DEMO_NOTE = ('Offline demo model: the quickstart TR2M with a toy relative-depth network; every '
             'weight but the text encoder\'s is random (seeded), so the depth shows the '
             'pipeline, not a trained model.')


def build_demo_model(seed: int = 0, noise: float = 0.03) -> nn.Module:
    """The demo model (see the module docstring), in eval mode, with ``cfg``."""
    from mmengine.config import Config

    from tr2m.registry import MODELS
    from tr2m.utils import register_all_modules

    register_all_modules()
    cfg = Config(copy.deepcopy(DEMO_CONFIG))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MODELS.build(cfg.model)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * noise)
        model.relative_depth.model.head.conv3.bias.fill_(1.0)
    model.cfg = cfg
    model.demo_note = DEMO_NOTE
    return model.eval()
