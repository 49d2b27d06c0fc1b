"""Give every lesson notebook an "Open in Colab" badge and a Colab setup cell, from settings.ini; the home page
(index.ipynb, which also runs its cells) gets the setup cell alone, hidden from the site and the README.

`python .ci/colab.py` writes them (second and third cells, after the title); `--check` fails if any notebook
lacks them or holds an out-of-date version. The setup cell does nothing outside Colab.
"""
import configparser, sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parent.parent
BADGE_MARK, SETUP_MARK, HIDE = '[![Open In Colab]', '# Colab setup', '#| hide\n'

def cells_for(nb_rel, cfg):
    user, repo, branch = cfg['user'], cfg['repo'], cfg.get('branch', 'main')
    url = f"https://colab.research.google.com/github/{user}/{repo}/blob/{branch}/nbs/{nb_rel}"
    badge = f"{BADGE_MARK}(https://colab.research.google.com/assets/colab-badge.svg)]({url})"
    setup = f'''{SETUP_MARK}: in Colab, install mlm_nbdev and what it needs (a minute or two); elsewhere this cell does nothing.
import sys
if 'google.colab' in sys.modules:
    import importlib.metadata as md, subprocess
    libs = [l for l in ('numpy', 'pandas', 'pyarrow', 'torch', 'transformers', 'datasets', 'accelerate') if l in sys.modules]
    before = {{l: md.version(l) for l in libs}}
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'mlm_nbdev[offline] @ git+{cfg['git_url']}@{branch}'], check=True)
    changed = [l for l in libs if md.version(l) != before[l]]
    print(f"Upgraded {{', '.join(changed)}}, already loaded: restart the runtime (Runtime > Restart session), then run all again."
          if changed else "mlm_nbdev is installed; no restart needed.")'''
    return nbformat.v4.new_markdown_cell(badge), nbformat.v4.new_code_cell(setup)

def process(path, cfg, check):
    nb = nbformat.read(path, as_version=4)
    badge, setup = cells_for(path.relative_to(ROOT/'nbs').as_posix(), cfg)
    cells = [c for c in nb.cells if not c.source.startswith((BADGE_MARK, SETUP_MARK, HIDE + SETUP_MARK))]
    if path.name == 'index.ipynb': setup.source = HIDE + setup.source
    want = cells[:1] + ([setup] if path.name == 'index.ipynb' else [badge, setup]) + cells[1:]
    have = [(c.cell_type, c.source) for c in nb.cells]
    if have == [(c.cell_type, c.source) for c in want]: return True
    if check: return False
    old = {c.source: c for c in nb.cells}
    nb.cells = [old.get(c.source, c) for c in want]
    nbformat.write(nb, path)
    return True

if __name__ == '__main__':
    check = '--check' in sys.argv
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini'); cfg = cp['DEFAULT']
    paths = sorted((ROOT/'nbs').glob('*/[0-9]*.ipynb')) + [ROOT/'nbs'/'index.ipynb']
    stale = [p.relative_to(ROOT/'nbs').as_posix() for p in paths if not process(p, cfg, check)]
    if stale: sys.exit(f"notebooks without an up-to-date Colab badge and setup cell: {', '.join(stale)}; run python .ci/colab.py")
    print('Colab badge and setup cell: ' + ('up to date' if check else 'written'))
