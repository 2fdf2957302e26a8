"""Architecture presets of the vision-language captioners, for building without a download.

Each entry names a transformers family (``llava_next``: ``LlavaNextForConditionalGeneration``;
``idefics3``: ``Idefics3ForConditionalGeneration``, the class of SmolVLM) and the sizes of its
vision tower and language model. The full-size entries follow the published checkpoints' configs
(``llava-hf/llava-v1.6-vicuna-7b-hf``: CLIP ViT-L/14-336 + Vicuna-7B (Llama-2 layout);
``llava-hf/llava-v1.6-mistral-7b-hf``: CLIP ViT-L/14-336 + Mistral-7B; ``HuggingFaceTB/
SmolVLM-256M-Instruct``: SigLIP-B/16-512 + SmolLM2-135M, pixel shuffle 4); the ``_toy`` entries keep
the family and shrink every size. :func:`build_synthetic` returns ``(config, processor)`` with a
word-level tokenizer made in code (:func:`tr2m.captioners.hf_loading.word_tokenizer`) and the
family's chat format, so a random-weight model runs the same code path as a downloaded one.
"""
from typing import Tuple

from tr2m.captioners.hf_loading import TOY_WORDS, word_tokenizer

_LLAVA_PINPOINTS_336 = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
_LLAVA_PINPOINTS_28 = [[28, 56], [56, 28], [56, 56]]

#: Chat formats of the families (the published processors carry their own, equal in effect).
CHAT_TEMPLATES = dict(
    vicuna=("{% for m in messages %}{% if m['role'] == 'user' %}A chat between a curious human "
            "and an artificial intelligence assistant. The assistant gives helpful, detailed, and "
            "polite answers to the human's questions. USER: {% for c in m['content'] %}"
            "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}"
            "{% endfor %} {% endif %}{% endfor %}{% if add_generation_prompt %}ASSISTANT:"
            "{% endif %}"),
    mistral=("{% for m in messages %}{% if m['role'] == 'user' %}[INST] "
             "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>\n{% else %}"
             "{{ c['text'] }}{% endif %}{% endfor %} [/INST]{% endif %}{% endfor %}"),
    smolvlm=("<|im_start|>{% for m in messages %}{{ m['role'] | capitalize }}:"
             "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% else %}"
             "{{ c['text'] }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
             "{% if add_generation_prompt %}Assistant:{% endif %}"),
)

_CLIP_L336 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                  num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768,
                  hidden_act='quick_gelu', layer_norm_eps=1e-5)
_CLIP_TOY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                 image_size=28, patch_size=14, projection_dim=32)
_LLAMA2_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                  rms_norm_eps=1e-5)
_MISTRAL_7B = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                   num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768,
                   rms_norm_eps=1e-5, rope_theta=1000000.0, sliding_window=None)
_LM_TOY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
               num_key_value_heads=1, max_position_embeddings=2048)

#: ``arch name -> dict(family, chat, text_model, vision, text, vocab_size, image, ...)``.
VLM_ARCHS = dict(
    llava_next_vicuna_7b=dict(family='llava_next', chat='vicuna', text_model='llama',
                              vision=_CLIP_L336, text=_LLAMA2_7B, vocab_size=32064,
                              pinpoints=_LLAVA_PINPOINTS_336, image_size=336),
    llava_next_mistral_7b=dict(family='llava_next', chat='mistral', text_model='mistral',
                               vision=_CLIP_L336, text=_MISTRAL_7B, vocab_size=32064,
                               pinpoints=_LLAVA_PINPOINTS_336, image_size=336),
    smolvlm_256m=dict(family='idefics3', chat='smolvlm', text_model='llama',
                      vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                  num_attention_heads=12, image_size=512, patch_size=16),
                      text=dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                                num_attention_heads=9, num_key_value_heads=3,
                                max_position_embeddings=8192, rope_theta=100000.0,
                                rms_norm_eps=1e-5),
                      vocab_size=49280, scale_factor=4, longest_edge=2048, tile=512),
    llava_next_vicuna_toy=dict(family='llava_next', chat='vicuna', text_model='llama',
                               vision=_CLIP_TOY, text=_LM_TOY, vocab_size=160,
                               pinpoints=_LLAVA_PINPOINTS_28, image_size=28),
    llava_next_mistral_toy=dict(family='llava_next', chat='mistral', text_model='mistral',
                                vision=_CLIP_TOY, text=dict(_LM_TOY, sliding_window=None),
                                vocab_size=160, pinpoints=_LLAVA_PINPOINTS_28, image_size=28),
    smolvlm_toy=dict(family='idefics3', chat='smolvlm', text_model='llama',
                     vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=2, image_size=32, patch_size=8),
                     text=_LM_TOY, vocab_size=160, scale_factor=2, longest_edge=64, tile=32),
)


def _text_config(arch: dict, tok):
    from transformers import LlamaConfig, MistralConfig

    cls = dict(llama=LlamaConfig, mistral=MistralConfig)[arch['text_model']]
    return cls(vocab_size=arch['vocab_size'], pad_token_id=tok.pad_token_id,
               bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **arch['text'])


def _llava_next(arch: dict) -> Tuple[object, object]:
    from transformers import (
        CLIPVisionConfig,
        LlavaNextConfig,
        LlavaNextImageProcessor,
        LlavaNextProcessor,
    )

    special = ['<unk>', '<s>', '</s>', '<pad>', '<image>']
    tok = word_tokenizer(TOY_WORDS, special, arch['vocab_size'],
                         dict(unk_token='<unk>', bos_token='<s>', eos_token='</s>',
                              pad_token='<pad>'), dict(image_token='<image>'))
    vision = arch['vision']
    config = LlavaNextConfig(vision_config=CLIPVisionConfig(**vision),
                             text_config=_text_config(arch, tok),
                             image_token_index=tok.convert_tokens_to_ids('<image>'),
                             image_grid_pinpoints=arch['pinpoints'],
                             image_seq_length=(vision['image_size'] // vision['patch_size']) ** 2)
    size = arch['image_size']
    image_processor = LlavaNextImageProcessor(
        size={'shortest_edge': size}, crop_size={'height': size, 'width': size},
        image_grid_pinpoints=arch['pinpoints'])
    processor = LlavaNextProcessor(image_processor=image_processor, tokenizer=tok,
                                   patch_size=vision['patch_size'],
                                   vision_feature_select_strategy='default',
                                   num_additional_image_tokens=1,
                                   chat_template=CHAT_TEMPLATES[arch['chat']])
    return config, processor


def _idefics3(arch: dict) -> Tuple[object, object]:
    from transformers import (
        Idefics3Config,
        Idefics3ImageProcessor,
        Idefics3Processor,
        Idefics3VisionConfig,
    )

    grid = [f'<row_{r}_col_{c}>' for r in range(1, 7) for c in range(1, 7)]
    special = ['<unk>', '<|im_start|>', '<end_of_utterance>', '<pad>', '<image>',
               '<fake_token_around_image>', '<global-img>'] + grid
    tok = word_tokenizer(TOY_WORDS, special, arch['vocab_size'],
                         dict(unk_token='<unk>', bos_token='<|im_start|>',
                              eos_token='<end_of_utterance>', pad_token='<pad>'),
                         dict(image_token='<image>', fake_image_token='<fake_token_around_image>',
                              global_image_token='<global-img>',
                              end_of_utterance_token='<end_of_utterance>'))
    vision = arch['vision']
    config = Idefics3Config(vision_config=Idefics3VisionConfig(**vision),
                            text_config=_text_config(arch, tok),
                            image_token_id=tok.convert_tokens_to_ids('<image>'),
                            scale_factor=arch['scale_factor'])
    image_processor = Idefics3ImageProcessor(size={'longest_edge': arch['longest_edge']},
                                             max_image_size={'longest_edge': arch['tile']},
                                             do_image_splitting=True)
    seq_len = (vision['image_size'] // vision['patch_size']) ** 2 // arch['scale_factor'] ** 2
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tok,
                                  image_seq_len=seq_len, chat_template=CHAT_TEMPLATES[arch['chat']])
    return config, processor


def build_synthetic(arch_name: str) -> Tuple[object, object]:
    """``(config, processor)`` of an architecture preset (no download)."""
    if arch_name not in VLM_ARCHS:
        raise KeyError(f'unknown VLM arch {arch_name!r}; known: {sorted(VLM_ARCHS)}')
    arch = VLM_ARCHS[arch_name]
    if arch['family'] == 'llava_next':
        return _llava_next(arch)
    elif arch['family'] == 'idefics3':
        return _idefics3(arch)
    else:
        raise ValueError(f"unknown VLM family {arch['family']!r} of arch {arch_name!r}")


def model_class(config):
    """The transformers class of a config's family."""
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText._model_mapping[type(config)]
