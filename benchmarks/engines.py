"""Training throughput of the two lessons' engines, `Trainer` (lesson 4) and the Accelerate loop (lesson 5), each with
the stock MLM head and with the masked-positions-only loss, on the offline profile.

    python benchmarks/engines.py                # 8 timed steps per configuration, batch 32 x 128
    python benchmarks/engines.py --steps 20

Each configuration trains a fresh offline base for `warmup` steps and for `warmup + steps` steps; the difference of the
two wall times, divided by `steps`, is the time of a step with everything the engine does around it (collation,
optimizer, schedule, logging), without the set-up and the evaluation at the end. Prints a table.
"""
import argparse, dataclasses, os, sys, tempfile, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import datasets

def timed(engine, masked_only, steps, profile, tokenizer, train, eval_set, collator):
    from mlm_nbdev.data import load_model
    from mlm_nbdev.trainer import make_trainer
    from mlm_nbdev.training_loop import train_mlm
    p = dataclasses.replace(profile, max_steps=steps, epochs=1)
    with tempfile.TemporaryDirectory() as d:
        model = load_model(p, verbose=False)
        t0 = time.perf_counter()
        if engine == 'accelerate':
            train_mlm(p, model, tokenizer, train, eval_set, collator, d, masked_only=masked_only, eval_before=False, progress=False)
        else:
            make_trainer(p, model, tokenizer, train, eval_set, collator, d, masked_only=masked_only, disable_tqdm=True,
                         eval_strategy='no', logging_strategy='no').train()
        return time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=8)
    ap.add_argument('--warmup', type=int, default=2)
    args = ap.parse_args()
    import torch
    from mlm_nbdev.config import get_profile, quiet
    from mlm_nbdev.data import load_tokenizer
    from mlm_nbdev.training_loop import lesson_data
    datasets.disable_progress_bars()
    profile = get_profile('offline', verbose=False)
    tokenizer = load_tokenizer(profile)
    train, eval_set, collator = lesson_data(profile, tokenizer, verbose=False)
    eval_set = eval_set.select(range(profile.batch_size))
    tokens = profile.batch_size * profile.chunk_size
    print(f"offline profile, batch {profile.batch_size} x {profile.chunk_size}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {args.steps} timed steps after {args.warmup}")
    print(f"| engine | head | s/step | tokens/s |\n|---|---|---|---|")
    rows = {}
    for engine in ('trainer', 'accelerate'):
        for masked_only in (False, True):
            with quiet():
                short = timed(engine, masked_only, args.warmup, profile, tokenizer, train, eval_set, collator)
                long = timed(engine, masked_only, args.warmup + args.steps, profile, tokenizer, train, eval_set, collator)
            s = (long - short) / args.steps
            rows[engine, masked_only] = s
            print(f"| {engine} | {'masked only' if masked_only else 'stock'} | {s:.2f} | {tokens / s:,.0f} |", flush=True)
    for engine in ('trainer', 'accelerate'):
        print(f"{engine}: masked-only speed-up {rows[engine, False] / rows[engine, True]:.2f}x")

if __name__ == '__main__':
    sys.exit(main())
