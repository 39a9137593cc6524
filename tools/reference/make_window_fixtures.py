#!/usr/bin/env python3
"""BEND's windowing, special-token removal and upsampling, recorded from BEND's own embed() code.

Each embedder class of upstream bend/utils/embedders.py is instantiated around a fake language
model whose hidden state for a token is that token's index among all tokens the model has been
given so far. BEND's embed() then chunks, runs, trims, upsamples and strips as it always does, and
the values it returns are, row by row, the index of the window output each row came from: the
"row_src" map of src/models/windows.c. The ids of every model call are the windows.

  python make_window_fixtures.py --bend /path/to/BEND --tokenizers tests/fixtures/tokenizers \
      --caduceus /path/to/caduceus-checkout --gpn-tokenizer tests/fixtures/windows/gpn \
      --out tests/fixtures/windows/expected.json

Small window sizes are set on the instances (as attributes BEND reads) so that short sequences
exercise the multi-window paths; the C test applies the same sizes."""
import argparse
import importlib.util
import inspect
import json
import os
import random
import sys

import torch


class Outputs(dict):
    """What the models' forward returns, for every way BEND's embedders read it."""

    def __init__(self, hidden):
        super().__init__(last_hidden_state=hidden, hidden_states=[hidden])
        self.hidden = hidden
        self.last_hidden_state = hidden  # GPN's embedder reads the attribute

    def __getitem__(self, key):
        return self.hidden if isinstance(key, int) else dict.__getitem__(self, key)


class FakeModel:
    def __init__(self, raw_tensor=False):
        self.seen = 0
        self.windows = []
        self.raw_tensor = raw_tensor  # HyenaDNA's embedder uses the returned tensor directly

    def __call__(self, *args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        ids = ids.cpu()
        n = ids.shape[1]
        self.windows.append([int(x) for x in ids[0]])
        hidden = torch.arange(self.seen, self.seen + n, dtype=torch.float32).reshape(1, n, 1)
        self.seen += n
        return hidden if self.raw_tensor else Outputs(hidden)

    def to(self, *a, **k):
        return self

    def eval(self):
        return self


def sequences(rng, lengths, alphabet="ACGT", specials=""):
    out = []
    for n in lengths:
        s = [rng.choice(alphabet) for _ in range(n)]
        for ch in specials:  # an N run and single ambiguity letters, keeping the length
            if n > 4:
                i = rng.randrange(n - 3)
                width = 3 if ch == "N" else 1
                s[i:i + width] = [ch] * width
        out.append("".join(s))
    return out


def make_gpn_tokenizer(d):
    """GPN's tokenizer layout (songlab/tokenizer-dna-mlm), built with the tokenizers library."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    os.makedirs(d, exist_ok=True)
    vocab = {"[PAD]": 0, "[MASK]": 1, "[UNK]": 2, "a": 3, "c": 4, "g": 5, "t": 6}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["[PAD]", "[MASK]", "[UNK]"])
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as fh:
        json.dump({"mask_token": "[MASK]", "pad_token": "[PAD]",
                   "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"}, fh, indent=2)
        fh.write("\n")
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bend", required=True)
    ap.add_argument("--tokenizers", required=True, help="tests/fixtures/tokenizers")
    ap.add_argument("--caduceus", required=True,
                    help="kuleshov-group/caduceus checkout (caduceus/tokenization_caduceus.py)")
    ap.add_argument("--gpn-tokenizer", required=True,
                    help="directory to write the GPN-layout tokenizer to (tests/fixtures/windows/gpn)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.bend)
    import bend.utils.embedders as E
    from bend.models.hyena_dna import CharacterTokenizer as BendCharacterTokenizer
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_tokenizer_fixtures import compat_character_tokenizer  # transformers > 4.33 shim
    CharacterTokenizer = compat_character_tokenizer(BendCharacterTokenizer)
    from transformers import BertTokenizer, EsmTokenizer, PreTrainedTokenizerFast
    # As BEND loads them: from the directory, so tokenizer_config.json decides the specials.

    T = lambda name: os.path.join(a.tokenizers, name)  # noqa: E731
    rng = random.Random(20261125)
    cases = []

    def record(family, tokdir, kind, cls, attrs, seqs, model_attr="model", raw=False, **rules):
        case = {"family": family, "tokenizer": tokdir, "kind": kind, "rules": rules, "sequences": []}
        for s in seqs:
            emb = cls.__new__(cls)
            fake = FakeModel(raw_tensor=raw)
            for k, v in attrs().items():
                setattr(emb, k, v)
            setattr(emb, model_attr, fake)
            entry = {"sequence": s}
            # GPNEmbedder.embed has no remove_special_tokens: pass what the method takes
            kw = dict(disable_tqdm=True, remove_special_tokens=True,
                      upsample_embeddings=rules.get("upsample", True))
            params = inspect.signature(cls.embed).parameters
            kw = {k: v for k, v in kw.items() if k in params}
            try:
                out = emb.embed([s], **kw)[0]
                entry["row_src"] = [int(v) for v in out.reshape(-1)]
                entry["bend_stores_it"] = len(entry["row_src"]) == len(s)
            except Exception as e:  # BEND fails on this input (an assertion or an index error)
                entry["bend_error"] = f"{type(e).__name__}: {e}"[:200]
            entry["windows"] = fake.windows
            case["sequences"].append(entry)
        cases.append(case)

    common = dict(return_logits=False, return_loss=False)
    for k in (3, 4, 5, 6):
        tok = BertTokenizer.from_pretrained(T(f"dnabert{k}"), do_lower_case=False)
        record("dnabert", f"dnabert{k}", "kmer", E.DNABertEmbedder,
               lambda tok=tok, k=k: dict(tokenizer=tok, kmer=k, **common),
               sequences(rng, [k - 1, k, 11, 300, 700], specials="NR"), model_attr="bert_model",
               kmer=k, max_tokens=512)
    for v, tokdir in (("v1", "nt_v1"), ("v2", "nt_v2")):
        tok = EsmTokenizer.from_pretrained(T(tokdir))
        record("nucleotide_transformer", tokdir, "nt6", E.NucleotideTransformerEmbedder,
               lambda tok=tok, v=v: dict(tokenizer=tok, max_seq_len=60, max_tokens=8, is_v2=v == "v2", **common),
               sequences(rng, [1, 7, 59, 61, 130], specials="N") + sequences(rng, [20], specials="R"),
               piece_nucleotides=60, max_tokens=8)
    tok = PreTrainedTokenizerFast.from_pretrained(T("dnabert2_bpe"))
    record("dnabert2", "dnabert2_bpe", "bpe", E.DNABert2Embedder,
           lambda: dict(tokenizer=tok, max_length=50, **common),
           sequences(rng, [1, 10, 50, 51, 175], specials="NR"), piece_nucleotides=50)
    tok = PreTrainedTokenizerFast.from_pretrained(T("gena_bert_bpe"))
    record("gena_lm", "gena_bert_bpe", "bpe", E.GENALMEmbedder,
           lambda: dict(tokenizer=tok, max_length=5, **common),
           sequences(rng, [3, 12, 90], specials="N"), max_tokens=5)
    tok = BertTokenizer.from_pretrained(T("grover"), do_lower_case=False)
    record("grover", "grover", "maxmatch", E.GROVEREmbedder,
           lambda: dict(tokenizer=tok, max_length=4, max_token_length=max(len(t) for t in tok.vocab), **common),
           sequences(rng, [2, 9, 60], specials="NR"), max_tokens=4)
    record("hyenadna", "hyenadna-tiny-1k-seqlen", "char", E.HyenaDNAEmbedder,
           # BEND also passes add_special_tokens=False, which (its comment says) changes nothing and
           # which transformers > 4.33 refuses as an argument name.
           lambda: dict(tokenizer=CharacterTokenizer(characters=["A", "C", "G", "T", "N"], model_max_length=18,
                                                     padding_side="left"),
                        max_length=16, **common),
           sequences(rng, [1, 16, 17, 40], specials="N"), raw=True, piece_nucleotides=16)
    # Caduceus: BEND's embedder with the CaduceusTokenizer class of the caduceus checkout (what
    # AutoTokenizer(trust_remote_code=True) loads); pieces of 16 instead of 131072 nucleotides.
    spec = importlib.util.spec_from_file_location(
        "tokenization_caduceus", os.path.join(a.caduceus, "caduceus", "tokenization_caduceus.py"))
    cad = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cad)
    tok = cad.CaduceusTokenizer(model_max_length=131072)
    record("caduceus", "caduceus", "char", E.CaduceusEmbedder,
           lambda: dict(tokenizer=tok, max_length=16, **common),
           sequences(rng, [1, 15, 16, 17, 40], specials="N")
           + sequences(rng, [33], alphabet="ACGTacgtn", specials="R"), piece_nucleotides=16)
    # GPN: one window of the whole sequence, no special tokens. Its tokenizer (songlab/
    # tokenizer-dna-mlm: [PAD] [MASK] [UNK] a c g t, Lowercase, Whitespace, BPE without merges, no
    # post-processor; see tests/fixtures/tokenizers_real/gpn/SOURCE) is rebuilt here to that layout.
    gpn_dir = make_gpn_tokenizer(a.gpn_tokenizer)
    tok = PreTrainedTokenizerFast.from_pretrained(gpn_dir)
    record("gpn", os.path.relpath(gpn_dir, a.tokenizers), "bpe", E.GPNEmbedder,
           lambda: dict(tokenizer=tok),
           sequences(rng, [1, 7, 40], specials="NR") + sequences(rng, [12], alphabet="ACGTacgt"))
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump({"bend_commit": open(os.path.join(a.bend, ".bend_commit")).read().strip()
                   if os.path.exists(os.path.join(a.bend, ".bend_commit")) else "ac6e80c",
                   "cases": cases}, fh, indent=0)


if __name__ == "__main__":
    main()
