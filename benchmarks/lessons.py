"""How each lesson reads: prose share, checks in the body and in `## Checks`, and where a `Trainer` is first built and trained.

    python benchmarks/lessons.py [NOTEBOOK ...]    # default: nbs/lessons/*.ipynb

One row per lesson:
- prose: markdown source characters / all source characters in the body (the cells before a `## Checks` heading),
  the Colab setup cell excluded;
- body checks: `test_*` calls and `assert` statements in the body's visible code cells; a call to a function that
  the notebook defines (outside exported cells) counts the checks that function makes;
- checks section: the same count in the cells from `## Checks` on;
- Trainer at: the first visible body cell that builds a `Trainer` (`Trainer(` or a name ending in `Trainer(`) and
  trains it (`.train(` in that cell or a later one), as "cell i of n (share)";
- try it: markdown cells of the body that open a "✏️ **Try it" prompt (or the course's last one);
- summary: bullets under `## Summary`; exercises: body cells with a line that calls an exercise's `check`; questions: folded answers
  under `## Questionnaire`;
- ends: whether the body ends Summary, Exercises, Questionnaire, in that order, right before `## Checks`.
"""
import ast, json, re, sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HIDDEN = re.compile(r'^#\|\s*(hide|export)', re.M)

def cells(path:Path)->list:
    return [(c['cell_type'], ''.join(c['source'])) for c in json.loads(path.read_text())['cells']]

def split(cs:list)->tuple:
    "(body, checks section): the cells before and from the first markdown `## Checks`; the Colab setup cell dropped."
    cs = [c for c in cs if not (c[0] == 'code' and c[1].startswith('# Colab setup'))]
    at = next((i for i, (k, s) in enumerate(cs) if k == 'markdown' and re.match(r'##\s+Checks\b', s.strip())), len(cs))
    return cs[:at], cs[at:]

def _direct(tree)->int:
    n = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert): n += 1
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith('test_'): n += 1
    return n

def helpers(cs:list)->dict:
    "Functions the notebook defines outside exported cells -> the checks each makes."
    out = {}
    for k, s in cs:
        if k != 'code' or s.startswith('#| export'): continue
        try: tree = ast.parse(s)
        except SyntaxError: continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef): out[node.name] = _direct(node)
    return out

def count(cs:list, helper:dict)->int:
    n = 0
    for k, s in cs:
        if k != 'code' or HIDDEN.match(s): continue
        try: tree = ast.parse(s)
        except SyntaxError: continue
        defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        n += _direct(tree) - sum(_direct(d) for d in defs)  # a definition's checks count where it is called
        n += sum(helper.get(node.func.id, 0) for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name))
    return n

def trainer_at(body:list)->str:
    code = [(i, s) for i, (k, s) in enumerate(body) if k == 'code' and not HIDDEN.match(s)]
    for j, (i, s) in enumerate(code):
        if re.search(r'(?<![\w.])\w*Trainer\(', s) and not re.search(r'^\s*(def|class)\s', s, re.M) and any('.train(' in t for _, t in code[j:]):
            return f"cell {i + 1} of {len(body)} ({(i + 1) / len(body):.0%})"
    return '-'

def heading_at(body:list, title:str)->int|None:
    return next((i for i, (k, s) in enumerate(body) if k == 'markdown' and re.match(rf'##\s+{title}\b', s.strip())), None)

def learning(body:list)->dict:
    "The learner's side of a lesson's body: Try it prompts, summary bullets, exercises, questions, and the order of the end."
    at = {t: heading_at(body, t) for t in ('Summary', 'Exercises', 'Questionnaire')}
    summ = body[at['Summary']][1] if at['Summary'] is not None else ''
    quest = body[at['Questionnaire']][1] if at['Questionnaire'] is not None else ''
    ends = None not in at.values() and at['Summary'] < at['Exercises'] < at['Questionnaire'] and \
           all(not (k == 'markdown' and re.match(r'##\s', s.strip())) for k, s in body[at['Questionnaire'] + 1:])
    return {'try it': sum(k == 'markdown' and bool(re.search(r"✏️ \*\*(Try it|The course's last Try it)", s)) for k, s in body),
            'summary': len(re.findall(r'^- ', summ, re.M)),
            'exercises': sum(k == 'code' and bool(re.search(r'^ex_\w+\.check\(', s, re.M)) for k, s in body),
            'questions': quest.count('<details>'), 'ends': 'yes' if ends else 'no'}

def row(path:Path)->dict:
    cs = cells(path)
    body, checks = split(cs)
    md = sum(len(s) for k, s in body if k == 'markdown'); allc = sum(len(s) for _, s in body)
    helper = helpers(cs)
    return {'lesson': path.stem, 'prose': f"{md / allc:.0%}", 'body checks': count(body, helper),
            'checks section': count(checks, helper), 'Trainer at': trainer_at(body), **learning(body)}

def main(argv):
    paths = [Path(a) for a in argv] or sorted((REPO/'nbs'/'lessons').glob('[0-9]*.ipynb'))
    rows = [row(p) for p in paths]
    cols = list(rows[0])
    w = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print(' | '.join(c.ljust(w[c]) for c in cols)); print('-|-'.join('-' * w[c] for c in cols))
    for r in rows: print(' | '.join(str(r[c]).ljust(w[c]) for c in cols))

if __name__ == '__main__':
    main(sys.argv[1:])
