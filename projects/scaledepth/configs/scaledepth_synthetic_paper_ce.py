# Demo ablation: the text-image loss as a plain cross-entropy of the similarity logits
# (softmax_first=False) instead of the released cross-entropy of their softmax.
_base_ = ['./scaledepth_synthetic.py']
model = dict(loss_ti=dict(softmax_first=False))
work_dir = 'work_dirs/scaledepth_synthetic_paper_ce'
