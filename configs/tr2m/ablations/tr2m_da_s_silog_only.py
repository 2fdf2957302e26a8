# Table 4: pixel-wise maps trained with L_si alone.
_base_ = '../../tr2m_da_s.py'
model = dict(loss_pseudo=None, soc=None, loss_smooth=None)
