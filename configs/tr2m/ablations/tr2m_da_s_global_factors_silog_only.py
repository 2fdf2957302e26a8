# Table 4, first row as a whole: global factors trained with L_si alone.
_base_ = './tr2m_da_s_global_factors.py'
model = dict(loss_pseudo=None, soc=None, loss_smooth=None)
