# The paper's setting (configs/tr2m_da_s.py) trained from the frozen-feature cache. Its
# pipelines (Resize to multiples of 14, RandomFlip) are cacheable as they are:
#   python tools/cache_features.py configs/cache/tr2m_da_s.py [--dtype int8] [--device cuda]
#   python tools/train.py configs/cache/tr2m_da_s.py
# Disk (float16, from the sizes of the four training sets x 2 flip views and the test sets):
# see docs/user_guides/speed.md, "Frozen-feature cache"; --dtype int8 halves the image tokens.
_base_ = ['../tr2m_da_s.py']
cache = dict(root='work_dirs/cache/tr2m_da_s', dtype='float16')
work_dir = 'work_dirs/tr2m_da_s_cached'  # not the uncached run's work_dirs/tr2m_da_s
