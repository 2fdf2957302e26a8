# TR2M, the paper's setting: Depth Anything Small + DINOv2 ViT-L/14 + CLIP ViT-L/14 text,
# trained on NYUv2 + KITTI + VOID + C3VD (batch 8, AdamW lr 1e-5, x0.9 per epoch, 20 epochs).
# No work_dir here: the tools derive work_dirs/<config name>, so child configs do not share it.
_base_ = [
    '_base_/models/tr2m_da_s.py', '_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '_base_/schedules/schedule_20e.py', '_base_/default_runtime.py'
]

# TensorBoard (`tensorboard --logdir work_dirs/tr2m_da_s`): the logged scalars, and every 1000
# iterations the depth panels (image | GT | prediction | AbsRel | scale A | shift B) of 4 fixed
# validation images, one per dataset. The quickstart and the tests keep the light default.
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
# (custom_hooks adds to the default hooks of default_runtime.py, which hold everything the model
# needs: SOC's momentum update, the loss-balance log, the caption table.)
custom_hooks = [dict(type='ValidationPanelHook', interval=1000, num_images=4)]
