# RSA (caption -> one global scale and shift) on the offline demo set, with the same offline
# parts as the quickstart: SIMULATED relative depth, the real all-MiniLM-L6-v2 text encoder,
# and the quickstart's schedule (a larger lr than the paper's: a small head, 540 steps).
_base_ = [
    '../../_base_/models/rsa_da_s.py', '../../_base_/datasets/synthetic_rgbd.py',
    '../../_base_/schedules/schedule_20e.py', '../../_base_/default_runtime.py'
]
model = dict(
    # _delete_: different component types, so none of the base's keys carry over
    relative_depth=dict(_delete_=True, type='SimulatedRelativeDepth'),
    text_encoder=dict(_delete_=True, type='SentenceTextEncoder', arch='all-MiniLM-L6-v2',
                      pretrained='sentence-transformers/all-MiniLM-L6-v2'),
)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [dict(type='ExponentialLR', gamma=0.95, by_epoch=True)]
train_cfg = dict(max_epochs=30, val_interval=10)
default_hooks = dict(logger=dict(interval=6))
