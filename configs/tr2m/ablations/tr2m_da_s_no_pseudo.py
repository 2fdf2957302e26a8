# Table 4: without the thresholded pseudo-depth loss L_tp-si.
_base_ = '../../tr2m_da_s.py'
model = dict(loss_pseudo=None)
