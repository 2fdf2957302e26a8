# Table 8's second column: the NYUv2-trained NeWCRFs (+ SOC) tested zero-shot on iBims-1 (100
# frames of 480 x 640: the whole frame, no resize, as NYUv2), under TR2M's iBims-1 protocol
# (0..10 m, Eigen crop, the invalid and transparent masks; tr2m/datasets/ibims.py), with the
# released flip fusion. Data as tools/dataset_converters/README.md (data/ibims).
#   python tools/test.py projects/newcrfs_soc/configs/newcrfs_soc_swin_l_nyu_ibims.py CKPT
# A plain NeWCRFs checkpoint (projects/newcrfs/configs/newcrfs_swin_l_nyu.py): add
#   --cfg-options model.soc=None
_base_ = ['./newcrfs_soc_swin_l_nyu.py']

test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='IBims1Dataset', data_root='data/ibims', split='test', caption_source=None,
                 test_mode=True,
                 pipeline=[dict(type='LoadRGBImage'), dict(type='LoadDepth'),
                           dict(type='PackDepthInputs')]))
