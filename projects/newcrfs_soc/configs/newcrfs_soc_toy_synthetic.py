# The Table 8 analogue on the offline demo set: projects/newcrfs/configs/newcrfs_toy_synthetic.py
# (NeWCRFs `toy` preset, random init, same data, seed and schedule) plus TR2M's scale-oriented
# contrast on the feature the disparity head reads, by config alone:
#   python tools/train.py projects/newcrfs_soc/configs/newcrfs_soc_toy_synthetic.py
# The SOC settings are those of newcrfs_soc_swin_l_nyu.py (see there); the projector keeps the
# paper's widths (160-160: 28k parameters on the toy's 16-wide feature).
_base_ = ['../../newcrfs/configs/newcrfs_toy_synthetic.py']

model = dict(
    soc=dict(type='ScaleOrientedContrast', feature='decode_head.crf_blocks.0',
             momentum_modules=['backbone', 'decode_head'], projector=dict(type='SOCProjector'),
             momentum=0.999, num_classes=20, loss_weight=0.1, negative_reduction='sum',
             label_order='classify_then_reduce', reduce='mode', class_range='image',
             queue_size=0, feature_stride=4))
work_dir = 'work_dirs/newcrfs_soc_toy_synthetic'
