# ScaleDepth as released (RuijieZhu94/mmdepth, projects/ScaleDepth/configs/ScaleDepth/
# scaledepth_clip_NYU_KITTI_352x512.py + _base_/models/scaledepth.py): the image tower of
# open_clip's convnext_large_d_320 (laion2b_s29b_b131k_ft_soup), fine-tuned; a Mask2Former-style
# head with 64 bin queries + 3 scale queries, a 6-layer deformable pixel decoder and a 9-layer
# transformer decoder (256 wide); the frozen CLIP text tower of the same model embeds the 28
# scene prompts once; SI loss x10 + text-image similarity loss x0.01, deep supervision at
# decoder layers 2 and 5; test: 352x512 sliding windows every 160 px, with flip.
custom_imports = dict(imports=['projects.scaledepth.scaledepth'], allow_failed_imports=False)

model = dict(
    type='ScaleDepth',
    backbone=dict(type='CLIPConvNeXtBackbone', arch='convnext_large_d_320',
                  pretrained='laion2b_s29b_b131k_ft_soup'),
    text_encoder=dict(type='CLIPTextEncoder', arch='convnext_large_d_320',
                      pretrained='laion2b_s29b_b131k_ft_soup'),
    # class_embeddings='path/to/nyu_kitti_class_embeddings_convnext_large_d_320.pth',  # released
    prompt_template='a photo of a {}.',
    decode_head=dict(
        type='ScaleDepthHead', channels=256, num_bin_queries=64, num_scale_queries=3,
        num_layers=9, num_heads=8, ffn_channels=2048,
        pixel_decoder=dict(num_layers=6, num_heads=8, num_points=4, ffn_channels=1024,
                           num_encoder_levels=3, num_groups=32),
        min_depth=1e-3, bin_norm='softmax', temperature=100.0, scale_eps=0.1),
    scene_labeler=dict(dataset_classes=dict(kitti='outdoor_scene'), from_path=True),
    loss_si=dict(type='ScaleDepthSILoss', loss_weight=10.0, lambd=0.15, eps=1e-3,
                 reduction='batch'),
    loss_ti=dict(type='TextImageSimilarityLoss', loss_weight=0.01, softmax_first=True),
    aux_layers=(2, 5), aux_si_weights=(0.25, 0.5), aux_ti_weights=(1.0, 1.0),
    test_mode='slide', crop_size=(352, 512), stride=(160, 160), flip=True,
)
