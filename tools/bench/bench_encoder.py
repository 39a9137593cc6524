"""bend's CPU transformer encoder against PyTorch + transformers, same machine, same run, same
random weights and ids (tools/bench/encoder_vs_torch.sh runs this; not a test).

Builds two random-initialised checkpoints in a scratch directory (never in the repo): a
BERT-base-sized DNABERT-like BertModel (hidden 768, 12 heads, FFN 3072, vocab 4101 = 4^6 + 5 so
bend detects DNABERT) and an NT-500M-sized EsmModel (NT v1 500M: hidden 1280, 20 heads, FFN 5120,
1002 positions, token_dropout, vocab 4105). Widths are exact; the number of layers may be reduced
(--bert-layers / --nt-layers) and tokens/s are then reported per FULL-depth model (12 / 24 layers)
by scaling with layers_run / full_layers, which is what a layer-by-layer forward costs.

For every case (model, L, B) and thread count, PyTorch runs first (fp32, eval, no_grad, each
attention implementation transformers offers for the class: BERT has sdpa (its default) and
eager, ESM only eager), writes its last_hidden_state, then bench_encoder runs bend on the same
ids and compares. Timings: one warm-up call (B=1: the whole case; B>1: one window), then the
median of --reps (B=1) or --reps-large (B>1) timed calls.

  python bench_encoder.py --bench build-bench/tools/bench/bench_encoder --scratch /tmp/x
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch
import transformers
from transformers import BertConfig, BertModel, EsmConfig, EsmModel

FULL_LAYERS = {"bert-base": 12, "nt-500m": 24}


def make_bert(path, layers, max_pos):
    cfg = BertConfig(vocab_size=4101, hidden_size=768, num_hidden_layers=layers,
                     num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
                     max_position_embeddings=max_pos, type_vocab_size=2, pad_token_id=0,
                     hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    return BertModel(cfg, add_pooling_layer=False), cfg


def make_nt(path, layers):
    cfg = EsmConfig(vocab_size=4105, hidden_size=1280, num_hidden_layers=layers,
                    num_attention_heads=20, intermediate_size=5120, hidden_act="gelu",
                    max_position_embeddings=1002, position_embedding_type="absolute",
                    pad_token_id=1, mask_token_id=2, token_dropout=True,
                    emb_layer_norm_before=False, layer_norm_eps=1e-12,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return EsmModel(cfg, add_pooling_layer=False), cfg


def build_checkpoint(kind, path, layers, max_pos, seed):
    torch.manual_seed(seed)
    model, _ = make_bert(path, layers, max_pos) if kind == "bert-base" else make_nt(path, layers)
    # HF initialises biases to 0 and LayerNorms to (1, 0): perturb every vector so that the
    # output check also covers biases and LayerNorm parameters.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(path, safe_serialization=True)


def load(kind, path, attn):
    cls = BertModel if kind == "bert-base" else EsmModel
    kw = {"add_pooling_layer": False}
    if attn is not None:
        kw["attn_implementation"] = attn
    m = cls.from_pretrained(path, **kw).eval()
    return m, m.config._attn_implementation


def time_torch(model, ids, warm_ids):
    with torch.no_grad():
        if warm_ids is not None:
            model(input_ids=warm_ids)
        t, c = time.perf_counter(), time.process_time()
        out = model(input_ids=ids).last_hidden_state
        return time.perf_counter() - t, time.process_time() - c, out


def run_bend(bench, ckpt, ids_path, B, L, warm, reps, ref_path, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [bench, "forward", ckpt, ids_path, str(B), str(L), str(warm), str(reps)]
    cmd += [ref_path] if ref_path else []
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"bench_encoder failed: {' '.join(cmd)}\n{res.stderr}")
    line = res.stdout.strip().splitlines()[-1]
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def torch_ops_breakdown(H, nh, inter, L, B, reps, impls):
    """The same ops bench_encoder's `ops` mode times, in PyTorch (one post-LN block)."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(0)
    T, hd = B * L, H // nh
    x = torch.randn(T, H, generator=g)
    wqkv, bqkv = 0.05 * torch.randn(3 * H, H, generator=g), torch.randn(3 * H, generator=g)
    wo, bo = 0.05 * torch.randn(H, H, generator=g), torch.randn(H, generator=g)
    w1, b1 = 0.05 * torch.randn(inter, H, generator=g), torch.randn(inter, generator=g)
    w2, b2 = 0.05 * torch.randn(H, inter, generator=g), torch.randn(H, generator=g)
    ln = torch.nn.LayerNorm(H, eps=1e-12)
    qkv = F.linear(x, wqkv, bqkv)
    ffn = F.linear(x, w1, b1)

    def heads(t):  # [T, H] -> [B, nh, L, hd], as HF's transpose_for_scores
        return t.view(B, L, nh, hd).permute(0, 2, 1, 3)

    q, k, v = (heads(t) for t in qkv.split(H, dim=1))

    def eager():  # HF BertSelfAttention / EsmSelfAttention eager math (ESM pre-scales q)
        s = torch.matmul(q * hd ** -0.5, k.transpose(-1, -2))
        p = torch.softmax(s, dim=-1)
        return torch.matmul(p, v).permute(0, 2, 1, 3).reshape(T, H)

    def sdpa():
        return F.scaled_dot_product_attention(q, k, v).permute(0, 2, 1, 3).reshape(T, H)

    ops = [("linear qkv", 2.0 * T * H * 3 * H, lambda: F.linear(x, wqkv, bqkv))]
    for name in impls:
        ops.append((f"attention ({name})", 4.0 * T * L * H, eager if name == "eager" else sdpa))
    ops += [("linear out (+res)", 2.0 * T * H * H, lambda: F.linear(x, wo, bo) + x),
            ("layernorm x2", 0, lambda: ln(ln(x))),
            ("linear ffn1", 2.0 * T * H * inter, lambda: F.linear(x, w1, b1)),
            ("gelu (erf)", 0, lambda: F.gelu(ffn)),
            ("linear ffn2 (+res)", 2.0 * T * inter * H, lambda: F.linear(ffn, w2, b2) + x)]
    lines = []
    with torch.no_grad():
        for name, flops, fn in ops:
            fn()
            ts = []
            for _ in range(reps):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
            m = float(np.median(ts))
            lines.append(f"op {name:<26} {m:9.4f} s" +
                         (f"  {flops / m / 1e9:7.1f} GFLOP/s" if flops else ""))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="path to the bench_encoder binary")
    ap.add_argument("--scratch", required=True, help="scratch directory (checkpoints, ids, refs)")
    ap.add_argument("--bert-layers", type=int, default=1)
    ap.add_argument("--nt-layers", type=int, default=1)
    ap.add_argument("--bert-positions", type=int, default=1024,
                    help="BERT-base has 512; 1024 lets the L=1000 case run unwindowed")
    ap.add_argument("--lengths", default="512,1000")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="bert-base,nt-500m")
    ap.add_argument("--reps", type=int, default=5, help="rounds for B=1")
    ap.add_argument("--reps-large", type=int, default=2, help="rounds for B>1")
    ap.add_argument("--breakdown", default="",
                    help="per-op timing of one block at MODEL:L:B[,...] (e.g. nt-500m:1000:1), both sides")
    args = ap.parse_args()

    os.makedirs(args.scratch, exist_ok=True)
    models = args.models.split(",")
    lengths = [int(v) for v in args.lengths.split(",")]
    batches = [int(v) for v in args.batches.split(",")]
    threads = [int(v) for v in args.threads.split(",")]
    layers = {"bert-base": args.bert_layers, "nt-500m": args.nt_layers}
    vocab = {"bert-base": 4101, "nt-500m": 4105}
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__} "
          f"({torch.backends.mkldnn.is_available() and 'oneDNN/MKL'}), transformers "
          f"{transformers.__version__}")
    print(f"# layers run: {json.dumps(layers)}; tok/s below are per full-depth model "
          f"({json.dumps(FULL_LAYERS)}): measured tok/s * layers_run / full_layers")

    ckpts, torch_models = {}, {}
    for i, kind in enumerate(models):
        path = os.path.join(args.scratch, f"{kind}-{layers[kind]}l")
        build_checkpoint(kind, path, layers[kind], args.bert_positions, seed=1234 + i)
        ckpts[kind] = path
        # the default implementation first (its output is the reference), then the others
        default, name = load(kind, path, None)
        torch_models[kind] = [(name, default)]
        for impl in ("sdpa", "eager"):
            if impl == name:
                continue
            try:
                m, got = load(kind, path, impl)
                torch_models[kind].append((got, m))
            except (ValueError, ImportError) as e:  # ESM in 4.46: no SDPA
                print(f"# {kind}: attn_implementation={impl} not available ({str(e)[:80]}...)")

    rows = []
    hdr = ("| model | threads | L | B | bend tok/s | torch sdpa tok/s | torch eager tok/s "
           "| bend / best torch, wall | same, CPU time | max rel err |")
    for nt in threads:
        torch.set_num_threads(nt)
        for kind in models:
            scale = layers[kind] / FULL_LAYERS[kind]
            for L in lengths:
                for B in batches:
                    rng = np.random.default_rng(L * 1000 + B)
                    ids = rng.integers(5, vocab[kind], size=(B, L), dtype=np.int64)
                    ids_path = os.path.join(args.scratch, "ids.i32")
                    ref_path = os.path.join(args.scratch, "ref.f32")
                    ids.astype(np.int32).tofile(ids_path)
                    tids = torch.from_numpy(ids)
                    rounds = args.reps if B == 1 else args.reps_large
                    warm = B if B == 1 else 1
                    # rounds alternate the sides (each torch implementation, then bend) so that
                    # the load of a shared machine falls on both; the median round is reported
                    times = {impl: [] for impl, _ in torch_models[kind]}
                    cpus = {impl: [] for impl, _ in torch_models[kind]}
                    bend_times, bend_cpus, errs = [], [], []
                    for rd in range(rounds):
                        for j, (impl, m) in enumerate(torch_models[kind]):
                            dt, dc, out = time_torch(m, tids, tids[:warm] if rd == 0 else None)
                            times[impl].append(dt)
                            cpus[impl].append(dc)
                            if j == 0 and rd == 0:
                                out.contiguous().numpy().astype(np.float32).tofile(ref_path)
                            del out
                        r = run_bend(args.bench, ckpts[kind], ids_path, B, L, warm, 1,
                                     ref_path if rd == 0 else "", nt)
                        bend_times.append(float(r["median_s"]))
                        bend_cpus.append(float(r["cpu_s"]))
                        if rd == 0:
                            errs = r
                    tps = {impl: B * L / float(np.median(v)) * scale for impl, v in times.items()}
                    r = errs
                    cpu_ratio = min(float(np.median(v)) for v in cpus.values()) / float(
                        np.median(bend_cpus))
                    bend_tps = B * L / float(np.median(bend_times)) * scale
                    best = max(tps.values())
                    sdpa = f"{tps['sdpa']:,.0f}" if "sdpa" in tps else "n/a"
                    eager = f"{tps['eager']:,.0f}" if "eager" in tps else "n/a"
                    row = (f"| {kind} | {nt} | {L} | {B} | {bend_tps:,.0f} | {sdpa} | {eager} | "
                           f"{bend_tps / best:.2f} | {cpu_ratio:.2f} | {float(r['rel_err']):.1e} |")
                    if r.get("finite") != "1":
                        row += " NON-FINITE"
                    rows.append(row)
                    print(row, flush=True)
                    os.remove(ref_path)
    print()
    print(hdr)
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)

    for spec in filter(None, args.breakdown.split(",")):
        kind, L, B = spec.split(":")
        L, B = int(L), int(B)
        H, nh, inter = (768, 12, 3072) if kind == "bert-base" else (1280, 20, 5120)
        for nt in threads:
            torch.set_num_threads(nt)
            print(f"\n# one block's ops, {kind} shape, L={L} B={B}, {nt} thread(s), median of 5")
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(nt))
            res = subprocess.run([args.bench, "ops", str(H), str(nh), str(inter), str(L), str(B),
                                  "5"], env=env, capture_output=True, text=True, check=True)
            print("## bend\n" + res.stdout.rstrip())
            print("## torch\n" + "\n".join(torch_ops_breakdown(H, nh, inter, L, B, 5,
                                                                 ["sdpa", "eager"])))

if __name__ == "__main__":
    main()
