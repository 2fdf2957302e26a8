# Zero-shot evaluation on the paper's unseen sets at once: SUN RGB-D, iBims-1, HyperSim,
# DIODE Outdoor (metres) and SimCol (millimetres). Batch size 1 (sizes differ); each sample
# carries its own protocol (range, crop, units) and DepthMetric reports per dataset_name.
# The datasets and their pipelines are those of sunrgbd.py, ibims.py, hypersim.py,
# diode_outdoor.py and simcol.py in this folder, read as they are; for one set alone, inherit
# its own config.


def _dataset_config(name):
    """``<name>.py`` of this folder as a config (several ``_base_`` files may not define the
    same keys, so the per-dataset configs are read here instead of inherited)."""
    from mmengine import Config
    return Config.fromfile('{{ fileDirname }}/' + name + '.py')


_sets = [_dataset_config(n) for n in ('sunrgbd', 'ibims', 'hypersim', 'diode_outdoor', 'simcol')]
_sunrgbd, _ibims, _hypersim, _diode, _simcol = _sets

sunrgbd_root = _sunrgbd.data_root
ibims_root = _ibims.data_root
hypersim_root = _hypersim.data_root
diode_root = _diode.data_root
simcol_root = _simcol.data_root

pipeline_480x640 = _sunrgbd.test_pipeline  # and iBims-1's
pipeline_768x1024 = _hypersim.test_pipeline  # and DIODE's
pipeline_simcol = _simcol.test_pipeline

test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['dataset_name', 'protocol'],
        datasets=[c.test_dataloader.dataset for c in _sets]))
val_dataloader = test_dataloader

test_evaluator = dict(type='DepthMetric')
val_evaluator = test_evaluator
del _sets, _sunrgbd, _ibims, _hypersim, _diode, _simcol
