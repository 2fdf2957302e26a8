# RSA on DPT-Hybrid (RSA's configs/arguments_train_3d_dpt.txt: batch 4 per dataset, otherwise
# as rsa_da_s.py). RSA's DPT runs use DPT-Hybrid's NYUv2 fine-tune for NYUv2 and VOID and its
# KITTI fine-tune for KITTI (dpt_hybrid_{nyu,kitti}*.pt, the head's output before DPT's fixed
# scale/shift to depth), which transformers does not ship; this config uses the MiDaS 3.0
# relative DPT-Hybrid (Intel/dpt-hybrid-midas) for all three datasets instead.
_base_ = './rsa_da_s.py'
model = dict(relative_depth=dict(arch='dpt_hybrid'))
train_dataloader = dict(batch_size=4)
