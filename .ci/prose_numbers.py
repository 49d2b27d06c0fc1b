"""Every number in a page's prose is one its code or outputs show, or one whose sentence names its source.

    python .ci/prose_numbers.py              # check every page; exit 1 naming each number that is neither
    python .ci/prose_numbers.py --plant      # prove the check: plant a stale number in a copy of a lesson's markdown

A result of this run is said by the code that measured it (../shared/STYLE.md). So a number in a page's markdown must
appear in that page's code cells or in its displayed outputs (stdout, results, tables, not stderr or progress bars),
as written or as those show it rounded (0.5214 shows as 0.52; 0.46 as 46%). A number from elsewhere passes when its
sentence names a source: a year in parentheses (a paper), a date (a measurement), a link, "et al.", or the course it follows.
Not checked: lesson, chapter, section and step numbers, years and dates, list numbering, numbers inside links, code
spans and fenced code (names, options, example values), and ALLOWED, each with its reason. `.ci/docs` runs this on every page.
"""
import json, re, sys, tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NBS = REPO/'nbs'

ALLOWED = {  # (page, number) -> why it needs no code or output
    ('index.ipynb', '3.10'): "the oldest Python the package supports (settings.ini's min_python): a requirement, not a result",
    ('index.ipynb', '8.0'): "a GPU's CUDA compute capability (NVIDIA's hardware generations): a fact of the hardware, not a result",
    ('under_the_hood/01_config.ipynb', '7.5'): "the T4's CUDA compute capability (NVIDIA): a fact of the hardware, not a result",
}

NUMBER = re.compile(r'(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?(?=%|x\b|\b|×)(%?)')
SKIP = [
    r'`[^`]*`',                                       # code spans: names, options and example values, not results
    r'\]\([^)]*\)',                                   # link targets
    r'\b\d{4}-\d{2}-\d{2}\b',                         # dates
    r'\b(?:19|20)\d{2}\b',                            # years
    r'(?i)\b(?:lessons?|chapters?|sections?|steps?|exercises?|questions?|q|part|cell|issue)\s+\d+(?:\s*(?:,|and|or|to|-|–)\s*\d+)*',
    r'(?m)^\s*\d+\.(?:\s|$)',                          # list numbering
    r'(?m)^#+\s*\d+\.',                               # numbered headings
    r'<[^>]+>',                                       # html tags
    r'\b\d+(?:\.\d+){2,}\b',                           # versions (7.0.0)
    r'https?://\S+',
]
CITES = re.compile(r'(?i)\([^()]*\b(?:19|20)\d{2}\b[^()]*\)|\b(?:19|20)\d{2}-\d{2}-\d{2}\b|\]\(|et al\.|hugging face course|'
                   r'the course\'s (?:published|lesson|figure|text)|curriculum')  # (Author 2018), a dated measurement, a link

def units(md:str)->list:
    "Sentences, list items and headings; a table is one unit with the paragraph just before it, which says what it shows."
    out = []
    md = re.sub(r'(?ms)^```.*?^```', ' ', md)  # fenced code: commands to type, not results
    for block in re.split(r'\n\s*\n', md):
        if block.lstrip().startswith('|') and out and not out[-1].lstrip().startswith('|'):
            out[-1] = out[-1] + '\n' + block; continue
        if block.lstrip().startswith('|'): out.append(block); continue
        for part in re.split(r'\n(?=\s*[-*#]|\s*\d+\.\s)', block):
            if re.match(r'\s*(?:[-*]|\d+\.)\s', part): out.append(part)  # a list item is one unit, as a reference is
            else: out += re.split(r'(?<=[.!?])\s+(?=[A-Z*_(\[`])', part)
    return out

def prose_numbers(md:str)->list:
    "(number as written, its sentence) for each number in markdown text that is not skipped and whose sentence cites nothing."
    out = []
    for sentence in units(md):
        if CITES.search(sentence): continue
        text = sentence
        for pat in SKIP: text = re.sub(pat, ' ', text)
        for m in NUMBER.finditer(text): out.append((m.group(0), sentence.strip()))
    return out

def value(token:str)->tuple:
    "(absolute value, decimals shown, is a percentage) of a number as written."
    t = token.replace('−', '-').replace(',', '').lstrip('-')
    pct = t.endswith('%'); t = t.rstrip('%')
    dec = len(t.split('.')[1].split('e')[0]) if '.' in t else 0
    return abs(float(t)), dec, pct

def shown_values(texts:list)->set:
    "Every number in these texts, as floats."
    out = set()
    for text in texts:
        for m in re.finditer(r'(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?', text.replace('−', '-')):
            try: out.add(abs(float(m.group(0).replace(',', ''))))
            except ValueError: pass
    return out

def matches(token:str, shown:set)->bool:
    v, dec, pct = value(token)
    cands = [v, v / 100] if pct else [v]
    for s in shown:
        for c in cands:
            for d in {dec, dec + 2 if pct else dec}:
                if round(s, d) == round(c, d) or (c == v / 100 and round(s, dec + 2) == round(c, dec + 2)): return True
    return False

def page_texts(nb:dict)->tuple:
    "(markdown cells' text, code and displayed outputs' texts) of a notebook."
    md, shown = [], []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': md.append(src); continue
        if c['cell_type'] != 'code': continue
        shown.append(src)
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                if o.get('name') == 'stderr': continue
                text = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
                shown.append('\n'.join(l for l in text.splitlines() if not re.search(r'\d+it/s\]|\|[█▏▎▍▌▋▊▉ ]*\|', l)))
            for k, v in o.get('data', {}).items():
                if k.startswith('text/') or k == 'application/json': shown.append(''.join(v) if isinstance(v, list) else str(v))
    return md, shown

def check(nbs:Path=NBS)->list:
    "'page: number in \"sentence\"' for every number in a page's markdown that its code and outputs do not show."
    problems = []
    for path in sorted(nbs.rglob('*.ipynb')):
        if '.ipynb_checkpoints' in path.parts or path.name.startswith('_'): continue
        page = path.relative_to(nbs).as_posix()
        md, shown = page_texts(json.loads(path.read_text()))
        values = shown_values(shown)
        for token, sentence in prose_numbers('\n\n'.join(md)):
            if (page, token.rstrip('%')) in ALLOWED or matches(token, values): continue
            problems.append(f"{page}: {token} appears in no code or output of the page: \"{sentence[:160]}\"; print it from the code "
                            "that measures it, or name its source in the sentence")
    return problems

def plant()->int:
    "On a copy of lesson 3, a number added to its markdown that nothing shows: the check must name it."
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d)/'lessons'; copy.mkdir()
        nb = json.loads((NBS/'lessons'/'03_collators.ipynb').read_text())
        md = next(c for c in nb['cells'] if c['cell_type'] == 'markdown' and 'label' in ''.join(c['source']))
        md['source'] = ''.join(md['source']) + '\n\nIn this run, 4,321 chunks had no masked token.'
        (copy/'03_collators.ipynb').write_text(json.dumps(nb))
        found = [p for p in check(Path(d)) if '4,321' in p]
    print('\n'.join(found) or 'the planted number was not caught')
    return 0 if found else 1

if __name__ == '__main__':
    if '--plant' in sys.argv: sys.exit(plant())
    problems = check()
    print('\n'.join(problems))
    print(f"numbers: {len(problems)} number(s) in prose that no code or output shows" if problems else "numbers: every number in prose is shown or sourced")
    sys.exit(1 if problems else 0)
