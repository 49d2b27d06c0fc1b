"""Training-step time of the offline student on this CPU in fp32 and in bf16 autocast, without and with torch.compile (its
compilation timed apart), with AdamW's loop over tensors or its fused kernel, for the stock head, for the loss at the masked
positions and for lesson 7's sentiment classifier; and what the CPU offers for bf16.

    python benchmarks/precision.py                        # batches of 32 x 128, as benchmarks/training.py times them
    python benchmarks/precision.py --batch-size 8         # smaller batches, where bf16 is slow (a CPU without bf16 units)
    python benchmarks/precision.py --batch-size 8 --compile --no-bf16   # and fp32 with torch.compile, added to the same table
    python benchmarks/precision.py --fused                # AdamW's fused kernel (fused=True), added to the same table
    python benchmarks/precision.py perplexity             # lesson 5's training run in fp32 and in bf16: held-out perplexity per epoch
    python benchmarks/precision.py table                  # the table stored in benchmarks/precision.json

Writes benchmarks/precision.json (one entry per CPU, keyed by its name and capabilities) and prints a Markdown table.
`mixed_precision` (the configuration page) reads no timing: this table is the evidence for its choice on a CPU
(`precision='auto'` picks bf16 where the CPU has native bf16 instructions), on the CPU it ran on. The classifier row is
`SentimentClassifier`'s step (the student's encoder, mean pooling, a linear layer, cross-entropy) on batches of
`--batch-size` reviews of 64 tokens, as the offline profile's classifiers train.
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

def step_time(ids, labels, variant, precision, compiled, steps, bs, fused=False)->tuple:
    "(seconds of the first step, compilation included; mean seconds of the next `steps` steps)."
    from mlm_nbdev.trainer import masked_lm_loss
    from mlm_nbdev.downstream import mean_pool
    torch.manual_seed(0)
    model = build('student').train()
    if variant == 'classifier':  # lesson 7's SentimentClassifier on the student: its encoder, mean pooling and a new linear layer
        encoder, head = model.base_model, torch.nn.Linear(model.config.hidden_size, 2)
        model = torch.nn.ModuleDict({'encoder': encoder, 'head': head}).train()
        ids, labels = ids[:, :64], torch.arange(len(ids)) % 2
        fn = lambda x, y: torch.nn.functional.cross_entropy(
            head(mean_pool(encoder(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state, torch.ones_like(x))).float(), y)
    else: fn = (lambda x, y: model(input_ids=x, labels=y).loss) if variant == 'stock' else (lambda x, y: masked_lm_loss(model, x, y))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=fused or None)
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

def one_run(prec:str)->dict:
    "Lesson 5's training run (the offline profile's `train_mlm` run) in precision `prec`: exact perplexity per epoch."
    import dataclasses, tempfile
    from mlm_nbdev.config import get_profile
    from mlm_nbdev.data import load_model, load_tokenizer
    from mlm_nbdev.training_loop import lesson_data, train_mlm
    p = dataclasses.replace(get_profile('offline', verbose=False), precision=prec)
    tokenizer = load_tokenizer(p)
    train_ds, eval_set, collator = lesson_data(p, tokenizer, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        r = train_mlm(p, load_model(p), tokenizer, train_ds, eval_set, collator, tmp, progress=False)
    return {'perplexity': [round(h['perplexity'], 3) for h in r['history']], 'steps': r['steps'], 'seconds': round(r['seconds'], 1)}

def perplexities()->dict:
    "Lesson 5's run in fp32 and in bf16 autocast, same steps and masks, each in a process of its own (Accelerate fixes the precision per process)."
    import subprocess
    out = {}
    for prec, name in (('no', 'fp32'), ('bf16', 'bf16')):
        r = subprocess.run([sys.executable, __file__, 'perplexity', '--one', prec], capture_output=True, text=True, check=True)
        out[name] = json.loads(r.stdout.strip().splitlines()[-1])
        print(name, out[name], flush=True)
    return out

def perplexity_table(entry:dict)->str:
    r = entry['perplexity']
    rows = [f"| {e} | {a:,.2f} | {b:,.2f} | {100 * (b - a) / a:+.2f}% |" for e, (a, b) in enumerate(zip(r['fp32']['perplexity'], r['bf16']['perplexity']))]
    return (f"Lesson 5's training run, offline profile, {r['fp32']['steps']} steps ({r['fp32']['seconds']:.0f} s in fp32, {r['bf16']['seconds']:.0f} s in bf16):"
            " exact perplexity on the fixed evaluation set\n\n| epoch | fp32 | bf16 autocast | bf16 against fp32 |\n|---|---:|---:|---:|\n" + '\n'.join(rows) + '\n')

def table(entry:dict)->str:
    c = entry['cpu']
    head = (f"{c['cpu']}, {c['cores']} threads ({c['isa']}; AMX bf16: {'yes' if c['amx_bf16'] else 'no'}, AVX-512 bf16: "
            f"{'yes' if c['avx512_bf16'] else 'no'}), torch {c['torch']}, batches of {entry['batch']} x 128, measured {entry['date']}\n\n")
    names = [p + c + f for f in ('', ' + fused AdamW') for c in ('', ' + compile') for p in ('fp32', 'bf16')]
    cols = [k for k in names if any(k in r for r in entry['rows'].values())]
    out = head + '| loss | ' + ' | '.join(cols) + ' |\n|---|' + '---:|' * len(cols) + '\n'
    for variant, r in entry['rows'].items():
        base = r['fp32']['steady'] if 'fp32' in r else None
        cells = []
        for k in cols:
            if k not in r: cells.append('not run'); continue
            s = r[k]
            cells.append(f"{s['steady']:.2f} s" + (f" ({base / s['steady']:.2f}x)" if base else '')
                         + (f"; first step {s['first']:.0f} s" if 'compile' in k else ''))
        out += f"| {variant} | " + ' | '.join(cells) + ' |\n'
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('what', nargs='?', default='run', choices=['run', 'perplexity', 'table'])
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--steps', type=int, default=2, help='timed steps after the first')
    ap.add_argument('--compile', action='store_true', help='also time torch.compile (its first step includes compilation)')
    ap.add_argument('--no-bf16', action='store_true', help='fp32 only (where bf16 is too slow to time)')
    ap.add_argument('--one', default=None, help=argparse.SUPPRESS)  # internal: one precision's run, printed as JSON
    ap.add_argument('--fused', action='store_true', help="AdamW's fused kernel instead of its loop over tensors")
    a = ap.parse_args()
    if a.what == 'table':
        for e in json.loads(RESULTS.read_text()).values(): print(table(e) if 'rows' in e else '', perplexity_table(e) if 'perplexity' in e else '')
        return
    if a.what == 'perplexity' and a.one:
        print(json.dumps(one_run(a.one))); return
    if a.what == 'perplexity':
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        c = cpu_description()
        entry = {'cpu': c, 'date': datetime.date.today().isoformat(), 'perplexity': perplexities()}
        results[f"{c['cpu']} ({c['isa']}, lesson 5's run)"] = entry
        RESULTS.write_text(json.dumps(results, indent=1) + '\n')
        print('\n' + perplexity_table(entry))
        return
    tmp = Path('.bench/batches.npz')
    if not tmp.exists(): save_batches(tmp, 2048)
    import numpy as np
    d = np.load(tmp); ids, labels = torch.from_numpy(d['input_ids']).long(), torch.from_numpy(d['labels']).long()
    kinds = [('fp32', False)] + ([] if a.no_bf16 else [('bf16', False)])
    if a.compile: kinds += [('fp32', True)] + ([] if a.no_bf16 else [('bf16', True)])
    rows = {}
    for variant, name in (('stock', 'stock head'), ('masked', 'head and last layer at the masked positions'),
                          ('classifier', "lesson 7's classifier, 64 tokens")):
        rows[name] = {}
        for prec, compiled in kinds:
            col = prec + (' + compile' if compiled else '') + (' + fused AdamW' if a.fused else '')
            first, steady = step_time(ids, labels, variant, prec, compiled, a.steps, a.batch_size, a.fused)
            rows[name][col] = {'first': round(first, 2), 'steady': round(steady, 3)}
            print(f"{name}, {col}: first step {first:.2f} s, then {steady:.3f} s per step", flush=True)
    entry = {'cpu': cpu_description(), 'batch': a.batch_size, 'steps': a.steps, 'date': datetime.date.today().isoformat(), 'rows': rows}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    key = f"{entry['cpu']['cpu']} ({entry['cpu']['isa']}, batch {a.batch_size})"
    if key in results:  # a second run on this CPU and batch (e.g. --compile --no-bf16 after a run without --compile) adds its columns
        for name, r in results[key]['rows'].items(): entry['rows'][name] = {**r, **entry['rows'][name]}
    results[key] = entry
    RESULTS.write_text(json.dumps(results, indent=1) + '\n')
    print('\n' + table(entry))

if __name__ == '__main__': main()
