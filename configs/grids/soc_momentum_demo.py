# The momentum of SOC's key branch against the length of the schedule, on the offline demo set.
# The paper's 0.999 is an EMA time constant of 1000 steps: the paper's schedule (20 epochs of the
# ~50k-image mix at batch 8) runs ~125k steps, the demo's 540 (30 epochs x 18), in which a 0.999
# branch moves only 1 - 0.999^540 = 42% of the way from its initial weights: the keys come from a
# network close to the random initialisation. 0.99 (time constant 100 steps) is the demo-sized
# equivalent. Summed (paper) and mean negatives, three seeds each; the 0.999 rows are
# silog_form_demo.py's (sum) and soc_negatives_demo.py's (mean) runs.
#   python tools/ablate.py configs/grids/soc_momentum_demo.py
base = '../quickstart/tr2m_synthetic.py'
grid = {
    'model.soc': {
        'sum_m0.99': dict(type='ScaleOrientedContrast', momentum=0.99),
        'mean_m0.99': dict(type='ScaleOrientedContrast', momentum=0.99,
                           negative_reduction='mean'),
    },
    'randomness.seed': [0, 1, 2],
}
