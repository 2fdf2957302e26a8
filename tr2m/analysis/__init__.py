"""Analysis as a library: benchmarks, ablation grids, comparisons and SOC reports; the tools
under ``tools/`` (``ablate.py``, ``analysis_tools/benchmark.py``, ``compare.py``,
``soc_separability.py``, ``soc_grid_report.py``) are thin command lines in front of it.

Layer: the top floor of the package, just below ``tools/``: it may import ``tr2m.apis``,
``tr2m.cache`` and everything under them; nothing in ``tr2m`` imports it. Its modules are
imported by name (``from tr2m.analysis.ablation import run_grid``): this package file imports
none of them, so ``import tr2m.analysis`` is cheap.
"""
