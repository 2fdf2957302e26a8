# TR2M (the paper's model) trained and evaluated on your own RGB-D frames
# (configs/custom/_base_/own_frames.py says how to point it at them). Fine-tune a trained TR2M
# instead of starting from scratch with load_from (or --cfg-options load_from=CKPT). Another
# model: swap the first _base_ entry (e.g. '../_base_/models/rsa_da_s.py').
#   python tools/train.py configs/custom/tr2m_own_frames.py --cfg-options \
#       train_dataloader.dataset.ann_file=data/robot/train.json \
#       val_dataloader.dataset.ann_file=data/robot/test.json
#   python tools/test.py configs/custom/tr2m_own_frames.py work_dirs/tr2m_own_frames/epoch_20.pth \
#       --cfg-options val_dataloader.dataset.ann_file=data/robot/test.json \
#       --show-dir work_dirs/tr2m_own_frames/panels --out work_dirs/tr2m_own_frames/metrics.json
_base_ = [
    '../_base_/models/tr2m_da_s.py', './_base_/own_frames.py',
    '../_base_/schedules/schedule_20e.py', '../_base_/default_runtime.py'
]
load_from = None  # e.g. 'work_dirs/tr2m_da_s/epoch_20.pth' to fine-tune the paper model
