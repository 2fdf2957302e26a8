# NeWCRFs + TR2M's scale-oriented contrast on KITTI Eigen: projects/newcrfs/configs/
# newcrfs_swin_l_kitti.py as released plus the SOC of newcrfs_soc_swin_l_nyu.py (see there for
# every choice). The sparse LiDAR GT labels only the cells that hold a measured pixel (per-cell
# mode over valid pixels); 352 x 1120 crops give 88 x 280 CRF cells, contrasted at 44 x 140.
_base_ = ['../../newcrfs/configs/newcrfs_swin_l_kitti.py']

model = dict(
    soc=dict(type='ScaleOrientedContrast', feature='decode_head.crf_blocks.0',
             momentum_modules=['backbone', 'decode_head'], projector=dict(type='SOCProjector'),
             momentum=0.999, num_classes=20, loss_weight=0.1, negative_reduction='sum',
             label_order='classify_then_reduce', reduce='mode', class_range='image',
             queue_size=0, feature_stride=4))
work_dir = 'work_dirs/newcrfs_soc_swin_l_kitti'
