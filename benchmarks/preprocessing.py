"""Preprocessing speed: the lesson's chunking (`sum(lists, [])` per map batch) against `group_texts`
(flatten-and-reshape on Arrow columns), on the 25,000 packaged IMDb training reviews, in one run.

    python benchmarks/preprocessing.py [--reviews N]

Prints a table: tokenizing time, both chunking times and their ratio, end-to-end preprocessing time
(tokenize + chunk with group_texts) and the process's peak memory.
"""
import argparse, resource, time
import datasets
from datasets import Dataset
from mlm_nbdev.config import get_profile
from mlm_nbdev.data import load_tokenizer, read_packaged_reviews
from mlm_nbdev.preprocessing import group_texts, group_texts_lesson, tokenize_reviews

def timed(f):
    t0 = time.perf_counter(); out = f(); return out, time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--reviews', type=int, default=25_000)
    args = ap.parse_args()
    datasets.disable_progress_bars(); datasets.disable_caching()
    profile = get_profile('offline', verbose=False)
    tok = load_tokenizer(profile)
    raw = Dataset.from_pandas(read_packaged_reviews('imdb').iloc[:args.reviews], preserve_index=False)
    tokenized, t_tok = timed(lambda: tokenize_reviews(raw, tok))
    ours, t_ours = timed(lambda: group_texts(tokenized, profile.chunk_size))
    lesson, t_lesson = timed(lambda: tokenized.map(group_texts_lesson, batched=True))
    assert len(ours) == len(lesson) and ours['input_ids'][:] == lesson['input_ids'][:], "chunks differ"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [('tokenize (no truncation, word_ids)', t_tok, ''),
            ("chunk: lesson's sum(lists, [])", t_lesson, '1.0x'),
            ('chunk: group_texts (Arrow reshape)', t_ours, f'{t_lesson / t_ours:.1f}x'),
            ('preprocess end to end (tokenize + group_texts)', t_tok + t_ours, '')]
    print(f"{len(raw):,} reviews -> {len(ours):,} chunks of {profile.chunk_size} tokens (identical for both methods)\n")
    print(f"| {'step':<48} | {'seconds':>8} | {'speed-up':>8} |\n|{'-'*50}|{'-'*10}|{'-'*10}|")
    for name, t, r in rows: print(f"| {name:<48} | {t:>8.2f} | {r:>8} |")
    print(f"\npeak memory (max RSS of this process): {peak_mb:,.0f} MB")

if __name__ == '__main__': main()
