"""Where the course's time goes: every code cell's seconds, in the offline run and in the Colab drill, and one stock
training step of the offline student measured here and now, so that tables from different machines can be compared.

    python benchmarks/notebooks.py                                   # the offline run's times, from each notebook's record
    python benchmarks/notebooks.py --drill .bench/drill-times.json   # and the drill's (python .ci/drill.py --times FILE)
    python benchmarks/notebooks.py --no-step                         # without timing the stock step (about a minute)

The offline times are those of the store run that wrote each notebook's outputs (`bash .ci/run --store`): they sit in its
provenance record (.ci/provenance.py), so a partial store updates only the notebooks it ran. Prints the slowest code
cells (notebook, cell index, seconds, what the cell does), each notebook's total, and the stock step with each total
divided by it.
"""
import argparse, json, re, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO/'.ci'))
import provenance

def what(source:str)->str:
    "A cell in a few words: the sentence above it, else its first comment, else its first line of code."
    lines = [l.strip() for l in source.splitlines() if l.strip() and not l.strip().startswith('#|')]
    if lines and not source.lstrip().startswith(('#', 'import', 'from')) and len(lines) == 1 and ' ' in lines[0] and not '=' in lines[0]:
        return lines[0] if len(lines[0]) <= 70 else lines[0][:67] + '...'  # a sentence
    comment = next((l.lstrip('# ') for l in lines if l.startswith('#')), None)
    text = comment or (lines[0] if lines else '')
    return text if len(text) <= 70 else text[:67] + '...'

def said_above(cells:list, i:int)->str:
    "The first sentence of the markdown just above code cell `i` (what the lesson says the cell does), if any."
    j = i - 1
    while j >= 0 and cells[j]['cell_type'] == 'code': j -= 1
    if j < 0: return ''
    text = ' '.join(l.strip('#* ') for l in ''.join(cells[j]['source']).splitlines() if l.strip())
    return re.split(r'(?<=[.:!?])\s', text, maxsplit=1)[0]

def cells_of(nb:str, seconds:dict)->list:
    cells = provenance.read(nb)['cells']
    return [(nb, int(i), s, what(said_above(cells, int(i)) or ''.join(cells[int(i)]['source'])))
            for i, s in seconds.items() if int(i) < len(cells)]

def stock_step()->float|None:
    "Seconds per stock training step of the offline student (benchmarks/training.py --model student), measured now."
    r = subprocess.run([sys.executable, str(REPO/'benchmarks'/'training.py'), '--model', 'student'], capture_output=True, text=True)
    m = re.search(r'^\| stock \| off \| ([\d.]+) \|', r.stdout, re.M)
    if r.returncode or not m: print(f"(the stock step could not be timed: {(r.stdout + r.stderr)[-300:]})"); return None
    return float(m.group(1))

def table(rows:list, header:tuple, markdown:bool=False)->str:
    "`rows` under `header`: aligned text, or a Markdown table (the first column left, the others right), as side_by_side.py prints it."
    if markdown:
        line = lambda r: '| ' + ' | '.join(map(str, r)) + ' |'
        return '\n'.join([line(header), '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|'] + [line(r) for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda r: '  '.join(str(x).ljust(w) if i == len(r) - 1 or isinstance(x, str) else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return '\n'.join([fmt(header), fmt(['-' * w for w in widths])] + [fmt(r) for r in rows])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--drill', type=Path, help="the drill's times (python .ci/drill.py --times FILE)")
    ap.add_argument('--top', type=int, default=20, help='how many of the slowest cells to list')
    ap.add_argument('--no-step', action='store_true', help='do not time the stock training step')
    a = ap.parse_args()
    runs = {'offline': {nb: (provenance.read(nb)['metadata'].get(provenance.KEY, {}).get('provenance') or {}) for nb in provenance.course_order()}}
    if a.drill: runs['drill'] = json.loads(a.drill.read_text())
    step = None if a.no_step else stock_step()
    for run, recs in runs.items():
        cells = [c for nb, r in recs.items() for c in cells_of(nb, r.get('cell_seconds', {}))]
        cells.sort(key=lambda c: -c[2])
        print(f"\n{run}: the {a.top} slowest code cells")
        print(table([(nb, i, f"{s:.1f}", w) for nb, i, s, w in cells[:a.top]], ('notebook', 'cell', 'seconds', 'what it does')))
        total = sum(r.get('seconds') or 0 for r in recs.values())
        rows = [(nb, f"{r['seconds']:.0f}" if r.get('seconds') is not None else '-', f"{r['seconds'] / step:.0f}" if step and r.get('seconds') else '-')
                for nb, r in recs.items()]
        print(f"\n{run}: each notebook's total")
        print(table(rows + [('all', f"{total:.0f}", f"{total / step:.0f}" if step else '-')], ('notebook', 'seconds', 'in stock steps')))
    if step: print(f"\none stock training step of the offline student (benchmarks/training.py --model student), here and now: {step:.2f} s")

if __name__ == '__main__':
    main()
