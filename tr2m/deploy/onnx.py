"""ONNX export of TR2M depthers, checked against PyTorch with onnxruntime.

Two graphs (``part``):

- ``'full'``: the whole inference graph, ``image`` (B, 3, H, W) float in [0, 1] at the network
  input size (the model's inference pipeline, e.g. ``Resize``, runs before, as in PyTorch) and
  ``text_embedding`` (B, D') -> ``depth``, ``scale``, ``shift``, ``rel`` (B, 1, H, W): the frozen
  relative-depth network and image encoder (each with its own normalisation), the neck, both
  heads and ``1 / max(A * Dr + B, 1e-8)``.
- ``'trainable'``: only the trained part, fed with precomputed features: ``rel`` (B, 1, H, W),
  ``image_features`` (B, D, h, w) and ``text_embedding`` (B, D') -> ``depth``, ``scale``,
  ``shift``.

How captions enter the graph: as the **pooled text embedding** ``text_embedding`` (B, D') that
the model's own frozen text encoder gives for the caption (``model.text_encoder([caption])
.pooled``, what the neck reads for ``text_tokens='pooled'``). Tokenisers are not ONNX operators,
a caption's embedding is computed once and reused for every frame and image it describes (the
caption table does this already), and the graph stays the same whatever the text encoder is
(CLIP, a sentence encoder). :func:`caption_embedding` computes it; ``metadata_props`` of the
file name the text encoder and its hub id.

Image size: exported with dynamic batch, height and width, then checked by onnxruntime at the
export size and at a second size; if the second size disagrees with PyTorch (a model that bakes
its size into the graph), the file is exported again with a fixed size and ``dynamic`` is False
in the report. Uses the TorchScript-based exporter (``dynamo=False``), which needs no extra
package.
"""
import json
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from tr2m.utils.errors import ArgumentError

#: Graph parts that can be exported.
PARTS = ('full', 'trainable')
#: Default ONNX opset.
OPSET = 17


def relative_at_network_size(rel_model: nn.Module, image: Tensor) -> Tensor:
    """``TransformersRelativeDepth`` on an image already at its network size: its
    normalisation and network, no resizing (sizes stay symbolic in the graph)."""
    from tr2m.models.layers.image_ops import normalize

    p = rel_model.preset
    out = rel_model.model(pixel_values=normalize(image, p['mean'], p['std'])).predicted_depth
    # the identity at the traced size; keeps the output size symbolic in the graph
    return torch.nn.functional.interpolate(out[:, None].float(), size=image.shape[-2:],
                                           mode='bilinear', align_corners=False)


def tokens_at_network_size(encoder: nn.Module, image: Tensor) -> Tensor:
    """``DINOv2Encoder`` on an image whose sides are multiples of 14: patch tokens
    ``(B, D, H/14, W/14)`` without resizing."""
    from tr2m.models.encoders.dinov2 import IMAGENET_MEAN, IMAGENET_STD
    from tr2m.models.layers.image_ops import normalize

    x = normalize(image, IMAGENET_MEAN, IMAGENET_STD)
    tokens = encoder.model(pixel_values=x).last_hidden_state  # (B, 1 + R + N, D)
    gh, gw = image.shape[2] // encoder.patch_size, image.shape[3] // encoder.patch_size
    extra = 1 + getattr(encoder.model.config, 'num_register_tokens', 0)
    patches = tokens[:, extra:]  # drop the class (and register) tokens
    return patches.transpose(1, 2).reshape(image.shape[0], -1, gh, gw)


class FullGraph(nn.Module):
    """TR2M's whole inference graph with the caption as a pooled embedding input."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor, text_embedding: Tensor) -> Tuple[Tensor, ...]:
        from tr2m.functional import affine_inverse_to_depth
        from tr2m.models.encoders.text_base import TextEmbedding

        m = self.model
        rel = relative_at_network_size(m.relative_depth, image)  # (B, 1, H, W)
        feats = tokens_at_network_size(m.image_encoder, image)  # (B, D, h, w)
        b = text_embedding.shape[0]
        text = TextEmbedding(text_embedding, text_embedding.new_zeros(b, 0, 1),
                             torch.zeros(b, 0, dtype=torch.bool))
        fused = m.neck(m.image_tokens_of(feats), text)
        scale, shift = m.rescale_maps(fused, (image.shape[-2], image.shape[-1]))
        return affine_inverse_to_depth(rel, scale, shift), scale, shift, rel


class TrainableGraph(nn.Module):
    """TR2M's trained part (neck, heads, eq. 3) fed with precomputed frozen features."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, rel: Tensor, image_features: Tensor,
                text_embedding: Tensor) -> Tuple[Tensor, ...]:
        from tr2m.functional import affine_inverse_to_depth
        from tr2m.models.encoders.text_base import TextEmbedding

        m = self.model
        b = text_embedding.shape[0]
        text = TextEmbedding(text_embedding, text_embedding.new_zeros(b, 0, 1),
                             torch.zeros(b, 0, dtype=torch.bool))
        fused = m.neck(m.image_tokens_of(image_features), text)  # learnt projection, if any
        scale, shift = m.rescale_maps(fused, (rel.shape[-2], rel.shape[-1]))
        return affine_inverse_to_depth(rel, scale, shift), scale, shift


def check_exportable(model: nn.Module) -> nn.Module:
    """The bare TR2M depther of ``model``; an unsupported model is an error naming why."""
    module = getattr(model, 'module', model)
    if type(module).__name__ != 'TR2M':
        raise ArgumentError(f'ONNX export supports TR2M depthers, got {type(module).__name__}')
    if module.text_encoder is None or 'text' not in getattr(module.neck, 'modalities', ()):
        raise ArgumentError('ONNX export needs a TR2M with a text encoder and a neck that '
                            'reads text (the caption is an input of the graph)')
    if getattr(module.neck, 'text_tokens', 'pooled') != 'pooled':
        raise ArgumentError("ONNX export takes the pooled caption embedding: the neck's "
                            "text_tokens must be 'pooled'")
    rel, enc = type(module.relative_depth).__name__, type(module.image_encoder).__name__
    if rel != 'TransformersRelativeDepth' or enc != 'DINOv2Encoder':
        raise ArgumentError(f'--part full exports TransformersRelativeDepth + DINOv2Encoder '
                            f'models; this one has {rel} + {enc} (a SimulatedRelativeDepth '
                            'needs GT; shared tokens have no image encoder): export --part '
                            'trainable, whose inputs are the frozen features')
    if module.relative_depth.preset.get('square') or module.relative_depth.input_size or \
            module.image_encoder.input_size:
        raise ArgumentError('--part full needs frozen models that run at the image\'s own size '
                            '(Depth Anything presets, input_size None); export --part '
                            'trainable')
    return module


def check_network_size(model: nn.Module, image: Tensor) -> None:
    """The full graph takes the image at the network size: sides multiples of the relative
    network's multiple and of 14."""
    module = getattr(model, 'module', model)
    h, w = image.shape[-2:]
    if module.relative_depth.network_size(h, w) != (h, w) or h % 14 or w % 14:
        raise ArgumentError(f'--part full: an input of {h}x{w} is not at the network size '
                            f'(sides multiples of 14); use the inference pipeline\'s size')


def caption_embedding(model: nn.Module, captions: Sequence[str]) -> Tensor:
    """The graph's ``text_embedding`` input for ``captions``: ``(B, D')`` float32."""
    module = getattr(model, 'module', model)
    with torch.no_grad():
        return module.text_encoder(list(captions)).pooled.float().cpu()


def example_inputs(model: nn.Module, part: str, image: Tensor, captions: Sequence[str]
                   ) -> Dict[str, Tensor]:
    """The graph's named inputs for ``image`` (B, 3, H, W) in [0, 1] and its captions."""
    module = getattr(model, 'module', model)
    text = caption_embedding(module, captions)
    if part == 'full':
        return dict(image=image.float(), text_embedding=text)
    elif part == 'trainable':
        with torch.no_grad():
            if type(module.relative_depth).__name__ == 'SimulatedRelativeDepth':
                # relative depth simulated from GT (the quickstart): an example ramp instead
                h, w = image.shape[-2:]
                rel = torch.linspace(1.0, 2.0, h)[:, None].expand(h, w)
                rel = rel.expand(image.shape[0], 1, h, w).contiguous()
                feats = module.image_encoder(image.float(), None)
            else:
                rel, feats = module.frozen_image_features(image.float(), None)
        return dict(rel=rel.float(), image_features=feats.float(), text_embedding=text)
    else:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')


def graph_module(model: nn.Module, part: str) -> nn.Module:
    module = getattr(model, 'module', model)
    if part == 'full':
        return FullGraph(check_exportable(module)).eval()
    elif part == 'trainable':
        return TrainableGraph(module).eval()
    else:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')


def _export(graph: nn.Module, inputs: Dict[str, Tensor], path: str, part: str,
            dynamic: bool, opset: int) -> None:
    import warnings

    outputs = ['depth', 'scale', 'shift'] + (['rel'] if part == 'full' else [])
    axes = {}
    if dynamic:
        for name, t in inputs.items():
            axes[name] = {0: 'batch'} if t.dim() == 2 else {0: 'batch', 2: f'{name}_h',
                                                             3: f'{name}_w'}
        for name in outputs:
            axes[name] = {0: 'batch', 2: 'height', 3: 'width'}
        if part == 'full':
            axes['image'] = {0: 'batch', 2: 'height', 3: 'width'}
        else:
            axes['rel'] = {0: 'batch', 2: 'height', 3: 'width'}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # tracer and deprecation warnings
        torch.onnx.export(graph, tuple(inputs.values()), path, dynamo=False,
                          input_names=list(inputs), output_names=outputs, opset_version=opset,
                          dynamic_axes=axes or None, do_constant_folding=True)


def _torch_outputs(graph: nn.Module, inputs: Dict[str, Tensor]) -> List[np.ndarray]:
    with torch.no_grad():
        return [o.numpy() for o in graph(*inputs.values())]


def max_difference(ort: Sequence[np.ndarray], ref: Sequence[np.ndarray]) -> Dict[str, float]:
    """Largest absolute and relative difference of the depth output, and of every output."""
    depth_o, depth_r = ort[0].astype(np.float64), ref[0].astype(np.float64)
    rel = np.abs(depth_o - depth_r) / np.maximum(np.abs(depth_r), 1e-12)
    return dict(depth_abs=float(np.abs(depth_o - depth_r).max()), depth_rel=float(rel.max()),
                all_abs=float(max(np.abs(o.astype(np.float64) - r).max()
                                  for o, r in zip(ort, ref))))


def session(path: str, threads: Optional[int] = None):
    """An onnxruntime CPU session (``threads`` intra-op threads; None: onnxruntime's)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])


def run_session(sess, inputs: Dict[str, Tensor]) -> List[np.ndarray]:
    return sess.run(None, {k: v.numpy() for k, v in inputs.items()})


def export_onnx(model: nn.Module, path: str, image: Tensor, captions: Sequence[str],
                part: str = 'full', dynamic: bool = True, opset: int = OPSET,
                check_image: Optional[Tensor] = None) -> dict:
    """Export ``model``'s ``part`` graph to ``path`` and check it against PyTorch.

    Args:
        model (nn.Module): a TR2M depther (eval mode, CPU).
        path (str): the ``.onnx`` file to write.
        image (Tensor): an example network input ``(B, 3, H, W)`` in [0, 1] (sides the model
            accepts, e.g. multiples of 14).
        captions (Sequence[str]): its captions (one per image).
        part (str): 'full' or 'trainable'. Defaults to 'full'.
        dynamic (bool): dynamic batch / height / width, kept only if a second size checks out.
            Defaults to True.
        opset (int): ONNX opset. Defaults to 17.
        check_image (Tensor, optional): the second size's input for the dynamic check.
            Defaults to the example image resized by 14 pixels per side more.

    Returns:
        dict: ``part``, ``dynamic``, ``opset``, ``inputs`` / ``outputs`` with shapes,
        ``max_difference`` at the export size (and ``max_difference_other_size``).
    """
    import onnx

    if part not in PARTS:
        raise ArgumentError(f'--part must be one of {PARTS}, got {part!r}')
    module = getattr(model, 'module', model).cpu().eval()
    graph = graph_module(module, part)
    if part == 'full':
        check_network_size(module, image)
    inputs = example_inputs(module, part, image, captions)
    report = dict(part=part, opset=opset, dynamic=False)
    if dynamic:
        _export(graph, inputs, path, part, True, opset)
        if check_image is None:
            h, w = image.shape[-2:]
            check_image = torch.nn.functional.interpolate(image.float(), size=(h + 14, w + 28),
                                                          mode='bilinear', align_corners=False)
        other = example_inputs(module, part, check_image, captions)
        size = list(check_image.shape[-2:])
        try:
            diff = max_difference(run_session(session(path), other),
                                  _torch_outputs(graph, other))
        except Exception as err:  # noqa: BLE001 - onnxruntime refuses the other size
            diff = dict(error=f'{type(err).__name__}: {str(err).splitlines()[0][:200]}')
        report['max_difference_other_size'] = dict(diff, size=size)
        report['dynamic'] = diff.get('depth_rel', float('inf')) < 1e-4
    if not report['dynamic']:
        _export(graph, inputs, path, part, False, opset)
    report['max_difference'] = max_difference(run_session(session(path), inputs),
                                              _torch_outputs(graph, inputs))
    report['inputs'] = {k: list(v.shape) for k, v in inputs.items()}
    proto = onnx.load(path)
    meta = dict(tr2m_part=part, tr2m_caption_input='text_embedding: the pooled embedding of '
                'the caption by the text encoder below', tr2m_text_encoder=json.dumps(
                    _text_encoder_info(module)), tr2m_dynamic_size=str(report['dynamic']))
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)
    return report


def _text_encoder_info(module: nn.Module) -> dict:
    enc = module.text_encoder
    cfg = (getattr(module, 'cfg', None) or {}).get('model', {}).get('text_encoder', {}) or {}
    return dict(type=type(enc).__name__, arch=getattr(enc, 'arch', None) or cfg.get('arch'),
                pretrained=cfg.get('pretrained'), width=getattr(enc, 'out_channels', None))


def compare_speed(model: nn.Module, path: str, inputs: Dict[str, Tensor], part: str,
                  repeats: int = 10, threads: int = 1) -> dict:
    """PyTorch vs onnxruntime on this CPU, side by side: both run ``repeats`` times,
    interleaved, on ``threads`` threads; median wall and CPU seconds per call."""
    graph = graph_module(model, part)
    sess = session(path, threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    runs = dict(torch=lambda: _torch_outputs(graph, inputs),
                onnxruntime=lambda: run_session(sess, inputs))
    times = {k: ([], []) for k in runs}
    try:
        for fn in runs.values():  # warm-up
            fn()
        for _ in range(repeats):
            for name, fn in runs.items():
                w0, c0 = time.perf_counter(), time.process_time()
                fn()
                times[name][0].append(time.perf_counter() - w0)
                times[name][1].append(time.process_time() - c0)
    finally:
        torch.set_num_threads(previous)
    out = {k: dict(wall_s=float(np.median(w)), cpu_s=float(np.median(c)))
           for k, (w, c) in times.items()}
    out['speedup_wall'] = out['torch']['wall_s'] / out['onnxruntime']['wall_s']
    out.update(threads=threads, repeats=repeats, inputs={k: list(v.shape)
                                                         for k, v in inputs.items()})
    return out


__all__ = ['PARTS', 'OPSET', 'FullGraph', 'TrainableGraph', 'check_exportable',
           'caption_embedding', 'example_inputs', 'graph_module', 'export_onnx',
           'max_difference', 'session', 'run_session', 'compare_speed']
