# Paper Table 5 (modalities): image + text (TR2M), image only, text only.
#   python tools/ablate.py configs/grids/table5_modalities.py   (demo: table5_modalities_demo.py)
# The image-only row drops the text encoder (configs/tr2m/ablations/tr2m_da_s_image_only.py does
# the same as one config).
base = '../tr2m_da_s.py'
mode = 'zip'
_CLIP = dict(type='CLIPTextEncoder', arch='ViT-L-14', pretrained='default')
grid = {
    'model.neck.modalities': {'image+text': ('image', 'text'), 'image': ('image',),
                              'text': ('text',)},
    'model.text_encoder': [_CLIP, None, _CLIP],
}
