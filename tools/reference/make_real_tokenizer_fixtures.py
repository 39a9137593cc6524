#!/usr/bin/env python3
"""Tokenizer parity on the REAL released tokenizer files of BEND's models (unlike
make_tokenizer_fixtures.py, whose tokenizer files are built here).

    python make_real_tokenizer_fixtures.py --bend /path/to/BEND-checkout \
        --dnabert /path/to/jerryji1993-DNABERT-checkout \
        --dnabert2 /path/to/yuddecho-SCG-GELP-checkout \
        --gena /path/to/AIRI-Institute-GENA_LM-checkout \
        --gpn /path/to/munch-group-johan_gpn_v2-checkout \
        --out tests/fixtures/tokenizers_real [--external-copy DIR] [--bend-commit ac6e80c]

Sources (git work trees or bare mirrors; files are read with `git show HEAD:<path>` when the path
is not a plain file):
- DNABERT k = 3..6: jerryji1993/DNABERT src/transformers/dnabert-config/bert-config-<k>/vocab.txt
  (Apache-2.0; copied). That repo's tokenizer_config.json says do_lower_case true (it was read by
  DNABERT's own DNATokenizer); the Hub copies BEND loads say false (spec 1.3), so dnabert<k> gets
  {"do_lower_case": false, "max_len": 512} and dnabert6_repo_config keeps the repo's file verbatim.
- DNABERT-2-117M: yuddecho/SCG-GELP dnabert2/tokenizer.json (Apache-2.0 repo; copied verbatim).
  It is a save_pretrained() copy of the Hub file: same vocab / merges / normalizer / pre-tokenizer
  / post-processor, but with a truncation (max_length 636) and padding block and the
  "byte_fallback" key newer `tokenizers` write. The Hub file's size and SHA-256 (from the Git LFS
  pointer in WMU-SuLab/Regdriver-SC DNABERT-2-117M/tokenizer.json) are recorded in SOURCE.
- GENA-LM t2t (bert-large-t2t, bigbird-base-t2t): AIRI-Institute/GENA_LM
  data/tokenizers/t2t_1000h_multi_32k/ (MIT). tokenizer.json is 1.4 MB, so only its SHA-256 and
  the expected outputs are stored; the C test skips it visibly unless $BEND_REAL_TOKENIZERS points
  to a directory holding gena_t2t/ (this script writes one with --external-copy DIR).
- GPN (songlab/gpn-brassicales): munch-group/johan_gpn_v2 scripts/GPN_training/tokenizer-dna-mlm/,
  a clone of the Hub repository songlab/tokenizer-dna-mlm. The card says MIT but that repository
  is GPL-3.0, so like GENA only the SHA-256 and the outputs are stored ($BEND_REAL_TOKENIZERS/gpn/).

Reference: DNABERT = BertTokenizer.from_pretrained on the k-mer text BEND's DNABertEmbedder builds
(k-mer-wise spans, make_tokenizer_fixtures.ref_kmer; its text is checked against BEND's own
DNABertEmbedder._seq2kmer for every sequence); BPE = AutoTokenizer (PreTrainedTokenizerFast,
as BEND's DNABert2Embedder / GENALMEmbedder load it) with offsets, cross-checked against the
`tokenizers` library directly. Sequences: SEQUENCES random DNA strings made by real_sequence()
(re-made by the C test); for each the number of tokens and an FNV-1a-64 digest of (id, start,
end) triples with special tokens added, plus the full ids/spans of the short ones among the first
FULL.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import git_commit, package_versions  # noqa: E402
import make_tokenizer_fixtures as mtf  # noqa: E402  (ref_kmer / ref_fast, reused as they are)

MASK64 = (1 << 64) - 1
SEED = 20260101
SEQUENCES = 320
FULL = 16  # full ids/spans for the sequences of at most 300 nt among the first FULL


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def real_sequence(seed, i):
    """Sequence i: length 1..3000 (every third) or 1..300; per-sequence flags choose single Ns,
    N runs of 1..25 (GENA's normalizer replaces runs of >= 10), sporadic lower case, or an
    all-lower-case sequence. Mirrored by real_sequence() in tests/unit/test_tokenize_real.c."""
    st = (seed * 1000003 + i) & MASK64
    st, z = splitmix64(st)
    n = 1 + z % (3000 if i % 3 == 0 else 300)
    st, flags = splitmix64(st)
    sporadic_lower = (flags & 3) == 0
    all_lower = ((flags >> 4) & 7) == 0
    n_mode = (flags >> 2) & 3  # 0 no N, 1 single Ns, 2 N runs, 3 both
    out, run = [], 0
    for _ in range(n):
        st, z = splitmix64(st)
        if run > 0:
            c, run = "N", run - 1
        elif n_mode >= 2 and (z & 1023) < 3:
            c, run = "N", (z >> 10) % 25
        elif n_mode in (1, 3) and ((z >> 20) & 255) < 3:
            c = "N"
        else:
            c = "ACGT"[z >> 62]
        if all_lower or (sporadic_lower and ((z >> 40) & 7) == 0):
            c = c.lower()
        out.append(c)
    return "".join(out)


def digest(ids, spans):
    """FNV-1a 64 over the little-endian int32 triples (id, start, end)."""
    h = 0xCBF29CE484222325
    for t, (a, b) in zip(ids, spans):
        for byte in struct.pack("<iii", t, a, b):
            h = ((h ^ byte) * 0x100000001B3) & MASK64
    return f"{h:016x}"


def git_read(repo, path):
    """A file of a checkout: the work-tree file if there is one, else `git show HEAD:path`."""
    p = os.path.join(repo, path)
    if os.path.isfile(p):
        with open(p, "rb") as fh:
            return fh.read()
    return subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout


def write(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def source_file(d, lines):
    with open(os.path.join(d, "SOURCE"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def make_dirs(args, out, scratch):
    """{name: (directory used for the reference, files record, vocab size wanted)}"""
    dirs = {}
    dn_commit = git_commit(args.dnabert)
    cfg_false = json.dumps({"do_lower_case": False, "max_len": 512}).encode()
    for k in (3, 4, 5, 6):
        base = f"src/transformers/dnabert-config/bert-config-{k}"
        vocab = git_read(args.dnabert, f"{base}/vocab.txt")
        names = [f"dnabert{k}"] + (["dnabert6_repo_config"] if k == 6 else [])
        for name in names:
            d = os.path.join(out, name)
            os.makedirs(d, exist_ok=True)
            write(os.path.join(d, "vocab.txt"), vocab)
            write(os.path.join(d, "special_tokens_map.json"),
                  git_read(args.dnabert, f"{base}/special_tokens_map.json"))
            repo_cfg = name.endswith("repo_config")
            write(os.path.join(d, "tokenizer_config.json"),
                  git_read(args.dnabert, f"{base}/tokenizer_config.json") if repo_cfg
                  else cfg_false)
            source_file(d, [
                "repository: https://github.com/jerryji1993/DNABERT",
                f"commit: {dn_commit}",
                f"files: {base}/vocab.txt (sha256 {sha256(vocab)}), {base}/special_tokens_map.json"
                + (", tokenizer_config.json (verbatim: do_lower_case true)" if repo_cfg else ""),
                "license: Apache-2.0 (LICENSE of that repository)",
                "tokenizer_config.json: " + ("verbatim from the repository" if repo_cfg else
                                             "written here as the Hub copies have it "
                                             "(do_lower_case false, spec 1.3)"),
            ])
            dirs[name] = (d, {"vocab.txt": sha256(vocab)}, 4 ** k + 5)

    d = os.path.join(out, "dnabert2")
    os.makedirs(d, exist_ok=True)
    tj = git_read(args.dnabert2, "dnabert2/tokenizer.json")
    write(os.path.join(d, "tokenizer.json"), tj)
    write(os.path.join(d, "tokenizer_config.json"),
          (json.dumps(mtf.FAST_SPECIALS_CFG, indent=2) + "\n").encode())
    source_file(d, [
        "repository: https://github.com/yuddecho/SCG-GELP",
        f"commit: {git_commit(args.dnabert2)}",
        f"file: dnabert2/tokenizer.json (sha256 {sha256(tj)}, {len(tj)} bytes), copied verbatim",
        "license: Apache-2.0 (LICENSE of that repository)",
        "released file: huggingface.co/zhihan1996/DNABERT-2-117M tokenizer.json, 167908 bytes, "
        "sha256 5d178e8ce2ba55df97fff197f4b30f40133b95d7096be398c2df6b526c5d8cd3 (Git LFS pointer "
        "in https://github.com/WMU-SuLab/Regdriver-SC DNABERT-2-117M/tokenizer.json)",
        "difference: this copy was re-saved by transformers: it adds a truncation block "
        "(max_length 636), a padding block and \"byte_fallback\": false; with those set to null / "
        "removed it has exactly the released size (same vocab, merges, normalizer, pre-tokenizer, "
        "post-processor, added tokens) but not the released SHA-256, so some same-length detail "
        "differs",
        "tokenizer_config.json: written here (PreTrainedTokenizerFast with the five specials)",
    ])
    dirs["dnabert2"] = (d, {"tokenizer.json": sha256(tj)}, 4096)

    external(args, out, scratch, dirs, "gena_t2t", args.gena, "data/tokenizers/t2t_1000h_multi_32k",
             ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"), 32000, [
                 "repository: https://github.com/AIRI-Institute/GENA_LM",
                 "tokenizer of gena-lm-bert-large-t2t and gena-lm-bigbird-base-t2t ('T2T+1000G "
                 "SNPs+Multispecies', README_previous_generation.md)",
                 "license: MIT (LICENSE of that repository); NOT copied here because of its size",
             ])
    external(args, out, scratch, dirs, "gpn", args.gpn, "scripts/GPN_training/tokenizer-dna-mlm",
             ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"), 7, [
                 "repository: https://github.com/munch-group/johan_gpn_v2",
                 "a clone of the Hub repository songlab/tokenizer-dna-mlm (its README.md model card "
                 "and gitattributes are there too), the tokenizer of GPN (songlab/gpn-brassicales): "
                 "[PAD] [MASK] [UNK] a c g t, Lowercase normalizer, Whitespace pre-tokenizer, BPE "
                 "without merges, no post-processor",
                 "license: the card says MIT, but the repository holding the copy is GPL-3.0, so it "
                 "is NOT copied here",
             ])
    return dirs


def external(args, out, scratch, dirs, name, repo, path, files, want_vocab, notes):
    """A tokenizer whose files are not committed: read into the scratch directory for the
    reference, SOURCE + SHA-256 recorded, optionally copied to --external-copy DIR/name/."""
    sd = os.path.join(scratch, name)
    os.makedirs(sd, exist_ok=True)
    sums = {}
    for f in files:
        data = git_read(repo, f"{path}/{f}")
        write(os.path.join(sd, f), data)
        sums[f] = sha256(data)
    if args.external_copy:
        os.makedirs(os.path.join(args.external_copy, name), exist_ok=True)
        for f in files:
            shutil.copy(os.path.join(sd, f), os.path.join(args.external_copy, name, f))
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    source_file(d, notes + [
        f"commit: {git_commit(repo)}",
        f"directory: {path}",
        "files (sha256): " + ", ".join(f"{f} {h} ({os.path.getsize(os.path.join(sd, f))} bytes)"
                                       for f, h in sums.items()),
        f"to run the C test on it: put these files in $BEND_REAL_TOKENIZERS/{name}/ "
        "(make_real_tokenizer_fixtures.py --external-copy DIR writes them)",
    ])
    dirs[name] = (sd, sums, want_vocab)


def reference(name, d, bend_ns):
    """(encode(seq) -> (ids, spans), vocab size) using the reference library."""
    if name.startswith("dnabert") and name != "dnabert2":
        from transformers import BertTokenizer
        tok = BertTokenizer.from_pretrained(d)
        k = 6 if name.startswith("dnabert6") else int(name[len("dnabert")])
        seq2kmer = bend_ns["DNABertEmbedder"]._seq2kmer  # BEND's k-mer text

        def kmer_ref(s):
            if seq2kmer(s, k) != " ".join(s[i:i + k] for i in range(len(s) + 1 - k)):
                raise SystemExit(f"{name}: BEND's _seq2kmer differs from ref_kmer's text: {s!r}")
            return mtf.ref_kmer(tok, s, k, True)

        if not tok.do_lower_case:
            return kmer_ref, len(tok.vocab)

        def lowered(s):
            if seq2kmer(s, k) != " ".join(s[i:i + k] for i in range(len(s) + 1 - k)):
                raise SystemExit(f"{name}: BEND's _seq2kmer differs: {s!r}")
            # do_lower_case true: every k-mer word is lower-cased before WordPiece, so (the vocab
            # being upper case) each one is a single [UNK] over its k nucleotides
            n = max(0, len(s) + 1 - k)
            ids = tok(" ".join(s[i:i + k] for i in range(n)))["input_ids"]
            if len(ids) != n + 2:
                raise SystemExit(f"{name}: not one token per k-mer for {s!r}")
            return ids, [[0, 0]] + [[i, i + k] for i in range(n)] + [[0, 0]]

        return lowered, len(tok.vocab)
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(d)
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    raw.no_truncation()
    raw.no_padding()

    def enc(s):
        ids, spans = mtf.ref_fast(tok, s, True)
        e = raw.encode(s, add_special_tokens=True)
        if e.ids != ids or [list(o) for o in e.offsets] != spans:
            raise SystemExit(f"{name}: transformers and tokenizers disagree on {s!r}")
        return ids, spans

    return enc, raw.get_vocab_size()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bend", required=True, help="BEND checkout (its DNABertEmbedder._seq2kmer)")
    ap.add_argument("--bend-commit", help="BEND commit to record when --bend is not a git checkout")
    ap.add_argument("--dnabert", required=True)
    ap.add_argument("--dnabert2", required=True)
    ap.add_argument("--gena", required=True)
    ap.add_argument("--gpn", required=True, help="munch-group/johan_gpn_v2 checkout")
    ap.add_argument("--external-copy", help="also write the uncommitted tokenizers (gena_t2t/, "
                    "gpn/) under this directory")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    seqs = [real_sequence(SEED, i) for i in range(SEQUENCES)]
    result = {
        "generator": "tools/reference/make_real_tokenizer_fixtures.py",
        "bend_commit": git_commit(args.bend, args.bend_commit),
        "packages": package_versions(["transformers", "tokenizers"]),
        "sequences": {"seed": SEED, "count": SEQUENCES, "full": FULL,
                      "n_chars": sum(len(s) for s in seqs),
                      "sha256_of_concatenation": sha256("\n".join(seqs).encode())},
        "tokenizers": {},
    }
    bend_ns = mtf.load_upstream(args.bend)
    with tempfile.TemporaryDirectory() as scratch:
        dirs = make_dirs(args, args.out, scratch)
        for name, (d, files, want_vocab) in dirs.items():
            enc, vocab = reference(name, d, bend_ns)
            if vocab != want_vocab:
                raise SystemExit(f"{name}: vocabulary of {vocab}, the spec says {want_vocab}")
            entry = {"kind": "bpe" if name in ("dnabert2", "gena_t2t", "gpn") else "kmer",
                     "vocab_size": vocab, "files_sha256": files, "n_tokens": [], "digest": [],
                     "full": []}
            for i, s in enumerate(seqs):
                ids, spans = enc(s)
                entry["n_tokens"].append(len(ids))
                entry["digest"].append(digest(ids, spans))
                if i < FULL and len(s) <= 300:
                    entry["full"].append({"index": i, "ids": ids, "spans": spans})
            result["tokenizers"][name] = entry
            print(f"{name}: vocab {vocab}, {sum(entry['n_tokens'])} tokens", file=sys.stderr)
    with open(os.path.join(args.out, "expected.json"), "w") as fh:
        json.dump(result, fh, separators=(",", ":"))
        fh.write("\n")


if __name__ == "__main__":
    main()
