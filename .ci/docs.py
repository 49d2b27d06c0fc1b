"""Build the documentation site's pages without Quarto, render a static preview of them, and check both.

    python .ci/docs.py                 # process, render _docs_preview/, check; exits 1 listing every problem
    python .ci/docs.py --no-browser    # the same without the Chromium check

1. nbdev's own processing, the part of `nbdev_docs` that runs before Quarto: `refresh_quarto_yml`, the module index,
   `nbdev_sidebar`, and `nbdev.serve`'s per-notebook processing (`_proc_file` and `serve_drv.main`, one notebook at a
   time so that a failure names its page). It runs in a copy of the repository, so nothing tracked is rewritten. Any
   error fails, and so does nbdev's warning about a cell that mixes imports with other code (the processor executes
   every such cell); the Colab setup cell, which does nothing outside Colab, is the one exception.
2. A preview: every processed notebook rendered to HTML with nbconvert, with a navigation that follows nbdev's
   sidebar.yml, written to _docs_preview/ (git-ignored). It is not the published site, and each page says so.
3. Checks: every function and class of every module's `__all__` has an entry (heading, signature, docstring) on its
   lesson's page and every constant is named there; every notebook is a page, in one of the site's two parts
   (Lessons, Under the hood: nbs/sidebar.yml), and every page is in the navigation; stored outputs name one folder
   per profile for the adapted run and for the general base (they come from one run);
   every internal link resolves; every image a notebook stores is on its page and decodes; no stored output is an
   error or shows an absolute path of the machine that ran it; every number in a page's markdown is shown by its code
   or outputs, or its sentence names its source (.ci/prose_numbers.py, which proves itself with --plant).
4. A real browser, where Chromium and its driver are installed: the index and one lesson page are loaded with Selenium,
   screenshotted (_docs_preview/_screenshots/), and fail on a console error or an image that does not decode.
"""
import argparse, base64, html, importlib, inspect, io, json, os, posixpath, re, shutil, subprocess, sys, tempfile, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
checked = {'pages': 0, 'API entries': 0, 'internal links': 0, 'images': 0}  # counts, for the report
COLAB_MARK = '# Colab setup'
PARTS = ('Lessons', 'Under the hood')  # the site's two parts, sections of nbs/sidebar.yml, in this order
# folders named in stored outputs: an adapted run (runs/PROFILE-KEY) and a general base (PROFILE-general-KEY)
RUN_FOLDERS = {'adapted run': re.compile(r'runs/(\w+)-([0-9a-f]{16})\b'), 'general base': re.compile(r'\b(\w+)-general-([0-9a-f]{16})\b')}
# absolute paths of a machine; a path under ~/.cache/mlm_nbdev is written with `~` and is fine
MACHINE_PATH = re.compile(r'(?<![\w~.])/(?:root|home|tmp|work|Users|var/folders|private|usr|opt|mnt|content|kaggle)/[^\s\'"]*'
                          r'|\b[A-Za-z]:\\(?:Users|Windows|Program Files)\\[^\s\'"]*')

def output_texts(o)->list:
    "The text an output shows: its stream text, traceback, and every text-like value of its data."
    texts = [o.get('text', ''), o.get('evalue', ''), *o.get('traceback', [])]
    texts += [v for k, v in o.get('data', {}).items() if not k.startswith('image/')]
    return [''.join(t) if isinstance(t, list) else t if isinstance(t, str) else json.dumps(t) for t in texts]

def problem(problems, page, msg): problems.append(f"{page}: {msg}")

def notebooks(nbs:Path)->list:
    "Every notebook under `nbs`, as a path relative to it (folders starting with `_` or `.` are nbdev's own)."
    return sorted(p.relative_to(nbs).as_posix() for p in nbs.rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts))

def sidebar_parts(contents:list)->dict:
    "Each notebook of sidebar.yml's `contents`, in navigation order, mapped to its section (None at the top level)."
    out = {}
    for item in contents:
        if isinstance(item, str): out[item] = None
        else:
            for n in item.get('contents', []): out[n if isinstance(n, str) else json.dumps(n)] = item.get('section')
    return out

def check_parts(sidebar:dict, problems:list):
    "The navigation has the two parts in order; every notebook sits in one of them, but the home page, which leads."
    sections = list(dict.fromkeys(s for s in sidebar.values() if s is not None))
    if sections != list(PARTS): problem(problems, 'nbs/sidebar.yml', f"its sections are {sections}, not {list(PARTS)}")
    have = notebooks(ROOT/'nbs')
    for nb in have:
        if nb not in sidebar: problem(problems, nb, "is not in the navigation (nbs/sidebar.yml)")
        elif nb == 'index.ipynb':
            if sidebar[nb] is not None or next(iter(sidebar)) != nb: problem(problems, nb, "must lead the navigation, outside the parts")
        elif sidebar[nb] not in PARTS: problem(problems, nb, f"sits outside the site's two parts ({' / '.join(PARTS)}) in nbs/sidebar.yml")
    for nb in sidebar:
        if nb not in have: problem(problems, 'nbs/sidebar.yml', f"names {nb}, which is not a notebook under nbs/")

def check_run_folders(texts:dict, problems:list):
    "Stored outputs (`texts`: notebook -> its output texts) name one folder per profile for the adapted run and the general base."
    for what, pat in RUN_FOLDERS.items():
        seen = {}  # profile -> key -> notebooks
        for nb, ts in texts.items():
            for t in ts:
                for prof, key in pat.findall(t): seen.setdefault(prof, {}).setdefault(key, set()).add(nb)
        for prof, keys in seen.items():
            if len(keys) > 1:
                said = '; '.join(f"{prof}-{k} in {', '.join(sorted(v))}" for k, v in sorted(keys.items()))
                problem(problems, 'stored outputs', f"name {len(keys)} different folders for the {prof} profile's {what} ({said}); "
                                                     "re-run every notebook in one run: bash .ci/test_nbs --store")

# ---------------------------------------------------------------- 1. nbdev's processing, in a copy
def copy_repo(dest:Path):
    "The tracked and untracked-but-not-ignored files of the repository, copied to `dest`."
    files = subprocess.run(['git', 'ls-files', '-coz', '--exclude-standard'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split('\0')
    for f in filter(None, files):
        src = ROOT/f
        if src.is_file():
            (dest/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(src, dest/f)

def process(work:Path, problems:list)->tuple:
    "Run nbdev's pre-Quarto steps in `work`; returns (the processed folder, the sidebar's list of notebooks)."
    os.chdir(work)
    import yaml
    from nbdev.config import get_config
    from nbdev.doclinks import _build_modidx, nbglob
    from nbdev.processors import FilterDefaults
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
    from nbdev.serve import _proc_file
    import nbdev.serve_drv
    cfg = get_config()
    nbs, cache = cfg.nbs_path, cfg.config_path/'_proc'
    refresh_quarto_yml()
    if (nbs/'nbdev.yml').read_text() != (ROOT/'nbs'/'nbdev.yml').read_text():
        problem(problems, 'nbs/nbdev.yml', "differs from what nbdev's refresh_quarto_yml writes from settings.ini; run it and commit")
    check_publishing(cfg, problems)
    _build_modidx()
    if not cfg.custom_sidebar: problem(problems, 'settings.ini', "custom_sidebar must be True: the two parts live in nbs/sidebar.yml")
    nbdev_sidebar.__wrapped__(path=nbs)  # keeps the committed sidebar.yml (custom_sidebar)
    sidebar = sidebar_parts(yaml.safe_load((nbs/'sidebar.yml').read_text())['website']['sidebar']['contents'])
    files = list(nbglob(nbs, func=Path, file_glob='', file_re='')) + [nbs/'_quarto.yml']
    for s in files:
        o = _proc_file(s, cache, nbs)
        if o is None: continue
        name = s.relative_to(nbs).as_posix()
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter('always')
            try: nbdev.serve_drv.main(o)
            except Exception as e:
                cause = e.__cause__ or e
                first = (str(e).splitlines() or [type(e).__name__])[0]
                problem(problems, name, f"nbdev's processing failed: {first} ({type(cause).__name__}: {str(cause)[:200]})")
        for w in ws:
            msg = str(w.message)
            if 'cells containing imports and other code' in msg and COLAB_MARK not in msg:
                cell = msg.split('---', 2)[1].strip().splitlines()
                problem(problems, name, f"a cell mixes imports with other code, so the docs processor runs it: {cell[0][:80]!r}; "
                                          "move its imports into a cell of their own")
    return cache, sidebar

def check_publishing(cfg, problems:list):
    "What nbdev 2.4's `nbdev_docs` expects of `_quarto.yml`, and that the workflow publishes the folder it writes."
    import yaml
    quarto = yaml.safe_load((ROOT/'nbs'/'_quarto.yml').read_text())
    for f in ('nbdev.yml', 'sidebar.yml'):
        if f not in quarto.get('metadata-files', []): problem(problems, 'nbs/_quarto.yml', f"metadata-files lacks {f}, which nbdev_docs writes")
    out = yaml.safe_load((ROOT/'nbs'/'nbdev.yml').read_text())['project']['output-dir']
    if out != cfg.doc_path.name: problem(problems, 'nbs/nbdev.yml', f"output-dir is {out!r} but settings.ini's doc_path is {cfg.doc_path.name!r}")
    deploy = yaml.safe_load((ROOT/'.github'/'workflows'/'deploy.yaml').read_text())
    steps = [s for job in deploy['jobs'].values() for s in job.get('steps', [])]
    if not any('nbdev_docs' in str(s.get('run', '')) for s in steps): problem(problems, 'deploy.yaml', "no step runs nbdev_docs")
    uploads = [s.get('with', {}).get('path') for s in steps if 'upload-pages-artifact' in str(s.get('uses', ''))]
    if uploads != [cfg.doc_path.name]: problem(problems, 'deploy.yaml', f"uploads {uploads} but nbdev_docs writes {cfg.doc_path.name!r}")

# ---------------------------------------------------------------- 2. the preview
def directives(source:str)->dict:
    "nbdev/Quarto `#|` directives of a cell, lower-cased."
    out = {}
    for l in source.splitlines():
        m = re.match(r'^#\|\s*([\w-]+):?\s*(.*)$', l)
        if m: out[m.group(1).lower()] = m.group(2).strip().lower()
    return out

def page_name(nb, rel:str)->str:
    "The page a notebook at `rel` (relative to nbs/) becomes on the site, relative to the site's root."
    return posixpath.join(posixpath.dirname(rel), frontmatter(nb).get('output-file') or 'index.html')

def local(href:str, here:str)->str:
    "A link `href` on the page `here`, relative to the site's root (its anchor kept)."
    target, hash_, anchor = href.partition('#')
    return posixpath.normpath(posixpath.join(posixpath.dirname(here), target)) + hash_ + anchor if target else href

def frontmatter(nb)->dict:
    import yaml
    c = nb.cells[0] if nb.cells else None
    if c is not None and c.cell_type == 'raw' and c.source.startswith('---'):
        return yaml.safe_load(c.source.strip().strip('-')) or {}
    return {}

def render(nb, pages:dict, cfg:dict)->tuple:
    "(title, body HTML) of a processed notebook, through nbconvert."
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    fm = frontmatter(nb)
    cells = []
    for c in nb.cells[1:] if fm else nb.cells:
        d = directives(c.source)
        if c.cell_type == 'code':
            if d.get('echo') == 'false' or c.source.startswith(COLAB_MARK): c.metadata.setdefault('tags', []).append('remove_input')
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
            for o in c.get('outputs', []):
                data = o.get('data', {})
                if 'application/vnd.jupyter.widget-view+json' in data and 'text/plain' in data:
                    del data['application/vnd.jupyter.widget-view+json']  # a progress bar: its widget state is not stored, its text is
                md = data.get('text/markdown')
                if md: o['data']['text/markdown'] = re.sub(r'\{target="_blank"[^}]*\}', '', md)
        cells.append(c)
    nb.cells = cells
    conf = Config(); conf.TagRemovePreprocessor.remove_input_tags = {'remove_input'}; conf.TagRemovePreprocessor.enabled = True
    body, _ = HTMLExporter(template_name='basic', config=conf).from_notebook_node(nb)
    return fm.get('title', 'mlm_nbdev'), fm.get('description', ''), body

def code(text:str)->str: return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text))

def slug(text:str)->str: return re.sub(r'\s+', '-', re.sub(r'[^\w\s.-]', '', text.strip().lower()))

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{plain} - mlm_nbdev (preview)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ margin: 0; font-family: system-ui, sans-serif; line-height: 1.5; color: #222; }}
nav {{ position: fixed; top: 0; bottom: 0; left: 0; width: 15rem; overflow-y: auto; padding: 1rem; background: #f4f6f8; border-right: 1px solid #ddd; }}
nav h4 {{ margin: .8rem 0 .2rem; font-size: .85rem; text-transform: uppercase; color: #555; }}
nav a {{ display: block; padding: .15rem 0; color: #1a5fb4; text-decoration: none; }} nav a.here {{ font-weight: bold; }}
main {{ margin-left: 17rem; padding: 1rem 2rem; max-width: 60rem; }}
.preview {{ background: #fff3cd; border: 1px solid #e0c060; padding: .5rem 1rem; border-radius: 4px; font-size: .9rem; }}
pre {{ background: #f6f8fa; padding: .6rem; overflow-x: auto; }} img {{ max-width: 100%; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ddd; padding: .2rem .5rem; }}
.prompt, .input_prompt, .output_prompt, .jp-InputPrompt, .jp-OutputPrompt {{ display: none; }}
</style></head>
<body><nav><strong>mlm_nbdev</strong>{nav}</nav>
<main><p class="preview">A preview rendered without Quarto by <code>.ci/docs</code>, to check the pages before they are published.
The published site is built by Quarto in the GitHub workflow and looks different.</p>
<h1 class="title">{title}</h1><p class="description"><em>{description}</em></p>
{body}</main></body></html>
"""

def nav_html(sidebar:dict, pages:dict, titles:dict, name:str)->str:
    "The navigation of the page of notebook `name`: the sidebar's notebooks under their part's heading."
    out, part = [], None
    for n, section in sidebar.items():
        if n not in pages: continue
        if section != part and section is not None: out.append(f'<h4>{html.escape(section)}</h4>')
        part = section
        href = posixpath.relpath(pages[n], posixpath.dirname(pages[name]) or '.')
        out.append(f'<a href="{href}"{" class=here" if n == name else ""}>{code(titles[n])}</a>')
    return ''.join(out)

def build_preview(cache:Path, sidebar:dict, out:Path, cfg:dict, problems:list)->dict:
    "Render every processed notebook into `out`, in the site's folders; returns page -> (source notebook, title)."
    import nbformat
    from bs4 import BeautifulSoup
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    nbs = {p.relative_to(cache).as_posix(): nbformat.read(p, as_version=4) for p in sorted(cache.rglob('*.ipynb'))}
    pages = {name: page_name(nb, name) for name, nb in nbs.items()}
    titles = {name: frontmatter(nb).get('title', name) for name, nb in nbs.items()}
    site = cfg['doc_host'].rstrip('/') + cfg['doc_baseurl'].rstrip('/') + '/'
    for name, nb in nbs.items():
        title, description, body = render(nb, pages, cfg)
        nav = nav_html(sidebar, pages, titles, name)
        here = posixpath.dirname(pages[name]) or '.'
        soup = BeautifulSoup(PAGE.format(plain=html.escape(title.replace('`', '')), title=code(title), description=code(description), nav=nav, body=body), 'html.parser')
        for a in soup.find_all('a', class_='anchor-link'): a.decompose()  # nbconvert's own anchors; Quarto's ids below
        for h in soup.find_all(re.compile('^h[1-6]$')):
            h['id'] = slug(h.get_text().replace('¶', ''))  # Quarto's ids: lower case, which nbdev's links use
        for a in soup.main.find_all('a', href=True):  # the page's body; the navigation is written relative already
            href = a['href']
            if href.startswith(site): href = posixpath.relpath(href[len(site):].partition('#')[0], here) + ''.join(href.partition('#')[1:])
            m = re.match(r'^([\w./-]+\.ipynb)(#.*)?$', href)
            rel = m and posixpath.normpath(posixpath.join(posixpath.dirname(name), m.group(1)))
            if m and rel in pages: href = posixpath.relpath(pages[rel], here) + (m.group(2) or '')
            a['href'] = href
        (out/pages[name]).parent.mkdir(parents=True, exist_ok=True)
        (out/pages[name]).write_text(str(soup))
    return {pages[n]: (n, titles[n]) for n in nbs}

# ---------------------------------------------------------------- 3. the checks
def check_pages(out:Path, pages:dict, sidebar:dict, problems:list):
    "Every notebook is a page in one of the site's two parts, every page is in the navigation, every internal link resolves."
    from bs4 import BeautifulSoup
    check_parts(sidebar, problems)
    for nb in notebooks(ROOT/'nbs'):
        if nb not in {v[0] for v in pages.values()}: problem(problems, nb, "has no page in the preview")
    soups = {p: BeautifulSoup((out/p).read_text(), 'html.parser') for p in pages}
    checked['internal links'] = 0
    ids = {p: {t['id'] for t in s.find_all(id=True)} for p, s in soups.items()}
    for p, s in soups.items():
        nav = {local(a['href'], p) for a in s.nav.find_all('a', href=True)}
        for q in pages:
            if q not in nav: problem(problems, p, f"its navigation lacks {q}")
        for a in s.find_all('a', href=True):
            href = a['href']
            if re.match(r'^[a-z][\w+.-]*:', href) or href.startswith('//'): continue  # another site
            checked['internal links'] += 1
            target, _, anchor = local(href, p).partition('#')
            target = target or p
            if target not in pages: problem(problems, p, f"link {href!r} leads to no page of the site"); continue
            if anchor and anchor not in ids[target]: problem(problems, p, f"link {href!r}: {target} has no anchor #{anchor}")
    return soups

def check_api(soups:dict, pages:dict, problems:list):
    "Every function and class of every module's `__all__` has an entry on its page; every constant is named there."
    sys.path.insert(0, str(ROOT))
    page_of_nb = {v[0]: p for p, v in pages.items()}
    for py in sorted((ROOT/'mlm_nbdev').glob('[!_]*.py')):
        modname = f"mlm_nbdev.{py.stem}"
        m = re.search(r'File to edit: \.\./nbs/(\S+\.ipynb)', py.read_text())
        if m is None: problem(problems, py.name, "is not exported from a notebook (no 'File to edit' line)"); continue
        nbname = m.group(1)
        mod = importlib.import_module(modname)
        page = page_of_nb.get(nbname)
        if page is None: problem(problems, nbname, f"has no page, so module {modname} has no documentation"); continue
        soup = soups[page]; text = soup.get_text(' ')
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name)
            checked['API entries'] += 1
            if inspect.isfunction(obj) or inspect.isclass(obj):
                h = next((t for t in soup.find_all(re.compile('^h[1-6]$')) if t.get_text().replace('¶', '').strip() == name), None)
                if h is None: problem(problems, page, f"{modname}.{name} has no documentation entry (no heading {name!r})"); continue
                entry = ''
                for sib in h.next_siblings:  # the entry runs to the next entry's rule or heading
                    if getattr(sib, 'name', None) in ('hr', 'h1', 'h2', 'h3'): break
                    entry += sib.get_text(' ') if hasattr(sib, 'get_text') else str(sib)
                doc = inspect.cleandoc(obj.__doc__) if obj.__doc__ else None  # its own, not one inherited
                if not doc: problem(problems, page, f"{modname}.{name} has no docstring")
                elif re.sub(r'\s+', '', doc.replace('`', ''))[:40] not in re.sub(r'\s+', '', entry): problem(problems, page, f"{modname}.{name}: its docstring is not in its entry")
                if f"{name}(" not in entry.replace(' ', '').replace('\n', ''): problem(problems, page, f"{modname}.{name}: its signature is not in its entry")
            elif name not in text: problem(problems, page, f"constant {modname}.{name} is not named on the page")

def stored_images(nb)->int:
    "Images a notebook stores in the outputs of cells the docs show."
    return sum(1 for c in nb.cells if c.cell_type == 'code' and 'hide' not in directives(c.source)
               for o in c.get('outputs', []) if 'image/png' in o.get('data', {}))

def check_images_and_outputs(soups:dict, pages:dict, problems:list):
    "Every stored image is on its page and decodes; no stored output is an error or shows a machine path; one run's folders."
    import nbformat
    from PIL import Image
    page_of_nb = {v[0]: p for p, v in pages.items()}
    texts = {}  # notebook -> the text of its stored outputs, for check_run_folders
    for name in notebooks(ROOT/'nbs'):
        path = ROOT/'nbs'/name
        nb = nbformat.read(path, as_version=4)
        for i, c in enumerate(nb.cells):
            for o in c.get('outputs', []):
                if o.get('output_type') == 'error': problem(problems, name, f"cell {i} stores an error output ({o.get('ename')})")
                shown = output_texts(o); texts.setdefault(name, []).extend(shown)
                m = next((m for t in shown if (m := MACHINE_PATH.search(t))), None)
                if m: problem(problems, name, f"cell {i} stores an absolute path of the machine that ran it: {m.group(0)[:60]}")
        page = page_of_nb.get(name)
        if page is None: continue
        imgs = [im for im in soups[page].find_all('img') if im.get('src', '').startswith('data:image/')]
        checked['images'] += len(imgs)
        want = stored_images(nb)
        if len(imgs) < want: problem(problems, page, f"shows {len(imgs)} of the {want} images its notebook stores")
        for im in imgs:
            try: Image.open(io.BytesIO(base64.b64decode(im['src'].split(',', 1)[1]))).verify()
            except Exception as e: problem(problems, page, f"an image does not decode ({type(e).__name__})")
    check_run_folders(texts, problems)

# ---------------------------------------------------------------- 4. a real browser
def browser_check(out:Path, pages:dict, problems:list)->str:
    "Load the index and one lesson page in headless Chromium; screenshots; console errors and broken images fail."
    chromium = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
    driver_bin = shutil.which('chromedriver')
    if not (chromium and driver_bin):
        return "browser check skipped: no Chromium here (Debian: apt-get install chromium chromium-driver); the other checks ran"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions(); opts.binary_location = chromium
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,1600', '--allow-file-access-from-files'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    shots = out/'_screenshots'; shots.mkdir(exist_ok=True)
    lesson = next((p for p in sorted(pages) if pages[p][0] == 'lessons/07_downstream.ipynb'), None) or sorted(pages)[-1]
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    said, offline = [], set()
    try:
        for p in dict.fromkeys(('index.html', lesson)):
            driver.get((out/p).resolve().as_uri())
            time.sleep(0.5)
            driver.save_screenshot(str(shots/p.replace('/', '_').replace('.html', '.png')))
            for e in driver.get_log('browser'):
                msg = e.get('message', '')
                if e.get('level') != 'SEVERE': continue
                if re.match(r'^https?://', msg) and 'net::ERR_' in msg: offline.add(msg.split()[0]); continue  # no network here
                problem(problems, p, f"console error in Chromium: {msg[:200]}")
            local = "[...document.images].filter(i => !/^https?:/.test(i.src))"
            broken = driver.execute_script(f"return {local}.filter(i => !(i.complete && i.naturalWidth > 0)).length")
            n = driver.execute_script(f"return {local}.length")
            if broken: problem(problems, p, f"{broken} of {n} images do not decode in Chromium")
            said.append(f"{p}: {n - broken} of {n} local images decoded, screenshot _screenshots/{p.replace('/', '_').replace('.html', '.png')}")
    finally: driver.quit()
    version = subprocess.run([chromium, '--version'], capture_output=True, text=True).stdout.strip()
    return (f"browser check ({version}): " + '; '.join(said)
            + (f"; not reachable from here, not counted: {', '.join(sorted(offline))}" if offline else ''))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=str(ROOT/'_docs_preview'), help='folder for the preview (default: _docs_preview)')
    ap.add_argument('--no-browser', action='store_true', help='skip the Chromium check')
    ap.add_argument('--require-browser', action='store_true', help='fail when Chromium is missing (CI)')
    args = ap.parse_args()
    t0, problems, out = time.perf_counter(), [], Path(args.out).resolve()
    import configparser
    cp = configparser.ConfigParser(delimiters=['=']); cp.read(ROOT/'settings.ini'); cfg = cp['DEFAULT']
    work = Path(tempfile.mkdtemp(prefix='mlm-nbdev-docs-'))
    try:
        copy_repo(work)
        cache, sidebar = process(work, problems)
        t1 = time.perf_counter()
        pages = build_preview(cache, sidebar, out, cfg, problems)
    finally:
        os.chdir(ROOT); shutil.rmtree(work, ignore_errors=True)
    soups = check_pages(out, pages, sidebar, problems)
    check_api(soups, pages, problems)
    check_images_and_outputs(soups, pages, problems)
    sys.path.insert(0, str(Path(__file__).parent))
    import prose_numbers  # every number in a page's prose shown by its code or outputs, or sourced
    for p in prose_numbers.check(ROOT/'nbs'): problems.append(p)
    checked['pages whose prose numbers were checked'] = len(pages)
    t2 = time.perf_counter()
    said = "browser check skipped (--no-browser)" if args.no_browser else browser_check(out, pages, problems)
    if args.require_browser and said.startswith('browser check skipped'): problem(problems, 'browser', said)
    print(f"docs: {len(pages)} pages processed in {t1 - t0:.0f} s, rendered and checked in {t2 - t1:.0f} s; preview in "
          f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    checked['pages'] = len(pages)
    print("docs: checked " + ', '.join(f"{v} {k}" for k, v in checked.items()))
    print(f"docs: {said} ({time.perf_counter() - t2:.0f} s)")
    if problems:
        print(f"docs: {len(problems)} problem(s):"); print('\n'.join(f"  - {p}" for p in problems))
        sys.exit(1)
    print("docs: no problems found")

if __name__ == '__main__': main()
