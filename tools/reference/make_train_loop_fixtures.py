#!/usr/bin/env python3
"""Record what upstream BEND's own training loop (bend/utils/task_trainer.py BaseTrainer with
bend/models/downstream.py CNN) computes on bend's one-hot stores of the demo data, for
tests/cli/test_train_parity.sh.

    bend demo-data --out DIR            # default seed and scale
    bend embed task=T model=onehot data_dir=DIR      # for the three tasks below
    python make_train_loop_fixtures.py --bend /path/to/BEND-checkout [--bend-commit SHA] \\
        --store-dir DIR --out tests/fixtures/train_loop

For each task it builds BEND's CNN (small hidden size, fixed torch seed) and writes, under
OUT/<task>/:
  checkpoints/epoch_1/   the INITIAL weights as a bend train checkpoint (model.safetensors with
                         BEND's state_dict keys, optimizer.safetensors with zero AdamW moments,
                         state.json with adamw_step 0 and an epoch-1 history entry without
                         losses), so that `bend train params.load_checkpoint=1` starts from them
  bend_args              the `bend train` overrides that match the upstream run
  upstream_losses.csv    upstream's losses.csv after 2 epochs (its epochs 1, 2 = bend's 2, 3)
  upstream_best_model_metrics.csv   upstream's best_model_metrics.csv from BaseTrainer.test()
  upstream_prob64_*.csv  the same run with validate()'s sigmoid taken in float64 (as bend does):
                         BEND's float32 probabilities tie some distinct logits, which moves
                         rank metrics by ~1e-4 in a way that depends on the hardware's expf
and OUT/demo_data.md5 (the demo inputs the stores came from) and OUT/SOURCE.
Upstream runs on the CPU as train_on_task.py wires it: torch.optim.AdamW with BEND's lr and
weight decay, BEND's loss classes, data batches in store order through BEND's
collate_fn_pad_to_longest (one-hot rows -> integer ids by argmax, as BEND's one-hot shards hold),
wandb replaced by a stub. CUDA autocast and the GradScaler are checked to be inactive."""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import types
import warnings

import h5py
import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import git_commit, package_versions  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--bend", required=True, help="upstream BEND checkout")
ap.add_argument("--bend-commit", default=None, help="its commit, when not a git checkout")
ap.add_argument("--store-dir", required=True, help="data_dir holding <task>/onehot/embeddings.h5")
ap.add_argument("--out", required=True)
args = ap.parse_args()

sys.path.insert(0, args.bend)
# BaseTrainer logs every epoch to wandb; nothing here may reach the network.
sys.modules["wandb"] = types.ModuleType("wandb")
sys.modules["wandb"].log = lambda *a, **k: None
from bend.models.downstream import CNN  # noqa: E402
from bend.utils.data_downstream import collate_fn_pad_to_longest  # noqa: E402
from bend.utils.task_trainer import BaseTrainer, BCEWithLogitsLoss, CrossEntropyLoss  # noqa: E402

torch.set_num_threads(1)  # one summation order, so a re-run writes the same numbers
EPOCHS = 2
PAD = -100
# Per task: BEND's conf/supervised_tasks values (output size, window, loss, metric, lr, weight
# decay, class weights) with a small hidden size and a small batch (several batches per epoch,
# the last one partial); enhancer_annotation with cross-validation fold 3.
TASKS = {
    "histone_modification": dict(hidden=8, output=18, window=512, criterion="bce", weights=None,
                                 metric="auroc", lr=0.003, wd=0.01, batch=16, cv=None),
    "gene_finding": dict(hidden=12, output=9, window=None, criterion="cross_entropy", weights=None,
                         metric="mcc", lr=0.003, wd=0.01, batch=12, cv=None),
    "enhancer_annotation": dict(hidden=2, output=1, window=128, criterion="bce", weights=[82.86],
                                metric="auprc", lr=0.001, wd=0.01, batch=6, cv=3),
}
TORCH_SEED = 20241125


def read_split(g):
    """[(ids, labels)] in store order: ids = argmax of the one-hot rows (BEND's shards hold the
    integer ids; argmax gives them back exactly), labels as BEND's shards hold them."""
    emb, off = g["embeddings"][:], g["offsets"][:]
    assert np.all(emb.sum(axis=1) == 1) and np.all(emb.max(axis=1) == 1), "not one-hot rows"
    ids = emb.argmax(axis=1).astype(np.int64)
    labels = g["labels"][:]
    lo = g["label_offsets"][:] if "label_offsets" in g else None
    out = []
    for i in range(len(off) - 1):
        y = labels[lo[i]:lo[i + 1]] if lo is not None else labels[i]
        out.append((ids[off[i]:off[i + 1]].copy(), np.asarray(y, dtype=np.int64).copy()))
    return out


def splits_of(f, cv):
    """BEND's get_data selection: train/valid/test prefixes, or for fold cv of part1..partN:
    test part cv, valid part cv+1 (part1 after the last), train the rest in part order."""
    names = list(f.keys())
    if cv is None:
        pick = lambda p: [n for n in names if n.startswith(p)]  # noqa: E731
        return pick("train"), pick("valid"), pick("test")
    parts = sorted(names, key=lambda n: int(n[4:]))
    test = parts[cv - 1]
    valid = parts[0] if cv == len(parts) else parts[cv]
    return [p for p in parts if p not in (test, valid)], [valid], [test]


def loader(f, names, batch):
    """A list of batches as BEND's return_dataloader yields them without shuffling:
    map_tuple(torch.from_numpy), map_tuple(torch.squeeze), batched, collate_fn_pad_to_longest."""
    samples = [s for n in names for s in read_split(f[n])]
    samples = [(torch.squeeze(torch.from_numpy(x)), torch.squeeze(torch.from_numpy(y)))
               for x, y in samples]
    return [collate_fn_pad_to_longest(samples[i:i + batch], padding_value=PAD)
            for i in range(0, len(samples), batch)]


def ns(**kw):
    return types.SimpleNamespace(**kw)


def write_checkpoint(d, model, metric):
    os.makedirs(d, exist_ok=True)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt"}  # one key: safetensors writes several in random order
    save_file(sd, os.path.join(d, "model.safetensors"), metadata=meta)
    opt = {}
    for k, v in sd.items():
        opt[f"{k}.exp_avg"] = torch.zeros_like(v)
        opt[f"{k}.exp_avg_sq"] = torch.zeros_like(v)
    save_file(opt, os.path.join(d, "optimizer.safetensors"), metadata=meta)
    state = {"format": "bend-train-checkpoint", "epoch": 1, "metric": metric, "seed": "0",
             "adamw_step": 0,
             "history": [{"epoch": 1, "train_loss": None, "val_loss": None, "val_metric": None}]}
    with open(os.path.join(d, "state.json"), "w") as fh:
        json.dump(state, fh, indent=1)
        fh.write("\n")


class Sigmoid64(torch.nn.Module):
    def forward(self, x):
        return torch.sigmoid(x.double())


def upstream_run(task, c, model, loaders, prob64, out, prefix):
    """BaseTrainer.train for EPOCHS epochs from the model's current weights, then test(); copies
    its losses.csv and best_model_metrics.csv to OUT/<task>/<prefix>_*.csv and returns the loss
    columns. prob64: validate() takes model.sigmoid of the float32 logits in float64 (BEND takes
    it in float32, whose rounding ties distinct logits; see README)."""
    autocast_seen = []
    hook = model.register_forward_hook(lambda m, i, o: autocast_seen.append(
        (torch.is_autocast_enabled(), o.dtype)))
    model.sigmoid = Sigmoid64() if prob64 else torch.nn.Sigmoid()
    optimizer = torch.optim.AdamW(model.parameters(), lr=c["lr"], weight_decay=c["wd"])
    if c["criterion"] == "cross_entropy":
        criterion = CrossEntropyLoss(ignore_index=PAD, weight=None)
    else:
        criterion = BCEWithLogitsLoss(
            class_weights=torch.tensor(c["weights"]) if c["weights"] is not None else None)
    config = ns(output_dir=None, task=task,
                params=ns(load_checkpoint=False, metric=c["metric"], activation="none",
                          criterion=c["criterion"]),
                data=ns(padding_value=PAD))
    with tempfile.TemporaryDirectory() as run_dir:
        config.output_dir = run_dir
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer = BaseTrainer(model=model, optimizer=optimizer, criterion=criterion,
                                  device=torch.device("cpu"), config=config, overwrite_dir=True)
            # train_step's CUDA autocast and GradScaler must be inactive here: plain float32
            assert not trainer.scaler.is_enabled(), "GradScaler active"
            trainer.train(*loaders, EPOCHS, load_checkpoint=False)
            trainer.test(loaders[2], overwrite=False)
        shutil.copy(os.path.join(run_dir, "losses.csv"), os.path.join(out, f"{prefix}_losses.csv"))
        shutil.copy(os.path.join(run_dir, "best_model_metrics.csv"),
                    os.path.join(out, f"{prefix}_best_model_metrics.csv"))
        with open(os.path.join(run_dir, "losses.csv")) as fh:
            losses = [line.split(",")[:3] for line in fh]
    hook.remove()
    assert autocast_seen and all(not a and d == torch.float32 for a, d in autocast_seen), \
        "autocast active"
    return losses


def run_task(task, c):
    out = os.path.join(args.out, task)
    shutil.rmtree(out, ignore_errors=True)
    f = h5py.File(os.path.join(args.store_dir, task, "onehot", "embeddings.h5"), "r")
    tr, va, te = splits_of(f, c["cv"])
    loaders = [loader(f, n, c["batch"]) for n in (tr, va, te)]
    f.close()

    torch.manual_seed(TORCH_SEED)
    model = CNN(input_size=5, output_size=c["output"], hidden_size=c["hidden"], kernel_size=3,
                output_downsample_window=c["window"]).float()
    write_checkpoint(os.path.join(out, "checkpoints", "epoch_1"), model, c["metric"])
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    first = None
    for prefix, prob64 in (("upstream", False), ("upstream_prob64", True)):
        model.load_state_dict(init)
        losses = upstream_run(task, c, model, loaders, prob64, out, prefix)
        # The two runs train identically; only the metrics' probabilities differ.
        assert first is None or first == losses, "the float64-probability run trained differently"
        first = losses
    bend_args = [f"data.batch_size={c['batch']}", f"model.hidden_size={c['hidden']}"]
    if c["cv"] is not None:
        bend_args.append(f"data.cross_validation={c['cv']}")
    with open(os.path.join(out, "bend_args"), "w") as fh:
        fh.write(" ".join(bend_args) + "\n")
    n = [sum(len(b[0]) for b in lo) for lo in loaders]
    print(f"{task}: train/valid/test samples {n}, batches {[len(lo) for lo in loaders]}",
          file=sys.stderr)


for task, c in TASKS.items():
    run_task(task, c)

# What the stores were embedded from, so that the test can tell a changed demo-data generator
# (regenerate this fixture) from a training difference.
with open(os.path.join(args.out, "demo_data.md5"), "w") as fh:
    inputs = ["genomes/GRCh38.primary_assembly.genome.fa"]
    for task in TASKS:
        inputs += [f"{task}/{task}.{ext}" for ext in ("bed", "hdf5")
                   if os.path.exists(os.path.join(args.store_dir, task, f"{task}.{ext}"))]
    for rel in inputs:
        with open(os.path.join(args.store_dir, rel), "rb") as src:
            fh.write(f"{hashlib.md5(src.read()).hexdigest()}  {rel}\n")

with open(os.path.join(args.out, "SOURCE"), "w") as fh:
    fh.write(f"made by tools/reference/make_train_loop_fixtures.py\n"
             f"upstream BEND commit {git_commit(args.bend, args.bend_commit)}\n"
             f"{package_versions(['torch', 'numpy', 'scikit-learn', 'pandas', 'safetensors'])}\n"
             f"store: bend demo-data (default seed and scale), bend embed model=onehot\n")
