"""Training speed of `bend train` against upstream BEND's own trainer (BaseTrainer.train_epoch +
validate with bend/models/downstream.CNN), side by side on the same one-hot store, on the CPU.

    python tools/bench/train_vs_bend.py --bend UPSTREAM_BEND --bin build/bend --data DATA_DIR \
        --task histone_modification [--threads 1] [--epochs 2]

DATA_DIR must hold {task}/onehot/embeddings.h5 (bend demo-data + bend embed model=onehot). BEND's
side gets its batches prebuilt in memory (BEND's collate, store order), so its data loading is not
timed; bend's epoch time (from its log line) includes reading the store. Both run BEND's
per-task model size, batch size and learning rate, fp32 (BEND's CUDA autocast is inactive on the
CPU). Prints seconds per epoch (train + validation) and the ratio."""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import types
import warnings

os.environ.setdefault("TQDM_DISABLE", "1")  # BEND's train_epoch draws a tqdm bar
import h5py
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--bend", required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--task", default="histone_modification")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--epochs", type=int, default=2)
args = ap.parse_args()

sys.path.insert(0, args.bend)
sys.modules["wandb"] = types.ModuleType("wandb")
sys.modules["wandb"].log = lambda *a, **k: None
from bend.models.downstream import CNN  # noqa: E402
from bend.utils.data_downstream import collate_fn_pad_to_longest  # noqa: E402
from bend.utils.task_trainer import BaseTrainer, BCEWithLogitsLoss, CrossEntropyLoss  # noqa: E402

TASKS = {  # BEND's conf/supervised_tasks values
    "histone_modification": dict(hidden=64, output=18, window=512, crit="bce", metric="auroc", lr=3e-3, batch=256),
    "cpg_methylation": dict(hidden=64, output=7, window=512, crit="bce", metric="auroc", lr=3e-3, batch=256),
    "gene_finding": dict(hidden=64, output=9, window=None, crit="cross_entropy", metric="mcc", lr=3e-3, batch=64),
}
c = TASKS[args.task]
torch.set_num_threads(args.threads)


def batches(g, batch):
    emb, off, lab = g["embeddings"][:], g["offsets"][:], g["labels"][:]
    lo = g["label_offsets"][:] if "label_offsets" in g else None
    ids = emb.argmax(axis=1).astype(np.int64)
    s = [(torch.from_numpy(ids[off[i]:off[i + 1]].copy()),
          torch.from_numpy(np.asarray(lab[lo[i]:lo[i + 1]] if lo is not None else lab[i], dtype=np.int64)))
         for i in range(len(off) - 1)]
    return [collate_fn_pad_to_longest(s[i:i + batch], padding_value=-100) for i in range(0, len(s), batch)]


f = h5py.File(os.path.join(args.data, args.task, "onehot", "embeddings.h5"), "r")
train, valid = batches(f["train"], c["batch"]), batches(f["valid"], c["batch"])
n_train = sum(len(x) for x, _ in train)
model = CNN(input_size=5, output_size=c["output"], hidden_size=c["hidden"], kernel_size=3,
            output_downsample_window=c["window"]).float()
opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], weight_decay=0.01)
crit = CrossEntropyLoss(ignore_index=-100) if c["crit"] == "cross_entropy" else BCEWithLogitsLoss()
ns = types.SimpleNamespace
with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
    warnings.simplefilter("ignore")
    cfg = ns(output_dir=d, task=args.task, data=ns(padding_value=-100),
             params=ns(load_checkpoint=False, metric=c["metric"], activation="none", criterion=c["crit"]))
    tr = BaseTrainer(model=model, optimizer=opt, criterion=crit, device=torch.device("cpu"), config=cfg,
                     overwrite_dir=True)
    upstream = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        tr.train_epoch(train)
        tr.validate(valid)
        upstream.append(time.perf_counter() - t0)

env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
with tempfile.TemporaryDirectory() as d:
    p = subprocess.run([args.bin, "train", f"task={args.task}", "embedder=onehot", f"data_dir={args.data}",
                        f"output_dir={d}", f"params.epochs={args.epochs}", "seed=1", "device=cpu"],
                       env=env, capture_output=True, text=True, check=True)
ours = [float(x) for x in re.findall(r"epoch \d+/\d+: .*\(([0-9.]+) s\)", p.stderr)]
b, u = min(ours), min(upstream)
print(f"{args.task:22s} threads {args.threads}  train samples {n_train:6d}  "
      f"bend {b:7.2f} s/epoch  BEND {u:7.2f} s/epoch  ratio {u / b:5.2f}x  "
      f"({n_train / b:8.0f} vs {n_train / u:8.0f} samples/s)")
