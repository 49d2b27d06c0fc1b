"""Lesson 4's guard against the noise of its own evaluation: the `Trainer` evaluates with the training collator, which
draws new masks at every evaluation, so one model gets a different perplexity each time. For each set of sizes this
trains the offline base as lesson 4 does (`Trainer`, transformers' token collator, the profile's rate), and before
training and after each epoch evaluates the model on the test chunks under several mask seeds. The spread across seeds
is the noise of one evaluation; the change of their mean is the fall the epoch really bought. The guard (perplexity falls
at every epoch) is safe when each fall is several times the noise of a difference of two evaluations.

    python benchmarks/trainer_noise.py run      # the default size sets: writes benchmarks/trainer_noise.json, prints the table
    python benchmarks/trainer_noise.py table    # the table, from benchmarks/trainer_noise.json

It needs the offline base and lesson 2's chunks in the cache (run lessons 1 and 2, or `mlm-nbdev train`), and takes about
10 minutes on 2 CPU cores.
"""
import argparse, dataclasses, datetime, json, math, time
from pathlib import Path
import numpy as np

RESULTS = Path(__file__).resolve().parent/'trainer_noise.json'
SEEDS = 5  # mask seeds per evaluation
# (name, train_size, test_size, batch_size, epochs, learning rate)
SIZES = (('6063f43 offline', 192, 100, 32, 3, 2e-4),
         ('offline', 288, 300, 32, 2, 2e-4),
         ('Colab drill', 96, 300, 8, 2, 2e-4))

def log_ppls(model, test, tokenizer, p, seeds=SEEDS)->np.ndarray:
    "Mean masked-token cross-entropy of `model` on `test`, once per mask seed (token-weighted, as one evaluation)."
    import torch
    from transformers import DataCollatorForLanguageModeling
    from mlm_nbdev.trainer import masked_lm_loss  # the stock loss's value, computed at the masked positions only (lesson 4)
    model.eval(); out = []
    rows = test.remove_columns([c for c in test.column_names if c not in ('input_ids', 'attention_mask')]).to_list()
    with torch.no_grad():
        for s in range(seeds):
            collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=p.mlm_probability, seed=1000 + s)
            total = n = 0
            for i in range(0, len(rows), 32):
                b = collate(rows[i:i + 32])
                total += masked_lm_loss(model, b['input_ids'], b['labels'], b['attention_mask'], reduction='sum').item()
                n += int((b['labels'] != -100).sum())
            out.append(total / n)
    model.train()
    return np.array(out)

def measure(profile, tokenizer, chunks, name, train_n, test_n, batch, epochs, lr)->dict:
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments
    from mlm_nbdev.data import load_model
    from mlm_nbdev.preprocessing import downsample
    p = dataclasses.replace(profile, train_size=train_n, test_size=test_n, batch_size=batch, epochs=epochs, trainer_lr=lr)
    splits = downsample(chunks, p)
    model = load_model(p)
    evals = [log_ppls(model, splits['test'], tokenizer, p)]
    class EachEpoch(TrainerCallback):
        def on_epoch_end(self, args, state, control, model=None, **kw): evals.append(log_ppls(model, splits['test'], tokenizer, p))
    args = TrainingArguments(output_dir='/tmp/trainer_noise', per_device_train_batch_size=batch, learning_rate=lr,
                             weight_decay=p.weight_decay, num_train_epochs=epochs, seed=p.seed, save_strategy='no',
                             eval_strategy='no', report_to='none', disable_tqdm=True, logging_strategy='no')
    t0 = time.perf_counter()
    Trainer(model=model, args=args, train_dataset=splits['train'], processing_class=tokenizer, callbacks=[EachEpoch()],
            data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=p.mlm_probability, seed=p.seed)).train()
    seconds = time.perf_counter() - t0
    means = [float(e.mean()) for e in evals]
    sd = float(np.mean([e.std(ddof=1) for e in evals]))  # one evaluation's noise, in log-perplexity
    falls = [a - b for a, b in zip(means, means[1:])]
    return {'name': name, 'train': train_n, 'test': test_n, 'batch': batch, 'epochs': epochs, 'lr': lr,
            'steps_per_epoch': train_n // batch, 'train_seconds': round(seconds, 1),
            'perplexity': [round(math.exp(m), 1) for m in means], 'sd': round(sd, 4),
            'falls': [round(f, 4) for f in falls], 'z': [round(f / (sd * math.sqrt(2)), 1) for f in falls]}

def run(args):
    import datasets
    from mlm_nbdev.config import get_profile, quiet
    from mlm_nbdev.data import load_tokenizer
    from mlm_nbdev.preprocessing import prepare_chunks
    datasets.disable_progress_bars()
    profile = get_profile('offline', verbose=False)
    tokenizer = load_tokenizer(profile)
    chunks = prepare_chunks(profile, tokenizer, verbose=False)
    rows = []
    for s in [s for s in SIZES if s[0] in args.sizes]:
        with quiet(): rows.append(measure(profile, tokenizer, chunks, *s))
        print(json.dumps(rows[-1]), flush=True)
    out = {'date': datetime.date.today().isoformat(), 'seeds': SEEDS, 'rows': rows}
    RESULTS.write_text(json.dumps(out, indent=1) + '\n')
    print(table(out))

def rise(z:float)->float:
    "The chance that two evaluations, each with its own masks, show a rise where the true change is a fall of `z` noises."
    return 0.5 * math.erfc(z / math.sqrt(2))

def table(out:dict)->str:
    "The size sets as a Markdown table."
    head = ("| sizes | training chunks, batch, epochs | test chunks | perplexity, mean over mask seeds: before, each epoch "
            "| noise of one evaluation (sd, log-perplexity) | each epoch's fall (log-perplexity) | fall / noise of a difference "
            "| chance that new masks show a rise |\n|---|---|---:|---|---:|---|---|---|")
    rows = [f"| {r['name']} | {r['train']}, {r['batch']}, {r['epochs']} | {r['test']} | {' → '.join(f'{x:,.1f}' for x in r['perplexity'])} | "
            f"{r['sd']:.3f} | {', '.join(f'{f:.3f}' for f in r['falls'])} | {', '.join(f'{z:.1f}' for z in r['z'])} | "
            f"{', '.join(f'{rise(z):.1%}' for z in r['z'])} |" for r in out['rows']]
    return '\n'.join([head, *rows, '', f"offline student, learning rate 2e-4, {out['seeds']} mask seeds per evaluation; measured {out['date']}"])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('what', nargs='?', default='run', choices=['run', 'table'])
    ap.add_argument('--sizes', nargs='+', default=[s[0] for s in SIZES], help='which of the size sets to run, by name')
    a = ap.parse_args()
    if a.what == 'table': print(table(json.loads(RESULTS.read_text()))); return
    run(a)

if __name__ == '__main__': main()
