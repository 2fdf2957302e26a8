# ZoeDepth (Bhat et al. 2023) from transformers, frozen, as released: ZoeD-M12-NK by default
# (NYU and KITTI metric bins, a router picks one per image); arch='zoedepth_n' / 'zoedepth_k'
# for the single-domain models. Reflect padding and flip averaging as ZoeDepth's evaluation.
# Nothing trains: python tools/test.py CONFIG none.
model = dict(
    type='MetricDepthBaseline',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    arch='zoedepth_nk',
    pretrained='default',  # Intel/zoedepth-nyu-kitti
)
