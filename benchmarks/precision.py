"""Training-step time of the offline student on this CPU in fp32 and in bf16 autocast, without and with torch.compile (its
compilation timed apart), for the stock head and for the loss at the masked positions; and what the CPU offers for bf16.

    python benchmarks/precision.py                        # batches of 32 x 128, as benchmarks/training.py times them
    python benchmarks/precision.py --batch-size 8         # smaller batches, where bf16 is slow (a CPU without bf16 units)
    python benchmarks/precision.py --batch-size 8 --compile --no-bf16   # and fp32 with torch.compile, added to the same table
    python benchmarks/precision.py table                  # the table stored in benchmarks/precision.json

Writes benchmarks/precision.json (one entry per CPU, keyed by its name and capabilities) and prints a Markdown table.
`mixed_precision` (the configuration page) reads no timing: the profile's `precision='auto'` keeps fp32 on a CPU, and this
table is the evidence for that choice on the CPU it ran on.
"""
import argparse, datetime, json, sys, time
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training import build, save_batches  # benchmarks/training.py: the offline student and its masked batches

RESULTS = Path(__file__).resolve().parent/'precision.json'

def cpu_description()->dict:
    "This CPU's name, cores and the capabilities that decide bf16's speed (AMX, AVX-512 bf16)."
    caps = getattr(torch.cpu, 'get_capabilities', lambda: {})()
    return {'cpu': caps.get('cpu_name', 'unknown'), 'cores': torch.get_num_threads(),
            'amx_bf16': bool(caps.get('amx_bf16')), 'avx512_bf16': bool(caps.get('avx512_bf16')),
            'isa': torch.backends.cpu.get_cpu_capability(), 'torch': torch.__version__}

def step_time(ids, labels, variant, precision, compiled, steps, bs)->tuple:
    "(seconds of the first step, compilation included; mean seconds of the next `steps` steps)."
    from mlm_nbdev.trainer import masked_lm_loss
    torch.manual_seed(0)
    model = build('student').train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    fn = (lambda x, y: model(input_ids=x, labels=y).loss) if variant == 'stock' else (lambda x, y: masked_lm_loss(model, x, y))
    if compiled: fn = torch.compile(fn, dynamic=variant != 'stock')
    amp = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if precision == 'bf16' else (lambda: torch.autocast('cpu', enabled=False))
    n = len(ids) // bs
    def step(i):
        x, y = ids[i % n * bs:(i % n + 1) * bs], labels[i % n * bs:(i % n + 1) * bs]
        t = time.perf_counter()
        with amp(): loss = fn(x, y)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t
    first = step(0)
    return first, sum(step(i + 1) for i in range(steps)) / steps

def table(entry:dict)->str:
    c = entry['cpu']
    head = (f"{c['cpu']}, {c['cores']} threads ({c['isa']}; AMX bf16: {'yes' if c['amx_bf16'] else 'no'}, AVX-512 bf16: "
            f"{'yes' if c['avx512_bf16'] else 'no'}), torch {c['torch']}, batches of {entry['batch']} x 128, measured {entry['date']}\n\n")
    cols = [k for k in ('fp32', 'bf16', 'fp32 + compile', 'bf16 + compile') if any(k in r for r in entry['rows'].values())]
    out = head + '| loss | ' + ' | '.join(cols) + ' |\n|---|' + '---:|' * len(cols) + '\n'
    for variant, r in entry['rows'].items():
        base = r['fp32']['steady']
        cells = []
        for k in cols:
            if k not in r: cells.append('not run'); continue
            s = r[k]
            cells.append(f"{s['steady']:.2f} s ({base / s['steady']:.2f}x)" + (f"; first step {s['first']:.0f} s" if 'compile' in k else ''))
        out += f"| {variant} | " + ' | '.join(cells) + ' |\n'
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('what', nargs='?', default='run', choices=['run', 'table'])
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--steps', type=int, default=2, help='timed steps after the first')
    ap.add_argument('--compile', action='store_true', help='also time torch.compile (its first step includes compilation)')
    ap.add_argument('--no-bf16', action='store_true', help='fp32 only (where bf16 is too slow to time)')
    a = ap.parse_args()
    if a.what == 'table':
        for e in json.loads(RESULTS.read_text()).values(): print(table(e))
        return
    tmp = Path('.bench/batches.npz')
    if not tmp.exists(): save_batches(tmp, 2048)
    import numpy as np
    d = np.load(tmp); ids, labels = torch.from_numpy(d['input_ids']).long(), torch.from_numpy(d['labels']).long()
    kinds = [('fp32', False)] + ([] if a.no_bf16 else [('bf16', False)])
    if a.compile: kinds += [('fp32', True)] + ([] if a.no_bf16 else [('bf16', True)])
    rows = {}
    for variant, name in (('stock', 'stock head'), ('masked', 'head and last layer at the masked positions')):
        rows[name] = {}
        for prec, compiled in kinds:
            first, steady = step_time(ids, labels, variant, prec, compiled, a.steps, a.batch_size)
            rows[name][prec + (' + compile' if compiled else '')] = {'first': round(first, 2), 'steady': round(steady, 3)}
            print(f"{name}, {prec}{' + compile' if compiled else ''}: first step {first:.2f} s, then {steady:.3f} s per step", flush=True)
    entry = {'cpu': cpu_description(), 'batch': a.batch_size, 'steps': a.steps, 'date': datetime.date.today().isoformat(), 'rows': rows}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    key = f"{entry['cpu']['cpu']} ({entry['cpu']['isa']}, batch {a.batch_size})"
    if key in results:  # a second run on this CPU and batch (e.g. --compile --no-bf16 after a run without --compile) adds its columns
        for name, r in results[key]['rows'].items(): entry['rows'][name] = {**r, **entry['rows'][name]}
    results[key] = entry
    RESULTS.write_text(json.dumps(results, indent=1) + '\n')
    print('\n' + table(entry))

if __name__ == '__main__': main()
