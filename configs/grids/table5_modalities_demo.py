# Paper Table 5 (modalities) on the offline demo set: which inputs carry the metric scale?
# Image + text (TR2M), image only, text only.
#   python tools/ablate.py configs/grids/table5_modalities_demo.py
# (The image-only run still encodes the captions, which its neck then ignores.)
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.neck.modalities': {'image+text': ('image', 'text'), 'image': ('image',),
                              'text': ('text',)},
}
