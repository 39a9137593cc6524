#!/usr/bin/env python3
"""BEND's evaluation metrics (mcc, auroc, auprc, pearsonr) recorded from scikit-learn, for
tests/unit/test_metrics.c.

  python make_metric_fixtures.py --bend /path/to/BEND --out tests/fixtures/metrics/expected.json

Every case is a small synthetic (y_true, y_pred) pair made with a fixed numpy seed. The values
recorded are those of the sklearn calls that BEND's BaseTrainer._calculate_metric makes
(bend/utils/task_trainer.py), after its padding mask. As a cross-check, the script also runs
that upstream method itself (read from --bend at run time with exec_selected) on every case it
can and exits if it disagrees with the recorded values.

Where sklearn raises (roc_auc_score on a label column with a single class) the value is recorded
as null: bend reports NaN and flags the label instead of dying."""
import argparse
import json
import math
import os
import sys
import types
import warnings

import numpy as np
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.feature_selection import r_regression
from sklearn.metrics import (average_precision_score, matthews_corrcoef, precision_score, recall_score,
                             roc_auc_score)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import exec_selected, git_commit, package_versions  # noqa: E402

PAD = -100


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def unpadded(yt, yp):
    keep = yt != PAD
    return yt[keep], yp[keep]


class Upstream:
    """BaseTrainer._calculate_metric of upstream BEND on a trainer that has only a config."""

    def __init__(self, bend):
        path = os.path.join(bend, "bend", "utils", "task_trainer.py")
        ns = exec_selected(path, "bend_task_trainer", modules=("torch", "numpy", "typing"),
                           imported_names=("matthews_corrcoef", "r_regression"), classes=("BaseTrainer",))
        self.cls = ns["BaseTrainer"]

    def __call__(self, metric, task, yt, yp):
        t = object.__new__(self.cls)
        t.config = types.SimpleNamespace(data=types.SimpleNamespace(padding_value=PAD),
                                         params=types.SimpleNamespace(metric=metric), task=task)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = t._calculate_metric(torch.from_numpy(yt), torch.from_numpy(yp))
        return np.atleast_1d(np.asarray(out, dtype=np.float64))


def check(name, got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=1e-12, equal_nan=True):
        sys.exit(f"{name}: upstream _calculate_metric gives {got}, sklearn calls give {want}")


def mcc_case(up, name, yt, yp):
    yt, yp = np.asarray(yt, dtype=np.int64), np.asarray(yp, dtype=np.int64)
    t, p = unpadded(yt, yp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (UndefinedMetricWarning, UserWarning))
        mcc = matthews_corrcoef(t, p)
        rec = recall_score(t, p, average=None)
        prec = precision_score(t, p, average=None)
    labels = np.union1d(t, p)  # sklearn's unique_labels order: sorted union
    assert len(labels) == len(rec) == len(prec)
    check(name, up("mcc", "gene_finding", yt, yp), [mcc, *rec, *prec])
    return {"name": name, "y_true": yt.tolist(), "y_pred": yp.tolist(), "mcc": num(mcc),
            "labels": labels.tolist(), "recall": [num(v) for v in rec], "precision": [num(v) for v in prec]}


def binary_case(up, name, yt, ys):
    yt, ys = np.asarray(yt, dtype=np.int64), np.asarray(ys, dtype=np.float64)
    t, s = unpadded(yt, ys)
    try:
        auroc = roc_auc_score(t, s)
    except ValueError:  # "Only one class present in y_true" (or empty input)
        auroc = math.nan
    if len(t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "No positive class found in y_true"
            ap = average_precision_score(t, s)
        check(name + " auprc", up("auprc", "enhancer_annotation", yt, ys), [ap])
    else:
        ap = math.nan
    if not math.isnan(auroc):
        check(name + " auroc", up("auroc", "other", yt, ys), [auroc])
    return {"name": name, "y_true": yt.tolist(), "y_score": ys.tolist(), "auroc": num(auroc), "auprc": num(ap)}


def multilabel_case(up, name, yt, ys):
    yt, ys = np.asarray(yt, dtype=np.int64), np.asarray(ys, dtype=np.float64)
    per = []
    for c in range(yt.shape[1]):
        try:
            per.append(roc_auc_score(yt[:, c], ys[:, c]))
        except ValueError:
            per.append(math.nan)
    per = np.array(per)
    defined = per[~np.isnan(per)]
    mean = defined.mean() if len(defined) else math.nan
    if len(defined) == len(per):
        check(name, up("auroc", "histone_modification", yt, ys), [mean, *per])
    else:  # BEND's run raises here; sklearn does too on the whole array
        try:
            roc_auc_score(yt, ys, average=None)
            sys.exit(f"{name}: expected sklearn to raise on a single-class column")
        except ValueError:
            pass
    return {"name": name, "n_rows": yt.shape[0], "n_labels": yt.shape[1], "y_true": yt.ravel().tolist(),
            "y_score": ys.ravel().tolist(), "per_label": [num(v) for v in per], "mean": num(mean)}


def pearson_case(up, name, yt, yp):
    yt, yp = np.asarray(yt, dtype=np.int64), np.asarray(yp, dtype=np.float64)
    t, p = unpadded(yt, yp)
    r = r_regression(t.reshape(-1, 1), p)[0]
    check(name, up("pearsonr", "other", yt, yp), [r])
    return {"name": name, "y_true": yt.tolist(), "y_pred": yp.tolist(), "r": num(r)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bend", required=True, help="path of an upstream BEND checkout")
    ap.add_argument("--out", required=True, help="expected.json to (re)write")
    ap.add_argument("--bend-commit", help="BEND commit to record when --bend is not a git checkout")
    args = ap.parse_args()
    up = Upstream(args.bend)
    rng = np.random.default_rng(20240917)
    r6 = lambda a: np.round(a, 6)  # noqa: E731  (short decimals keep the JSON small)

    mcc = []
    n = 1500
    t = rng.integers(0, 9, n)
    p = np.where(rng.random(n) < 0.7, t, rng.integers(0, 9, n))
    t[rng.random(n) < 0.1] = PAD
    mcc.append(mcc_case(up, "9 classes with padding", t, p))
    t = rng.integers(0, 3, 300)
    p = np.where(rng.random(300) < 0.6, t, 3)
    p[p == 2] = 1
    mcc.append(mcc_case(up, "class 2 only in y_true, class 3 only in y_pred", t, p))
    t = rng.integers(0, 4, 200)
    mcc.append(mcc_case(up, "perfect", t, t))
    t = rng.integers(0, 2, 200)
    mcc.append(mcc_case(up, "inverted binary", t, 1 - t))
    mcc.append(mcc_case(up, "sparse label ids", rng.choice([0, 7, 1000], 100), rng.choice([0, 7, 1000, 999999], 100)))
    mcc.append(mcc_case(up, "one class everywhere", [4] * 10, [4] * 10))
    mcc.append(mcc_case(up, "y_pred constant", [0, 1, 2, 1, 0], [1] * 5))
    mcc.append(mcc_case(up, "n=1", [3], [2]))
    mcc.append(mcc_case(up, "n=2", [0, 1], [0, 1]))
    mcc.append(mcc_case(up, "all padding", [PAD, PAD], [1, 2]))

    binary = []
    n = 400
    t = (rng.random(n) < 0.3).astype(np.int64)
    s = r6(1 / (1 + np.exp(-(1.2 * t + rng.normal(size=n)))))
    binary.append(binary_case(up, "random scores", t, s))
    binary.append(binary_case(up, "scores rounded to 1 decimal", t, np.round(s, 1)))
    binary.append(binary_case(up, "all scores equal", t, np.full(n, 0.25)))
    t2 = t.copy()
    t2[rng.random(n) < 0.15] = PAD
    binary.append(binary_case(up, "padding", t2, s))
    f32 = rng.random(200).astype(np.float32).astype(np.float64)
    binary.append(binary_case(up, "float32 scores", (rng.random(200) < 0.5).astype(np.int64), f32))
    logits = np.round(rng.normal(size=60), 1)
    logits[:6] = [0.0, -0.0, 0.0, -0.0, -0.0, 0.0]
    binary.append(binary_case(up, "logits with +0 and -0 tied", (rng.random(60) < 0.5).astype(np.int64), logits))
    t = (rng.random(100) < 0.4).astype(np.int64)
    binary.append(binary_case(up, "perfect", t, r6(0.5 * t + 0.4 * rng.random(100))))
    binary.append(binary_case(up, "inverted", t, r6(0.5 * (1 - t) + 0.4 * rng.random(100))))
    binary.append(binary_case(up, "all negative", [0] * 5, [0.1, 0.5, 0.2, 0.5, 0.9]))
    binary.append(binary_case(up, "all positive", [1] * 4, [0.1, 0.5, 0.2, 0.5]))
    binary.append(binary_case(up, "n=1", [1], [0.3]))
    binary.append(binary_case(up, "n=2", [1, 0], [0.2, 0.9]))
    binary.append(binary_case(up, "n=2 tied", [0, 1], [0.5, 0.5]))
    binary.append(binary_case(up, "all padding", [PAD, PAD, PAD], [0.5, 0.1, 0.2]))

    multi = []
    nr, nc = 250, 6
    t = (rng.random((nr, nc)) < rng.uniform(0.05, 0.5, nc)).astype(np.int64)
    s = r6(1 / (1 + np.exp(-(t * rng.uniform(0, 2, nc) + rng.normal(size=(nr, nc))))))
    multi.append(multilabel_case(up, "6 labels", t, s))
    multi.append(multilabel_case(up, "6 labels, tied scores", t, np.round(s, 1)))
    t1 = t.copy()
    t1[:, 2] = 0
    t1[:, 4] = 1
    multi.append(multilabel_case(up, "labels 2 and 4 single-class", t1, s))
    multi.append(multilabel_case(up, "one row: all undefined", [[0, 1, 0]], [[0.2, 0.4, 0.9]]))

    pearson = []
    t = rng.integers(0, 5, 300)
    pearson.append(pearson_case(up, "random", t, r6(t * 0.3 + rng.normal(size=300))))
    t2 = t.copy()
    t2[rng.random(300) < 0.2] = PAD
    pearson.append(pearson_case(up, "padding", t2, r6(t * 0.3 + rng.normal(size=300))))
    pearson.append(pearson_case(up, "negatively correlated", t, r6(-t + 2.0 * rng.normal(size=300))))
    # Constant sides: r_regression(force_finite=True) gives 0 where its means are exact, as here
    # (with an inexact mean it can return rounding noise such as -inf; see metrics.h).
    pearson.append(pearson_case(up, "y_pred constant", [0, 1, 2, 1], [0.5] * 4))
    pearson.append(pearson_case(up, "y_true constant", [1, 1, 1, 1], [0.25, 0.5, 0.75, 0.5]))
    pearson.append(pearson_case(up, "n=1", [2], [0.3]))
    pearson.append(pearson_case(up, "n=2", [1, 0], [0.1, 0.3]))
    for c in pearson[3:6]:
        assert c["r"] == 0.0, c

    out = {"bend_commit": git_commit(args.bend, args.bend_commit),
           "python_packages": package_versions(("scikit-learn", "numpy", "torch")),
           "padding": PAD, "mcc": mcc, "binary": binary, "auroc_multilabel": multi, "pearsonr": pearson}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {args.out}: {len(mcc)} mcc, {len(binary)} auroc/auprc, {len(multi)} multi-label, "
          f"{len(pearson)} pearsonr cases")


if __name__ == "__main__":
    main()
