"""Run one notebook as `nbdev_test` runs it, write its outputs back into it, and record what they were computed from.

    python .ci/store_outputs.py nbs/lessons/01_data.ipynb

As in `nbdev_test`: `IN_TEST` is set, the notebook runs in its own folder in one IPython shell (execnb), and code
cells flagged with settings.ini's `tst_flags` (`#| gpu`, `#| hub`, `#| slow`) or `#| eval: false` are skipped;
a skipped cell keeps no output, so nothing stored comes from another run. Progress bars written with carriage
returns are stored as a terminal shows them, each line in its last state. The notebook's metadata gets its provenance
record (.ci/provenance.py): the hashes of what its outputs depend on, the cached artifacts it read (noted by the package
in the file MLM_NBDEV_PROVENANCE names, by this process and its children), and how long each code cell took.
On an error the notebook is left as it was and the exit status is 1. `.ci/test_nbs --store` calls it for each notebook
to store, in the course's order.
"""
import os, sys, tempfile, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.process import extract_directives
sys.path.insert(0, str(Path(__file__).resolve().parent))
import provenance

def skip(cell, flags:set)->bool:
    "Whether `nbdev_test` would skip `cell`."
    if cell.cell_type != 'code': return True
    d = extract_directives(cell, remove=False)
    return 'nbdev_export' + '(' in cell.source or d.get('eval:', [''])[0].lower() == 'false' or bool(flags & d.keys())

def as_shown(text:str)->str:
    "Stream text as a terminal shows it: of each line rewritten with carriage returns, its last state."
    return '\n'.join(line.rstrip('\r').rsplit('\r', 1)[-1] for line in text.split('\n'))

def tidy(nb):
    "Every stream output of `nb` as a terminal shows it."
    for c in nb.cells:
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                o['text'] = as_shown(''.join(o['text']) if isinstance(o['text'], list) else o['text'])

def main(path:Path):
    cfg = get_config()
    os.environ['IN_TEST'] = '1'
    sys.path.insert(0, str(cfg.config_path))
    flags = set(cfg.tst_flags.split())
    profile = provenance.current_profile()
    nb = read_nb(path)
    for c in nb.cells:  # execnb writes outputs back only for a cell that printed: one that now prints nothing would keep an older run's
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None
    index = {id(c): i for i, c in enumerate(nb.cells)}
    times, started = {}, {}
    def before(c):
        if skip(c, flags): return True
        started['t'] = time.perf_counter(); return False
    def after(c): times[str(index[id(c)])] = round(time.perf_counter() - started['t'], 2)
    with tempfile.TemporaryDirectory() as d:
        log = Path(d)/'read.jsonl'; os.environ['MLM_NBDEV_PROVENANCE'] = str(log)
        shell, t0 = CaptureShell(path), time.perf_counter()
        with working_directory(path.parent):
            shell.run_all(nb, exc_stop=True, preproc=before, postproc=after)
        seconds = time.perf_counter() - t0
        nb.metadata.setdefault(provenance.KEY, {})['provenance'] = provenance.record(
            str(path.relative_to(provenance.NBS)), log, seconds, times, profile)
    tidy(nb)
    write_nb(nb, path)

if __name__ == '__main__':
    if sys.argv[1] == '--tidy':  # only tidy notebooks already run: python .ci/store_outputs.py --tidy NB...
        for f in sys.argv[2:]: nb = read_nb(f); tidy(nb); write_nb(nb, f)
        sys.exit(0)
    p = Path(sys.argv[1]).absolute()
    try: main(p)
    except Exception as e:
        sys.stderr.write(f"{p.name}: {type(e).__name__}: {e}\n"); sys.exit(1)
