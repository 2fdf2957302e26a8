# Runtime shared by every config: scope, hooks, logging, checkpoints, randomness.
default_scope = 'tr2m'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# EMA update of TR2M's contrastive key branch after every optimizer step (a no-op for models
# without one).
custom_hooks = [dict(type='SOCMomentumHook')]

# Depth panels (tr2m.visualization): turbo, near = warm, colour bars in the protocol's unit.
# TensorBoard is switched on by the paper config (configs/tr2m_da_s.py), not here: the
# quickstart and the tests stay light. No fixed `name`: the runner names the visualizer after
# its run, so several runs in one process (tools/ablate.py) each log to their own folder.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DepthVisualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
