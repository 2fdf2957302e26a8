# ScaleDepth-NK: one model for NYUv2 + KITTI with the released recipe (40k iterations,
# 4 GPUs x batch 8). Train / test from the repository root:
#   python tools/train.py projects/scaledepth/configs/scaledepth_clip_convnext_l_nk_352x512.py
#   python tools/test.py projects/scaledepth/configs/scaledepth_clip_convnext_l_nk_352x512.py CKPT
_base_ = [
    './_base_/models/scaledepth_clip_convnext_l.py', './_base_/datasets/nyu_kitti_352x512.py',
    './_base_/schedules/schedule_40k.py', '../../../configs/_base_/default_runtime.py'
]
work_dir = 'work_dirs/scaledepth_clip_convnext_l_nk_352x512'
# iteration-based hooks (default_runtime's are per epoch): released checkpointing every 2k
# iterations, keeping the best NYUv2 RMSE
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=2000, max_keep_ckpts=1, save_best='nyu/rmse',
                    rule='less'),
)
log_processor = dict(by_epoch=False)
