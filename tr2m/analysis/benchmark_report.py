"""The human-readable table of a benchmark result (``tr2m.analysis.benchmark.run_benchmark``)."""
from tr2m.analysis.timing import optional


def _line(name: str, p: dict) -> str:
    mem = f", peak {p['peak_mem_mib']:.0f} MiB" if 'peak_mem_mib' in p else ''
    return (f"{name:<26} {p['wall_ms']:10.1f} ms wall {p['cpu_ms']:10.1f} ms CPU "
            f"{p['images_per_s']:8.2f} images/s{mem}")


def _report_cache(c: dict) -> list:
    w = c['weights'] or {}
    opt = optional
    return [_line(f"train from cache ({c['dtype']})", c),
            f"  cache speed-up {c['speedup']:.2f}x wall, {c['speedup_cpu']:.2f}x CPU; first "
            f"step: losses max rel. diff {c['first_step_max_rel_diff']:.1e}, gradients rel. "
            f"diff {c['first_step_grad_rel_diff']:.1e}",
            f"  after 3 steps: weights max |diff| {opt(w.get('max_abs_diff'))}, update rel. "
            f"diff {opt(w.get('update_rel_diff'))} (initial weights max |diff| "
            f"{opt(w.get('init_max_abs_diff'))})"]


def _report_frozen(f: dict) -> list:
    lines = ['', f"forward time per step, captions encoded every step "
                 f"({f['step']['wall_ms']:.1f} ms wall):"]
    for name, m in f['modules'].items():
        lines.append(f"  {name:<22} {m['forward_ms']:10.1f} ms  share {m['share']:.3f}"
                     + ('  (frozen)' if m['frozen'] else ''))
    return lines + [f"  frozen share {f['frozen_share']:.3f}"]


def _report_amp(a: dict) -> list:
    lines = ['', 'bfloat16 autocast:']
    for key, name in (('train', 'train'), ('cache', 'train from cache')):
        if key in a:
            lines.append(_line(f'  {name}', a[key]) + (
                f"  ({a[key]['speedup']:.2f}x fp32 wall, {a[key]['speedup_cpu']:.2f}x CPU)"
                if 'speedup' in a[key] else ''))
    if 'predict' in a:
        p = a['predict']
        lines.append(_line('  predict', p) + f"  ({p['speedup']:.2f}x fp32 wall, "
                     f"{p['speedup_cpu']:.2f}x CPU; depth rel. diff median "
                     f"{p['depth_median_rel_diff']:.1e}, max {p['depth_max_rel_diff']:.1e})")
    if 'losses_rel_diff' in a:
        lines.append('  losses rel. diff from fp32 (same weights): ' + ', '.join(
            f'{k} {v:.1e}' for k, v in a['losses_rel_diff'].items()))
    if 'step3_losses_rel_diff' in a:
        lines.append('  losses rel. diff from fp32 at the 3rd step: ' + ', '.join(
            f'{k} {v:.1e}' for k, v in a['step3_losses_rel_diff'].items()))
    return lines


def _report_soc(s: dict) -> list:
    lines = ['', f"SOC loss, queries {tuple(s['queries'])}, {s['key_sets']} key sets "
                 f"({s['keys_per_image']} keys per image), {s['classes']} classes, "
                 'forward + backward:']
    for name in ('class_mean', 'pairwise'):
        p = s[name]
        lines.append(f"  {name:<12} {p['wall_ms']:10.2f} ms wall {p['cpu_ms']:10.2f} ms CPU "
                     f"peak {p['peak_mib']:9.1f} MiB")
    return lines + [
        f"  class means {s['speedup']:.1f}x faster ({s['speedup_cpu']:.1f}x CPU), "
        f"{s['memory_ratio']:.1f}x less memory; |loss diff| {s['max_abs_diff']:.1e} (rel. "
        f"{s['rel_diff']:.1e}), max |grad diff| {s['grad_max_abs_diff']:.1e}",
        f"  memory: {s['memory_method']}"]


def _report_optim(o: dict) -> list:
    lines = ['', f"AdamW step on the {o['num_params'] / 1e6:.2f}M trainable parameters "
                 f"({o['num_tensors']} tensors):"]
    for name in ('loop', 'foreach', 'fused'):
        p = o[name]
        diff = f"  max |w - w_loop| {p['max_abs_diff']:.1e}" if 'max_abs_diff' in p else ''
        lines.append(f"  {name:<8} {p['wall_ms']:10.2f} ms wall {p['cpu_ms']:10.2f} ms CPU"
                     + diff)
    return lines + [f"  fused {o['fused_speedup']:.2f}x the for-loop "
                    f"({o['fused_speedup_cpu']:.2f}x CPU), {o['fused_vs_foreach']:.2f}x foreach"]


def _rate(values) -> str:
    return '-'.join(f'{v:.0f}' for v in values if v is not None) or '-'


def _report_data(d: dict) -> list:
    p, dev, c = d['pipeline'], d['device'], d['cache']
    g = 1e9
    mib = 2 ** 20
    lines = ['', f"data path ({d['source']}):",
             f"  one worker: {p['samples_per_s_per_worker']:.1f} samples/s "
             f"({p['cpu_ms_per_sample']:.2f} ms CPU per sample, median {p['cpu_ms_median']:.2f}; "
             f"{p['samples']} samples); loader wall rate {p['wall_samples_per_s']:.1f}/s with "
             f"{p['workers']} worker",
             f"  training step {d['flops']['per_sample_train'] / g:.1f} GFLOPs per sample, "
             f"{d['flops']['per_sample_cached'] / g:.1f} from the cache",
             f"  {dev['device']} ({dev['precision']}, {dev['peak_tflops']:.0f} TFLOP/s dense, "
             f"{dev['utilisation'][0]:.0%}-{dev['utilisation'][-1]:.0%} utilisation assumed) "
             f"consumes {_rate(dev['train'])} samples/s uncached, {_rate(dev['cached'])} cached",
             f"  workers needed: {_rate(d['workers_needed']['train'])} uncached, "
             f"{_rate(d['workers_needed']['cached'])} cached; num_workers='auto' gives "
             f"{d['auto_workers']} here"]
    read = c['read'].get('bytes_per_s')
    lines.append(
        f"  cache: {c['bytes_per_sample'] / mib:.2f} MiB per sample ({c['dtype']}); needs "
        f"{(c['needed_bytes_per_s'] or 0) / mib:.0f} MiB/s at the cached rate; random reads "
        f"{'-' if read is None else f'{read / mib:.0f}'} MiB/s "
        f"({'page cache dropped' if c['read'].get('cold') else 'page cache may serve them'}); "
        + (f"size {c['bytes'] / 2**30:.1f} GiB vs {c['memory_available'] / 2**30:.1f} GiB "
           f"RAM available ({'fits' if c['fits_in_ram'] else 'does not fit'})"
           if c.get('bytes') else 'size unknown (--cache-root or --cache-samples)'))
    if c.get('warning'):
        lines.append(f"  WARNING: {c['warning']}")
    return lines


def format_report(r: dict) -> str:
    """The human-readable table of a :func:`run_benchmark` result."""
    lines = [f"{r['config']} on {r['device']} (torch {r['torch']}, {r['threads']} threads, "
             f"random init: {r['random_init']})",
             f"hardware: {r.get('hardware', 'not recorded')}",
             f"batch {r['batch_size']}, input {tuple(r['shape'])}, median of {r['repeats']} "
             f"after {r['warmup']} warm-up", '']
    if 'train' in r:
        lines.append(_line('train (frozen models run)', r['train']))
    if r.get('cache'):
        lines += _report_cache(r['cache'])
    if r.get('frozen'):
        lines += _report_frozen(r['frozen'])
    if r.get('amp'):
        lines += _report_amp(r['amp'])
    if r.get('optim'):
        lines += _report_optim(r['optim'])
    for soc in (r.get('soc') or {}).values():
        lines += _report_soc(soc)
    if 'predict' in r:
        lines += ['', _line('predict', r['predict'])]
    if r.get('data'):
        lines += _report_data(r['data'])
    return '\n'.join(lines)
