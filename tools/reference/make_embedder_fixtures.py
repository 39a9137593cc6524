#!/usr/bin/env python3
"""What BEND's own embedder classes return for the tiny fixture models: embed() outputs, one [L, D]
float32 matrix per sequence, with BEND's defaults (remove_special_tokens=True,
upsample_embeddings=True for the families BEND's configs upsample, False for HyenaDNA).

    python make_embedder_fixtures.py --bend /path/to/BEND --models tests/fixtures/models \
        --out tests/fixtures/embedders

Each family's embedder (bend/utils/embedders.py) is loaded with its own load_model() against the
fixture checkpoint directory (tools/reference/make_model_fixtures.py) where that works offline;
HyenaDNA's is assembled by hand because its load_model picks max_length from a table of real model
names (the fixture directory is not in it); DNABERT-2's model is wrapped to undo BEND HEAD's
hidden_states[-1] quirk (see dnabert2() below). The fixture models have small position tables, so the
window sizes BEND reads from instance attributes (max_seq_len / max_tokens / max_length) are set
smaller to make one sequence span several windows; the file records them as attributes and the C
test (tests/unit/test_lm_embedder.c) uses the same. DNABERT's 512-token split is hard-coded in
its embed(), and the dnabert6 fixture has 128 positions: its sequences stay within one window, and
dnabert6_long (below) takes the split.

Three checkpoints are derived into <out>/models: dnabert6_long (the dnabert6 fixture with 520
positions, so that a 1100-nt sequence takes BEND's 512-id split) and awdlstm / resnetlm (the model
fixtures plus the char-level tokenizer.json fixture, as BEND's checkpoints ship a tokenizer).

Output: <out>/<name>.h5 with attributes family, model (the checkpoint directory relative to
tests/fixtures),
max_tokens, piece_nucleotides (0 = BEND's value), upsample, bend_commit, python_packages, and
per sequence i a dataset `emb_<i>` [L, D] float32 with the attribute `sequence`."""
import argparse
import inspect
import os
import random
import shutil
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import git_commit, package_versions  # noqa: E402

SEED = 20261125


def sequences(rng, lengths, with_n=True):
    out = []
    for n in lengths:
        s = [rng.choice("ACGT") for _ in range(n)]
        if with_n and n > 10:
            i = rng.randrange(n - 3)
            s[i:i + 2] = ["N", "N"]
        out.append("".join(s))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bend", required=True)
    ap.add_argument("--models", required=True, help="tests/fixtures/models")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bend-commit")
    a = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(1)
    sys.path.insert(0, a.bend)
    import bend.utils.embedders as E
    from make_tokenizer_fixtures import compat_character_tokenizer  # transformers > 4.33 shim
    E.device = torch.device("cpu")
    commit = git_commit(a.bend, a.bend_commit)
    versions = package_versions(("torch", "transformers", "tokenizers", "numpy", "h5py"), missing=None)
    rng = random.Random(SEED)
    M = lambda name: os.path.join(a.models, name)  # noqa: E731
    os.makedirs(a.out, exist_ok=True)

    def hyena():
        emb = E.HyenaDNAEmbedder.__new__(E.HyenaDNAEmbedder)
        parent, name = os.path.split(M("hyenadna"))
        emb.model = E.HyenaDNAPreTrainedModel.from_pretrained(parent, name, download=False,
                                                              device="cpu").eval()
        emb.max_length = 64  # config l_max 66 - 2, as the real models' table entries are
        emb.tokenizer = compat_character_tokenizer(E.CharacterTokenizer)(
            characters=["A", "C", "G", "T", "N"], model_max_length=emb.max_length + 2,
            add_special_tokens=False)
        emb.return_logits = emb.return_loss = False
        return emb

    def dnabert2():
        # BEND HEAD's quirk (docs: /work/shared/spec/transformer-models.md 4.4): its MosaicBERT
        # copy returns hidden_states as one [B, S, D] tensor, so embed()'s ['hidden_states'][-1]
        # indexes the batch and the upsampling assertion fails. The intended value (BEND's paper
        # path, BertModel(...)[0]) is what the wrapper hands embed(); embed()'s code is unchanged.
        emb = loaded(E.DNABert2Embedder, M("dnabert2"))
        mlm = emb.model

        class LastLayer:
            def __call__(self, ids, output_hidden_states=False):
                return {"hidden_states": [mlm.bert(ids)[0]]}

        emb.model = LastLayer()
        return emb

    def derived(name, src, files, tokenizer_dir=None):
        """A checkpoint directory under <out>/models made from a tests/fixtures/models one."""
        dst = os.path.join(a.out, "models", name)
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        for f in files:
            shutil.copy(os.path.join(src, f), dst)
        if tokenizer_dir:
            for f in os.listdir(tokenizer_dir):
                shutil.copy(os.path.join(tokenizer_dir, f), dst)
        return dst

    def dnabert_long():
        # The dnabert6 fixture with 520 positions (its 128 first, the rest seeded random), saved
        # as a BertModel: sequences of > 512 k-mers run through BEND's hard-coded 512-id split.
        from transformers import BertConfig, BertForMaskedLM, BertModel
        src = M("dnabert6")
        dst = derived("dnabert6_long", src, ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"])
        cfg = BertConfig.from_pretrained(src)
        cfg.max_position_embeddings = 520
        cfg.architectures = ["BertModel"]
        sd = {k[len("bert."):]: v for k, v in BertForMaskedLM.from_pretrained(src).state_dict().items()
              if k.startswith("bert.")}
        old = sd["embeddings.position_embeddings.weight"]
        g = torch.Generator().manual_seed(SEED)
        new = torch.randn(520, old.shape[1], generator=g) * 0.02
        new[:old.shape[0]] = old
        sd["embeddings.position_embeddings.weight"] = new
        m = BertModel(cfg, add_pooling_layer=False)
        missing, unexpected = m.load_state_dict(sd, strict=False)
        assert not [k for k in missing if "position_ids" not in k and "token_type_ids" not in k], missing
        m.save_pretrained(dst, safe_serialization=True)
        return loaded(E.DNABertEmbedder, dst, kmer=6)

    def seqlm(cls, name):
        # BEND's AWD-LSTM / ResNet-LM checkpoints ship a tokenizer (AutoTokenizer.from_pretrained);
        # the model fixtures do not: the char-level tokenizer.json fixture is added (ids A..T = 3..6
        # fit the fixtures' 7-row vocabularies; the sequences have no N).
        dst = derived(name, M(name), ["config.json", "pytorch_model.bin"],
                      os.path.join(a.models, "..", "tokenizers", "charlevel"))
        return loaded(cls, dst)

    def loaded(cls, path, **kw):
        return cls(path, **kw)  # BaseEmbedder.__init__ calls load_model(path, **kw)

    # (fixture dir, family, make the embedder, instance attributes to shrink windows,
    #  C-side overrides (max_tokens, piece_nucleotides), upsample, sequence lengths)
    cases = [
        ("dnabert6", "dnabert", lambda: loaded(E.DNABertEmbedder, M("dnabert6"), kmer=6), {},
         (0, 0), True, [6, 40, 120]),
        ("nt_v1", "nucleotide_transformer", lambda: loaded(E.NucleotideTransformerEmbedder, M("nt_v1")),
         {"max_seq_len": 90, "max_tokens": 8}, (8, 90), True, [5, 40, 250]),
        ("dnabert2", "dnabert2", dnabert2,
         {"max_length": 100}, (0, 100), True, [9, 60, 260]),
        ("gena_lm_bert", "gena_lm", lambda: loaded(E.GENALMEmbedder, M("gena_lm_bert")),
         {"max_length": 12}, (12, 0), True, [9, 60, 260]),
        ("gena_lm_bigbird", "gena_lm", lambda: loaded(E.GENALMEmbedder, M("gena_lm_bigbird")),
         {"max_length": 30}, (30, 0), True, [9, 60, 260]),
        ("grover", "grover", lambda: loaded(E.GROVEREmbedder, M("grover")),
         {"max_length": 12}, (12, 0), True, [9, 60, 260]),
        ("hyenadna", "hyenadna", hyena, {}, (0, 0), False, [5, 64, 150]),
        ("dnabert6_long", "dnabert", dnabert_long, {}, (0, 0), True, [1100]),
        ("awdlstm", "awdlstm", lambda: seqlm(E.AWDLSTMEmbedder, "awdlstm"), {}, (0, 0), False, [7, 90]),
        ("resnetlm", "resnetlm", lambda: seqlm(E.ConvNetEmbedder, "resnetlm"), {}, (0, 0), False, [7, 90]),
    ]
    derived_dirs = {"dnabert6_long", "awdlstm", "resnetlm"}
    for dirname, family, make, attrs, (max_tokens, piece), upsample, lengths in cases:
        try:
            emb = make()
        except Exception as e:  # noqa: BLE001 - report and go on with the other families
            print(f"{dirname}: BEND's embedder could not be loaded: {type(e).__name__}: {e}")
            continue
        for k, v in attrs.items():
            setattr(emb, k, v)
        seqs = sequences(rng, lengths, with_n=family not in ("awdlstm", "resnetlm"))
        model_rel = ("embedders/models/" if dirname in derived_dirs else "models/") + dirname
        path = os.path.join(a.out, f"{dirname}.h5")
        with h5py.File(path, "w") as f:
            f.attrs.update(family=family, model=model_rel, max_tokens=max_tokens,
                           piece_nucleotides=piece, upsample=int(upsample), bend_commit=commit,
                           python_packages=versions, seed=SEED)
            for i, s in enumerate(seqs):
                kw = dict(disable_tqdm=True, upsample_embeddings=upsample)
                if "remove_special_tokens" in inspect.signature(emb.embed).parameters:
                    kw["remove_special_tokens"] = True  # AWD-LSTM / ConvNet embed() has none
                out = emb.embed([s], **kw)[0]
                out = np.asarray(out, dtype=np.float32).reshape(-1, out.shape[-1])
                ds = f.create_dataset(f"emb_{i}", data=out)
                ds.attrs["sequence"] = s
        print(f"{dirname:16s} {os.path.getsize(path) / 1024:7.1f} KiB  rows "
              f"{[len(s) for s in seqs]}")


if __name__ == "__main__":
    main()
