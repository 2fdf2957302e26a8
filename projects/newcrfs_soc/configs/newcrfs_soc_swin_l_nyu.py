# NeWCRFs + TR2M's scale-oriented contrast on NYUv2 (the TR2M paper's Table 8: NeWCRFs 0.090 ->
# 0.089 AbsRel on NYUv2, 0.223 -> 0.210 zero-shot on iBims-1): projects/newcrfs/configs/
# newcrfs_swin_l_nyu.py as released (data, augmentation, SI-log loss, Adam schedule, 50 epochs,
# batch 8), plus SOC by config alone:
#   - feature: `decode_head.crf_blocks.0`, the finest CRF stage (B, 128, H/4, W/4), the feature
#     the disparity head reads -- the counterpart of TR2M's neck output, which its scale and
#     shift heads read. The projector's 2x2 pooling contrasts it at 1/8 (60 x 80 cells).
#   - momentum_modules: every module that produces that feature (the backbone and the decoder):
#     MoCo's key encoder, as TR2M's momentum branch copies the encoder that produces its
#     feature. Cost: an EMA copy of 270.4M parameters (1.08 GB in fp32, no gradients or
#     optimizer state; checkpoints hold it too) and one more forward without gradients per
#     step. The cheap option, `--cfg-options model.soc.momentum_modules=None`, copies only the
#     contrasted stage (0.66M parameters) and runs it on the inputs the live stage received.
#   - TR2M's loss weight 0.1 (NeWCRFs' SI-log has the 10 * sqrt form, as TR2M's L_si) and its
#     SOC settings (eq. 7 classes per image, C = 20, summed negatives, momentum 0.999).
#   - queue_size=0: Table 8 trains on NYUv2 alone, so there is no other dataset to take keys
#     from; the keys are the image through the momentum branch and its batch neighbour.
#   - feature_stride=4: labels follow the padded grid when an input is not a multiple of 32
#     (a no-op at 480 x 640).
_base_ = ['../../newcrfs/configs/newcrfs_swin_l_nyu.py']

model = dict(
    soc=dict(type='ScaleOrientedContrast', feature='decode_head.crf_blocks.0',
             momentum_modules=['backbone', 'decode_head'], projector=dict(type='SOCProjector'),
             momentum=0.999, num_classes=20, loss_weight=0.1, negative_reduction='sum',
             label_order='classify_then_reduce', reduce='mode', class_range='image',
             queue_size=0, feature_stride=4))
work_dir = 'work_dirs/newcrfs_soc_swin_l_nyu'
