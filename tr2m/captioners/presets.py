"""Named captioner presets (``tools/caption.py --captioner NAME``), each with a ``<name>_toy`` twin.

A preset is a config dict built through :data:`tr2m.registry.CAPTIONERS`. The ``_toy`` twin has
the same class and architecture family at toy size, random weights, and a few new tokens, so it
builds offline in a second (tests, CI, trying the tools). :func:`build_captioner` takes a preset
name or a config and overrides (``model_path=``, ``seed=``, ``batch_size=`` ...); an override that
the preset's class does not take is an error naming the ones it does.
"""
import copy
import difflib
import inspect
from typing import Dict, List, Union

from tr2m.captioners.base import BaseCaptioner
from tr2m.registry import CAPTIONERS
from tr2m.utils.errors import ArgumentError

_TOY_GEN = dict(max_new_tokens=8, suppress_special=True)


def _vlm(model_id: str, arch: str, **kw) -> dict:
    return dict(type='VLMCaptioner', model_id=model_id, arch=arch, **kw)


def _toy_vlm(arch: str) -> dict:
    return dict(type='VLMCaptioner', model_id=None, arch=arch, **_TOY_GEN)


_OBJECTS = dict(type='ObjectListCaptioner',
                model_id='facebook/mask2former-swin-large-coco-panoptic',
                arch='mask2former_swin_large_coco_panoptic')
# the toy's random masks rarely pass Mask2Former's thresholds: keep every query so the toy
# writes objects
_OBJECTS_TOY = dict(type='ObjectListCaptioner', model_id=None, arch='mask2former_toy',
                    threshold=0.0, mask_threshold=0.0, overlap_mask_area_threshold=0.0)

#: ``name -> (config, one-line description)``.
CAPTIONER_PRESETS: Dict[str, tuple] = dict(
    llava_v16_vicuna=(_vlm('llava-hf/llava-v1.6-vicuna-7b-hf', 'llava_next_vicuna_7b'),
                      'LLaVA v1.6 Vicuna-7B, 5 sampled captions (the paper\'s zero-shot sets)'),
    llava_v16_mistral=(_vlm('llava-hf/llava-v1.6-mistral-7b-hf', 'llava_next_mistral_7b'),
                       'LLaVA v1.6 Mistral-7B, 5 sampled captions'),
    smolvlm_256m=(_vlm('HuggingFaceTB/SmolVLM-256M-Instruct', 'smolvlm_256m',
                       image_splitting=False),
                  'SmolVLM-256M-Instruct on one 512x512 tile, 5 sampled captions (a laptop CPU '
                  'model)'),
    object_list=(_OBJECTS, 'COCO panoptic objects (Mask2Former Swin-L) in RSA\'s sentence '
                 'grammar, 5 orders'),
    surgical_c3vd=(dict(type='SurgicalTemplateCaptioner', dataset='c3vd'),
                   'C3VD template from the sequence name (no model)'),
    surgical_simcol=(dict(type='SurgicalTemplateCaptioner', dataset='simcol'),
                     'SimCol template from the colon folder (no model)'),
    rsa_15=(dict(type='CompositeCaptioner',
                 captioners=['llava_v16_mistral', 'llava_v16_vicuna', 'object_list']),
            'RSA\'s 15 per image: 5 LLaVA Mistral, 5 LLaVA Vicuna, 5 object lists'),
)
CAPTIONER_PRESETS.update(
    llava_v16_vicuna_toy=(_toy_vlm('llava_next_vicuna_toy'), 'toy twin of llava_v16_vicuna'),
    llava_v16_mistral_toy=(_toy_vlm('llava_next_mistral_toy'), 'toy twin of llava_v16_mistral'),
    smolvlm_256m_toy=(dict(_toy_vlm('smolvlm_toy'), image_splitting=False),
                      'toy twin of smolvlm_256m'),
    object_list_toy=(_OBJECTS_TOY, 'toy twin of object_list'),
    surgical_c3vd_toy=(dict(type='SurgicalTemplateCaptioner', dataset='c3vd'),
                       'twin of surgical_c3vd (no model: identical)'),
    surgical_simcol_toy=(dict(type='SurgicalTemplateCaptioner', dataset='simcol'),
                         'twin of surgical_simcol (no model: identical)'),
    rsa_15_toy=(dict(type='CompositeCaptioner', captioners=[
        'llava_v16_mistral_toy', 'llava_v16_vicuna_toy', 'object_list_toy']),
        'toy twin of rsa_15'),
)


def preset_names(toy: Union[bool, None] = None) -> List[str]:
    """Preset names (all, only toys, or only full presets), in table order."""
    names = list(CAPTIONER_PRESETS)
    if toy is None:
        return names
    return [n for n in names if n.endswith('_toy') == toy]


def preset_config(name: str) -> dict:
    """A copy of the preset's config (with ``name``); an unknown name is an
    :class:`~tr2m.utils.errors.ArgumentError` naming the closest presets."""
    if name not in CAPTIONER_PRESETS:
        close = difflib.get_close_matches(name, list(CAPTIONER_PRESETS), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise ArgumentError(f'unknown captioner preset {name!r}{hint} (tools/caption.py --list '
                            'shows them)')
    cfg = copy.deepcopy(CAPTIONER_PRESETS[name][0])
    cfg['name'] = name
    return cfg


def _accepted(cls) -> set:
    names = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        names |= {p for p in inspect.signature(klass.__init__).parameters
                  if p not in ('self', 'args', 'kwargs')}
    return names


def build_captioner(spec: Union[str, dict, BaseCaptioner], **overrides) -> BaseCaptioner:
    """Build a captioner from a preset name or a config dict (or pass a built one through).

    Args:
        spec: preset name (:data:`CAPTIONER_PRESETS`), config dict with ``type``, or a captioner.
        **overrides: constructor arguments replacing the preset's (None values are ignored).

    Raises:
        ArgumentError: unknown preset, or an override the class does not take.
    """
    if isinstance(spec, BaseCaptioner):
        return spec
    cfg = preset_config(spec) if isinstance(spec, str) else copy.deepcopy(dict(spec))
    overrides = {k: v for k, v in overrides.items() if v is not None}
    cls = CAPTIONERS.get(cfg.get('type'))
    if cls is None:
        raise ArgumentError(f"unknown captioner type {cfg.get('type')!r}; known: "
                            f'{sorted(CAPTIONERS.module_dict)}')
    accepted = _accepted(cls)
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise ArgumentError(f"captioner {cfg.get('name', cfg['type'])!r} ({cfg['type']}) takes "
                            f'no {unknown}; it takes {sorted(accepted)}')
    cfg.update(overrides)
    return CAPTIONERS.build(cfg)
