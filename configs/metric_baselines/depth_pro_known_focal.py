# Depth Pro with the focal length of each sample's intrinsics (the FOV head only where a sample
# has none): D = fx / (W * C).
_base_ = ['./depth_pro.py']
model = dict(focal='intrinsics')
