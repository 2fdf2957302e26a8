# RSA on Depth Anything Small with the relative model at the sizes of RSA's release: its
# train_3d.py resizes NYUv2 frames to 434 x 560 and KITTI frames to 350 x 1204 before Depth
# Anything and interpolates the output back (tr2m.structures.RSA_REL_INPUT_SIZES). rsa_da_s.py
# instead runs it at the input's size rounded to 14 (476 x 644 for NYUv2, 350 x 1218 for
# KITTI's 352 x 1216). VOID keeps that rule (476 x 644): RSA's size for it is not recorded here.
# Each sample's run notes (result files, DepthMetric) record the size used (rel_input_size).
_base_ = './rsa_da_s.py'
model = dict(relative_depth=dict(input_size='rsa'))
