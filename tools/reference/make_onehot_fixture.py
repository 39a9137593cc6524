#!/usr/bin/env python3
"""Build the one-hot parity fixture: tiny BEND-layout inputs plus what upstream BEND makes of them.

    python make_onehot_fixture.py --bend /path/to/BEND-checkout --out tests/fixtures/bend_onehot

1. Writes a small deterministic reference genome and the inputs of three tasks in BEND's layout
   under --out (genomes/, histone_modification/, gene_finding/, enhancer_annotation/).
2. Runs UPSTREAM BEND's `bend.io.sequtils.embed_from_bed` with BEND's `OneHotEmbedder` over every
   split and chunk, exactly as BEND's `scripts/precompute_embeddings.py` loops over them, into
   WebDataset shards `{split}_{chunk}.tar.gz` in a temporary directory.
3. Reads the shards back and writes `expected.h5` under --out (layout: see tools/reference/README.md).

No BEND code is copied anywhere: the checkout given by --bend is imported / parsed at run time.
`bend/__init__.py` imports `bend.utils.embedders`, which imports torch and transformers at module
level; neither is needed for one-hot, so (a) the package `bend` is registered in sys.modules as a
bare package whose __path__ is the checkout's `bend/` (then `import bend.io.sequtils` is a normal
import that skips `bend/__init__.py`), and (b) `OneHotEmbedder` is obtained by parsing
`bend/utils/embedders.py` with `ast` and exec'ing only its numpy / sklearn / tqdm / typing imports,
`categories_4_letters_unknown`, and the classes `BaseEmbedder` (OneHotEmbedder's base class, which
provides `__call__`) and `OneHotEmbedder`.
"""
import argparse
import io
import os
import random
import shutil
import sys
import tarfile
import tempfile
import types

from upstream_source import exec_selected, git_commit, package_versions  # noqa: E402  (tools/reference/upstream_source.py)

import h5py
import numpy as np
import pandas as pd

SEED = 20240611
CHUNK_SIZE = 7
LINE_WIDTH = 60
GENOME_REL = "genomes/GRCh38.primary_assembly.genome.fa"
HISTONE_DEPTH = 18
ENHANCER_WIDTH = 5
GENE_CLASSES = 9  # per-nucleotide labels 0..8

# task -> the keyword arguments BEND's conf/embedding/embed.yaml passes to embed_from_bed
# (data_dir-relative paths are made absolute below).
TASKS = {
    "histone_modification": dict(bed="histone_modification/histone_modification.bed",
                                 hdf5_file=None, read_strand=True, label_depth=HISTONE_DEPTH),
    "gene_finding": dict(bed="gene_finding/gene_finding.bed",
                         hdf5_file="gene_finding/gene_finding.hdf5", read_strand=False),
    "enhancer_annotation": dict(bed="enhancer_annotation/enhancer_annotation.bed",
                                hdf5_file="enhancer_annotation/enhancer_annotation.hdf5",
                                read_strand=False),
}


# ---------------------------------------------------------------------------------------------
# Upstream BEND, loaded from the checkout
# ---------------------------------------------------------------------------------------------

def load_upstream(bend_dir):
    """Return (sequtils module, OneHotEmbedder class) from the BEND checkout at bend_dir."""
    pkg_dir = os.path.join(bend_dir, "bend")
    if not os.path.isfile(os.path.join(pkg_dir, "io", "sequtils.py")):
        sys.exit(f"{bend_dir} does not look like a BEND checkout (no bend/io/sequtils.py)")
    sys.path.insert(0, bend_dir)
    # Bare package `bend`: importing its submodules must not run bend/__init__.py (torch).
    pkg = types.ModuleType("bend")
    pkg.__path__ = [pkg_dir]
    pkg.__file__ = os.path.join(pkg_dir, "__init__.py")
    sys.modules["bend"] = pkg
    import bend.io.sequtils as sequtils  # noqa: E402  (the upstream module, imported normally)

    emb_path = os.path.join(pkg_dir, "utils", "embedders.py")
    ns = exec_selected(emb_path, "bend.utils.embedders",
                       modules={"numpy", "sklearn.preprocessing", "tqdm.auto", "typing"},
                       assigns={"categories_4_letters_unknown"},
                       classes={"BaseEmbedder", "OneHotEmbedder"})
    return sequtils, ns["OneHotEmbedder"]



# ---------------------------------------------------------------------------------------------
# Synthetic inputs
# ---------------------------------------------------------------------------------------------

def make_genome(rng):
    """{name: sequence}; only ACGTNacgtn, with lower-case stretches and runs of N."""
    chroms = {}
    for name, length in (("chr1", 4103), ("chr2", 3050), ("chrX", 2437)):
        seq = [rng.choice("ACGT") for _ in range(length)]
        for _ in range(6):  # soft-masked (lower-case) stretches
            a = rng.randrange(length)
            for i in range(a, min(length, a + rng.randint(20, 300))):
                seq[i] = seq[i].lower()
        for _ in range(4):  # runs of N (some lower-case n)
            a = rng.randrange(length)
            letter = rng.choice("Nn")
            for i in range(a, min(length, a + rng.randint(1, 80))):
                seq[i] = letter
        chroms[name] = "".join(seq)
    # an N run at the very start of chr2 and at the very end of chrX
    chroms["chr2"] = "N" * 25 + chroms["chr2"][25:]
    chroms["chrX"] = chroms["chrX"][:-17] + "n" * 17
    return chroms


def write_fasta(path, chroms):
    with open(path, "w") as fh:
        for name, seq in chroms.items():
            fh.write(f">{name} synthetic test chromosome\n")
            for i in range(0, len(seq), LINE_WIDTH):
                fh.write(seq[i:i + LINE_WIDTH] + "\n")


def random_region(rng, chroms, lo, hi):
    name = rng.choice(list(chroms))
    n = len(chroms[name])
    length = rng.randint(lo, hi)
    start = rng.randint(0, n - length)
    return name, start, start + length


def split_column(rng, counts):
    """A list with counts[s] copies of each split name, in random (interleaved) order."""
    col = [s for s, c in counts.items() for _ in range(c)]
    rng.shuffle(col)
    return col


def write_bed(path, header, rows):
    with open(path, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for r in rows:
            fh.write("\t".join(str(v) for v in r) + "\n")


def make_histone(rng, chroms, path):
    # 40 rows: test has exactly CHUNK_SIZE rows, so BEND's loop also makes an empty last chunk
    splits = split_column(rng, {"train": 19, "valid": 14, "test": CHUNK_SIZE})
    rows = []
    for i, split in enumerate(splits):
        chrom, start, end = random_region(rng, chroms, 1, 600)
        strand = rng.choice("+-")
        kind = rng.random()
        if kind < 0.15:
            label = ""                                    # no label: all-zero multi-hot
        elif kind < 0.25:
            j = rng.randrange(HISTONE_DEPTH)
            label = f"{j},{j}"                            # repeated id: multi-hot value 2
        else:
            ids = rng.sample(range(HISTONE_DEPTH), rng.randint(1, 4))
            label = ",".join(str(j) for j in ids)
        rows.append([chrom, start, end, strand, label, split])
    # edge cases, overriding a few rows' coordinates (splits stay as drawn)
    rows[3][1:4] = [1200, 1200, "+"]                                      # zero-length
    rows[5][0:4] = ["chrX", len(chroms["chrX"]) - 333, len(chroms["chrX"]), "-"]  # touches end
    rows[6][0:4] = ["chr2", 0, 512, "-"]                                  # starts at 0, N run
    rows[9][0:4] = ["chr1", len(chroms["chr1"]) - 512, len(chroms["chr1"]), "+"]  # touches end
    rows[11][1:3] = [777, 778]                                             # one nucleotide
    rows[12][4] = "3,3"
    rows[13][4] = "0,17"
    write_bed(path, ["chromosome", "start", "end", "strand", "label", "split"], rows)


def make_gene_finding(rng, chroms, bed_path, h5_path):
    splits = split_column(rng, {"train": 8, "valid": 4, "test": 3})
    rows, labels = [], []
    for i, split in enumerate(splits):
        chrom, start, end = random_region(rng, chroms, 1, 400)
        if i == 4:
            chrom, start, end = "chr2", len(chroms["chr2"]) - 250, len(chroms["chr2"])
        if i == 7:
            end = start + 1
        rows.append([chrom, start, end, rng.choice("+-"), split])
        # piecewise-constant per-nucleotide classes, like gene structure
        lab = np.empty(end - start, dtype=np.int64)
        pos = 0
        while pos < len(lab):
            run = rng.randint(1, 60)
            lab[pos:pos + run] = rng.randrange(GENE_CLASSES)
            pos += run
        labels.append(lab)
    write_bed(bed_path, ["chromosome", "start", "end", "strand", "split"], rows)
    with h5py.File(h5_path, "w") as f:
        ds = f.create_dataset("labels", (len(labels),), dtype=h5py.vlen_dtype(np.int64))
        for i, lab in enumerate(labels):
            ds[i] = lab


def make_enhancer(rng, chroms, bed_path, h5_path):
    splits = split_column(rng, {"part1": 5, "part2": 4, "part3": 3})
    rows = []
    for split in splits:
        chrom, start, end = random_region(rng, chroms, 100, 700)
        rows.append([chrom, start, end, split])
    labels = np.array([[rng.randint(0, 1) for _ in range(ENHANCER_WIDTH)] for _ in rows],
                      dtype=np.int64)
    write_bed(bed_path, ["chromosome", "start", "end", "split"], rows)
    with h5py.File(h5_path, "w") as f:
        f.create_dataset("labels", data=labels)


def make_inputs(out):
    rng = random.Random(SEED)
    for d in ("genomes", *TASKS):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    chroms = make_genome(rng)
    write_fasta(os.path.join(out, GENOME_REL), chroms)
    make_histone(rng, chroms, os.path.join(out, TASKS["histone_modification"]["bed"]))
    make_gene_finding(rng, chroms, os.path.join(out, TASKS["gene_finding"]["bed"]),
                      os.path.join(out, TASKS["gene_finding"]["hdf5_file"]))
    make_enhancer(rng, chroms, os.path.join(out, TASKS["enhancer_annotation"]["bed"]),
                  os.path.join(out, TASKS["enhancer_annotation"]["hdf5_file"]))


# ---------------------------------------------------------------------------------------------
# Running BEND and collecting its shards
# ---------------------------------------------------------------------------------------------

def run_bend(sequtils, embedder, data_dir, task, shard_dir):
    """BEND's scripts/precompute_embeddings.py loop for one task (chunk=null, splits=null).

    Returns the split names in BEND's order and {split: [chunk ids]}."""
    cfg = {k: (os.path.join(data_dir, v) if k in ("bed", "hdf5_file") and v else v)
           for k, v in TASKS[task].items()}
    cfg["reference_fasta"] = os.path.join(data_dir, GENOME_REL)
    splits = sequtils.get_splits(cfg["bed"])
    out_dir = os.path.join(shard_dir, task, "onehot")
    os.makedirs(out_dir, exist_ok=True)
    chunks = {}
    for split in splits:
        df = pd.read_csv(cfg["bed"], sep="\t", low_memory=False)
        df = df[df.iloc[:, -1] == split] if split is not None else df
        possible_chunks = list(range(int(len(df) / CHUNK_SIZE) + 1))
        chunks[split] = possible_chunks
        for chunk in possible_chunks:
            sequtils.embed_from_bed(**cfg, embedder=embedder,
                                    output_path=f"{out_dir}/{split}_{chunk}.tar.gz",
                                    split=split, chunk=chunk, chunk_size=CHUNK_SIZE,
                                    upsample_embeddings=False)
    return splits, chunks, out_dir


def read_shards(out_dir, split, chunk_ids):
    """[(key, ids, labels)] of one split, in shard and member order."""
    samples = {}
    order = []
    for chunk in chunk_ids:
        with tarfile.open(os.path.join(out_dir, f"{split}_{chunk}.tar.gz"), "r:gz") as tar:
            for m in tar.getmembers():
                if not m.isfile():
                    continue
                stem, _, ext = m.name.partition(".")
                if not stem.startswith("sample_"):
                    raise SystemExit(f"unexpected shard member {m.name}")
                key = int(stem[len("sample_"):])
                arr = np.load(io.BytesIO(tar.extractfile(m).read()), allow_pickle=False)
                if key not in samples:
                    samples[key] = {}
                    order.append(key)
                samples[key][ext] = arr
    result = []
    for key in order:
        s = samples[key]
        x = s["input.npy"]
        if x.ndim != 2 or x.shape[0] != 1:
            raise SystemExit(f"{split} sample_{key}: input shape {x.shape}, expected (1, L)")
        result.append((key, x[0].astype(np.int64), np.asarray(s["output.npy"])))
    return result


def put(group, name, data):
    """int64 dataset; deflate (built into every HDF5) keeps the fixture small."""
    kw = dict(track_times=False)
    if data.size:
        kw.update(compression="gzip", compression_opts=9, shuffle=True)
    group.create_dataset(name, data=data, **kw)


def write_expected(path, per_task, commit, versions):
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["bend_commit"] = commit
        f.attrs["chunk_size"] = CHUNK_SIZE
        f.attrs["generator"] = "tools/reference/make_onehot_fixture.py"
        f.attrs["python_packages"] = versions
        f.attrs["id_alphabet"] = "ACGNT"
        for task, (splits, data) in per_task.items():
            tg = f.create_group(task, track_order=True)
            tg.attrs["splits"] = np.array(splits, dtype=h5py.string_dtype())
            for split in splits:
                samples = data[split]
                g = tg.create_group(split, track_order=True)
                keys = np.array([k for k, _, _ in samples], dtype=np.int64)
                lens = [len(x) for _, x, _ in samples]
                offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
                ids = (np.concatenate([x for _, x, _ in samples]) if samples
                       else np.zeros(0)).astype(np.int64)
                put(g, "keys", keys)
                put(g, "offsets", offsets)
                put(g, "ids", ids)
                labs = [np.asarray(y, dtype=np.int64) for _, _, y in samples]
                if task == "gene_finding":
                    llens = [len(y) for y in labs]
                    put(g, "labels", np.concatenate(labs).astype(np.int64))
                    put(g, "label_offsets",
                        np.concatenate([[0], np.cumsum(llens)]).astype(np.int64))
                else:
                    width = HISTONE_DEPTH if task == "histone_modification" else ENHANCER_WIDTH
                    arr = np.stack(labs) if labs else np.zeros((0, width), np.int64)
                    put(g, "labels", arr.astype(np.int64))



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bend", required=True, help="path of an upstream BEND checkout")
    ap.add_argument("--out", required=True, help="fixture directory to (re)write")
    ap.add_argument("--keep-shards", help="also copy BEND's shards into this directory")
    ap.add_argument("--bend-commit", help="BEND commit to record when --bend is not a git "
                    "checkout (e.g. a `git archive` export); default: git rev-parse HEAD")
    args = ap.parse_args()
    bend_dir = os.path.abspath(args.bend)
    out = os.path.abspath(args.out)

    sequtils, OneHotEmbedder = load_upstream(bend_dir)
    embedder = OneHotEmbedder()

    os.makedirs(out, exist_ok=True)
    make_inputs(out)

    per_task = {}
    with tempfile.TemporaryDirectory(prefix="bend-onehot-ref-") as tmp:
        data_dir = os.path.join(tmp, "data")
        # BEND (pysam) writes the FASTA's .fai next to it: run on a copy so --out never gets one
        shutil.copytree(out, data_dir, ignore=shutil.ignore_patterns("expected.h5", "*.fai"))
        shard_dir = os.path.join(tmp, "shards")
        for task in TASKS:
            splits, chunks, out_dir = run_bend(sequtils, embedder, data_dir, task, shard_dir)
            data = {}
            for split in splits:
                samples = read_shards(out_dir, split, chunks[split])
                keys = [k for k, _, _ in samples]
                if keys != list(range(len(keys))):
                    raise SystemExit(f"{task}/{split}: BEND keys are not 0..n-1: {keys}")
                data[split] = samples
            per_task[task] = (splits, data)
            print(f"{task}: " + ", ".join(f"{s}={len(data[s])} samples/{len(chunks[s])} chunks"
                                          for s in splits))
        if args.keep_shards:
            shutil.copytree(shard_dir, args.keep_shards, dirs_exist_ok=True)

    fai = os.path.join(out, GENOME_REL + ".fai")
    if os.path.exists(fai):
        os.remove(fai)
    commit = git_commit(bend_dir, args.bend_commit)
    write_expected(os.path.join(out, "expected.h5"), per_task, commit, package_versions(
        ("pysam", "pandas", "numpy", "h5py", "webdataset", "tqdm", "scikit-learn")))
    print(f"wrote {out}/expected.h5 (BEND {commit})")


if __name__ == "__main__":
    main()
