# TR2M beside RSA, the alignment baselines and the metric systems on TR2M's test sets
# (NYUv2 Eigen crop, KITTI Garg crop, VOID, C3VD in mm), with the released weights:
#   python tools/analysis_tools/compare.py configs/compare/paper.py \
#       --checkpoint TR2M=work_dirs/tr2m_da_s/epoch_20.pth RSA=work_dirs/rsa_da_s/epoch_50.pth
# ('train' instead of a path trains them here first: the paper's 20 epochs on four datasets).
# Needs the datasets under data/ (tools/dataset_converters/README.md) and the hub weights
# (online, a local copy passed as model.pretrained, or HF_HUB_OFFLINE=1 with a warm cache).
# Crop conventions: Eigen at the fixed 45:471, 41:601 and Garg on the KB-cropped GT, as
# ZoeDepth / Depth Anything evaluate (DepthMetric's defaults; recorded in every row).
test_set = '../_base_/datasets/mixed_nyu_kitti_void_c3vd.py'
evaluator = dict(boundary=True)  # Depth Pro's boundary F1 (little meaning on sparse KITTI GT)

methods = {
    'TR2M': dict(config='../tr2m_da_s.py', checkpoint='train'),
    'RSA': dict(config='../rsa/rsa_da_s.py', checkpoint='train'),
    'DA-S median': dict(config='../alignment_baselines/relative_da_s_median.py'),
    'DA-S linear fit (lsq)': dict(config='../alignment_baselines/relative_da_s_lsq.py'),
    'DA-S linear fit (lsq_inverse)':
        dict(config='../alignment_baselines/relative_da_s_lsq_inverse.py'),
    'DA-S global fit': dict(config='../alignment_baselines/relative_da_s_global.py'),
    'Depth Pro': dict(config='../metric_baselines/depth_pro.py'),
    'Depth Pro, known focal': dict(config='../metric_baselines/depth_pro_known_focal.py'),
    'ZoeDepth NK': dict(config='../metric_baselines/zoedepth_nk.py'),
    'DA-V2 metric indoor L': dict(config='../metric_baselines/da_v2_metric_indoor_nyu.py'),
    'DA-V2 metric outdoor L': dict(config='../metric_baselines/da_v2_metric_outdoor_kitti.py'),
}
