# RSA (as released: model, loss, schedule) trained on TR2M's data mixture, NYUv2 + KITTI + VOID
# + C3VD, for a same-data comparison with TR2M: one batch of 8 from each of the four datasets
# per step, each dataset's pipeline as TR2M's (sizes multiples of 14, random flip). C3VD's GT is
# in mm, so its Huber delta of 1 is 1 mm (its loss is normalised, so only the shape changes).
_base_ = [
    '../_base_/models/rsa_da_s.py', '../_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '../_base_/schedules/schedule_rsa_50e.py', '../_base_/default_runtime.py'
]
# _delete_: a different batch sampler type
train_dataloader = dict(batch_sampler=dict(_delete_=True, type='PerDatasetBatchSampler'))
