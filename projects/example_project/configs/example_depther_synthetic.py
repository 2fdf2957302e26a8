# The template project's config: ExampleConvDepther on the offline demo set (CPU, seconds).
#   python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic
#   python tools/train.py projects/example_project/configs/example_depther_synthetic.py
_base_ = [
    '../../../configs/_base_/datasets/synthetic_rgbd.py',
    '../../../configs/_base_/default_runtime.py',
]
# Importing the project's package registers ExampleConvDepther into tr2m's MODELS.
custom_imports = dict(imports=['projects.example_project.example_project'],
                      allow_failed_imports=False)

model = dict(type='ExampleConvDepther', channels=(16, 32, 64), max_depth=80.0,
             loss=dict(type='SiLogLoss'))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-3))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, by_epoch=True, begin=0, end=40)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=40, val_interval=40)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=6))
work_dir = 'work_dirs/example_depther_synthetic'
