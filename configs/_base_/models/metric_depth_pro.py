# Depth Pro (Bochkovskii et al. 2024) from transformers, frozen, as released: canonical inverse
# depth scaled by the focal length D = f_px / (W * C), f_px from its FOV head (the paper's
# zero-shot setting) or, with focal='intrinsics', from each sample's intrinsics. Nothing trains:
# python tools/test.py CONFIG none. Presets: tr2m/models/depthers/metric_baseline.py.
model = dict(
    type='MetricDepthBaseline',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    arch='depth_pro',
    pretrained='default',  # apple/DepthPro-hf
    focal='predicted',
)
