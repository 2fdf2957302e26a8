"""Vision-language captioner: an image-text-to-text model of transformers answers one prompt.

The model is any checkpoint ``AutoModelForImageTextToText`` loads without remote code (LLaVA v1.6
``LlavaNextForConditionalGeneration``; SmolVLM ``Idefics3ForConditionalGeneration``), with its
``AutoProcessor``. Each image gets ``num_captions`` answers to ``prompt``, sampled at
``temperature`` (and ``top_p``) one token at a time. The image and the prompt are encoded once per
image (``encode_once``): the prompt's key/value cache is computed for one copy and repeated for
the ``num_captions`` samples, which then decode side by side.

Sampling is made reproducible per image: the sampled token is ``argmax(logits / T + g)`` with ``g``
Gumbel noise drawn from a generator of its own for every (image, caption), seeded by
:func:`~tr2m.captioners.base.image_seed` ``(seed, key, caption index)``. That is exactly a draw from
``softmax(logits / T)`` (the Gumbel-max identity), it does not depend on which images share a
batch, and ``temperature=0`` is greedy decoding. Images are batched only with images of the same
processed input shape (no padding), so a batch computes what each image alone computes.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from tr2m.captioners.base import BaseCaptioner, Caption, check_images, clean_caption, image_seed
from tr2m.captioners.hf_loading import (
    RANDOM_INIT_ENV,
    commit_of,
    load_pretrained,
    quiet_transformers,
    random_init_requested,
    seeded_init,
)
from tr2m.captioners.vlm_archs import CHAT_TEMPLATES, VLM_ARCHS, build_synthetic, model_class
from tr2m.registry import CAPTIONERS

#: The prompt of the LLaVA presets (see ``VLMCaptioner`` for where it comes from).
DEFAULT_PROMPT = 'Describe the image concisely.'


def gumbel_noise(generator: torch.Generator, size: int) -> torch.Tensor:
    """``-log(-log(u))`` for ``u ~ U(0, 1)`` of ``size`` entries, float32 on the CPU."""
    u = torch.rand(size, generator=generator, dtype=torch.float64)
    u = u.clamp(1e-12, 1.0 - 1e-12)
    return (-torch.log(-torch.log(u))).float()


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability adds up to ``top_p`` (at least one);
    the others get ``-inf``. ``logits``: ``(B, V)``."""
    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # probability mass of the better tokens
    drop_sorted = before > top_p
    drop_sorted[:, 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)
    return logits.masked_fill(drop, float('-inf'))


class GumbelSampler:
    """Logits processor turning greedy decoding into per-row seeded sampling (module docstring).

    Args:
        seeds (Sequence[int]): one seed per row of the batch.
        temperature (float): softmax temperature; 0 is greedy.
        top_p (float): nucleus mass; 1 keeps every token.
        banned (Sequence[int]): token ids never produced.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float = 1.0,
                 banned: Sequence[int] = ()) -> None:
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.banned = sorted(set(int(b) for b in banned))

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        scores = scores.float()  # (B, V)
        if self.banned:
            scores[:, [b for b in self.banned if b < scores.shape[1]]] = float('-inf')
        if self.temperature == 0:
            return scores
        scores = top_p_filter(scores / self.temperature, self.top_p)
        noise = torch.stack([gumbel_noise(g, scores.shape[1]) for g in self.generators])
        return scores + noise.to(scores.device)


@CAPTIONERS.register_module()
class VLMCaptioner(BaseCaptioner):
    """Captions from a vision-language model answering ``prompt``.

    Prompt of the LLaVA presets: RSA's LLaVA prompt is published neither in RSA's code (its
    repository at every commit) nor in TR2M's released code; tr2m uses "Describe the image
    concisely.", the first of LLaVA's documented brief-description instructions (LLaVA paper,
    arXiv 2304.08485, appendix), with LLaVA's ``run_llava.py`` sampling defaults (temperature
    0.2, up to 512 new tokens), and five samples per image as RSA released.

    Args:
        model_id (str, optional): hub id (``'llava-hf/llava-v1.6-vicuna-7b-hf'``); None for a
            ``_toy`` preset (random weights only).
        arch (str): architecture preset of :data:`~tr2m.captioners.vlm_archs.VLM_ARCHS`, built
            with random weights under ``TR2M_RANDOM_INIT=1`` or without ``model_id``.
        revision (str): hub revision (branch, tag or commit). Defaults to 'main'.
        model_path (str, optional): local ``save_pretrained`` folder used instead of the hub.
        prompt (str): the instruction. Defaults to :data:`DEFAULT_PROMPT`.
        num_captions (int): captions per image. Defaults to 5.
        temperature (float): sampling temperature (0: greedy, then ``num_captions`` must be 1).
            Defaults to 0.2.
        top_p (float): nucleus sampling mass. Defaults to 1.0 (off).
        max_new_tokens (int): longest caption in tokens. Defaults to 512.
        suppress_special (bool): never produce special tokens (end of text included: every
            caption is ``max_new_tokens`` long; for random-weight toys). Defaults to False.
        device (str, optional): ``'cpu'``, ``'cuda'``... Defaults to cuda when available.
        dtype (str): ``'auto'`` (bfloat16 on CUDA, float32 on CPU), ``'float32'``,
            ``'bfloat16'`` or ``'float16'``. Defaults to 'auto'.
        image_splitting (bool, optional): SmolVLM / Idefics3 processors only: False sees the
            image as one tile of the processor's ``max_image_size`` (512 for SmolVLM: 64 image
            tokens), True also as a grid of such tiles (up to 17 tiles and 1,088 tokens at
            SmolVLM's 2048 longest edge); None keeps the processor's setting. Defaults to None.
        encode_once (bool): encode each image and the prompt once and repeat the cache for the
            ``num_captions`` samples (the same captions as encoding every copy, up to float
            rounding; ``num_captions`` times fewer image encodings). Defaults to True.
        **kwargs: :class:`~tr2m.captioners.base.BaseCaptioner` arguments (``seed``,
            ``batch_size``, ``name``).
    """

    def __init__(self, arch: str, model_id: Optional[str] = None, revision: str = 'main',
                 model_path: Optional[str] = None, prompt: str = DEFAULT_PROMPT,
                 num_captions: int = 5, temperature: float = 0.2, top_p: float = 1.0,
                 max_new_tokens: int = 512, suppress_special: bool = False,
                 device: Optional[str] = None, dtype: str = 'auto',
                 image_splitting: Optional[bool] = None, encode_once: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if arch not in VLM_ARCHS:
            raise KeyError(f'unknown VLM arch {arch!r}; known: {sorted(VLM_ARCHS)}')
        if num_captions < 1:
            raise ValueError(f'num_captions must be >= 1, got {num_captions}')
        if temperature < 0 or (temperature == 0 and num_captions > 1):
            raise ValueError('temperature must be > 0 for several captions per image (0 is '
                             f'greedy: one caption), got {temperature} with {num_captions}')
        if not 0 < top_p <= 1:
            raise ValueError(f'top_p must be in (0, 1], got {top_p}')
        self.arch, self.model_id, self.revision = arch, model_id, revision
        self.model_path, self.prompt = model_path, prompt
        self.num_per_image, self.temperature, self.top_p = int(num_captions), temperature, top_p
        self.max_new_tokens, self.suppress_special = int(max_new_tokens), suppress_special
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.dtype = self._resolve_dtype(dtype, self.device)
        quiet_transformers()
        self.random_weights = model_id is None and model_path is None or random_init_requested()
        if self.random_weights:
            config, self.processor = build_synthetic(arch)
            with seeded_init():
                self.model = model_class(config)(config)
            self.weights = (f'random ({RANDOM_INIT_ENV}=1)' if model_id or model_path
                            else 'random (toy preset: no published weights)')
        else:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            self.processor = load_pretrained(self.name, AutoProcessor.from_pretrained, model_id,
                                             model_path, revision, 'processor')
            self.model = load_pretrained(
                self.name, lambda src, revision: AutoModelForImageTextToText.from_pretrained(
                    src, revision=revision, dtype=self.dtype), model_id, model_path, revision,
                'model')
            self.weights = 'pretrained'
        self.model.to(device=self.device, dtype=self.dtype).eval()
        self.image_splitting = self._set_image_splitting(image_splitting)
        self.encode_once = bool(encode_once)
        self.chat_prompt = self._render_prompt()
        self._provenance = self._make_provenance()

    @staticmethod
    def _resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
        if dtype == 'auto':
            return torch.bfloat16 if device.type == 'cuda' else torch.float32
        elif dtype in ('float32', 'bfloat16', 'float16'):
            return getattr(torch, dtype)
        else:
            raise ValueError(f"dtype must be 'auto', 'float32', 'bfloat16' or 'float16', "
                             f'got {dtype!r}')

    def _set_image_splitting(self, splitting: Optional[bool]) -> Optional[bool]:
        image_processor = getattr(self.processor, 'image_processor', None)
        if not hasattr(image_processor, 'do_image_splitting'):
            if splitting is not None:
                raise ValueError(f'image_splitting is for SmolVLM / Idefics3 processors; '
                                 f'{type(image_processor).__name__} has none')
            return None
        if splitting is not None:
            image_processor.do_image_splitting = bool(splitting)
            if not splitting:  # one tile: the image's longest edge becomes the tile's
                image_processor.size = {'longest_edge': image_processor.max_image_size[
                    'longest_edge']}
        return bool(image_processor.do_image_splitting)

    def _render_prompt(self) -> str:
        messages = [dict(role='user', content=[dict(type='image'),
                                               dict(type='text', text=self.prompt)])]
        template = getattr(self.processor, 'chat_template', None) or \
            CHAT_TEMPLATES[VLM_ARCHS[self.arch]['chat']]
        return self.processor.apply_chat_template(messages, chat_template=template,
                                                  add_generation_prompt=True)

    def _make_provenance(self) -> Dict:
        return dict(
            captioner=self.name, type=type(self).__name__, model=self.model_id,
            model_path=self.model_path,
            revision=self.revision if self.model_id and not self.model_path else None,
            commit=commit_of(self.model), weights=self.weights, arch=self.arch,
            model_class=type(self.model).__name__, prompt=self.prompt,
            chat_prompt=self.chat_prompt,
            generation=dict(sampling='softmax(logits / temperature) by Gumbel-max, one '
                            'generator per image and caption', temperature=self.temperature,
                            top_p=self.top_p, max_new_tokens=self.max_new_tokens,
                            suppress_special=self.suppress_special),
            image_splitting=self.image_splitting,
            seed=self.seed, dtype=str(self.dtype).replace('torch.', ''),
            device=self.device.type, count=self.num_per_image)

    @property
    def sources(self) -> List[Dict]:
        return [self._provenance]

    def save_pretrained(self, folder: str) -> None:
        """Write the model and processor as a folder ``model_path`` loads."""
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)

    def to(self, device) -> 'VLMCaptioner':
        self.device = torch.device(device)
        self.model.to(self.device)
        self._provenance['device'] = self.device.type
        return self

    def _inputs(self, image: np.ndarray) -> Dict[str, torch.Tensor]:
        nested = type(self.processor).__name__ in ('Idefics3Processor', 'SmolVLMProcessor')
        inputs = self.processor(images=[[image]] if nested else [image], text=[self.chat_prompt],
                                return_tensors='pt')
        return {k: v for k, v in inputs.items() if isinstance(v, torch.Tensor)}

    def _banned(self) -> List[int]:
        if not self.suppress_special:
            return []
        tok = getattr(self.processor, 'tokenizer', self.processor)
        return list(tok.all_special_ids)

    def _encoded_once(self, inputs: Dict[str, torch.Tensor], n: int) -> Dict[str, object]:
        """``generate`` arguments whose cache holds the prompt but its last token, computed once
        per image and repeated ``n`` times (the image tokens are never last in the prompt)."""
        ids = inputs['input_ids']
        prefix = {k: (v[:, :-1] if k in ('input_ids', 'attention_mask') else v)
                  for k, v in inputs.items()}
        out = self.model(**prefix, use_cache=True)
        # transformers 5 names the cache ``cache`` (``past_key_values`` before, deprecated after)
        name = 'cache' if 'cache' in getattr(out, '__dataclass_fields__', {}) else \
            'past_key_values'
        cache = out[name]
        cache.batch_repeat_interleave(n)
        gen = {'input_ids': ids.repeat_interleave(n, dim=0), name: cache}
        if 'attention_mask' in inputs:
            gen['attention_mask'] = inputs['attention_mask'].repeat_interleave(n, dim=0)
        return gen

    @torch.no_grad()
    def _generate(self, batch: List[Dict[str, torch.Tensor]], keys: List[str]) -> List[List[str]]:
        n = self.num_per_image
        inputs = {name: torch.cat([b[name] for b in batch]) for name in batch[0]}
        for name, value in inputs.items():
            value = value.to(self.device)
            inputs[name] = value.to(self.dtype) if value.is_floating_point() else value
        if self.encode_once and n > 1:
            inputs = self._encoded_once(inputs, n)
        else:
            inputs = {k: v.repeat_interleave(n, dim=0) for k, v in inputs.items()}
        seeds = [image_seed(self.seed, key, i) for key in keys for i in range(n)]
        sampler = GumbelSampler(seeds, self.temperature, self.top_p, self._banned())
        from transformers import GenerationConfig, LogitsProcessorList

        gen = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=self.max_new_tokens,
                               pad_token_id=self.model.generation_config.pad_token_id,
                               eos_token_id=self.model.generation_config.eos_token_id)
        out = self.model.generate(**inputs, generation_config=gen,
                                  logits_processor=LogitsProcessorList([sampler]))
        new = out[:, inputs['input_ids'].shape[1]:].cpu()
        texts = self.processor.batch_decode(new, skip_special_tokens=True)
        return [[clean_caption(t) for t in texts[i * n:(i + 1) * n]] for i in range(len(keys))]

    def caption_images(self, images: Sequence[np.ndarray],
                       keys: Sequence[str]) -> List[List[Caption]]:
        check_images(images, keys)
        prepared = [self._inputs(img) for img in images]
        texts: List[List[str]] = []
        start = 0
        while start < len(prepared):  # consecutive images of one input shape share a batch
            shape = {k: tuple(v.shape) for k, v in prepared[start].items()}
            stop = start + 1
            while (stop < len(prepared) and stop - start < self.batch_size
                   and {k: tuple(v.shape) for k, v in prepared[stop].items()} == shape):
                stop += 1
            texts += self._generate(prepared[start:stop], list(keys[start:stop]))
            start = stop
        return [[Caption(t, self._provenance) for t in row] for row in texts]
