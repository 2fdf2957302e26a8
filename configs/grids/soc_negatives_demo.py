# How eq. 8's negatives are pooled, measured on the offline demo set (zoedepth SI-log form, the
# paper config's default). The paper's S_n *sums* the mean cosine to every other class present;
# a trained demo model meets that by pushing every similarity negative (S_p -0.2, each negative
# class -0.18, ~7.5 negative classes per image: the sum wins without any class structure).
# 'mean' pools them as a mean (softplus(0) = 0.69 when classes are not separated); temperature
# 0.1 is the usual InfoNCE scale. The 'sum' and no-SOC rows are silog_form_demo.py's
# form=zoedepth runs (same base, seeds and schedule).
#   python tools/ablate.py configs/grids/soc_negatives_demo.py
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.soc': {
        'mean': dict(type='ScaleOrientedContrast', negative_reduction='mean'),
        'mean_t0.1': dict(type='ScaleOrientedContrast', negative_reduction='mean',
                          temperature=0.1),
    },
    'randomness.seed': [0, 1, 2],
}
