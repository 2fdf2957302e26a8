# Demo ablation: only the 28 released categories; the endoscopic frames get no scene label
# (-1: the similarity loss skips them, their scale is learnt from the SI loss alone).
_base_ = ['./scaledepth_synthetic.py']
model = dict(
    extra_scene_classes=(),
    # _delete_: drop the endoscopic entry of the base's table
    scene_labeler=dict(dataset_classes=dict(_delete_=True, synthetic_outdoor='outdoor_scene')),
)
work_dir = 'work_dirs/scaledepth_synthetic_28cls'
