# The frozen relative-depth model alone (Depth Anything Small), evaluated with alignment at
# test time (median / per-image least squares / one dataset-global fit): see
# configs/alignment_baselines/. Nothing trains; run `python tools/test.py CONFIG none`.
model = dict(
    type='RelativeDepthBaseline',
    data_preprocessor=dict(type='DepthDataPreprocessor'),
    relative_depth=dict(type='TransformersRelativeDepth', arch='da_v1_s', pretrained='default'),
)
