"""Preparing a large corpus: time, memory and a second command's start, at 25, 100 and 400 MB of distinct documents.

    python benchmarks/scale.py [--sizes 25 100 400] [--layouts review sentence] [--src FOLDER] [--json FILE] [--label LABEL]
    python benchmarks/scale.py table      # the tables kept in benchmarks/scale.json, and what they show

Builds each corpus once (in `--work`, default `~/.cache/mlm_nbdev_scale`) from the 25,000 packaged IMDb training
reviews: one document per line, every line distinct.
- `review`: one review per line; beyond the 25,000 (about 33 MB), copy k of review i is review i followed by the
  first sentence of review i + k.
- `sentence`: one sentence per line; beyond the distinct sentences, copy k joins sentence j and sentence j + k·7919.

For each corpus it runs `mlm-nbdev prepare --data CORPUS` (offline profile) twice in a fresh process, with empty caches
the first time (`MLM_NBDEV_CACHE` and the datasets cache in a scratch folder) and warm the second time, and prints:
- documents: the documents kept (repeats and blank lines dropped), from the chunk cache's report;
- prepare: wall time of the first command, and the tokens it prepared per second;
- peak anonymous memory: the highest anonymous resident memory of the command and its worker processes together, sampled
  every 50 ms as Pss_Anon, which counts a page that forked workers share with their parent once (RssAnon, also kept in
  `--json`, counts it in each; for one process they are the same). Memory-mapped Arrow pages are file-backed and do not count;
- second prepare: wall time of the second `prepare`, from a new interpreter to the chunks in hand: the part of `train`,
  `evaluate` and `run` that depends on the corpus before their first step;
- train: start to first step: a third command, `train` (one step on 16 chunks), from a new interpreter until its progress
  bar opens, which is when the first step starts; then it is stopped.

The model is the offline student saved as a folder (`--model`), so that no command builds the offline base.

`--src` runs the package from another checkout (its folder goes first on the path), to measure code before a change.
`--label` keeps the rows in `benchmarks/scale.json` under that label, with the commit measured and the date.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path

def anon_kb(pid:int)->tuple:
    """(RssAnon, Pss_Anon) of `pid` and all its descendants together, in kB. Forked workers share their parent's pages until
    they write them: RssAnon counts a shared page in every process, Pss_Anon divides it among them (one process: the same)."""
    rss = pss = 0; todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rss += int(re.search(r'RssAnon:\s+(\d+)', Path(f'/proc/{p}/status').read_text()).group(1))
            pss += int(re.search(r'Pss_Anon:\s+(\d+)', Path(f'/proc/{p}/smaps_rollup').read_text()).group(1))
            for t in Path(f'/proc/{p}/task').iterdir():
                todo += [int(c) for c in (t/'children').read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError): pass  # the process ended meanwhile
    return rss, pss

def measured(cmd:list, env:dict, cwd:str)->tuple:
    "(seconds, peak RssAnon in MB, peak Pss_Anon in MB, output) of `cmd`, sampling memory every 50 ms."
    t0, peak = time.perf_counter(), [0, 0]
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    def sample():
        while p.poll() is None:
            peak[:] = [max(a, b) for a, b in zip(peak, anon_kb(p.pid))]; time.sleep(0.05)
    th = threading.Thread(target=sample); th.start()
    out = p.communicate()[0]; th.join()
    if p.returncode: raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{out[-3000:]}")
    return time.perf_counter() - t0, peak[0] / 1024, peak[1] / 1024, out

def until(cmd:list, env:dict, cwd:str, marker:str)->float:
    "Seconds from starting `cmd` until `marker` appears in its output; then it is stopped."
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    seen = ''
    while (c := p.stdout.read(1)):
        seen = (seen + c)[-4000:]
        if marker in seen: t = time.perf_counter() - t0; p.kill(); p.wait(); return t
    p.wait()
    raise RuntimeError(f"{' '.join(cmd)} ended without printing {marker!r}:\n{seen[-3000:]}")

def student(work:Path)->Path:
    "The offline student, saved once as a model folder: `train` loads it without building the offline base."
    folder = work/'student'
    if not folder.exists():
        from mlm_nbdev.config import get_profile
        from mlm_nbdev.data import build_student, load_tokenizer
        p = get_profile('offline', verbose=False)
        build_student(p).save_pretrained(folder); load_tokenizer(p).save_pretrained(folder)
    return folder

def sentences(text:str)->list:
    return [s.strip() for s in re.split(r'(?<=[.!?])\s+', text.replace('<br />', ' ')) if len(s.split()) >= 3]

def build_corpus(path:Path, layout:str, mb:int):
    "Write `mb` MB of distinct documents, one per line."
    import pandas as pd
    from mlm_nbdev.sources import packaged_reviews_csv
    df = pd.read_csv(packaged_reviews_csv())
    reviews = [' '.join(t.replace('<br />', ' ').split()) for t in df.loc[df['source'] == 'imdb', 'text']]
    if layout == 'review':
        first = [(sentences(r) or [r])[0] for r in reviews]  # each review's first sentence (a review without one: itself)
        base, extra = reviews, lambda k, i: f"{reviews[i]} {first[(i + k) % len(reviews)]}"
    else:
        base = list(dict.fromkeys(s for r in reviews for s in sentences(r)))
        extra = lambda k, i: f"{base[i]} {base[(i + k * 7919) % len(base)]}"
    seen, size, k = set(), 0, 0
    tmp = path.with_suffix('.partial')
    with open(tmp, 'w', encoding='utf-8') as f:
        while size < mb * 1_000_000:
            for i in range(len(base)):
                line = base[i] if k == 0 else extra(k, i)
                h = hash(line)
                if h in seen: continue
                seen.add(h); f.write(line + '\n'); size += len(line.encode()) + 1
                if size >= mb * 1_000_000: break
            k += 1
    os.replace(tmp, path)

def report(cache:Path)->dict:
    "Documents and tokens over the splits of the one chunk cache in `cache`."
    r = json.loads(next((cache/'chunks').glob('*/report.json')).read_text())
    return {'documents': sum(s.get('documents', s.get('reviews', 0)) for s in r.values()),
            'tokens': sum(s['tokens'] for s in r.values())}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', type=int, nargs='+', default=[25, 100, 400])
    ap.add_argument('--layouts', nargs='+', default=['review', 'sentence'], choices=['review', 'sentence'])
    ap.add_argument('--src', default=None, help="a checkout whose package to run (default: the installed one)")
    ap.add_argument('--work', default=str(Path.home()/'.cache'/'mlm_nbdev_scale'))
    ap.add_argument('--json', default=None, help="also write the rows to this file")
    ap.add_argument('--label', default=None, help="keep the rows in benchmarks/scale.json under this label")
    if sys.argv[1:2] == ['table']: return print(tables(json.loads(KEPT.read_text())))
    args = ap.parse_args()
    work = Path(args.work); work.mkdir(parents=True, exist_ok=True)
    src = str(Path(args.src).resolve()) if args.src else tempfile.gettempdir()  # the working folder goes first on the path
    rows = []
    for layout in args.layouts:
        for mb in args.sizes:
            corpus = work/f'{layout}-{mb}MB.txt'
            if not corpus.exists(): build_corpus(corpus, layout, mb)
            scratch = Path(tempfile.mkdtemp(prefix='scale-'))
            env = {**os.environ, 'MLM_NBDEV_CACHE': str(scratch/'mlm'), 'HF_DATASETS_CACHE': str(scratch/'datasets'),
                   'HF_HUB_OFFLINE': '1', 'MLM_NBDEV_PROFILE': 'offline', 'TOKENIZERS_PARALLELISM': 'true'}
            env.pop('MLM_NBDEV_SET', None)
            cmd = [sys.executable, '-m', 'mlm_nbdev.cli', 'prepare', '--profile', 'offline', '--data', str(corpus), '--model', str(student(work))]
            train = [*cmd[:3], 'train', *cmd[4:], '--output-dir', str(scratch/'run'), '--no-eval-before', '--max-steps', '1',
                     '--set', 'train_size=16', '--set', 'test_size=16', '--set', 'batch_size=8']
            try:
                cold, peak, pss, _ = measured(cmd, env, src)
                warm, _, _, _ = measured(cmd, env, src)
                to_step = until(train, env, src, 'training:')
                r = report(scratch/'mlm')
                disk = sum(f.stat().st_size for f in scratch.rglob('*') if f.is_file())
            finally: shutil.rmtree(scratch, ignore_errors=True)
            rows.append({'layout': layout, 'MB': mb, 'documents': r['documents'], 'tokens': r['tokens'], 'prepare_s': round(cold, 1),
                         'tokens_per_s': round(r['tokens'] / cold), 'peak_rss_anon_mb': round(peak), 'peak_pss_anon_mb': round(pss),
                         'warm_s': round(warm, 1), 'train_start_s': round(to_step, 1),
                         'disk_mb': round(disk / 1e6), 'corpus_mb': round(corpus.stat().st_size / 1e6)})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows))
    if args.json: Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.label:
        kept = json.loads(KEPT.read_text()) if KEPT.exists() else {}
        commit = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=args.src or Path(__file__).parent, capture_output=True, text=True).stdout.strip()
        kept[args.label] = {'commit': commit, 'date': time.strftime('%Y-%m-%d'), 'cpus': os.cpu_count(), 'rows': rows}
        KEPT.write_text(json.dumps(kept, indent=1) + '\n')

KEPT = Path(__file__).parent/'scale.json'

def tables(kept:dict)->str:
    "Each label's table, then what the after side shows against the targets."
    out = []
    for label, k in sorted(kept.items(), key=lambda kv: kv[0] != 'before'):  # before, then after
        out += [f"**{label}** ({k['commit']}, {k['date']}, {k['cpus']} CPU cores):", '', table(k['rows']), '']
    if 'after' in kept:
        rows = {(r['layout'], r['MB']): r for r in kept['after']['rows']}
        mem = lambda r: r.get('peak_pss_anon_mb', r['peak_rss_anon_mb'])
        for layout in ('review', 'sentence'):
            if (layout, 25) in rows and (layout, 400) in rows:
                out.append(f"{layout} per line: peak anonymous memory at 400 MB minus at 25 MB: "
                           f"{(mem(rows[layout, 400]) - mem(rows[layout, 25])) / 1024:+.2f} GB (target: within 0.3 GB)")
            if (layout, 100) in rows and (layout, 400) in rows:
                out.append(f"{layout} per line: preparation time, 400 MB over 100 MB: "
                           f"{rows[layout, 400]['prepare_s'] / rows[layout, 100]['prepare_s']:.2f}x (target: at most 4.4x)")
            if (layout, 100) in rows and 'train_start_s' in rows[layout, 100]:
                out.append(f"{layout} per line: train, start to first step at 100 MB, caches warm: {rows[layout, 100]['train_start_s']:.1f} s (target: within 5 s)")
    return '\n'.join(out)

def table(rows:list)->str:
    "The rows as a Markdown table."
    head = ['layout', 'corpus', 'documents', 'prepare (s)', 'tokens/s', 'peak anonymous memory (MB)', 'second prepare (s)',
            'train: start to first step (s)', 'caches on disk']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in rows:
        lines.append(f"| {r['layout']} per line | {r['corpus_mb']} MB | {r['documents']:,} | {r['prepare_s']:,.1f} | {r['tokens_per_s']:,} "
                     f"| {r.get('peak_pss_anon_mb', r['peak_rss_anon_mb']):,} | {r['warm_s']:.1f} | {r.get('train_start_s', '-')} | {r['disk_mb'] / r['corpus_mb']:.1f}x |")
    return '\n'.join(lines)

if __name__ == '__main__': main()
