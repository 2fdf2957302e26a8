# newcrfs_soc_toy_synthetic.py with the cheap momentum branch: only the contrasted CRF stage
# has an EMA copy, applied to the inputs the live stage received (the live backbone's 1/4
# feature and the live coarser stages' prediction) -- no second forward of the network.
#   python tools/train.py projects/newcrfs_soc/configs/newcrfs_soc_cheap_toy_synthetic.py
_base_ = ['./newcrfs_soc_toy_synthetic.py']

model = dict(soc=dict(momentum_modules=None))
work_dir = 'work_dirs/newcrfs_soc_cheap_toy_synthetic'
