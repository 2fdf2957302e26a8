# TR2M, the paper's setting: Depth Anything Small + DINOv2 ViT-L/14 + CLIP ViT-L/14 text,
# trained on NYUv2 + KITTI + VOID + C3VD (batch 8, AdamW lr 1e-5, x0.9 per epoch, 20 epochs).
# No work_dir here: the tools derive work_dirs/<config name>, so child configs do not share it.
_base_ = [
    '_base_/models/tr2m_da_s.py', '_base_/datasets/mixed_nyu_kitti_void_c3vd.py',
    '_base_/schedules/schedule_20e.py', '_base_/default_runtime.py'
]
