# Depth Anything V2 metric (Yang et al. 2024) from transformers, frozen, as released: the DA-V2
# relative architecture fine-tuned on Hypersim (indoor, max 20 m) or Virtual KITTI 2 (outdoor,
# max 80 m), S/B/L: arch='da_v2_metric_{indoor,outdoor}_{s,b,l}'. Input shorter side 518.
# Nothing trains: python tools/test.py CONFIG none.
model = dict(
    type='MetricDepthBaseline',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    arch='da_v2_metric_indoor_l',
    pretrained='default',  # depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf
    input_size='native',
)
