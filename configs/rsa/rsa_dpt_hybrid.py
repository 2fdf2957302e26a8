# RSA on DPT-Hybrid (MiDaS 3.0), RSA's own main relative model; everything else as
# rsa_da_s.py.
_base_ = './rsa_da_s.py'
model = dict(relative_depth=dict(arch='dpt_hybrid'))
