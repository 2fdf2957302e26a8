# Ablation grid (run with tools/ablate.py): which inputs carry the metric scale in the offline
# demo? Image + text (TR2M), image only, text only (the paper's Table 5 on the demo set).
#   python tools/ablate.py configs/grids/quickstart_modalities.py
# (The image-only run still encodes the captions, which its neck then ignores.)
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.neck.modalities': {'image+text': ('image', 'text'), 'image': ('image',),
                              'text': ('text',)},
}
