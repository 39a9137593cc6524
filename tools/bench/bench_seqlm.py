#!/usr/bin/env python3
"""bend's native CPU forward of HyenaDNA, AWD-LSTM and ResNet-LM next to upstream BEND's own
PyTorch modules, in one run, on the same random weights and ids (run by seqlm_vs_bend.sh; not a
test).

    python bench_seqlm.py --bend-src /path/to/BEND-checkout --bench build/tools/bench/bench_seqlm \
        --scratch /tmp/x [--threads 1,2] [--reps 3] [--cases hyena-tiny-1k:1024:1,...] \
        [--layers hyena-medium-160k=2,resnetlm=10]

Models are random-initialised with BEND's classes (bend/models/hyena_dna.py, awd_lstm.py,
dilated_cnn.py, imported from --bend-src at run time; nothing is copied) at the released sizes,
written in the layouts BEND loads (HyenaDNA: config.json + Lightning weights.ckpt; AWD-LSTM and
ResNet-LM: save_pretrained's pytorch_model.bin) into --scratch, and reloaded the way BEND's
embedders load them. PyTorch runs eval, no_grad, fp32 with torch.set_num_threads(n); bend runs
with OPENBLAS_NUM_THREADS=n. Each case times a first call, then --reps calls (--reps-large above
20k tokens); the table uses the fastest timed call of each (the log lines also give medians),
because on a shared machine other jobs only ever add time. Throughput is nucleotides per second
per full-depth model: where
--layers runs fewer blocks than the released model (widths and lengths exact), the time is
scaled by full/run layers. HyenaDNA windows carry CLS and SEP (L+2 tokens), as BEND feeds them;
they are not counted as nucleotides.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

SEED = 20251125

# name -> (family, full depth, builder kwargs). Sizes: spec sections 1-3 (HyenaDNA's released
# table; ResNet-LM 30 x 256, kernel 9, dilations 1..32 cycling every 6; AWD-LSTM 64-wide
# embedding/output, hidden 512 (BEND's code default), 3 layers -- the released depth is not
# known, 3 is the AWD-LSTM recipe's).
MODELS = {
    "hyena-tiny-1k": ("hyenadna", 2, dict(d_model=128, d_inner=512, l_max=1026)),
    "hyena-small-32k": ("hyenadna", 4, dict(d_model=256, d_inner=1024, l_max=32770)),
    "hyena-medium-160k": ("hyenadna", 8, dict(d_model=256, d_inner=1024, l_max=160002)),
    "awdlstm": ("awdlstm", 3, dict(input_size=64, hidden_size=512)),
    "resnetlm": ("resnetlm", 30, dict(hidden_size=256, kernel_size=9)),
}

DEFAULT_CASES = ("hyena-tiny-1k:1024:1,hyena-tiny-1k:1024:32,"
                 "hyena-small-32k:32768:1,hyena-small-32k:32768:4,"
                 "hyena-medium-160k:160000:1,hyena-medium-160k:160000:2,"
                 "awdlstm:512:1,awdlstm:512:32,awdlstm:12000:1,awdlstm:12000:4,"
                 "resnetlm:512:1,resnetlm:512:32,resnetlm:12000:1,resnetlm:12000:4")


def build(bend, name, layers, outdir):
    """Writes the checkpoint to outdir and returns the PyTorch module BEND would run."""
    from make_model_fixtures import merge_config, save_hf
    family, _, kw = MODELS[name]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(SEED)
    if family == "hyenadna":
        mod = bend["hyena_dna"]
        config = {
            "d_model": kw["d_model"], "n_layer": layers, "d_inner": kw["d_inner"],
            "vocab_size": 12, "resid_dropout": 0.0, "embed_dropout": 0.1, "fused_mlp": False,
            "fused_dropout_add_ln": True, "checkpoint_mixer": True, "checkpoint_mlp": False,
            "residual_in_fp32": True, "pad_vocab_size_multiple": 8, "return_hidden_state": True,
            "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 64, "local_order": 3,
                      "l_max": kw["l_max"], "modulate": True, "w": 10, "lr": 6e-4, "wd": 0.0,
                      "lr_pos_emb": 0.0},
        }
        with open(os.path.join(outdir, "config.json"), "w") as fh:
            json.dump(config, fh, indent=2)
        scratch = mod.HyenaDNAModel(**json.loads(json.dumps(config))).eval()
        sd = {}
        for k, v in scratch.state_dict().items():
            key = "model." + k
            if "backbone" in k:
                key = mod.inject_substring(key)
            sd[key] = v
        torch.save({"state_dict": sd, "pytorch-lightning_version": "1.8.6"},
                   os.path.join(outdir, "weights.ckpt"))
        del scratch, sd
        parent, base = os.path.split(outdir.rstrip("/"))
        return mod.HyenaDNAPreTrainedModel.from_pretrained(parent, base, download=False,
                                                           device="cpu").eval()
    if family == "awdlstm":
        mod = bend["awd_lstm"]
        cfg = mod.AWDLSTMConfig(vocab_size=7, hidden_size=kw["hidden_size"],
                                input_size=kw["input_size"], num_hidden_layers=layers,
                                reset_token_id=None, bidirectional=False, batch_first=True,
                                weight_dropout_prob=0.5)
        m = mod.AWDLSTMForLM(cfg).eval()
        save_hf(m, outdir, False)
        merge_config(os.path.join(outdir, "config.json"), {
            "architectures": ["AWDLSTMForLM"], "vocab_size": 7,
            "hidden_size": kw["hidden_size"], "input_size": kw["input_size"],
            "num_hidden_layers": layers, "reset_token_id": None, "bidirectional": False,
            "batch_first": True, "weight_dropout_prob": 0.5})
        return mod.AWDLSTMModelForInference.from_pretrained(outdir).eval()
    mod = bend["dilated_cnn"]
    cfg = mod.ConvNetConfig(vocab_size=7, hidden_size=kw["hidden_size"], n_layers=layers,
                            kernel_size=kw["kernel_size"], dilation_double_every=1,
                            dilation_max=32, dilation_cycle=6)
    m = mod.ConvNetForMaskedLM(cfg).eval()
    save_hf(m, outdir, False)
    merge_config(os.path.join(outdir, "config.json"), {
        "architectures": ["ConvNetForMaskedLM"], "vocab_size": 7,
        "hidden_size": kw["hidden_size"], "n_layers": layers, "kernel_size": kw["kernel_size"],
        "dilation_double_every": 1, "dilation_max": 32, "dilation_cycle": 6})
    return mod.ConvNetModel.from_pretrained(outdir).eval()


def make_ids(family, L, B, rng):
    if family == "hyenadna":  # CharacterTokenizer: [CLS]=0, A/C/G/T = 7..10, [SEP]=1
        nt = rng.integers(7, 11, size=(B, L))
        return np.concatenate([np.zeros((B, 1), np.int64), nt, np.ones((B, 1), np.int64)], 1)
    # the released tokenizers are not known; ids < vocab_size (7) as in the fixtures
    return rng.integers(0, 7, size=(B, L))


def torch_forward(family, model, ids):
    with torch.no_grad():
        if family == "hyenadna":
            return model(ids)
        if family == "awdlstm":
            return model(ids).last_hidden_state
        return model(input_ids=ids).last_hidden_state


def time_torch(family, model, ids, reps):
    t0 = time.perf_counter()
    out = torch_forward(family, model, ids)
    first = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch_forward(family, model, ids)
        times.append(time.perf_counter() - t0)
    return first, min(times), statistics.median(times), out


def run_bend(bench, mdir, ids_path, B, T, reps, ref_path, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    r = subprocess.run([bench, mdir, ids_path, str(B), str(T), str(reps), ref_path], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"bench_seqlm failed: {r.stderr.strip()}")
    return dict(kv.split("=", 1) for kv in r.stdout.split()[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bend-src", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--reps-large", type=int, default=1,
                    help="timed calls per case above 20k tokens")
    ap.add_argument("--cases", default=DEFAULT_CASES, help="model:L:batch,...")
    ap.add_argument("--layers", default="", help="model=layers,... (fewer than released)")
    ap.add_argument("--torch-limit-s", type=float, default=300,
                    help="skip a PyTorch case whose first call, predicted from the same model's "
                         "earlier case at that thread count and batch 1 or not, would take longer")
    a = ap.parse_args()

    from make_model_fixtures import load_bend
    bend = load_bend(a.bend_src)
    threads = [int(t) for t in a.threads.split(",")]
    run_layers = {k: MODELS[k][1] for k in MODELS}
    for kv in filter(None, a.layers.split(",")):
        k, v = kv.split("=")
        run_layers[k] = int(v)
    cases = [(c.split(":")[0], int(c.split(":")[1]), int(c.split(":")[2]))
             for c in a.cases.split(",")]
    rng = np.random.default_rng(SEED)
    print(f"torch {torch.__version__}, threads {threads}, reps {a.reps} "
          f"(large: {a.reps_large}), cpu: {os.cpu_count()} cores", flush=True)

    rows = []
    built = {}
    torch_rate = {}  # (model, threads, batch 1?) -> tokens/s of the last PyTorch case
    for name, L, B in cases:
        family, full, _ = MODELS[name]
        nl = run_layers[name]
        mdir = os.path.join(a.scratch, f"{name}-{nl}l")
        if name not in built:
            built.clear()  # one model in memory at a time
            built[name] = build(bend, name, nl, mdir)
        model = built[name]
        ids = make_ids(family, L, B, rng)
        T = ids.shape[1]
        ids_path = os.path.join(a.scratch, "ids.i32")
        ref_path = os.path.join(a.scratch, "ref.f32")
        ids.astype(np.int32).tofile(ids_path)
        reps = a.reps if B * T <= 20_000 else a.reps_large
        scale = full / nl
        ref_written = False
        for n in threads:
            torch.set_num_threads(n)
            predicted = B * T / torch_rate.get((name, n, B == 1), float("inf"))
            if ref_written and predicted > a.torch_limit_s:
                # only after the reference exists: the error check always has PyTorch's output
                t_first = t_min = t_med = float("nan")
                print(f"skip PyTorch {name} L={L} B={B} threads={n}: predicted "
                      f"{predicted:.0f} s per call", flush=True)
            else:
                t_first, t_min, t_med, out = time_torch(family, model, torch.from_numpy(ids),
                                                        reps)
                torch_rate[(name, n, B == 1)] = B * T / t_min
                if not ref_written:
                    out.reshape(B * T, -1).to(torch.float32).numpy().tofile(ref_path)
                    ref_written = True
                del out
            r = run_bend(a.bench, mdir, ids_path, B, T, reps, ref_path, n)
            b_min, b_med, b_first = float(r["min_s"]), float(r["median_s"]), float(r["first_s"])
            nts = B * L
            # best of the timed calls: on a shared machine other jobs only ever add time
            row = dict(model=name, L=L, B=B, threads=n, layers=f"{nl}/{full}", reps=reps,
                       bend_nts=nts / (b_min * scale), torch_nts=nts / (t_min * scale),
                       bend_first_s=b_first * scale, torch_first_s=t_first * scale,
                       bend_s=b_min * scale, torch_s=t_min * scale,
                       bend_median_s=b_med * scale, torch_median_s=t_med * scale,
                       rel_err=float(r["rel_err"]), finite=r["finite"])
            row["ratio"] = row["bend_nts"] / row["torch_nts"]
            rows.append(row)
            print("case " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in row.items()), flush=True)

    print()
    print("| model | L (nt) | batch | threads | layers run | bend nt/s | BEND (PyTorch) nt/s "
          "| ratio | bend first call s | PyTorch first call s | max rel err |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        first = (f"{r['bend_first_s']:.3g} | {r['torch_first_s']:.3g}"
                 if MODELS[r["model"]][0] == "hyenadna" else "- | -")
        skipped = r["torch_nts"] != r["torch_nts"]  # NaN: not run, see the log
        torch_nts = "not run" if skipped else f"{r['torch_nts']:,.0f}"
        ratio = "-" if skipped else f"{r['ratio']:.2f}"
        print(f"| {r['model']} | {r['L']} | {r['B']} | {r['threads']} | {r['layers']} "
              f"| {r['bend_nts']:,.0f} | {torch_nts} | {ratio} | {first} "
              f"| {r['rel_err']:.1e} |")


if __name__ == "__main__":
    main()
