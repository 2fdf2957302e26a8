# One table on the offline demo set (python tools/dataset_converters/make_synthetic_rgbd.py
# data/synthetic): TR2M and RSA (as released) trained here, the relative model with the four
# test-time alignments, and the metric baselines. Run:
#   python tools/analysis_tools/compare.py configs/compare/demo.py
# Offline nothing pretrained but the MiniLM text encoder loads: the relative depth is
# simulated from the GT, and the metric baselines are their toy architectures with RANDOM
# weights (full Depth Pro / ZoeDepth on CPU would take hours and still be random): those rows
# check the code path and the protocol, not the published models. configs/compare/paper.py is
# the same table with real weights on TR2M's test sets.
test_set = '../_base_/datasets/synthetic_rgbd.py'
train_set = '../_base_/datasets/synthetic_rgbd.py'
evaluator = dict(boundary=True)  # dense procedural GT: Depth Pro's boundary F1 is meaningful

_toy = {'model.pretrained': None}
methods = {
    'TR2M': dict(config='../quickstart/tr2m_synthetic.py', checkpoint='train'),
    'RSA': dict(config='../quickstart/rsa_synthetic.py', checkpoint='train'),  # as released
    'median': dict(config='./demo/relative_synthetic.py'),
    'lsq': dict(config='./demo/relative_synthetic.py',
                options={'test_evaluator.alignment': 'lsq', 'val_evaluator.alignment': 'lsq'}),
    'lsq_inverse': dict(config='./demo/relative_synthetic.py',
                        options={'test_evaluator.alignment': 'lsq_inverse',
                                 'val_evaluator.alignment': 'lsq_inverse'}),
    'global': dict(config='./demo/relative_synthetic.py',
                   options={'test_evaluator.alignment': 'global',
                            'val_evaluator.alignment': 'global'}),
    'Depth Pro (toy)': dict(config='../metric_baselines/depth_pro.py',
                            options={**_toy, 'model.arch': 'depth_pro_tiny'}),
    'Depth Pro, known focal (toy)': dict(config='../metric_baselines/depth_pro_known_focal.py',
                                         options={**_toy, 'model.arch': 'depth_pro_tiny'}),
    'ZoeDepth NK (toy)': dict(config='../metric_baselines/zoedepth_nk.py',
                              options={**_toy, 'model.arch': 'zoedepth_nk_tiny'}),
    'DA-V2 metric (toy)': dict(config='../metric_baselines/da_v2_metric_indoor_nyu.py',
                               options={**_toy, 'model.arch': 'da_v2_metric_tiny'}),
}
