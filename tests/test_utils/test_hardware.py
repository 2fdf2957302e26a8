"""tr2m/utils/hardware.py: CPU flags from /proc/cpuinfo, the bf16 rule per device, and the
precision that inference runs under."""
import numpy as np
import pytest
import torch

from tr2m.utils import hardware
from tr2m.utils.hardware import (
    DeviceInfo,
    autocast_dtype,
    cpu_info,
    describe_device,
    device_info,
    parse_cpuinfo,
)

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx avx2 fma bmi2 sha_ni vaes
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx avx2 fma bmi2 sha_ni vaes
"""
ZEN4 = """model name\t: AMD EPYC 9B14
flags\t\t: avx2 fma avx512f avx512_vnni avx512_bf16 vaes
"""
SPR = """model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: avx2 fma avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_parse_cpuinfo_first_processor():
    name, flags = parse_cpuinfo(ZEN3)
    assert name == 'AMD EPYC 7B13' and {'avx2', 'fma'} <= flags and 'avx512f' not in flags
    assert parse_cpuinfo('') == ('', frozenset())


@pytest.mark.parametrize('text,native,auto,isa', [
    (ZEN3, False, False, ('avx2', 'fma')),
    (ZEN4, True, False, ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16')),
    (SPR, True, True, ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile',
                       'amx_bf16')),
])
def test_cpu_bf16_rule(text, native, auto, isa):
    info = cpu_info(text)
    assert (info.bf16_native, info.bf16_auto, info.isa) == (native, auto, isa)
    line = info.describe()
    assert line.startswith('cpu: ' + parse_cpuinfo(text)[0])
    assert ('auto precision bfloat16' in line) == auto
    assert ('auto precision float32' in line) == (not auto)


def test_this_machine_is_described():
    info = device_info('cpu')
    assert info.device == 'cpu' and info.name
    assert any(i.startswith('cap=') for i in info.isa)  # PyTorch's CPU capability
    assert describe_device('cpu') == info.describe()
    flags = parse_cpuinfo(hardware._read_cpuinfo())[1]
    if flags:  # Linux: the flags agree with PyTorch's own probes
        assert ('avx512_bf16' in flags) == torch.cpu._is_avx512_bf16_supported()
        assert info.bf16_auto == ('amx_bf16' in flags)


def test_cuda_rule(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda i=0: (9, 0))
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda i=0: 'NVIDIA H100 80GB HBM3')
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    info = device_info('cuda:0')
    assert info == DeviceInfo('cuda:0', 'NVIDIA H100 80GB HBM3', ('sm_90',), True, True,
                              'CUDA bf16 supported')
    assert autocast_dtype('auto', 'cuda:0') is torch.bfloat16
    monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda i=0: (7, 5))
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert autocast_dtype('auto', 'cuda:0') is None
    assert 'sm_75' in describe_device('cuda:0')


def test_autocast_dtype(monkeypatch):
    for auto in (False, True):
        monkeypatch.setattr(hardware, 'cpu_info',
                            lambda text=None, a=auto: cpu_info(SPR if a else ZEN3))
        assert autocast_dtype('auto', 'cpu') is (torch.bfloat16 if auto else None)
        assert autocast_dtype('bf16', 'cpu') is torch.bfloat16
        assert autocast_dtype('fp32', 'cpu') is None
    with pytest.raises(ValueError, match='precision must be one of'):
        autocast_dtype('fp16', 'cpu')


def test_inference_precision(monkeypatch):
    """``infer_depths(precision=...)``: 'auto' runs what the device rule says, 'bf16' runs the
    forward in bfloat16 (the depth still float32), ``amp=True`` is 'bf16'."""
    from torch import nn

    from tr2m.apis import infer_depth
    from tr2m.structures import DepthDataSample

    class Probe(nn.Module):
        """A depther that reports the dtype its linear layer computes in."""

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 1)
            self.seen = []

        def test_step(self, data):
            x = torch.stack(data['inputs']).float().mean((2, 3))
            y = self.lin(x)
            self.seen.append(y.dtype)
            from mmengine.structures import PixelData

            outs = []
            for s in data['data_samples']:
                o = DepthDataSample(metainfo=s.metainfo)
                h, w = s.metainfo['ori_shape']
                o.pred_depth = PixelData(data=torch.ones(1, h, w, dtype=y.dtype))
                outs.append(o)
            return outs

    model = Probe()
    image = np.zeros((8, 12, 3), np.uint8)
    expect = {}
    for auto in (False, True):
        monkeypatch.setattr(hardware, 'cpu_info',
                            lambda text=None, a=auto: cpu_info(SPR if a else ZEN3))
        out = infer_depth(model, image, 'a caption', precision='auto')
        assert out['depth'].dtype == np.float32 and out['depth'].shape == (8, 12)
        expect[auto] = model.seen[-1]
    assert expect == {False: torch.float32, True: torch.bfloat16}
    infer_depth(model, image, 'a caption', precision='bf16')
    infer_depth(model, image, 'a caption', precision='fp32')
    assert model.seen[-2:] == [torch.bfloat16, torch.float32]
    with pytest.raises(ValueError, match='precision must be one of'):
        infer_depth(model, image, 'a caption', precision='half')
