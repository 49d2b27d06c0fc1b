"""Training-step throughput of the MLM loss: the stock head (vocabulary projection at every position) against
`masked_lm_loss`, first with the head at the masked positions only (`last_layer=False`), then also with the encoder's
last layer computed there only (the default), with torch.compile off and on where a GPU is present.

    python benchmarks/training.py --save-batches .bench/batches.npz   # here: mask offline chunks once, save them
    python benchmarks/training.py --model student                    # CPU: the offline profile's 3-layer student
    python benchmarks/training.py --model distilbert-base --batches .bench/batches.npz   # GPU: the course's shape

The GPU case builds DistilBERT-base from its configuration (random weights: throughput does not depend on them)
and needs only torch and transformers, so it runs on a machine without the Hub or `datasets`: the masked batches
travel as a .npz file. Prints tokens/s, seconds per step and an estimate of model FLOPs utilisation (MFU).
"""
import argparse, time
from pathlib import Path
import numpy as np
import torch

PEAK_BF16 = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'L4': 121e12, 'T4': 65e12}  # dense, per GPU

def save_batches(path, n_chunks):
    import datasets
    from mlm_nbdev.collators import token_collator
    from mlm_nbdev.config import get_profile
    from mlm_nbdev.data import load_tokenizer
    from mlm_nbdev.preprocessing import prepare_chunks
    datasets.disable_progress_bars()
    p = get_profile('offline', verbose=False); tok = load_tokenizer(p)
    rows = prepare_chunks(p, tok, verbose=False)['train'].select(range(n_chunks)).to_list()
    b = token_collator(tok, p.mlm_probability, seed=p.seed)(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, input_ids=b['input_ids'].numpy().astype(np.int32), labels=b['labels'].numpy().astype(np.int32))
    print(f"saved {n_chunks} masked chunks to {path}")

def build(name):
    if name == 'student':
        from mlm_nbdev.config import get_profile
        from mlm_nbdev.data import build_student
        return build_student(get_profile('offline', verbose=False))
    from transformers import DistilBertConfig, DistilBertForMaskedLM
    torch.manual_seed(0)
    return DistilBertForMaskedLM(DistilBertConfig())  # distilbert-base-uncased's shape: 6 layers, 768 wide, 30,522 words

def model_flops(model, batch, labels, variant):
    "Matmul FLOPs of one training step (forward + backward = 3x forward), encoder + attention + head."
    from mlm_nbdev.trainer import mlm_parts
    enc, _ = mlm_parts(model)
    cfg = model.config
    d = getattr(cfg, 'hidden_size', None) or cfg.dim
    n_layers = getattr(cfg, 'num_hidden_layers', None) or cfg.n_layers
    per_layer = sum(p.numel() for n, p in enc.named_parameters() if 'layer' in n and p.dim() == 2) // n_layers
    tokens, seq = batch.numel(), batch.shape[1]
    rows = int((labels != -100).sum())
    head_rows = tokens if variant == 'stock' else rows
    last_rows = rows if variant == 'masked' else tokens  # the last layer's queries, attention output and feed-forward
    fwd = (2 * per_layer * tokens + 4 * seq * d * tokens) * (n_layers - 1)                       # every layer but the last
    fwd += 2 * 2 * d * d * tokens + 2 * (per_layer - 2 * d * d) * last_rows + 4 * seq * d * last_rows  # the last: keys, values
    fwd += 2 * (d * d + d * cfg.vocab_size) * head_rows
    return 3 * fwd

VARIANTS = {'stock': 'stock', 'head': 'head at masked positions', 'masked': 'head and last layer at masked positions'}

def bench(model, ids, labels, variant, steps, warmup, bs, device, compiled):
    from mlm_nbdev.trainer import masked_lm_loss
    model = model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    fn = {'stock': lambda x, y: model(input_ids=x, labels=y).loss,
          'head': lambda x, y: masked_lm_loss(model, x, y, last_layer=False),
          'masked': lambda x, y: masked_lm_loss(model, x, y)}[variant]
    if compiled: fn = torch.compile(fn, dynamic=variant != 'stock')  # the masked row count changes from batch to batch
    amp = torch.autocast('cuda', dtype=torch.bfloat16) if device == 'cuda' else torch.autocast('cpu', enabled=False)
    n = len(ids) // bs
    def step(i):
        x, y = ids[i % n * bs:(i % n + 1) * bs].to(device), labels[i % n * bs:(i % n + 1) * bs].to(device)
        with amp: loss = fn(x, y)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return x, y
    for i in range(warmup): step(i)
    if device == 'cuda': torch.cuda.synchronize()
    t0, flops = time.perf_counter(), 0
    for i in range(steps):
        x, y = step(warmup + i)
        flops += model_flops(model, x, y, variant)
    if device == 'cuda': torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    return dt, bs * ids.shape[1] / dt, flops / steps / dt

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['student', 'distilbert-base'], default='student')
    ap.add_argument('--batches', help='.npz of masked chunks (default: mask offline chunks now)')
    ap.add_argument('--save-batches', help='write masked chunks to this .npz and exit')
    ap.add_argument('--chunks', type=int, default=2048)
    ap.add_argument('--batch-size', type=int, default=None, help='default: 64 on a GPU, 32 on a CPU')
    ap.add_argument('--steps', type=int, default=None, help='timed steps (default: 50 on a GPU, 3 on a CPU)')
    ap.add_argument('--warmup', type=int, default=None)
    ap.add_argument('--compile', choices=['off', 'on', 'both'], default=None, help='default: both on a GPU, off on a CPU')
    a = ap.parse_args()
    if a.save_batches: return save_batches(a.save_batches, a.chunks)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    gpu = device == 'cuda'
    bs, steps = a.batch_size or (64 if gpu else 32), a.steps or (50 if gpu else 3)
    warmup = a.warmup if a.warmup is not None else (10 if gpu else 1)
    compiles = {'off': [False], 'on': [True], 'both': [False, True]}[a.compile or ('both' if gpu else 'off')]
    if a.batches: d = np.load(a.batches); ids, labels = torch.from_numpy(d['input_ids']).long(), torch.from_numpy(d['labels']).long()
    else:
        tmp = Path('.bench/batches.npz'); save_batches(tmp, a.chunks); d = np.load(tmp)
        ids, labels = torch.from_numpy(d['input_ids']).long(), torch.from_numpy(d['labels']).long()
    name = torch.cuda.get_device_name() if gpu else f'CPU ({torch.get_num_threads()} threads)'
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None) if gpu else None
    print(f"{a.model} on {name}, batch {bs} x {ids.shape[1]} tokens, {'bf16 autocast' if gpu else 'fp32'}, "
          f"{steps} timed steps after {warmup} warm-up, torch {torch.__version__}\n")
    print("| head | compile | s/step | tokens/s | model TFLOP/s | MFU | speed-up |\n|---|---|---|---|---|---|---|")
    base = None
    for compiled in compiles:
        for variant in VARIANTS:
            torch.manual_seed(0)
            dt, tps, fl = bench(build(a.model), ids, labels, variant, steps, warmup, bs, device, compiled)
            base = base or dt
            mfu = f"{fl / peak:.1%}" if peak else 'n/a'
            print(f"| {VARIANTS[variant]} | {'on' if compiled else 'off'} | {dt:.4f} | {tps:,.0f} | {fl / 1e12:.2f} | {mfu} | {base / dt:.2f}x |", flush=True)
    print("\nMFU counts the matmul FLOPs each variant performs (the masked-position variants do less work per step);"
          " tokens/s is the comparable figure. Peak: dense bf16 of the GPU's data sheet.")

if __name__ == '__main__': main()
