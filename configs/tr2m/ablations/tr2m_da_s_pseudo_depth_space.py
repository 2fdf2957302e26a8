# L_tp-si with the paper's literal eq. 5 (fit alpha * Dr + beta ~ D_gt in depth space) instead
# of the default inverse-space fit.
_base_ = '../../tr2m_da_s.py'
model = dict(loss_pseudo=dict(space='depth'))
