# Offline demo: ScaleDepth on the procedural indoor / outdoor / endoscopic set, on CPU in a few
# minutes (make the set first: python tools/dataset_converters/make_synthetic_rgbd.py
# data/synthetic). The released architecture and losses at toy width; what is real and what not:
#   - image encoder: the ConvNeXt layout at toy width (0.23M), RANDOM weights, trained;
#   - text encoder: REAL pretrained all-MiniLM-L6-v2 (offline package; 384 wide = 3 scale
#     queries x 128, so no projection, as in the released widths); CLIP cannot be downloaded;
#   - scene categories: the 28 released ones + 'endoscopic_scene' for the third domain; indoor
#     frames take their room type (bedroom / living room / office / kitchen) from the caption,
#     where the generator stores it, outdoor frames are 'outdoor_scene';
#   - decode head: 128 wide, 32 bin queries, 2 pixel-decoder and 6 decoder layers (released:
#     256, 64, 6, 9), deep supervision at decoder layers 1 and 3 (released: 2 and 5 of 9).
_base_ = [
    './_base_/models/scaledepth_clip_convnext_l.py',
    '../../../configs/_base_/datasets/synthetic_rgbd.py',
    '../../../configs/_base_/default_runtime.py'
]
model = dict(
    backbone=dict(arch='tiny', pretrained=None),
    # _delete_: a different component type, so none of the base's keys carry over
    text_encoder=dict(_delete_=True, type='SentenceTextEncoder', arch='all-MiniLM-L6-v2',
                      pretrained='sentence-transformers/all-MiniLM-L6-v2'),
    extra_scene_classes=('endoscopic_scene', ),
    scene_labeler=dict(
        dataset_classes=dict(synthetic_outdoor='outdoor_scene',
                             synthetic_endoscopic='endoscopic_scene'),
        caption_keywords={'bedroom': 'bedroom', 'living room': 'living_room',
                          'office': 'office', 'kitchen': 'kitchen'}),
    decode_head=dict(channels=128, num_bin_queries=32, num_layers=6, ffn_channels=256,
                     pixel_decoder=dict(num_layers=2, ffn_channels=256, num_groups=16)),
    aux_layers=(1, 3),
    test_mode='whole', flip=False,
)
# The released optimiser (AdamW, wd 0.05, clip 0.01, poly decay) with a larger lr for random
# weights and no backbone lr factor (the released x0.1 protects pretrained CLIP weights).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={
        'query_embed': dict(decay_mult=0.0), 'query_feat': dict(decay_mult=0.0),
        'level_embed': dict(decay_mult=0.0)}),
)
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=30, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=6), checkpoint=dict(save_best='abs_rel', rule='less'))
work_dir = 'work_dirs/scaledepth_synthetic'
