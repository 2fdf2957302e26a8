# Offline demo: RSA (as released: layout, exp, Huber, per-dataset normalisation, Adam, poly
# decay, grad clip 1.0) on the procedural multi-domain set, beside TR2M's quickstart on the
# same test split. Real / simulated as in tr2m_synthetic.py: the REAL pretrained
# all-MiniLM-L6-v2 sentence encoder (384-d) stands in for CLIP RN50 (the head is then
# 384-512-...: 1,166,594 parameters), the relative depth is SIMULATED from the GT.
# Each step holds one sub-batch of 8 from each domain (indoor / outdoor / endoscopic, as RSA's
# NYUv2 / KITTI / VOID); the outdoor domain's loss stays raw as KITTI's does in the release.
#
# Measured (2-core CPU, OMP_NUM_THREADS=1; training 172 s CPU):
#   python tools/dataset_converters/make_synthetic_rgbd.py data/synthetic
#   python tools/train.py configs/quickstart/rsa_synthetic.py
#   python tools/test.py configs/quickstart/rsa_synthetic.py \
#       work_dirs/rsa_synthetic/epoch_300.pth --out rsa_after.json
# untrained AbsRel 2.391 (d1 0.000); trained AbsRel 0.269, d1 0.535, SILog 6.79 (indoor 0.299,
# outdoor 0.235, endoscopic 0.274; the same figures on a rerun). With the code of 2026-12-01
# (captions embedded once into a float16 table, among other changes; not bisected) the same
# run gives 0.277, d1 0.537 (indoor 0.257, outdoor 0.236, endoscopic 0.336;
# configs/compare/demo.py). Over seeds 0 / 1 / 2
# (randomness.seed, validation only at the end) AbsRel is 0.246 / 0.343 / 0.296 with
# loss_norm='as_released' and 0.277 / 0.312 / 0.264 with 'as_intended' (d1 means 0.519 and
# 0.567): the difference is within the seed spread, so the faithful 'as_released' stays.
_base_ = [
    '../_base_/models/rsa_da_s.py', '../_base_/datasets/synthetic_rgbd.py',
    '../_base_/schedules/schedule_rsa_50e.py', '../_base_/default_runtime.py'
]
model = dict(
    # _delete_: a different component type, so none of the base's keys carry over
    relative_depth=dict(_delete_=True, type='SimulatedRelativeDepth'),
    text_encoder=dict(_delete_=True, type='SentenceTextEncoder', arch='all-MiniLM-L6-v2',
                      pretrained='sentence-transformers/all-MiniLM-L6-v2'),
    unnormalised_datasets=('synthetic_outdoor', ),
)
train_dataloader = dict(batch_sampler=dict(type='PerDatasetBatchSampler'))
# Demo schedule: 6 steps per epoch (48 frames per domain / 8), so RSA's 145k steps at 3e-5 do
# not fit; RSA's shape (Adam, poly 0.9 per step, final lr = lr / 3, clip 1.0) at lr 1e-4 for
# 300 epochs (1,800 steps). At lr 3e-4 (100 epochs) and above, Adam overshoots the endoscopic
# captions' scale and shift (exp outputs, depth-space loss: the gradient that would bring a
# too-small depth back vanishes with the depth) and that domain ends at AbsRel 0.97.
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [  # a list replaces the base's: the same PolyLR shape over 300 epochs
    dict(type='PolyLR', eta_min=1e-4 / 3, power=0.9, begin=0, end=300, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=300, val_interval=50)
default_hooks = dict(logger=dict(interval=6), checkpoint=dict(interval=50, save_best='abs_rel',
                                                              rule='less'))
work_dir = 'work_dirs/rsa_synthetic'
