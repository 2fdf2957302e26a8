# Runtime shared by every config: scope, hooks, logging, checkpoints, randomness.
default_scope = 'tr2m'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # None: nccl on a machine with CUDA, gloo without (tr2m.utils.dist.resolve_backend)
    dist_cfg=dict(backend=None),
)
# DDP wrapper (multi-process runs only). The tools add device_ids=None on CPU.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)

# Every hook a run relies on is a default hook: mmengine merges default_hooks by key across
# _base_ files, while a child's custom_hooks list replaces this file's. So a config that sets
# custom_hooks = [dict(type='MyHook')] adds its hook and keeps all of these. tools/train.py
# refuses a config that lacks a hook its model needs (SOCMomentumHook for model.soc) or holds it
# twice. mmengine's own keys can be removed with None; the tr2m ones are switched off through
# their options (LossBalanceHook interval=0, CaptionEmbeddingHook loaders=[]).
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # mmengine's LoggerHook, with validation scalars on TensorBoard's iteration axis
    logger=dict(type='DepthLoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic saves, old checkpoints deleted only afterwards, never a NaN tensor; iter_interval=N
    # adds iter_N.pth inside long epochs; a resume with another schedule length is re-planned
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # each sample's crop/flip/caption drawn from (seed, epoch, index): exact resume, per-rank draws
    sample_seed=dict(type='SampleSeedHook'),
    # a NaN/inf loss or relative depth stops training (action='skip' skips the step instead)
    nonfinite_guard=dict(type='NonFiniteGuardHook', action='stop'),
    # EMA update of every momentum branch (SOC's key branch) after every optimizer step that
    # happened (a no-op for models without one)
    soc_momentum=dict(type='SOCMomentumHook'),
    # one warning per run when SOC's queries turn away from every key (windowed mean of
    # soc_cos_pos below 0; a no-op for models without SOC; threshold=-1 switches it off)
    soc_shortcut=dict(type='SOCShortcutHook', window=50),
    # every 50 iterations, each loss term's gradient norm on the parameters it shares with the
    # depth loss (gnorm_* / gratio_* in the log)
    loss_balance=dict(type='LossBalanceHook', interval=50),
    # before training, every caption of the train and val sets embedded once (a no-op with the
    # feature cache)
    caption_embedding=dict(type='CaptionEmbeddingHook'),
    # one warning per run when a head's map passes no gradient back (scale_dead_frac /
    # shift_dead_frac >= 0.99 for 10 iterations in a row; the fractions are logged every step)
    dead_map=dict(type='DeadMapHook'),
)
# Hooks a config adds (a list: a child's replaces this one, so nothing required lives here).
custom_hooks = []

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
# diff_rank_seed stays False: the sampler order must be the same on every rank (it is dealt out
# by rank), and augmentation draws differ per sample anyway (SampleSeedHook)
randomness = dict(seed=0, deterministic=False)
