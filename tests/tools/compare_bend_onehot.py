#!/usr/bin/env python3
"""Compare bend's one-hot stores with upstream BEND's output recorded in a fixture.

    compare_bend_onehot.py --expected tests/fixtures/bend_onehot/expected.h5 \
        --data-dir DIR [--task histone_modification ...]

For each task (default: every task group in expected.h5) it reads bend's store
DIR/<task>/onehot/embeddings.h5 (layout: docs/STORE.md) and the BED DIR/<task>/<task>.bed, and
checks against BEND (expected.h5, written by tools/reference/make_onehot_fixture.py):

  - the same splits in the same order, the same number of samples per split;
  - BEND's keys of a split are 0..n-1, and bend's bed_row[i] is the BED row of the i-th row of
    that split (so BEND's sample_{i} is bend's sample i);
  - every sample is marked done; per-sample lengths are equal;
  - every embedding row is exactly one-hot (one 1.0, four 0.0) and its argmax equals BEND's
    integer id (OneHotEmbedder: A=0 C=1 G=2 N=3 T=4) at every nucleotide;
  - labels are equal exactly (multi-hot [n, depth], fixed-width [n, w], or per-nucleotide with
    label_offsets).

Prints the first mismatch of each kind found and exits 1 on any mismatch, 0 when all agree.
Needs only h5py and numpy (Debian's python3-h5py / python3-numpy).
"""
import argparse
import os
import sys

import h5py
import numpy as np

ALPHABET = "ACGNT"


class Mismatch(Exception):
    pass


def as_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def str_list(attr):
    return [as_str(x) for x in np.atleast_1d(attr)]


def bed_split_rows(bed_path):
    """{split: [0-based data-row indices]} with rows counted as pandas does (header excluded,
    blank lines skipped); the split is the last tab-separated column."""
    rows = {}
    with open(bed_path) as fh:
        lines = [ln.rstrip("\n").rstrip("\r") for ln in fh]
    data = [ln for ln in lines[1:] if ln.strip() != ""]
    for i, ln in enumerate(data):
        rows.setdefault(ln.split("\t")[-1], []).append(i)
    return rows


def letters(ids):
    return "".join(ALPHABET[i] if 0 <= i < len(ALPHABET) else "?" for i in ids)


def check_split(task, split, exp, got, bed_rows):
    where = f"{task}/{split}"
    keys = exp["keys"][:]
    exp_off = exp["offsets"][:]
    n = len(keys)
    for name in ("embeddings", "offsets", "bed_row", "done"):
        if name not in got:
            raise Mismatch(f"{where}: bend's store has no dataset '{name}'")
    got_off = got["offsets"][:]
    n_got = len(got_off) - 1
    if n_got != n:
        raise Mismatch(f"{where}: sample count differs: BEND {n}, bend {n_got}")
    if not np.array_equal(keys, np.arange(n)):
        raise Mismatch(f"{where}: BEND's keys are not 0..{n - 1}: {keys.tolist()}")

    bed_row = got["bed_row"][:]
    want_rows = np.array(bed_rows.get(split, []), dtype=np.int64)
    if len(bed_row) != n or not np.array_equal(bed_row, want_rows):
        i = next((k for k in range(min(len(bed_row), len(want_rows)))
                  if bed_row[k] != want_rows[k]), min(len(bed_row), len(want_rows)))
        raise Mismatch(f"{where}: bed_row does not map sample i to the BED's i-th '{split}' row "
                       f"(BEND key sample_{i}): first difference at sample {i}: bend bed_row "
                       f"{bed_row[i] if i < len(bed_row) else '(none)'}, BED row "
                       f"{want_rows[i] if i < len(want_rows) else '(none)'}")

    done = got["done"][:]
    if len(done) != n or not np.all(done == 1):
        bad = int(np.argmax(done != 1)) if len(done) == n else 0
        raise Mismatch(f"{where}: sample {bad} is not marked done (done={done.tolist()})")

    exp_len = np.diff(exp_off)
    got_len = np.diff(got_off)
    if not np.array_equal(exp_len, got_len):
        i = int(np.argmax(exp_len != got_len))
        raise Mismatch(f"{where}: sample {i} (BED row {bed_row[i]}) length differs: "
                       f"BEND {exp_len[i]} nt, bend {got_len[i]} rows")

    emb = got["embeddings"][:]
    ids = exp["ids"][:]
    if emb.ndim != 2 or emb.shape[1] != len(ALPHABET):
        raise Mismatch(f"{where}: bend's embeddings have shape {emb.shape}, expected [rows, 5]")
    if emb.shape[0] != got_off[-1] or len(ids) != exp_off[-1] or got_off[-1] != exp_off[-1]:
        raise Mismatch(f"{where}: row totals differ: bend embeddings {emb.shape[0]} rows, "
                       f"bend offsets end {got_off[-1]}, BEND ids {len(ids)}, "
                       f"BEND offsets end {exp_off[-1]}")
    emb = emb.astype(np.float64)
    ones = (emb == 1.0).sum(axis=1)
    zeros = (emb == 0.0).sum(axis=1)
    not_onehot = (ones != 1) | (zeros != len(ALPHABET) - 1)
    arg = emb.argmax(axis=1) if len(emb) else np.zeros(0, np.int64)
    wrong = not_onehot | (arg != ids)
    if wrong.any():
        r = int(np.argmax(wrong))
        i = int(np.searchsorted(got_off, r, side="right") - 1)
        j = r - int(got_off[i])
        a, b = int(got_off[i]), int(got_off[i + 1])
        lo, hi = max(a, r - 10), min(b, r + 11)
        caret = " " * (r - lo) + "^"
        what = "is not one-hot" if not_onehot[r] else "has the wrong id"
        raise Mismatch(
            f"{where}: sample {i} (BEND sample_{keys[i]}, BED row {bed_row[i]}) nucleotide {j} "
            f"{what}:\n"
            f"    BEND id  {ids[r]} ({letters([ids[r]])})\n"
            f"    bend row {emb[r].tolist()} (argmax {arg[r]} = {letters([arg[r]])})\n"
            f"    BEND   ...{letters(ids[lo:hi])}...\n"
            f"    bend   ...{letters(arg[lo:hi])}...\n"
            f"              {caret}\n"
            f"    ({int(wrong[a:b].sum())} of {b - a} positions of this sample differ, "
            f"{int(wrong.sum())} in the split)")

    if "labels" in exp:
        if "labels" not in got:
            raise Mismatch(f"{where}: bend's store has no labels; BEND has "
                           f"{exp['labels'].shape}")
        el = exp["labels"][:]
        gl = got["labels"][:]
        if "label_offsets" in exp:
            if "label_offsets" not in got:
                raise Mismatch(f"{where}: BEND has per-nucleotide labels, bend's store has no "
                               f"label_offsets (labels shape {gl.shape})")
            elo = exp["label_offsets"][:]
            glo = got["label_offsets"][:]
            if not np.array_equal(elo, glo):
                i = int(np.argmax(elo != glo)) if len(elo) == len(glo) else 0
                raise Mismatch(f"{where}: label_offsets differ (first at index {i}): "
                               f"BEND {elo.tolist()[:20]}, bend {glo.tolist()[:20]}")
            if el.shape != gl.shape or not np.array_equal(el, gl):
                if el.shape != gl.shape:
                    raise Mismatch(f"{where}: label shapes differ: BEND {el.shape}, "
                                   f"bend {gl.shape}")
                r = int(np.argmax(el != gl))
                i = int(np.searchsorted(elo, r, side="right") - 1)
                raise Mismatch(f"{where}: sample {i} (BED row {bed_row[i]}) label at nucleotide "
                               f"{r - elo[i]} differs: BEND {el[r]}, bend {gl[r]}")
        else:
            if el.shape != gl.shape:
                raise Mismatch(f"{where}: label shapes differ: BEND {el.shape}, "
                               f"bend {gl.shape}")
            if not np.issubdtype(gl.dtype, np.integer):
                raise Mismatch(f"{where}: bend's labels are {gl.dtype}, BEND's int64")
            if not np.array_equal(el, gl):
                i = int(np.argmax((el != gl).reshape(len(el), -1).any(axis=1)))
                raise Mismatch(f"{where}: sample {i} (BEND sample_{keys[i]}, BED row "
                               f"{bed_row[i]}) labels differ:\n    BEND {el[i].tolist()}\n"
                               f"    bend {gl[i].tolist()}")
    return n, int(exp_off[-1])


def check_task(task, expected, data_dir):
    exp_t = expected[task]
    exp_splits = str_list(exp_t.attrs["splits"])
    store_path = os.path.join(data_dir, task, "onehot", "embeddings.h5")
    bed_path = os.path.join(data_dir, task, f"{task}.bed")
    if not os.path.exists(store_path):
        raise Mismatch(f"{task}: bend wrote no store at {store_path}")
    bed_rows = bed_split_rows(bed_path)
    with h5py.File(store_path, "r") as got:
        got_splits = str_list(got.attrs["splits"]) if "splits" in got.attrs else []
        groups = [k for k in got.keys() if isinstance(got[k], h5py.Group)]
        if got_splits != exp_splits:
            raise Mismatch(f"{task}: splits differ: BEND {exp_splits}, bend {got_splits}")
        if sorted(groups) != sorted(exp_splits):
            raise Mismatch(f"{task}: bend's store has groups {groups}, BEND splits "
                           f"{exp_splits}")
        if as_str(got.attrs.get("model", "onehot")) != "onehot":
            raise Mismatch(f"{task}: store model is {got.attrs['model']!r}, not onehot")
        counts = []
        for split in exp_splits:
            n, nt = check_split(task, split, exp_t[split], got[split], bed_rows)
            counts.append(f"{split}={n}/{nt}nt")
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--expected", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--task", action="append")
    args = ap.parse_args()
    failed = False
    with h5py.File(args.expected, "r") as expected:
        tasks = args.task or [k for k in expected.keys()]
        commit = as_str(expected.attrs.get("bend_commit", "?"))
        for task in tasks:
            if task not in expected:
                print(f"FAIL {task}: not in {args.expected}")
                failed = True
                continue
            try:
                counts = check_task(task, expected, args.data_dir)
                print(f"ok   {task}: matches BEND {commit[:12]} ({', '.join(counts)})")
            except Mismatch as e:
                print(f"FAIL {e}")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
