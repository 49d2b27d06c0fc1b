"""Write README.md from nbs/index.ipynb without Quarto (nbdev_readme needs Quarto), or check it is in sync.

    python .ci/readme.py           # regenerate README.md
    python .ci/readme.py --check   # exit 1 if README.md differs from what index.ipynb gives
"""
import re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

root = Path(__file__).resolve().parent.parent
HEADER = "<!-- This file is generated from nbs/index.ipynb by .ci/readme.py: edit the notebook, not this file. -->\n\n"

def render() -> str:
    nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
    cells = []
    for c in nb.cells:
        if c.cell_type == 'code':
            if re.search(r'^#\|\s*hide\b', c.source, re.M): continue
            if re.search(r'^#\|\s*echo:\s*false\b', c.source, re.M):  # its output alone, as the site shows it
                shown = [o['data']['text/markdown'] for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
                if shown: cells.append(nbformat.v4.new_markdown_cell(''.join(shown)))
                continue
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
        cells.append(c)
    nb.cells = cells
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = re.sub(r'\]\((?![a-z]+:|#|/)([\w./-]+\.ipynb)', r'](nbs/\1', body)  # the site's links, from the repository's root
    return HEADER + re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'

if __name__ == '__main__':
    text, readme = render(), root/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            sys.exit("README.md is out of sync with nbs/index.ipynb; run: python .ci/readme.py")
        print("README.md is in sync with nbs/index.ipynb")
    else:
        readme.write_text(text); print("wrote README.md")
