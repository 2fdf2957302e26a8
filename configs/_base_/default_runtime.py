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
# EMA update of every momentum branch (SOC's key branch) after every optimizer step (a no-op for
# models without one); every 50 iterations, each loss term's gradient norm on the parameters it
# shares with the depth loss (gnorm_* / gratio_* in the log); before training, every caption
# of the train and val sets embedded once (a no-op with the feature cache).
custom_hooks = [dict(type='SOCMomentumHook'), dict(type='LossBalanceHook', interval=50),
                dict(type='CaptionEmbeddingHook')]

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
