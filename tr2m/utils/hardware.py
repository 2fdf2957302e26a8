"""What the device computes fast: its name, instruction set and whether bfloat16 pays there.

``precision='auto'`` (``tools/infer.py --precision``, the default) asks
:func:`autocast_dtype`, which follows :func:`bf16_pays`:

- CUDA: bfloat16 where ``torch.cuda.is_bf16_supported()`` (Ampere and newer: tensor cores).
- CPU: bfloat16 only with AMX (``amx_bf16``); float32 everywhere else. The rule comes from
  measurements of one 950x1024 by 1024x4096 linear and one 256-channel 3x3 convolution at
  38x50, batch 2, and of a paper-config training step (``docs/user_guides/speed.md``), each
  format side by side in one process, one thread, median CPU time (5 calls for the linear
  and the convolution, 2-3 steps for the paper config at 70x98 / 266x350):

  ========================================  ===========  ============  =====================
  CPU (``/proc/cpuinfo`` flags)             linear bf16  conv bf16     paper step bf16
  ========================================  ===========  ============  =====================
  AMD EPYC Zen 3, AVX2 only (no AVX-512)    8x slower    ~100x slower  10.6x slower (cached)
  AVX-512 without AVX512-BF16 or AMX        4.3x slower  3.8x slower   3.5x slower
  AVX512-BF16 + AMX (issue 22's review)     ~4-5x faster               2.43x faster (cached)
  ========================================  ===========  ============  =====================

  Without native bfloat16 instructions oneDNN converts every operand and computes in float32
  (or falls back to reference kernels), so bfloat16 only costs. AVX512-BF16 without AMX
  (``vdpbf16ps``: twice the multiply-adds per instruction, no tiles) was not measured on any
  machine this project had; ``auto`` keeps float32 there and ``--precision bf16`` asks for it.

``describe_device`` is the one line benchmarks print to name what they measured on.
"""
import os
import platform
from dataclasses import dataclass, field
from typing import Optional, Tuple

import torch

from tr2m.utils.choices import PRECISIONS

# PRECISIONS: ``--precision`` choices, ``auto`` = bfloat16 where :func:`bf16_pays`, else float32
# (defined without torch, for the tools' argument parsers).

#: CPU flags that matter for the formats, in the order :func:`describe_device` lists them.
CPU_ISA_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16',
                 'amx_fp16')
#: CPU flags with native bfloat16 products: AVX512-BF16 (``vdpbf16ps``) and AMX tiles.
CPU_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
#: CPU flags with which ``auto`` picks bfloat16 (measured to pay; see the module docstring).
CPU_BF16_AUTO_FLAGS = ('amx_bf16',)
_CPUINFO = '/proc/cpuinfo'


def _read_cpuinfo(path: str = _CPUINFO) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ''


def parse_cpuinfo(text: str) -> Tuple[str, frozenset]:
    """``(model name, flags)`` of the first processor in ``/proc/cpuinfo`` text ('' and an
    empty set where a field is missing)."""
    name, flags = '', frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(':')
        key = key.strip()
        if key == 'model name' and not name:
            name = value.strip()
        elif key in ('flags', 'Features') and not flags:  # x86 / ARM
            flags = frozenset(value.split())
        if name and flags:
            break
    return name, flags


def _torch_cpu_flags() -> frozenset:
    """The flags PyTorch's own CPU probes report (where ``/proc/cpuinfo`` is absent)."""
    probes = dict(avx2='_is_avx2_supported', avx512f='_is_avx512_supported',
                  avx512_vnni='_is_vnni_supported', avx512_bf16='_is_avx512_bf16_supported',
                  amx_tile='_is_amx_tile_supported', amx_fp16='_is_amx_fp16_supported')
    found = set()
    for flag, fn in probes.items():
        probe = getattr(torch.cpu, fn, None)
        try:
            if probe is not None and probe():
                found.add(flag)
        except RuntimeError:
            pass
    if 'amx_tile' in found:  # Sapphire Rapids and later: tiles come with bf16
        found.add('amx_bf16')
    return frozenset(found)


@dataclass(frozen=True)
class DeviceInfo:
    """A device as far as precision is concerned.

    Args:
        device (str): 'cpu' or 'cuda[:i]'.
        name (str): CPU model name or GPU name.
        isa (Tuple[str, ...]): CPU: the :data:`CPU_ISA_FLAGS` present and PyTorch's CPU
            capability (``cap=AVX2``); CUDA: ``sm_XY``.
        bf16_native (bool): the device has bfloat16 arithmetic (CUDA bf16, AVX512-BF16, AMX).
        bf16_auto (bool): ``precision='auto'`` picks bfloat16 here.
        reason (str): why ``auto`` picks what it picks.
    """

    device: str
    name: str
    isa: Tuple[str, ...] = field(default_factory=tuple)
    bf16_native: bool = False
    bf16_auto: bool = False
    reason: str = ''

    def describe(self) -> str:
        """One line: device, name, instruction set, what ``auto`` runs and why."""
        isa = ' '.join(self.isa) or 'unknown'
        fmt = 'bfloat16' if self.bf16_auto else 'float32'
        return (f'{self.device}: {self.name or "unknown"} [{isa}]; auto precision {fmt} '
                f'({self.reason})')


def cpu_info(cpuinfo_text: Optional[str] = None) -> DeviceInfo:
    """The CPU this process runs on (or the one ``cpuinfo_text`` describes)."""
    text = _read_cpuinfo() if cpuinfo_text is None else cpuinfo_text
    name, flags = parse_cpuinfo(text)
    if not flags and cpuinfo_text is None:
        flags = _torch_cpu_flags()
    name = name or platform.processor() or platform.machine()
    isa = [f for f in CPU_ISA_FLAGS if f in flags]
    if cpuinfo_text is None:
        isa.append(f'cap={torch.backends.cpu.get_cpu_capability()}')
    native = [f for f in CPU_BF16_FLAGS if f in flags]
    auto = any(f in flags for f in CPU_BF16_AUTO_FLAGS)
    if auto:
        reason = 'AMX bf16 tiles: bf16 measured faster'
    elif native:
        reason = 'AVX512-BF16 without AMX: bf16 not measured to pay, fp32 kept'
    else:
        reason = 'no bf16 instructions: bf16 measured slower'
    return DeviceInfo('cpu', name, tuple(isa), bool(native), auto, reason)


def cuda_info(index: int = 0) -> DeviceInfo:
    """CUDA device ``index`` (call only where ``torch.cuda.is_available()``)."""
    major, minor = torch.cuda.get_device_capability(index)
    native = bool(torch.cuda.is_bf16_supported())
    reason = 'CUDA bf16 supported' if native else 'no CUDA bf16 support (before Ampere)'
    return DeviceInfo(f'cuda:{index}', torch.cuda.get_device_name(index), (f'sm_{major}{minor}',),
                      native, native, reason)


def device_info(device='cpu') -> DeviceInfo:
    """:class:`DeviceInfo` of ``device`` ('cpu', 'cuda', 'cuda:1' or a ``torch.device``)."""
    device = torch.device(device)
    if device.type == 'cpu':
        return cpu_info()
    if device.type == 'cuda':
        return cuda_info(device.index if device.index is not None else
                         torch.cuda.current_device())
    return DeviceInfo(str(device), device.type, (), False, False,
                      f'{device.type}: bf16 autocast not chosen automatically')


def describe_device(device='cpu') -> str:
    """One line naming the device, its instruction set and the ``auto`` precision."""
    return device_info(device).describe()


def bf16_pays(device='cpu') -> bool:
    """Whether ``precision='auto'`` runs bfloat16 autocast on ``device`` (module docstring)."""
    return device_info(device).bf16_auto


def autocast_dtype(precision: str, device='cpu') -> Optional[torch.dtype]:
    """The autocast dtype of ``precision`` on ``device``: ``torch.bfloat16`` or None (float32).

    Raises:
        ValueError: ``precision`` not in :data:`PRECISIONS`.
    """
    if precision == 'fp32':
        return None
    if precision == 'bf16':
        return torch.bfloat16
    if precision == 'auto':
        return torch.bfloat16 if bf16_pays(device) else None
    raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')


def threads_line() -> str:
    """Intra-op threads and ``OMP_NUM_THREADS``, for benchmark headers."""
    return (f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), '
            f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}')


__all__ = ['PRECISIONS', 'CPU_ISA_FLAGS', 'CPU_BF16_FLAGS', 'CPU_BF16_AUTO_FLAGS', 'DeviceInfo',
           'parse_cpuinfo', 'cpu_info', 'cuda_info', 'device_info', 'describe_device',
           'bf16_pays', 'autocast_dtype', 'threads_line']


if __name__ == '__main__':  # python -m tr2m.utils.hardware
    print(describe_device('cpu'))
    for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        print(describe_device(f'cuda:{i}'))
