"""Object-list captioner: a COCO panoptic segmenter's segments written in RSA's grammar.

RSA (and the TR2M paper after it) segmented with MaskDINO, which transformers does not
implement; the stand-in is Mask2Former (``Mask2FormerForUniversalSegmentation``), the query-based
panoptic model MaskDINO extends, trained on the same 133 COCO panoptic classes
(``facebook/mask2former-swin-large-coco-panoptic``: PQ 57.8 on COCO val against MaskDINO
Swin-L's 58.3), so the class vocabulary and the sentences' grammar are RSA's. Its panoptic
inference is Mask2Former's: a query is kept when its class score exceeds 0.8, a segment when 80%
of its mask survives the overlap resolution, and stuff classes are fused per class.
"""
import random
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from tr2m.captioners.base import BaseCaptioner, Caption, check_images, image_seed
from tr2m.captioners.hf_loading import (
    RANDOM_INIT_ENV,
    commit_of,
    load_pretrained,
    quiet_transformers,
    random_init_requested,
    seeded_init,
)
from tr2m.captioners.object_grammar import (
    COCO_PANOPTIC_CLASSES,
    COCO_PANOPTIC_STUFF,
    inflect_engine,
    object_list_sentences,
    rsa_object_name,
)
from tr2m.registry import CAPTIONERS

_SWIN_STAGES = ['stage1', 'stage2', 'stage3', 'stage4']
#: Architecture presets: the Swin backbone and the Mask2Former sizes (COCO panoptic, 133 classes).
SEGMENTER_ARCHS = dict(
    mask2former_swin_large_coco_panoptic=dict(
        backbone=dict(embed_dim=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48],
                      window_size=12, image_size=384, drop_path_rate=0.3),
        model=dict(num_queries=200), size=384),
    mask2former_toy=dict(
        backbone=dict(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
                      image_size=64),
        model=dict(hidden_dim=32, feature_size=32, mask_feature_size=32, encoder_layers=1,
                   encoder_feedforward_dim=64, dim_feedforward=64, decoder_layers=2,
                   num_attention_heads=2, num_queries=16, init_std=0.5), size=64),
)


def build_synthetic_segmenter(arch_name: str):
    """``(config, image processor)`` of a segmenter preset with the COCO panoptic labels."""
    from transformers import Mask2FormerConfig, Mask2FormerImageProcessor, SwinConfig

    if arch_name not in SEGMENTER_ARCHS:
        raise KeyError(f'unknown segmenter arch {arch_name!r}; known: {sorted(SEGMENTER_ARCHS)}')
    arch = SEGMENTER_ARCHS[arch_name]
    id2label = dict(enumerate(COCO_PANOPTIC_CLASSES))
    config = Mask2FormerConfig(
        backbone_config=SwinConfig(out_features=_SWIN_STAGES, **arch['backbone']),
        num_labels=len(id2label), id2label=id2label,
        label2id={v: k for k, v in id2label.items()}, use_pretrained_backbone=False,
        **arch['model'])
    size = arch['size']
    return config, Mask2FormerImageProcessor(size={'height': size, 'width': size})


@CAPTIONERS.register_module()
class ObjectListCaptioner(BaseCaptioner):
    """``num_captions`` object-list sentences per image (RSA's grammar, see
    :mod:`tr2m.captioners.object_grammar`) from a panoptic segmentation.

    Args:
        arch (str): architecture preset of :data:`SEGMENTER_ARCHS` (random weights under
            ``TR2M_RANDOM_INIT=1`` or without ``model_id``).
        model_id (str, optional): hub id of a Mask2Former panoptic checkpoint; None for a toy.
        revision (str): hub revision. Defaults to 'main'.
        model_path (str, optional): local ``save_pretrained`` folder used instead of the hub.
        num_captions (int): sentences per image (shuffled orders). Defaults to 5.
        threshold (float): class-score threshold of a query. Defaults to 0.8.
        mask_threshold (float): mask probability threshold. Defaults to 0.5.
        overlap_mask_area_threshold (float): fraction of a mask that must survive overlap
            resolution. Defaults to 0.8.
        device (str, optional): defaults to cuda when available.
        **kwargs: :class:`~tr2m.captioners.base.BaseCaptioner` arguments.
    """

    def __init__(self, arch: str, model_id: Optional[str] = None, revision: str = 'main',
                 model_path: Optional[str] = None, num_captions: int = 5,
                 threshold: float = 0.8, mask_threshold: float = 0.5,
                 overlap_mask_area_threshold: float = 0.8, device: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        inflect_engine()  # fail before the model is built when inflect is missing
        if num_captions < 1:
            raise ValueError(f'num_captions must be >= 1, got {num_captions}')
        self.arch, self.model_id, self.revision, self.model_path = arch, model_id, revision, \
            model_path
        self.num_per_image = int(num_captions)
        self.thresholds = dict(threshold=threshold, mask_threshold=mask_threshold,
                               overlap_mask_area_threshold=overlap_mask_area_threshold)
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        quiet_transformers()
        self.random_weights = model_id is None and model_path is None or random_init_requested()
        if self.random_weights:
            from transformers import Mask2FormerForUniversalSegmentation

            config, self.processor = build_synthetic_segmenter(arch)
            with seeded_init():
                self.model = Mask2FormerForUniversalSegmentation(config)
            self.weights = (f'random ({RANDOM_INIT_ENV}=1)' if model_id or model_path
                            else 'random (toy preset: no published weights)')
        else:
            from transformers import AutoImageProcessor, Mask2FormerForUniversalSegmentation

            self.processor = load_pretrained(self.name, AutoImageProcessor.from_pretrained,
                                             model_id, model_path, revision, 'image processor')
            self.model = load_pretrained(self.name,
                                         Mask2FormerForUniversalSegmentation.from_pretrained,
                                         model_id, model_path, revision, 'model')
            self.weights = 'pretrained'
        self.model.to(self.device).eval()
        labels = {int(k): v for k, v in self.model.config.id2label.items()}
        self.names = {i: rsa_object_name(label) for i, label in labels.items()}
        self.fuse_ids = {i for i, label in labels.items() if label in COCO_PANOPTIC_STUFF}
        self._provenance = dict(
            captioner=self.name, type=type(self).__name__, model=model_id, model_path=model_path,
            revision=revision if model_id and not model_path else None,
            commit=commit_of(self.model),
            weights=self.weights, arch=arch, model_class=type(self.model).__name__,
            grammar='RSA object list (tr2m.captioners.object_grammar)',
            segmentation=dict(self.thresholds, fused_stuff_classes=len(self.fuse_ids)),
            seed=self.seed, device=self.device.type, count=self.num_per_image)

    @property
    def sources(self) -> List[Dict]:
        return [self._provenance]

    def save_pretrained(self, folder: str) -> None:
        """Write the model and image processor as a folder ``model_path`` loads."""
        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)

    def to(self, device) -> 'ObjectListCaptioner':
        self.device = torch.device(device)
        self.model.to(self.device)
        self._provenance['device'] = self.device.type
        return self

    @torch.no_grad()
    def segment_names(self, images: Sequence[np.ndarray]) -> List[List[str]]:
        """Per image, the object name of every panoptic segment, in the segmenter's order."""
        prepared = [self.processor(images=[img], return_tensors='pt') for img in images]
        names: List[List[str]] = []
        start = 0
        while start < len(prepared):  # one input shape per batch: no padding between images
            shape = tuple(prepared[start]['pixel_values'].shape)
            stop = start + 1
            while (stop < len(prepared) and stop - start < self.batch_size
                   and tuple(prepared[stop]['pixel_values'].shape) == shape):
                stop += 1
            pixels = torch.cat([p['pixel_values'] for p in prepared[start:stop]]).to(self.device)
            outputs = self.model(pixel_values=pixels)
            results = self.processor.post_process_panoptic_segmentation(
                outputs, label_ids_to_fuse=self.fuse_ids,
                target_sizes=[img.shape[:2] for img in images[start:stop]], **self.thresholds)
            for result in results:
                names.append([self.names[int(s['label_id'])] for s in result['segments_info']])
            start = stop
        return names

    def caption_images(self, images: Sequence[np.ndarray],
                       keys: Sequence[str]) -> List[List[Caption]]:
        check_images(images, keys)
        captions = []
        for key, names in zip(keys, self.segment_names(images)):
            rng = random.Random(image_seed(self.seed, key, 'object_list'))
            captions.append([Caption(s, self._provenance) for s in
                             object_list_sentences(names, rng, self.num_per_image)])
        return captions
