"""tr2m/functional is the ground floor: it imports torch, numpy and the standard library only."""
import ast
import sys
from pathlib import Path

import tr2m.functional

ALLOWED = {'torch', 'numpy'}


def test_imports_nothing_above_the_ground_floor():
    folder = Path(tr2m.functional.__file__).parent
    found = set()
    for path in folder.glob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split('.')[0])
    outside = {m for m in found if m not in ALLOWED and m not in sys.stdlib_module_names}
    assert not outside, f'tr2m/functional imports {sorted(outside)}'


def test_public_import_paths_are_the_functional_ones():
    """The names other code and users import keep working, as the ground floor's objects."""
    import tr2m.evaluation as evaluation
    import tr2m.evaluation.functional as evaluation_functional
    import tr2m.functional as F
    import tr2m.models.depthers.base as depther_base
    import tr2m.models.layers.precision as layers_precision
    import tr2m.models.losses as losses

    assert losses.fit_scale_shift is F.fit_scale_shift
    assert evaluation.compute_depth_metrics is F.compute_depth_metrics
    assert evaluation.eval_mask is F.eval_mask is evaluation_functional.eval_mask
    assert evaluation_functional.MIN_INV == depther_base.MIN_INV_DEPTH == F.MIN_INV_DEPTH
    assert depther_base.affine_inverse_to_depth is F.affine_inverse_to_depth
    assert layers_precision.float32_math is F.float32_math
    for name in ('silog_loss', 'pseudo_metric_depth', 'depth_classes', 'soc_loss',
                 'edge_aware_smoothness', 'reduce_labels'):
        assert callable(getattr(losses, name))
