# TR2M's training mixture: NYUv2 + KITTI + VOID + C3VD at once (paper, section 4).
# Each dataset keeps its own pipeline (sizes are multiples of the ViT patch, 14); every batch
# holds one dataset only (GroupByDatasetBatchSampler), because sizes differ between datasets.
# Validation/test: the four test sets, batch size 1; each sample carries its dataset's
# protocol and DepthMetric reports per dataset_name.
# The datasets and their pipelines are those of nyu.py, kitti.py, void.py and c3vd.py in this
# folder, read as they are: change a dataset there and this mixture follows.


def _dataset_config(name):
    """``<name>.py`` of this folder as a config (several ``_base_`` files may not define the
    same keys, so the per-dataset configs are read here instead of inherited)."""
    from mmengine import Config
    return Config.fromfile('{{ fileDirname }}/' + name + '.py')


_nyu, _kitti, _void, _c3vd = (_dataset_config(n) for n in ('nyu', 'kitti', 'void', 'c3vd'))

nyu_root = _nyu.data_root
kitti_root = _kitti.data_root
void_root = _void.data_root
c3vd_root = _c3vd.data_root
caption_root = _nyu.caption_root
c3vd_captions = _c3vd.caption_source

nyu_train_pipeline = _nyu.train_pipeline
kitti_train_pipeline = _kitti.train_pipeline
void_train_pipeline = _void.train_pipeline
c3vd_train_pipeline = _c3vd.train_pipeline
nyu_test_pipeline = _nyu.test_pipeline
kitti_test_pipeline = _kitti.test_pipeline
void_test_pipeline = _void.test_pipeline
c3vd_test_pipeline = _c3vd.test_pipeline

train_dataloader = dict(
    batch_size=8,
    num_workers='auto',  # from the machine's CPUs (tr2m.utils.workers)
    persistent_workers=True,
    pin_memory='auto',  # pinned where a CUDA device is present
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='GroupByDatasetBatchSampler'),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],  # these differ between the datasets
        datasets=[c.train_dataloader.dataset for c in (_nyu, _kitti, _void, _c3vd)]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],
        datasets=[c.val_dataloader.dataset for c in (_nyu, _kitti, _void, _c3vd)]))
test_dataloader = val_dataloader

val_evaluator = dict(type='DepthMetric')
test_evaluator = val_evaluator
del _nyu, _kitti, _void, _c3vd
