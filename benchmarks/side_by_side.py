"""The course's time at two commits, on one machine: each in a fresh clone and virtual environment, the offline store
(`bash .ci/test_nbs --store`, every notebook) and the Colab drill (`python .ci/drill.py`), with one stock training step of
the offline student (`benchmarks/training.py --model student`) before and after, so that the ratio is read on one machine.

    python benchmarks/side_by_side.py run COMMIT --label before   # one side (about 45 minutes at 6a03f5d on 2 cores)
    python benchmarks/side_by_side.py run HEAD --label after
    python benchmarks/side_by_side.py table                       # the table, from benchmarks/side_by_side.json

Both sides install the same pinned versions (this checkout's .ci/constraints.txt), store with an empty home and cache as
`bash .ci/run --store` does, and run the drill as CI does. Nothing else should run on the machine meanwhile.
"""
import argparse, datetime, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

import notebooks  # benchmarks/notebooks.py: its table() prints this one too

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO/'benchmarks'/'side_by_side.json'
STEP = re.compile(r'^\| stock \| off \| ([\d.]+) \|', re.M)
PASS = re.compile(r'^(PASS|FAIL) (\S+\.ipynb) \((\d+) s[,)]', re.M)  # 'PASS nb (12 s)' or '(12 s, stored)'

def sh(*cmd, cwd=None, env=None, log=None)->str:
    "Run a command; its output goes to `log` as it comes, and is returned."
    with open(log, 'a') if log else open(os.devnull, 'w') as f:
        p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = []
        for line in p.stdout: out.append(line); f.write(line); f.flush()
        p.wait()
    return ''.join(out), p.returncode

def stock_step(py, clone, log)->float:
    out, rc = sh(py, clone/'benchmarks'/'training.py', '--model', 'student', cwd=clone, log=log)
    m = STEP.search(out)
    if rc or not m: sys.exit(f"the stock step failed: {out[-500:]}")
    return float(m.group(1))

def sizes_of(clone:Path, py:Path)->dict:
    "The clone's offline profile (every field) and the drill's sizes (MLM_NBDEV_SET in .ci/drill.py)."
    code = "import dataclasses, json; from mlm_nbdev.config import OFFLINE; print(json.dumps(dataclasses.asdict(OFFLINE)))"
    out, rc = sh(py, '-c', code, cwd=clone)
    drill = re.search(r'^SIZES = \((.*?)\)', (clone/'.ci'/'drill.py').read_text(), re.M | re.S)
    return {'offline': json.loads(out.strip().splitlines()[-1]) if rc == 0 else None,
            'drill': dict(kv.split('=', 1) for kv in ''.join(re.findall(r'"([^"]*)"', drill[1])).split()) if drill else None}

def size_changes(b:dict, a:dict)->list:
    "Lines naming every offline profile field and drill size that differs between two sides."
    out = []
    for kind in ('offline', 'drill'):
        x, y = (b.get('sizes') or {}).get(kind) or {}, (a.get('sizes') or {}).get(kind) or {}
        changed = [f"{k} {x.get(k, '-')} -> {y.get(k, '-')}" for k in dict.fromkeys([*x, *y]) if x.get(k) != y.get(k)]
        out.append(f"{kind} sizes changed: {', '.join(changed) if changed else 'none'}")
    return out

def side_env(clone:Path, scratch:Path)->dict:
    "The environment of `bash .ci/run --store`: the clone's venv, an empty home (the cache in it), the offline profile."
    env = {k: v for k, v in os.environ.items() if not k.startswith(('MLM_NBDEV_', 'HF_', 'VIRTUAL_ENV'))}
    return env | {'PATH': f"{clone/'.venv'/'bin'}:{env['PATH']}", 'VIRTUAL_ENV': str(clone/'.venv'), 'HOME': str(scratch/'home'),
                  'HF_HUB_OFFLINE': '1', 'MLM_NBDEV_PROFILE': 'offline', 'MLM_NBDEV_SET': 'wordnet_source=pip', 'MLM_NBDEV_CACHE': '',
                  'PIP_DISABLE_PIP_VERSION_CHECK': '1'}

def run_drill(clone:Path, py:Path, env:dict, work:Path, label:str, log:Path)->tuple:
    "The Colab drill after the store, in its home (the base and adapted model in its cache), as .ci/run runs it."
    times = ['--times', work/f'{label}-drill-times.json'] if "'--times'" in (clone/'.ci'/'drill.py').read_text() else []
    t = time.time()
    out, rc = sh(py, '.ci/drill.py', *times, cwd=clone, env=env, log=log)
    drill_s = time.time() - t
    if not PASS.search(out): sys.exit(f"the drill ran no notebook: {out[-1000:]}")
    return ({m[2]: int(m[3]) for m in PASS.finditer(out)}, round(drill_s), [f'drill {m[2]}' for m in PASS.finditer(out) if m[1] == 'FAIL'])

def drill_again(label:str, clone:Path, scratch:Path):
    "Run a side's drill again on its clone and its store's home (its first drill could not run), with a stock step before and after."
    log, py = clone.parent/f'{label}.log', clone/'.venv'/'bin'/'python'
    before = stock_step(py, clone, log)
    drill, drill_s, failed = run_drill(clone, py, side_env(clone, scratch), clone.parent, label, log)
    after = stock_step(py, clone, log)
    results = json.loads(RESULTS.read_text())
    side = results[label]
    side |= {'drill': drill, 'drill_s': drill_s, 'failed': [f for f in side['failed'] if not f.startswith('drill ')] + failed,
             'drill_date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
             'drill_stock_steps': [before, after]}
    RESULTS.write_text(json.dumps(results, indent=1) + '\n')
    print(f"{label}: drill {drill_s} s, stock step {before:.2f} s before, {after:.2f} s after; failed: {failed or 'none'}")

def run_side(commit:str, label:str, work:Path):
    log = work/f'{label}.log'
    clone = work/label
    sh('git', 'clone', '--quiet', REPO, clone, log=log)
    sh('git', 'checkout', '--quiet', commit, cwd=clone, log=log)
    sha = sh('git', 'rev-parse', 'HEAD', cwd=clone)[0].strip()
    t = time.time()
    sh(sys.executable, '-m', 'venv', clone/'.venv', log=log)
    py = clone/'.venv'/'bin'/'python'
    sh(py, '-m', 'pip', 'install', '-q', 'torch==2.13.0', log=log)
    _, rc = sh(py, '-m', 'pip', 'install', '-q', '-e', '.[dev]', '-c', REPO/'.ci'/'constraints.txt', cwd=clone, log=log)
    if rc: sys.exit(f"install failed at {sha[:7]}: see {log}")
    install = time.time() - t
    step_before = stock_step(py, clone, log)
    scratch = Path(tempfile.mkdtemp(prefix=f'sbs-{label}-'))
    (scratch/'home').mkdir()
    env = side_env(clone, scratch)
    store = ['--store-all'] if '--store-all' in (clone/'.ci'/'test_nbs').read_text() else ['--store']  # every notebook, either way
    t = time.time()
    out, rc_nbs = sh('bash', '.ci/test_nbs', *store, cwd=clone, env=env, log=log)
    notebooks_s = time.time() - t
    notebooks = {m[2]: int(m[3]) for m in PASS.finditer(out)}
    failed = [m[2] for m in PASS.finditer(out) if m[1] == 'FAIL']
    drill, drill_s, drill_failed = run_drill(clone, py, env, work, label, log)
    failed += drill_failed
    step_after = stock_step(py, clone, log)
    sizes = sizes_of(clone, py)
    side = dict(sizes=sizes, commit=sha, label=label, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                cores=os.cpu_count(), install_s=round(install), stock_step_before=step_before, stock_step_after=step_after,
                notebooks=notebooks, notebooks_s=round(notebooks_s), drill=drill, drill_s=drill_s, failed=failed)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[label] = side
    RESULTS.write_text(json.dumps(results, indent=1) + '\n')
    print(f"{label} ({sha[:7]}): notebooks {notebooks_s:.0f} s, drill {drill_s:.0f} s, stock step {step_before:.2f} s before, "
          f"{step_after:.2f} s after; failed: {failed or 'none'}")

def table(results:dict, before='before', after='after')->str:
    "Each notebook's seconds on both sides, and the ratio after / before, offline then in the drill (a Markdown table)."
    b, a, rows = results[before], results[after], []
    for kind in ('notebooks', 'drill'):
        for n in dict.fromkeys([*b[kind], *a[kind]]):
            x, y = b[kind].get(n), a[kind].get(n)
            rows.append((f"{'offline' if kind == 'notebooks' else 'drill'}: {n}", '-' if x is None else x, '-' if y is None else y,
                         f"{y / x:.2f}" if x and y is not None else '-'))
        rows.append((f"**{'offline notebooks' if kind == 'notebooks' else 'drill'}, in all**", b[kind + '_s'], a[kind + '_s'],
                     f"**{a[kind + '_s'] / b[kind + '_s']:.2f}**"))
    rows += [(name, f"{b[k]:.2f}", f"{a[k]:.2f}", '-') for k, name in (('stock_step_before', 'stock step before (s)'),
                                                                      ('stock_step_after', 'stock step after (s)'))]
    return notebooks.table(rows, ('', f"{before} `{b['commit'][:7]}` (s)", f"{after} `{a['commit'][:7]}` (s)", 'ratio'), markdown=True)

TARGETS = {'the offline notebooks': ('notebooks_s', None), 'the drill': ('drill_s', None),
           'lesson 4': ('notebooks', 'lessons/04_trainer.ipynb'), 'lesson 5': ('notebooks', 'lessons/05_accelerate.ipynb'),
           'lesson 7': ('notebooks', 'lessons/07_downstream.ipynb')}

def verdicts(results:dict, before='before', after='after', target:float=0.5)->str:
    "One line per figure that #29 asks to halve: seconds before and after, the ratio, and whether it is at most `target`."
    b, a = results[before], results[after]
    lines = []
    for name, (kind, nb) in TARGETS.items():
        x, y = (b[kind], a[kind]) if nb is None else (b[kind].get(nb), a[kind].get(nb))
        if x is None or y is None: lines.append(f"{name}: not measured on both sides"); continue
        lines.append(f"{name}: {x:,} s -> {y:,} s, ratio {y / x:.3f}: {'at most' if y / x <= target else 'more than'} {target}")
    steps = [x for r in (b, a) for x in (r['stock_step_before'], r['stock_step_after'], *r.get('drill_stock_steps', []))]
    lines.append(f"stock step: {', '.join(f'{s:.2f}' for s in steps)} s (each side's, before and after its runs, in the order they were timed): "
                 f"the machine's speed moved by {max(steps) / min(steps) - 1:.0%} between the fastest and the slowest")
    lines += size_changes(b, a)
    if b['failed'] or a['failed']: lines.append(f"failed: {before} {b['failed'] or 'none'}, {after} {a['failed'] or 'none'}")
    return '\n'.join(lines)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run'); r.add_argument('commit'); r.add_argument('--label', required=True)
    r.add_argument('--work', type=Path, default=None, help='where the clone goes (default: a new temporary folder)')
    d = sub.add_parser('drill', help="run a side's drill again, on its clone and its store's home")
    d.add_argument('clone', type=Path); d.add_argument('scratch', type=Path); d.add_argument('--label', required=True)
    z = sub.add_parser('sizes', help="add a side's sizes to the results from its clone (for a side stored without them)")
    z.add_argument('clone', type=Path); z.add_argument('--label', required=True)
    t = sub.add_parser('table'); t.add_argument('--before', default='before'); t.add_argument('--after', default='after')
    args = ap.parse_args()
    if args.cmd == 'run':
        work = args.work or Path(tempfile.mkdtemp(prefix='side-by-side-')); work.mkdir(parents=True, exist_ok=True)
        print(f"working in {work}", flush=True)
        run_side(args.commit, args.label, work)
    elif args.cmd == 'drill': drill_again(args.label, args.clone.resolve(), args.scratch.resolve())
    elif args.cmd == 'sizes':
        results = json.loads(RESULTS.read_text())
        results[args.label]['sizes'] = sizes_of(args.clone, args.clone/'.venv'/'bin'/'python')
        RESULTS.write_text(json.dumps(results, indent=1) + '\n')
    else:
        results = json.loads(RESULTS.read_text())
        if missing := [k for k in (args.before, args.after) if k not in results]:
            print(f"Not measured yet: {', '.join(missing)}; the table needs both sides (python benchmarks/side_by_side.py run COMMIT --label ...)."); return
        print(table(results, args.before, args.after)); print(); print(verdicts(results, args.before, args.after))

if __name__ == '__main__':
    main()
