#!/usr/bin/env python3
"""Upstream BEND's one-hot embedding pipeline, timed: sequtils.embed_from_bed with its
OneHotEmbedder, exactly as scripts/precompute_embeddings.py runs it for one split and chunk.

  python bend_onehot_baseline.py --bend CHECKOUT --data DATA_DIR --task histone_modification \
      --split train --chunk-size 2000 --out SHARD_DIR

Prints one line: `bend-upstream samples=N nucleotides=M seconds=S nt_per_s=R`. Upstream code is
loaded from the checkout by tools/reference/make_onehot_fixture.py's loader (no torch needed)."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from make_onehot_fixture import load_upstream  # noqa: E402

TASKS = {  # the settings of configs/tasks/*.yaml that embed_from_bed takes
    "histone_modification": dict(read_strand=True, label_depth=18, hdf5=None),
    "cpg_methylation": dict(read_strand=True, label_depth=7, hdf5=None),
    "enhancer_annotation": dict(read_strand=False, label_depth=None, hdf5="enhancer_annotation.hdf5"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bend", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--task", default="histone_modification", choices=sorted(TASKS))
    ap.add_argument("--split", default="train")
    ap.add_argument("--chunk-size", type=int, default=2000)
    ap.add_argument("--genome", default="GRCh38.primary_assembly.genome.fa")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sequtils, OneHotEmbedder = load_upstream(a.bend)
    t = TASKS[a.task]
    bed = os.path.join(a.data, a.task, a.task + ".bed")
    hdf5 = os.path.join(a.data, a.task, t["hdf5"]) if t["hdf5"] else None
    os.makedirs(a.out, exist_ok=True)
    out = os.path.join(a.out, f"{a.split}_0.tar.gz")
    import pandas as pd
    df = pd.read_csv(bed, sep="\t", low_memory=False)
    df = df[df.iloc[:, -1] == a.split][: a.chunk_size]
    nt = int((df.iloc[:, 2] - df.iloc[:, 1]).sum())
    t0 = time.perf_counter()
    sequtils.embed_from_bed(bed, os.path.join(a.data, "genomes", a.genome), OneHotEmbedder(), out,
                            hdf5_file=hdf5, chunk_size=a.chunk_size, chunk=0,
                            read_strand=t["read_strand"], label_depth=t["label_depth"], split=a.split)
    s = time.perf_counter() - t0
    print(f"bend-upstream samples={len(df)} nucleotides={nt} seconds={s:.3f} nt_per_s={nt / s:.0f}")


if __name__ == "__main__":
    main()
