"""``tools/infer.py --batch-size N --precision``: batched inference over a folder equals one
image at a time, and bfloat16 autocast (``--amp`` = ``--precision bf16``) stays close to
float32."""
import json
import shutil

import numpy as np


def test_batched_and_amp_match_single(load_tool, infer_config, infer_checkpoint, synthetic_root,
                                      tmp_path):
    frames = json.loads((synthetic_root / 'test.json').read_text())['frames']
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for i, frame in enumerate(frames[:5]):
        shutil.copy(synthetic_root / frame['rgb'], folder / f'{i}.png')
    infer = load_tool('tools/infer.py')
    runs = {}
    for name, extra in (('single', ['--precision', 'fp32']),
                        ('batched', ['--batch-size', '2', '--precision', 'fp32']),
                        ('amp', ['--batch-size', '4', '--amp']),
                        ('bf16', ['--batch-size', '4', '--precision', 'bf16'])):
        out = tmp_path / name
        infer.main([str(infer_config), str(infer_checkpoint), '--img', str(folder), '--text',
                    'A room with a table.', '--out-dir', str(out), '--device', 'cpu', *extra])
        runs[name] = [np.load(out / f'{i}_depth.npy') for i in range(5)]
    for single, batched, amp in zip(runs['single'], runs['batched'], runs['amp']):
        assert single.std() > 0 and batched.dtype == amp.dtype == np.float32
        np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-6)
        assert np.isfinite(amp).all()
        np.testing.assert_allclose(amp, single, rtol=0.05)
    for amp, bf16 in zip(runs['amp'], runs['bf16']):
        np.testing.assert_array_equal(amp, bf16)  # --amp is --precision bf16
    assert any(not np.array_equal(a, s) for a, s in zip(runs['amp'], runs['single']))
