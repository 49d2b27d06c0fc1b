"""Lesson 7's comparison at other classifier budgets, and why one pass was not enough: for each budget (training reviews,
passes over them, and the fewest steps a fine-tuning may take), both checkpoints fine-tuned with every seed of the profile, exactly as the lesson does it, and the figures
its guards read: the paired intervals' half-widths, each classifier's share of positive predictions, and the linear probe's
interval; then, with --trace, the share of test reviews called positive every two steps of one fine-tuning, with one pass
and with two.

    python benchmarks/classifier.py run               # the default budgets on the offline profile: writes benchmarks/classifier.json
    python benchmarks/classifier.py run --trace       # and the traces
    python benchmarks/classifier.py table             # the tables, from benchmarks/classifier.json

It needs the offline base and lesson 5's adapted model in the cache (run lessons 1 to 5, or `mlm-nbdev train`), and takes
about 15 minutes on 2 CPU cores. The guards' bounds are lesson 7's: half-widths at most 0.03 (accuracy), 0.05 (macro F1)
and 0.03 (probe), positive shares between 0.35 and 0.65.
"""
import argparse, dataclasses, datetime, json, time
from pathlib import Path
import numpy as np

RESULTS = Path(__file__).resolve().parent/'classifier.json'
BUDGETS = ((400, 1, 40), (640, 1, 40), (1_000, 1, 40), (400, 2, 0), (640, 1, 0), (1_000, 1, 0))
# (training reviews, classifier_epochs, classifier_min_steps): the lesson's recipe (at least 40 steps) at three sizes, then the same
# sizes with the passes named and no floor on the steps
BOUNDS = {'accuracy': 0.03, 'macro_f1': 0.05, 'probe': 0.03, 'shares': (0.35, 0.65)}

def measure(profile, tokenizer, checkpoints, reviews, train_n, passes, min_steps):
    "Lesson 7's comparison and probe at one budget: the figures its guards read."
    from datasets import concatenate_datasets
    from mlm_nbdev.downstream import classifier_data, compare_checkpoints, linear_probe, paired_difference, pooled_features
    from mlm_nbdev.trainer import t_interval
    p = dataclasses.replace(profile, classifier_train=train_n, classifier_epochs=passes, classifier_min_steps=min_steps)
    train, test = classifier_data(p, tokenizer, reviews)
    t0 = time.perf_counter()
    results = compare_checkpoints(checkpoints, tokenizer, train, test, p, progress=False)
    seconds = time.perf_counter() - t0
    half = {m: (lambda r: (r['high'] - r['low']) / 2)(paired_difference(results, m)) for m in ('accuracy', 'macro_f1')}
    both = concatenate_datasets([train, test]); labels = np.asarray(both['label'])
    feats = {n: pooled_features(c, both, tokenizer, profile=p) for n, c in checkpoints.items()}
    k, repeats = 5, 10
    folds = {n: linear_probe(f, labels, folds=k, repeats=repeats) for n, f in feats.items()}
    _, lo, hi = t_interval(folds['adapted'] - folds['base'], variance_factor=1 / (k * repeats) + 1 / (k - 1))
    shares = results['positive_share']
    return {'train': train_n, 'epochs': passes, 'min_steps': min_steps, 'passes': int(results['passes'].iloc[0]),
            'steps': int(results['steps'].iloc[0]), 'test': len(test),
            'seconds_per_classifier': round(seconds / len(results), 1),
            'accuracy': {m: round(float(results.loc[results.model == m, 'accuracy'].mean()), 4) for m in checkpoints},
            'half_accuracy': round(half['accuracy'], 4), 'half_macro_f1': round(half['macro_f1'], 4), 'half_probe': round((hi - lo) / 2, 4),
            'share_min': round(float(shares.min()), 3), 'share_max': round(float(shares.max()), 3)}

def holds(r)->bool:
    lo, hi = BOUNDS['shares']
    return (r['half_accuracy'] <= BOUNDS['accuracy'] and r['half_macro_f1'] <= BOUNDS['macro_f1'] and r['half_probe'] <= BOUNDS['probe']
            and lo <= r['share_min'] and r['share_max'] <= hi)

def trace(profile, tokenizer, checkpoints, reviews, seed=0):
    "The share of test reviews called positive every two steps, with one pass and with two, from the adapted checkpoint."
    from mlm_nbdev.downstream import classifier_data, finetune_classifier
    out = {}
    for passes in (1, 2):
        p = dataclasses.replace(profile, classifier_epochs=passes, classifier_min_steps=0)
        train, test = classifier_data(p, tokenizer, reviews)
        r = finetune_classifier(checkpoints['adapted'], tokenizer, train, test, p, seed, trace_every=2)
        out[str(passes)] = [(int(s), round(float(x), 3)) for s, x in r['trace']]
    return out

def run(args):
    from mlm_nbdev.config import get_profile, quiet
    from mlm_nbdev.data import load_reviews, load_tokenizer
    from mlm_nbdev.inference import find_adapted
    from mlm_nbdev.sources import base_checkpoint
    import datasets; datasets.disable_progress_bars()
    profile = get_profile(args.profile)
    tokenizer, reviews = load_tokenizer(profile), load_reviews(profile, verbose=False)
    source, said = find_adapted(profile)
    if 'builds one' in said: raise SystemExit("no adapted model in the cache: run lessons 1 to 5 (or `mlm-nbdev train`) first")
    checkpoints = {'base': base_checkpoint(profile, verbose=False), 'adapted': str(source)}
    rows = []
    for n, e, m in args.budgets:
        with quiet(): rows.append(measure(profile, tokenizer, checkpoints, reviews, n, e, m))
        print(json.dumps(rows[-1]), flush=True)
    out = {'date': datetime.date.today().isoformat(), 'profile': profile.name, 'seeds': list(profile.classifier_seeds),
           'rates': {'encoder': profile.classifier_lr, 'head': profile.classifier_head_lr, 'batch': profile.classifier_batch_size},
           'budgets': rows}
    if args.trace:
        with quiet(): out['trace'] = trace(profile, tokenizer, checkpoints, reviews)
    RESULTS.write_text(json.dumps(out, indent=1) + '\n')
    print(table(out))

def table(out:dict)->str:
    "The budgets as a Markdown table, and the traces, if measured, as lines."
    head = ("| training reviews | classifier_epochs, classifier_min_steps | passes | steps | accuracy, base / adapted | ± accuracy | ± macro F1 | ± probe | positive shares "
            "| guards hold |\n|---:|---|---:|---:|---|---:|---:|---:|---|---|")
    rows = [f"| {r['train']:,} | {r['epochs']}, {r['min_steps']} | {r['passes']} | {r['steps']} | {r['accuracy']['base']:.3f} / {r['accuracy']['adapted']:.3f} | "
            f"{r['half_accuracy']:.3f} | {r['half_macro_f1']:.3f} | {r['half_probe']:.3f} | {r['share_min']:.2f} to {r['share_max']:.2f} | "
            f"{'yes' if holds(r) else 'no'} |" for r in out['budgets']]
    lines = [head, *rows, '',
             f"{out['profile']} profile, seeds {', '.join(map(str, out['seeds']))}, {out['budgets'][0]['test']} test reviews, encoder rate "
             f"{out['rates']['encoder']:g}, new layer {out['rates']['head']:g}, batches of {out['rates']['batch']}; measured {out['date']}"]
    for passes, t in out.get('trace', {}).items():
        lines.append(f"share called positive, adapted checkpoint, seed 0, {passes} pass{'es' * (passes != '1')}: "
                     + ', '.join(f"step {s} {x:.2f}" for s, x in t))
    return '\n'.join(lines)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run'); r.add_argument('--profile', default='offline'); r.add_argument('--trace', action='store_true')
    r.add_argument('--budgets', nargs='+', default=[f'{n}x{e}x{m}' for n, e, m in BUDGETS],
                   help='REVIEWSxEPOCHSxMIN_STEPS, e.g. 640x1x40 (the lesson\'s recipe) or 640x2x0 (two passes, no floor)')
    sub.add_parser('table')
    a = ap.parse_args()
    if a.cmd == 'table': print(table(json.loads(RESULTS.read_text()))); return
    a.budgets = [tuple(int(x) for x in b.split('x')) for b in a.budgets]
    run(a)

if __name__ == '__main__': main()
