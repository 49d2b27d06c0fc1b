"""The Colab drill: every notebook run as a learner runs it in Colab, as closely as an offline CPU machine allows.

    python .ci/drill.py [--keep DIR] [NOTEBOOK ...]     # default: every notebook, in the course's order

What is as in Colab:
- the course's own names: `distilbert-base-uncased`, `huggingface-course/distilbert-base-uncased-finetuned-imdb` and
  `stanfordnlp/imdb` load by name from a Hugging Face cache (stand-ins built from what packages ship, below), with no
  MLM_NBDEV_PROFILE, MLM_NBDEV_MODEL, MLM_NBDEV_DATA or IN_TEST;
- Colab's choice of profile: inside the drill's own virtual environment (and nowhere else) `mlm_nbdev.config.has_gpu`
  and `hub_reachable` answer True, as a GPU and the Hub make them answer in Colab, so `choose_profile` picks `course`;
- a real Jupyter kernel (nbclient) per notebook, with a `google.colab` module imported, so each setup cell takes its
  Colab branch: its `pip install ... git+https://github.com/mlm-nbdev/mlm_nbdev@main` is pointed by git's
  `url.<base>.insteadOf` at a snapshot of the working tree under test;
- a new runtime per notebook: a new kernel, an empty home folder and working folder, and mlm_nbdev uninstalled again,
  so nothing an earlier notebook wrote survives; the Hugging Face cache stays, as the Hub does.
Runtimes run side by side (--jobs, default 2), each in a virtual environment of its own that shares the libraries, so that
one notebook's waits (installing, starting, importing) overlap another's work.
What differs is printed at the start and at the end. Ends with one line "N passed, M failed".
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GITHUB = 'https://github.com/mlm-nbdev/mlm_nbdev'
MODEL, ADAPTED, DATA = 'distilbert-base-uncased', 'huggingface-course/distilbert-base-uncased-finetuned-imdb', 'stanfordnlp/imdb'
SIZES = ("train_size=96 test_size=300 batch_size=8 epochs=2 trainer_lr=2e-4 accelerate_lr=2e-4 classifier_train=640 "
         "classifier_test=400 classifier_max_length=64 classifier_head_tokens=16 classifier_lr=3e-4 classifier_head_lr=3e-3 "
         "classifier_epochs=1 classifier_batch_size=32 classifier_seeds=0,1,2")
# The learning rates are the offline profile's (a 24-step run at 2e-5 barely moves), and so is lesson 7's recipe (the stand-in
# models are the offline ones). test_size is what lesson 4's guard needs: each evaluation draws new masks, and on 300 chunks that
# noise stays well below the second epoch's fall (benchmarks page, benchmarks/trainer_noise.py). Lesson 7's classifiers are tested on
# 400 reviews, not the offline 1,000: the paired intervals' guards hold at this budget in the drill itself, and the drill's
# classifiers run on one thread each.
STANDIN_REVIEWS = dict(train=2000, test=1000, unsupervised=1000)
DIFFERENCES = f"""What still differs from Colab:
- no GPU: the profile is chosen as a GPU and the Hub would choose it (has_gpu and hub_reachable answer True in the
  drill's virtual environment only); everything runs on this machine's CPU cores;
- no network but PyPI: {MODEL} is the offline general base under DistilBERT's names, {ADAPTED}
  is the offline adapted model under the same names, and {DATA} holds {STANDIN_REVIEWS['train']:,} / {STANDIN_REVIEWS['test']:,} / {STANDIN_REVIEWS['unsupervised']:,} packaged IMDb
  reviews (train / test / unsupervised), all in a Hugging Face cache under those ids; the setup cell's GitHub URL
  points at the working tree under test;
- smaller sizes: MLM_NBDEV_SET={SIZES};
- the libraries at the versions CI installs (.ci/constraints.txt), linked from its environment, where Colab has its own;
- several runtimes at a time on one machine (--jobs), each with its share of the cores' threads;
- no HF_TOKEN and no Colab secret, so no push is tried."""
COLAB_PATCH = '''"""The Colab drill's two answers (installed only in its own virtual environment): a GPU and the Hub, as in Colab."""
import importlib.abc, importlib.util, sys
import google.colab  # noqa: F401  Colab's kernel has imported it before the first cell runs

class _ColabAnswers(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != 'mlm_nbdev.config': return None
        sys.meta_path.remove(self)
        try: spec = importlib.util.find_spec(name)
        finally: sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None: return spec
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            module.has_gpu = lambda: True
            module.hub_reachable = lambda timeout=2.0: True
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _ColabAnswers())
'''
USERDATA = '''"""Colab's secrets, as a runtime without any sees them."""
class SecretNotFoundError(Exception): pass
def get(key): raise SecretNotFoundError(f"Secret {key} does not exist.")
'''

def say(*a): print(*a, flush=True)

def sh(*cmd, **kw):
    "Run `cmd`, failing with its output's end."
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode: raise SystemExit(f"drill: {' '.join(map(str, cmd))[:200]} failed:\n{(r.stdout + r.stderr)[-3000:]}")
    return r.stdout

def notebooks(args)->list:
    "The notebooks asked for, or every one in the course's order (.ci/provenance.py's, which .ci/test_nbs runs too)."
    if args.notebooks: return [Path(n).resolve() for n in args.notebooks]
    sys.path.insert(0, str(REPO/'.ci'))
    from provenance import course_order
    return [REPO/'nbs'/nb for nb in course_order()]

def cell_times(nb)->dict:
    "code cell index -> seconds, from the timestamps nbclient records in each executed cell's metadata."
    from datetime import datetime
    out = {}
    for i, c in enumerate(nb.cells):
        ex = c.get('metadata', {}).get('execution', {})
        if c.cell_type == 'code' and 'iopub.status.busy' in ex and 'iopub.status.idle' in ex:
            t = [datetime.fromisoformat(ex[k].replace('Z', '+00:00')) for k in ('iopub.status.busy', 'iopub.status.idle')]
            out[str(i)] = round((t[1] - t[0]).total_seconds(), 2)
    return out

# ------------------------------------------------------------------ preparing the world (this machine's venv)

def offline_models(d:Path)->tuple:
    "(the offline general base, the offline adapted model): from the offline run's cache, or built here."
    env = {**os.environ, 'MLM_NBDEV_PROFILE': 'offline'}
    code = ("from mlm_nbdev.config import get_profile; from mlm_nbdev.sources import base_checkpoint, run_dir; "
            "p = get_profile(verbose=False); print(base_checkpoint(p)); print(run_dir(p, 'accelerate'))")
    base, adapted = sh(sys.executable, '-c', code, env=env).strip().splitlines()[-2:]
    if not (Path(adapted)/'config.json').exists():
        adapted = d/'adapted-offline'
        say(f"no offline adapted model in the cache: training one (mlm-nbdev train --profile offline) into {adapted}")
        sh(sys.executable, '-m', 'mlm_nbdev.cli', 'train', '--profile', 'offline', '--output-dir', adapted, env=env)
    return Path(base), Path(adapted)

def hub_cache_model(hub:Path, repo:str, folder:Path):
    "Place `folder`'s files in the Hugging Face cache `hub` as the snapshot of `repo` at main, as a download leaves them."
    import hashlib
    root = hub/f"models--{repo.replace('/', '--')}"
    commit = hashlib.sha1(repo.encode()).hexdigest()
    snap = root/'snapshots'/commit
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        if f.is_file(): shutil.copy2(f, snap/f.name)
    (root/'refs').mkdir(); (root/'refs'/'main').write_text(commit)

def hub_cache_dataset(datasets_cache:Path, folder:Path):
    """Place the Hub-shaped IMDb `folder` in `datasets_cache` as a first online load of `stanfordnlp/imdb` leaves it.
    `datasets` resolves a Hub id offline only from its own prepared cache, not from a snapshot of the repository."""
    import datasets
    from datasets import load_dataset
    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as tmp:
        load_dataset(str(folder), cache_dir=tmp)
        prepared = next(Path(tmp).glob(f'{folder.name}/plain_text/*/*/dataset_info.json')).parent
        version, fingerprint = prepared.parent.name, prepared.name
        dest = datasets_cache/'stanfordnlp___imdb'/'plain_text'/version/fingerprint
        dest.mkdir(parents=True)
        for f in prepared.iterdir():
            if f.suffix == '.arrow': shutil.copy2(f, dest/f.name.replace(f'{folder.name}-', 'imdb-'))
        info = json.loads((prepared/'dataset_info.json').read_text())
        info['dataset_name'] = 'imdb'
        (dest/'dataset_info.json').write_text(json.dumps(info))

def snapshot(d:Path)->Path:
    "A git repository holding the working tree under test (tracked and untracked files git does not ignore) on `main`."
    repo = d/'repo'
    files = sh('git', '-C', REPO, 'ls-files', '-co', '--exclude-standard', '-z').split('\0')
    for f in filter(None, files):
        src = REPO/f
        if src.is_file(): (repo/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(src, repo/f)
    git = ['git', '-C', repo, '-c', 'user.name=drill', '-c', 'user.email=drill@localhost']
    sh(*git, 'init', '-q', '-b', 'main'); sh(*git, 'add', '-A'); sh(*git, 'commit', '-q', '-m', 'the working tree under test')
    return repo

KERNEL = ('nbclient', 'nbformat', 'ipykernel', 'ipywidgets', 'pip')  # Colab ships a kernel, ipywidgets and pip

def runtime_libraries()->set:
    """The distributions a Colab runtime brings to the setup cell, as this interpreter has them (CI's pinned versions):
    what `mlm_nbdev[offline]` requires, and a kernel, closed over their own requirements; not mlm_nbdev itself."""
    from importlib import metadata as md
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    todo = [r for r in map(Requirement, md.requires('mlm_nbdev') or []) if not r.marker or r.marker.evaluate({'extra': 'offline'})]
    todo += [Requirement(k) for k in KERNEL]
    dists, missing = {}, []
    while todo:
        r = todo.pop(); name = canonicalize_name(r.name)
        if name in dists: continue
        try: dists[name] = dist = md.distribution(r.name)
        except md.PackageNotFoundError: missing.append(r.name); continue
        for q in map(Requirement, dist.requires or []):
            if not q.marker or any(q.marker.evaluate({'extra': e}) for e in (r.extras or {''})): todo.append(q)
    if missing: sys.exit(f"the drill reads its libraries from this interpreter's environment, which lacks {missing}: "
                         "run it with the project's venv (pip install -e '.[dev]')")
    return set(dists.values())

def drill_venv(d:Path)->Path:
    """A virtual environment like a Colab runtime's before the setup cell: the libraries and a kernel, no mlm_nbdev. Each
    library is linked from this interpreter's environment (installed once, at CI's pinned versions), not installed again."""
    venv = d/'venv'
    sh(sys.executable, '-m', 'venv', '--without-pip', venv)
    py = venv/'bin'/'python'
    site = Path(sh(py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').strip())
    (site/'google'/'colab').mkdir(parents=True, exist_ok=True)
    (site/'google'/'colab'/'__init__.py').write_text('"""A stand-in for Colab\'s module: its presence is what the setup cells test."""\n')
    (site/'google'/'colab'/'userdata.py').write_text(USERDATA)
    for dist in runtime_libraries():
        home = Path(dist.locate_file(''))
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] not in ('..', '__pycache__')}:
            src, dest = home/top, site/top
            if dest.is_dir() and not dest.is_symlink():  # a namespace shared with the stand-in (google): link its parts
                for part in src.iterdir():
                    if not (dest/part.name).exists(): (dest/part.name).symlink_to(part)
            elif src.exists() and not dest.exists(): dest.symlink_to(src)
    (site/'colab_drill.py').write_text(COLAB_PATCH)
    (site/'colab_drill.pth').write_text('import colab_drill\n')
    return py

def worker_venv(d:Path, py:Path, k:int)->Path:
    """Runtime slot `k`'s virtual environment: its own site-packages (where the setup cell installs mlm_nbdev, and from where
    the runtime's end uninstalls it), reading every library from the drill's venv `py`, Colab's two answers included."""
    venv = d/f'venv-{k}'
    sh(sys.executable, '-m', 'venv', '--without-pip', venv)
    shared = sh(py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').strip()
    own = Path(sh(venv/'bin'/'python', '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').strip())
    (own/'drill_shared.pth').write_text(f'{shared}\nimport colab_drill\n')  # a path line, then the patch, in this order
    return venv/'bin'/'python'

def prepare(d:Path)->Path:
    "The stand-ins in a Hugging Face cache, and the drill's venv with the snapshot, built side by side (the two share nothing)."
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        venv = pool.submit(prepare_venv, d)
        prepare_standins(d)
        return venv.result()

def prepare_venv(d:Path)->Path:
    t = time.time()
    repo = snapshot(d)
    (d/'gitconfig').write_text(f'[url "file://{repo}"]\n\tinsteadOf = {GITHUB}\n')
    py = drill_venv(d)
    say(f"the drill's virtual environment, without mlm_nbdev, and the snapshot of the working tree ({time.time() - t:.0f} s)")
    return py

def prepare_standins(d:Path):
    t = time.time()
    base, adapted = offline_models(d)
    sys.path.insert(0, str(REPO/'.ci'))
    import course_standin
    standin = d/'standin'
    sh(sys.executable, REPO/'.ci'/'course_standin.py', '--base', base, '--out', standin,
       *[a for k, v in STANDIN_REVIEWS.items() for a in (f'--{k}', v)])
    with tempfile.TemporaryDirectory() as tmp:
        from mlm_nbdev.config import quiet
        with quiet(): course_standin.build_distilbert(adapted, Path(tmp))
        hub = d/'hf'/'hub'
        hub_cache_model(hub, MODEL, standin/'distilbert')
        hub_cache_model(hub, ADAPTED, Path(tmp))
    hub_cache_dataset(d/'hf'/'datasets', standin/'imdb')
    shutil.rmtree(standin)
    say(f"stand-ins in a Hugging Face cache under {MODEL}, {ADAPTED} and {DATA} ({time.time() - t:.0f} s)")

# ------------------------------------------------------------------ running the notebooks (the drill's venv)

def runtime_env(d:Path, rt:Path)->dict:
    "A new runtime's environment: Colab's variables, none of the project's or the test runner's."
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(('MLM_NBDEV_', 'HF_', 'HUGGING', 'VIRTUAL_ENV', 'PYTHON', 'JUPYTER', 'IPYTHON'))
            and k not in ('IN_TEST', 'CI', 'HOME', 'TMPDIR', 'GIT_CONFIG_GLOBAL', 'DRILL_THREADS')}
    (rt/'home').mkdir(parents=True); (rt/'tmp').mkdir(); (rt/'content').mkdir()
    return {**keep, 'HOME': str(rt/'home'), 'TMPDIR': str(rt/'tmp'), 'HF_HOME': str(d/'hf'),
            'HF_HUB_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false',
            'GIT_CONFIG_GLOBAL': str(d/'gitconfig'), 'MLM_NBDEV_SET': SIZES,
            'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **({'OMP_NUM_THREADS': os.environ['DRILL_THREADS']} if os.environ.get('DRILL_THREADS') else {})}

def run_notebooks(d:Path, paths:list, times:dict, first:int=0)->int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    failed = 0
    for i, path in enumerate(paths, first):
        name, t = str(path.relative_to(REPO/'nbs')), time.time()
        rt = d/'runtimes'/f'{i:02d}'
        env = runtime_env(d, rt)
        os.environ.clear(); os.environ.update(env); tempfile.tempdir = None  # the kernel inherits this process's environment
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': str(rt/'content')}})
        log = open(rt/'kernel.log', 'w')
        try:
            client.execute(stderr=log); ok, why = True, ''
        except CellExecutionError as e: ok, why = False, str(e)
        except Exception as e: ok, why = False, f"{type(e).__name__}: {e}"
        setup = next((''.join(o.get('text', '')) for c in nb.cells[:4] if c.cell_type == 'code' and 'Colab setup' in c.source
                      for o in c.get('outputs', []) if o.get('output_type') == 'stream'), '').strip()
        say(f"{'PASS' if ok else 'FAIL'} {name} ({time.time() - t:.0f} s){'; setup cell: ' + setup if setup else ''}")
        times[name] = {'seconds': round(time.time() - t, 1), 'cell_seconds': cell_times(nb)}
        log.close()
        if not ok: failed += 1; say(why[-4000:]); say('kernel log:', (rt/'kernel.log').read_text()[-2000:])
        (d/'executed').mkdir(exist_ok=True); nbformat.write(nb, d/'executed'/path.name)  # kept with --keep, for a look
        subprocess.run([sys.executable, '-m', 'pip', 'uninstall', '-q', '-y', 'mlm_nbdev'], capture_output=True)
        shutil.rmtree(rt, ignore_errors=True)
    return failed

def run_slots(d:Path, py:Path, paths:list, jobs:int)->dict:
    """Each notebook in a new runtime, `jobs` at a time, taken in the course's order as slots free up; with several, each slot
    has a venv of its own that reads the drill's libraries, and its share of the cores' threads. A notebook's lines print
    when it ends."""
    import queue, threading
    from concurrent.futures import ThreadPoolExecutor
    slots = queue.Queue()
    for k in range(jobs):  # with several, each slot installs into a venv of its own: none into the shared one, which the others read
        slots.put(py if jobs == 1 else d/f'venv-{k}'/'bin'/'python' if (d/f'venv-{k}').exists() else worker_venv(d, py, k))
    env = {**os.environ, **({'DRILL_THREADS': str(max(1, (os.cpu_count() or 1) // jobs))} if jobs > 1 else {})}
    lock = threading.Lock()
    def one(i, path):
        slot = slots.get()
        try:
            r = subprocess.run([slot, __file__, '--runtimes', d, '--index', str(i), str(path)], capture_output=True, text=True, env=env)
            with lock: print(r.stdout + r.stderr, end='', flush=True)
        finally: slots.put(slot)
        f = d/f'result-{i:02d}.json'
        return json.loads(f.read_text()) if f.exists() else {'passed': 0, 'failed': 1, 'times': {}}
    if jobs > 1: say(f"{jobs} runtimes side by side, {env['DRILL_THREADS']} thread(s) each")
    with ThreadPoolExecutor(jobs) as pool: parts = list(pool.map(one, range(len(paths)), paths))
    return {'passed': sum(p['passed'] for p in parts), 'failed': sum(p['failed'] for p in parts),
            'times': {k: v for p in parts for k, v in p['times'].items()}}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help="notebooks to run (default: all, in the course's order)")
    p.add_argument('--keep', type=Path, help="work in this folder and keep it (default: a temporary folder, removed)")
    p.add_argument('--again', action='store_true', help="with --keep: reuse its stand-ins and virtual environment, snapshot the tree anew")
    p.add_argument('--times', type=Path, help="write each notebook's and each code cell's seconds to this JSON file (benchmarks/notebooks.py reads it)")
    p.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1), help="runtimes side by side (default: 2, or 1 on one core)")
    p.add_argument('--runtimes', type=Path, help=argparse.SUPPRESS)  # internal: run notebooks in a runtime slot's venv
    p.add_argument('--index', type=int, default=0, help=argparse.SUPPRESS)  # internal: the first notebook's place in the course
    args = p.parse_args()
    paths = notebooks(args)
    if args.runtimes:
        times = {}
        failed = run_notebooks(args.runtimes, paths, times, args.index)
        (args.runtimes/f'result-{args.index:02d}.json').write_text(json.dumps({'passed': len(paths) - failed, 'failed': failed, 'times': times}))
        sys.exit(1 if failed else 0)
    t0 = time.time()
    d = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix='colab-drill-'))
    again = args.keep and args.again and (d/'venv').exists()
    if args.keep and not again: shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
    say(DIFFERENCES)
    result = {'passed': 0, 'failed': 1}
    try:
        if again:
            for f in ['repo', 'runtimes', *(p.name for p in d.glob('result-*.json'))]: shutil.rmtree(d/f, ignore_errors=True) if (d/f).is_dir() else (d/f).unlink(missing_ok=True)
            snapshot(d); py = d/'venv'/'bin'/'python'
        else: py = prepare(d)
        result = run_slots(d, py, paths, max(1, min(args.jobs, len(paths))))
        if args.times: args.times.parent.mkdir(parents=True, exist_ok=True); args.times.write_text(json.dumps(result.get('times', {}), indent=1))
    except SystemExit as e: say(e)
    finally:
        if not args.keep: shutil.rmtree(d, ignore_errors=True)
    say(DIFFERENCES.replace('What still differs', 'Again, what still differs'))
    say(f"drill took {time.time() - t0:.0f} s")
    print(f"{result['passed']} passed, {result['failed']} failed")
    sys.exit(1 if result['failed'] else 0)

if __name__ == '__main__':
    main()
