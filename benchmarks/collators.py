"""Collator throughput on batches of 64 x 128 tokens of the offline profile's chunks, four collators in one run:
the lesson's whole-word collator (pure Python per token), transformers' built-in whole-word option, transformers'
token collator, and this project's WholeWordMaskCollator.

    python benchmarks/collators.py [--batches N] [--batch-size B]
"""
import argparse, collections, copy, time
import datasets
import numpy as np
from transformers import DataCollatorForLanguageModeling, default_data_collator
from mlm_nbdev.collators import WholeWordMaskCollator, token_collator
from mlm_nbdev.config import get_profile
from mlm_nbdev.data import load_tokenizer
from mlm_nbdev.preprocessing import prepare_chunks

def lesson_whole_word(tokenizer, wwm_probability=0.2):
    "The course's collator, re-told: per-token Python loop, global NumPy state, mutates its input, 100% [MASK]."
    def collate(features):
        for feature in features:
            word_ids = feature.pop('word_ids')
            mapping, current, index = collections.defaultdict(list), None, -1
            for idx, w in enumerate(word_ids):
                if w is not None:
                    if w != current: current, index = w, index + 1
                    mapping[index].append(idx)
            mask = np.random.binomial(1, wwm_probability, (len(mapping),))
            input_ids, labels = feature['input_ids'], feature['labels']
            new_labels = [-100] * len(labels)
            for word in np.where(mask)[0]:
                for idx in mapping[word]:
                    new_labels[idx] = labels[idx]; input_ids[idx] = tokenizer.mask_token_id
            feature['labels'] = new_labels
        return default_data_collator(features)
    return collate

def offsets_from_word_ids(word_ids):
    "Character spans that touch within a word and leave a gap between words, for transformers' offset-based grouping."
    spans, pos, prev = [], 1, None
    for w in word_ids:
        if w is None: spans.append((0, 0)); prev = None; continue
        if prev is not None and w != prev: pos += 1
        spans.append((pos, pos + 1)); pos += 1; prev = w
    return spans

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batches', type=int, default=200)
    ap.add_argument('--batch-size', type=int, default=64)
    args = ap.parse_args()
    datasets.disable_progress_bars()
    profile = get_profile('offline', verbose=False)
    tok = load_tokenizer(profile)
    ds = prepare_chunks(profile, tok, verbose=False)['train'].select(range(args.batches * args.batch_size))
    rows = ds.to_list()
    batches = [rows[i:i + args.batch_size] for i in range(0, len(rows), args.batch_size)]
    plain = [[{k: v for k, v in f.items() if k != 'word_ids'} for f in b] for b in batches]
    with_offsets = [[{'input_ids': f['input_ids'], 'attention_mask': f['attention_mask'],
                      'offset_mapping': offsets_from_word_ids(f['word_ids'])} for f in b] for b in batches]
    np.random.seed(0)
    hf_wwm = DataCollatorForLanguageModeling(tok, mlm_probability=0.2, whole_word_mask=True, mask_replace_prob=1.0,
                                             random_replace_prob=0.0, seed=0)
    cases = [("lesson's whole-word collator", lesson_whole_word(tok), lambda: copy.deepcopy(batches)),
             ("transformers whole_word_mask=True", hf_wwm, lambda: with_offsets),
             ("transformers token collator", DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=0), lambda: plain),
             ("WholeWordMaskCollator (this project)", WholeWordMaskCollator(tok, 0.2, seed=0), lambda: batches)]
    results = []
    for name, collate, data in cases:
        inputs = data()  # copies made before the clock starts
        collate(inputs[0] if name != "lesson's whole-word collator" else copy.deepcopy(batches[0]))  # warm-up
        t0 = time.perf_counter()
        for b in inputs: collate(b)
        results.append((name, len(inputs) / (time.perf_counter() - t0)))
    base = results[0][1]
    print(f"{len(batches)} batches of {args.batch_size} x {profile.chunk_size} tokens, offline profile chunks\n")
    print(f"| {'collator':<38} | {'batches/s':>9} | {'vs lesson':>9} |\n|{'-'*40}|{'-'*11}|{'-'*11}|")
    for name, r in results: print(f"| {name:<38} | {r:>9.1f} | {r / base:>8.1f}x |")

if __name__ == '__main__': main()
