#!/usr/bin/env python3
"""Build tiny reference checkpoints of BEND's language-model families, in their real on-disk layouts,
and record what PyTorch computes with them.

    python make_model_fixtures.py --bend /path/to/BEND-checkout --out tests/fixtures/models

For every family a directory under --out holds:
  config.json                 the real field names (and values where they matter), tiny dimensions
  weights                     as the real checkpoints ship them: pytorch_model.bin
                              (save_pretrained(safe_serialization=False)), model.safetensors for the
                              BERT/ESM ones, a Lightning-style weights.ckpt for HyenaDNA
  tokenizer files             where the family's real checkpoint ships them (vocab.txt,
                              tokenizer.json, tokenizer_config.json, special_tokens_map.json)
  tensors.json                per weights file: every tensor's dtype and shape as read back from the
                              file with torch / safetensors, and the parameter count (elements of
                              floating-point tensors, each distinct storage region counted once)
  expected.h5                 fixed token-id sequences and the hidden states computed for them

Models are random-initialised with a fixed seed. HF-class models are built from the transformers
classes; DNABERT-2, GENA-LM (BERT), HyenaDNA, AWD-LSTM and ResNet-LM from the upstream BEND checkout
given by --bend (imported at run time; nothing is copied). Expected outputs are computed with the
model reloaded from the written directory the way BEND loads it, so the files on disk are what
produced them. See tools/reference/README.md for the layout of expected.h5 and what was skipped.
"""
import argparse
import json
import os
import random
import shutil
import sys
import types

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import git_commit, package_versions  # noqa: E402

SEED = 20240917
DNA_LENGTHS = (7, 31, 64)   # 64 = HyenaDNA fixture's max_length (l_max 66 with CLS/SEP)

TORCH_TO_ST = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


# ---------------------------------------------------------------------------------------------
# Upstream BEND modules, imported from the checkout without running bend/__init__.py
# ---------------------------------------------------------------------------------------------

def load_bend(bend_dir):
    pkg_dir = os.path.join(bend_dir, "bend")
    if not os.path.isfile(os.path.join(pkg_dir, "models", "hyena_dna.py")):
        sys.exit(f"{bend_dir} does not look like a BEND checkout (no bend/models/hyena_dna.py)")
    sys.path.insert(0, bend_dir)
    # bend/__init__.py imports bend.utils.embedders (everything, incl. downloads); bend/models/
    # __init__.py imports the downstream models. Neither is needed: register bare packages.
    for name, path in (("bend", pkg_dir), ("bend.models", os.path.join(pkg_dir, "models"))):
        mod = types.ModuleType(name)
        mod.__path__ = [path]
        mod.__file__ = os.path.join(path, "__init__.py")
        sys.modules[name] = mod
    import importlib
    mods = {}
    for short in ("dnabert2", "gena_lm", "hyena_dna", "awd_lstm", "dilated_cnn"):
        mods[short] = importlib.import_module(f"bend.models.{short}")
    return mods



# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

def dna_sequences():
    rng = random.Random(SEED)
    seqs = []
    for n in DNA_LENGTHS:
        s = [rng.choice("ACGT") for _ in range(n)]
        seqs.append(s)
    seqs[1][13] = "N"           # one N: [UNK] for k-mer / BPE vocabularies, its own id elsewhere
    return ["".join(s) for s in seqs]


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------

def merge_config(path, extra, drop=()):
    """Overlay the fields the real checkpoints' config.json spell out on what save_pretrained wrote."""
    with open(path) as fh:
        cfg = json.load(fh)
    cfg.update(extra)
    for k in drop:
        cfg.pop(k, None)
    with open(path, "w") as fh:
        json.dump(dict(sorted(cfg.items())), fh, indent=2)
        fh.write("\n")


def read_state(path):
    """name -> tensor, as stored in one weights file."""
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if path.endswith(".ckpt"):
        obj = obj["state_dict"]
    return obj


def parameter_count(state):
    """Elements of floating-point tensors; tensors sharing a storage region count once."""
    seen = set()
    total = 0
    for t in state.values():
        if not t.is_floating_point():
            continue
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))
        if key in seen:
            continue
        seen.add(key)
        total += t.numel()
    return total


def write_tensors_json(fixdir, files, torch_parameters):
    out = {"torch_parameters": torch_parameters, "files": {}}
    for f in files:
        state = read_state(os.path.join(fixdir, f))
        out["files"][f] = {
            "tensors": {k: {"dtype": TORCH_TO_ST[v.dtype], "shape": list(v.shape)}
                        for k, v in sorted(state.items())},
            "count": len(state),
            "parameters": parameter_count(state),
        }
    with open(os.path.join(fixdir, "tensors.json"), "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True)
        fh.write("\n")


def f32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def write_expected(fixdir, family, records, attrs):
    """records: list of dicts with input_ids (1-D), last_hidden_state [T,H], hidden_states list,
    optional sequence (str) and per-record attrs."""
    with h5py.File(os.path.join(fixdir, "expected.h5"), "w") as h5:
        h5.attrs["family"] = family
        for k, v in attrs.items():
            h5.attrs[k] = v
        h5.attrs["n_sequences"] = len(records)
        for i, r in enumerate(records):
            g = h5.create_group(str(i))
            g.create_dataset("input_ids", data=np.asarray(r["input_ids"], dtype=np.int64))
            g.create_dataset("last_hidden_state", data=np.asarray(r["last_hidden_state"], np.float32))
            if r.get("hidden_states"):
                hs = g.create_group("hidden_states")
                for j, x in enumerate(r["hidden_states"]):
                    hs.create_dataset(str(j), data=np.asarray(x, np.float32))
            if "sequence" in r:
                g.attrs["sequence"] = r["sequence"]
            for k, v in r.get("attrs", {}).items():
                g.attrs[k] = v


def check_same(a, b, what):
    if not torch.equal(a, b):
        d = (a - b).abs().max().item()
        sys.exit(f"{what}: reloaded model differs (max abs diff {d})")


def hf_hidden(model, ids):
    """(last, [embeddings, layer1..layerN]) for HF-style models with output_hidden_states."""
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=True)
    return out.last_hidden_state[0], [h[0] for h in out.hidden_states]


def records_from(model_fn, id_lists, seqs):
    recs = []
    for i, ids in enumerate(id_lists):
        last, hs = model_fn(ids)
        r = {"input_ids": ids, "last_hidden_state": f32(last), "hidden_states": [f32(h) for h in hs]}
        if seqs is not None:
            r["sequence"] = seqs[i]
        recs.append(r)
    return recs


# ---------------------------------------------------------------------------------------------
# Tokenizer files
# ---------------------------------------------------------------------------------------------

def kmer_vocab(k):
    """DNABERT's vocab.txt order: specials, then k-mers over A,T,C,G with the first letter most
    significant."""
    alpha = "ATCG"
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for i in range(4 ** k):
        s = ""
        for j in range(k):
            s = alpha[(i >> (2 * j)) & 3] + s
        toks.append(s)
    return toks


def nt_v1_vocab():
    alpha = "ATCG"
    toks = ["<unk>", "<pad>", "<mask>", "<cls>"]
    for i in range(4 ** 6):
        s = ""
        for j in range(6):
            s = alpha[(i >> (2 * j)) & 3] + s
        toks.append(s)
    toks += ["A", "T", "C", "G", "N", "<eos>", "<bos>"]
    return toks


def write_lines(path, lines):
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def train_bpe(vocab_size, whitespace_pretok):
    """A tiny HF `tokenizers` BPE trained on deterministic random DNA (ACGT only, so N is [UNK]),
    specials [UNK] [CLS] [SEP] [PAD] [MASK] = 0..4, post-processor [CLS] $A [SEP]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast
    rng = random.Random(SEED + 1)
    corpus = []
    motifs = ["TATA", "CACGTG", "GGGCGG", "TTAGGG", "AATAAA"]
    for _ in range(400):
        parts = []
        while sum(map(len, parts)) < 60:
            parts.append(rng.choice(motifs) if rng.random() < 0.3 else rng.choice("ACGT"))
        corpus.append("".join(parts))
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    if whitespace_pretok:
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=list("ACGT"), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]")
    assert fast.vocab_size == vocab_size, fast.vocab_size
    return fast


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------

def save_hf(model, fixdir, safetensors_too):
    model.save_pretrained(fixdir, safe_serialization=False)
    files = ["pytorch_model.bin"]
    if safetensors_too:
        model.save_pretrained(fixdir, safe_serialization=True)
        os.chmod(os.path.join(fixdir, "model.safetensors"), 0o644)
        files.append("model.safetensors")
    return files


def make_dnabert(fixdir, seqs, ctx):
    from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer
    k = 6
    vocab = kmer_vocab(k)
    write_lines(os.path.join(fixdir, "vocab.txt"), vocab)
    tok = BertTokenizer(os.path.join(fixdir, "vocab.txt"), do_lower_case=False,
                        model_max_length=512)
    tok.save_pretrained(fixdir)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, hidden_act="gelu",
                     max_position_embeddings=128, type_vocab_size=2, pad_token_id=0)
    torch.manual_seed(SEED)
    m = BertForMaskedLM(cfg).eval()
    files = save_hf(m, fixdir, True)
    # DNABERT's config (dnabert-config/bert-config-6) has no layer_norm_eps: HF's default applies.
    merge_config(os.path.join(fixdir, "config.json"),
                 {"architectures": ["BertForMaskedLM"], "hidden_act": "gelu",
                  "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1,
                  "initializer_range": 0.02, "max_position_embeddings": 128, "type_vocab_size": 2,
                  "num_attention_heads": 2, "num_hidden_layers": 2, "intermediate_size": 64,
                  "hidden_size": 16, "vocab_size": len(vocab), "pad_token_id": 0},
                 drop=("layer_norm_eps",))
    # BEND: BertConfig.from_pretrained + BertModel.from_pretrained (drops the `bert.` prefix)
    ref = BertModel.from_pretrained(fixdir, use_safetensors=False).eval()
    ref_st = BertModel.from_pretrained(fixdir, use_safetensors=True).eval()
    ids_list = []
    for s in seqs:
        kmers = " ".join(s[i:i + k] for i in range(len(s) - k + 1))
        ids_list.append(tok(kmers)["input_ids"])
    recs = records_from(lambda ids: hf_hidden(ref, ids), ids_list, seqs)
    for r in recs:
        check_same(torch.tensor(r["last_hidden_state"]), f32_t(hf_hidden(ref_st, r["input_ids"])[0]),
                   "dnabert safetensors")
    torch_params = sum(p.numel() for p in m.parameters())
    return files, recs, torch_params, {
        "model_class": "transformers.BertModel (saved from BertForMaskedLM)",
        "hidden_states_note": "HF output_hidden_states: 0 = embeddings (after LayerNorm), i = layer i output"}


def f32_t(t):
    return t.detach().to(torch.float32)


def make_grover(fixdir, seqs, ctx):
    from transformers import BertConfig, BertModel, BertTokenizer
    # A small GROVER-like vocabulary: BERT specials, the nucleotides, then multi-letter tokens.
    rng = random.Random(SEED + 2)
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "T", "N"]
    while len(toks) < 48:
        t = "".join(rng.choice("ACGT") for _ in range(rng.randint(2, 6)))
        if t not in toks:
            toks.append(t)
    write_lines(os.path.join(fixdir, "vocab.txt"), toks)
    tok = BertTokenizer(os.path.join(fixdir, "vocab.txt"), do_lower_case=False,
                        model_max_length=512)
    tok.save_pretrained(fixdir)
    cfg = BertConfig(vocab_size=len(toks), hidden_size=16, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=64, hidden_act="gelu",
                     max_position_embeddings=128, type_vocab_size=2, pad_token_id=0)
    torch.manual_seed(SEED)
    m = BertModel(cfg).eval()
    files = save_hf(m, fixdir, True)
    merge_config(os.path.join(fixdir, "config.json"),
                 {"architectures": ["BertModel"], "hidden_act": "gelu", "layer_norm_eps": 1e-12,
                  "position_embedding_type": "absolute", "hidden_size": 16,
                  "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                  "max_position_embeddings": 128, "type_vocab_size": 2, "vocab_size": len(toks),
                  "pad_token_id": 0})
    ref = BertModel.from_pretrained(fixdir, use_safetensors=False).eval()
    ref_st = BertModel.from_pretrained(fixdir, use_safetensors=True).eval()
    vocab = {t: i for i, t in enumerate(toks)}
    maxlen = max(len(t) for t in toks if not t.startswith("["))
    ids_list = []
    for s in seqs:   # BEND's MaxMatch: longest vocabulary entry first, [UNK] and advance 1 if none
        i, words = 0, []
        while i < len(s):
            for n in range(min(maxlen, len(s) - i), 0, -1):
                if s[i:i + n] in vocab:
                    words.append(s[i:i + n])
                    i += n
                    break
            else:
                words.append("[UNK]")
                i += 1
        ids_list.append(tok(" ".join(words))["input_ids"])
    recs = records_from(lambda ids: hf_hidden(ref, ids), ids_list, seqs)
    for r in recs:
        check_same(torch.tensor(r["last_hidden_state"]), f32_t(hf_hidden(ref_st, r["input_ids"])[0]),
                   "grover safetensors")
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "transformers.BertModel",
        "hidden_states_note": "HF output_hidden_states: 0 = embeddings (after LayerNorm), i = layer i output"}


def make_nt_v1(fixdir, seqs, ctx):
    from transformers import EsmConfig, EsmForMaskedLM, EsmTokenizer
    vocab = nt_v1_vocab()
    write_lines(os.path.join(fixdir, "vocab.txt"), vocab)
    tok = EsmTokenizer(os.path.join(fixdir, "vocab.txt"), model_max_length=1000, eos_token=None)
    tok.save_pretrained(fixdir)
    cfg = EsmConfig(vocab_size=4105, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=130, hidden_act="gelu",
                    layer_norm_eps=1e-12, position_embedding_type="absolute", token_dropout=True,
                    emb_layer_norm_before=False, pad_token_id=1, mask_token_id=2,
                    tie_word_embeddings=False, is_folding_model=False)
    torch.manual_seed(SEED)
    m = EsmForMaskedLM(cfg).eval()
    files = save_hf(m, fixdir, True)
    merge_config(os.path.join(fixdir, "config.json"),
                 {"architectures": ["EsmForMaskedLM"], "hidden_act": "gelu",
                  "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
                  "token_dropout": True, "emb_layer_norm_before": False, "pad_token_id": 1,
                  "mask_token_id": 2, "tie_word_embeddings": False, "vocab_size": 4105,
                  "max_position_embeddings": 130, "hidden_size": 16, "num_hidden_layers": 2,
                  "num_attention_heads": 2, "intermediate_size": 64,
                  "attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.0,
                  "is_folding_model": False, "esmfold_config": None, "vocab_list": None,
                  "use_cache": False})
    ref = EsmForMaskedLM.from_pretrained(fixdir, use_safetensors=False).eval()
    ref_st = EsmForMaskedLM.from_pretrained(fixdir, use_safetensors=True).eval()
    ids_list = [tok(s)["input_ids"] for s in seqs]
    for ids in ids_list:
        assert ids[0] == 3 and 4105 not in ids, ids   # <cls> first, no <eos>

    def run(model, ids):
        # BEND: model(ids, output_hidden_states=True)['hidden_states'][-1]
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_hidden_states=True)
        hs = [h[0] for h in out.hidden_states]
        return hs[-1], hs
    recs = records_from(lambda ids: run(ref, ids), ids_list, seqs)
    for r in recs:
        check_same(torch.tensor(r["last_hidden_state"]), f32_t(run(ref_st, r["input_ids"])[0]),
                   "nt safetensors")
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "transformers.EsmForMaskedLM",
        "hidden_states_note": "HF ESM output_hidden_states: 0 = embeddings (x0.88 token-dropout "
                              "scale, + positions from 2), i = layer i output for i < N, N = last "
                              "layer output AFTER emb_layer_norm_after (= last_hidden_state, "
                              "what BEND takes)"}


def make_dnabert2(fixdir, seqs, ctx):
    from transformers import BertConfig
    mod = ctx["bend"]["dnabert2"]
    tok = train_bpe(64, whitespace_pretok=True)
    tok.save_pretrained(fixdir)
    cfg = BertConfig(vocab_size=64, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                     intermediate_size=48, hidden_act="gelu", max_position_embeddings=512,
                     type_vocab_size=2, layer_norm_eps=1e-12, attention_probs_dropout_prob=0.0,
                     pad_token_id=0)
    cfg.alibi_starting_size = 512
    torch.manual_seed(SEED)
    m = mod.BertForMaskedLM(cfg).eval()
    files = save_hf(m, fixdir, False)
    merge_config(os.path.join(fixdir, "config.json"), {
        "architectures": ["BertForMaskedLM"], "alibi_starting_size": 512,
        "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
        "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": 64,
        "hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 3,
        "intermediate_size": 48, "initializer_range": 0.02,
        "auto_map": {"AutoConfig": "configuration_bert.BertConfig",
                     "AutoModel": "bert_layers.BertModel",
                     "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM",
                     "AutoModelForSequenceClassification": "bert_layers.BertForSequenceClassification"}})
    # BEND: DNABert2BertForMaskedLM.from_pretrained(model_name) (its own copy of bert_layers.py)
    ref = mod.BertForMaskedLM.from_pretrained(fixdir).eval()
    ids_list = [tok(s)["input_ids"] for s in seqs]

    def run(ids):
        x = torch.tensor([ids])
        with torch.no_grad():
            emb = ref.bert.embeddings(x, torch.zeros_like(x), None)
            layers = ref.bert.encoder(emb, torch.ones_like(x), output_all_encoded_layers=True)
        layers = [l.reshape(len(ids), -1) for l in layers]
        return layers[-1], [emb[0]] + layers
    recs = records_from(run, ids_list, seqs)
    # cross-check the last layer against the model's own forward (the BertModel path, [0])
    for r in recs:
        with torch.no_grad():
            seq_out = ref.bert(torch.tensor([r["input_ids"]]))[0][0]
        check_same(torch.tensor(r["last_hidden_state"]), f32_t(seq_out), "dnabert2 forward")
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "bend.models.dnabert2.BertForMaskedLM (pure-PyTorch attention path)",
        "hidden_states_note": "0 = embeddings (word + token type 0, LayerNorm; no positions), "
                              "i = layer i output (encoder output_all_encoded_layers=True); "
                              "last_hidden_state = last layer output (BEND's BertModel(...)[0])"}


def make_gena_bert(fixdir, seqs, ctx):
    from transformers import BertConfig
    mod = ctx["bend"]["gena_lm"]
    tok = train_bpe(64, whitespace_pretok=False)
    tok.save_pretrained(fixdir)
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, hidden_act="gelu", max_position_embeddings=128,
                     type_vocab_size=2, layer_norm_eps=1e-5, pad_token_id=3,
                     position_embedding_type="absolute")
    cfg.pre_layer_norm = True
    torch.manual_seed(SEED)
    m = mod.BertForMaskedLM(cfg).eval()
    # BEND's copy of the GENA code predates transformers' `_tied_weights_keys`; without it
    # save_pretrained(safe_serialization=True) refuses the tied decoder weight/bias.
    m._tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]
    files = save_hf(m, fixdir, True)
    merge_config(os.path.join(fixdir, "config.json"), {
        "architectures": ["BertForMaskedLM"], "pre_layer_norm": True, "layer_norm_eps": 1e-5,
        "hidden_act": "gelu", "position_embedding_type": "absolute", "pad_token_id": 3,
        "vocab_size": 64, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "max_position_embeddings": 128, "type_vocab_size": 2,
        "auto_map": {"AutoConfig": "configuration_bert.BertConfig",
                     "AutoModel": "modeling_bert.BertModel",
                     "AutoModelForMaskedLM": "modeling_bert.BertForMaskedLM"}})
    # BEND: GenaLMBertModel.from_pretrained(model_name) (drops the `bert.` prefix)
    ref = mod.BertModel.from_pretrained(fixdir, use_safetensors=False).eval()
    ref_st = mod.BertModel.from_pretrained(fixdir, use_safetensors=True).eval()
    ids_list = [tok(s)["input_ids"] for s in seqs]
    recs = records_from(lambda ids: hf_hidden(ref, ids), ids_list, seqs)
    for r in recs:
        check_same(torch.tensor(r["last_hidden_state"]), f32_t(hf_hidden(ref_st, r["input_ids"])[0]),
                   "gena safetensors")
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "bend.models.gena_lm.BertModel (saved from its BertForMaskedLM)",
        "hidden_states_note": "0 = embeddings (after LayerNorm), i = layer i output (pre-LN "
                              "layers; no final LayerNorm, so the last entry = last_hidden_state)"}


def make_gena_bigbird(fixdir, seqs, ctx):
    from transformers import BigBirdConfig, BigBirdForMaskedLM, BigBirdModel
    tok = train_bpe(64, whitespace_pretok=False)
    tok.save_pretrained(fixdir)
    cfg = BigBirdConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, hidden_act="gelu_new", max_position_embeddings=1024,
                        type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=3, bos_token_id=1,
                        eos_token_id=2, sep_token_id=2, attention_type="block_sparse",
                        block_size=64, num_random_blocks=3, rescale_embeddings=False,
                        use_bias=True)
    torch.manual_seed(SEED)
    m = BigBirdForMaskedLM(cfg).eval()
    files = save_hf(m, fixdir, False)
    merge_config(os.path.join(fixdir, "config.json"), {
        "architectures": ["BigBirdForMaskedLM"], "attention_type": "block_sparse",
        "block_size": 64, "num_random_blocks": 3, "hidden_act": "gelu_new",
        "layer_norm_eps": 1e-12, "max_position_embeddings": 1024, "pad_token_id": 3,
        "rescale_embeddings": False, "use_bias": True, "vocab_size": 64, "hidden_size": 16,
        "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "type_vocab_size": 2, "position_embedding_type": "absolute"})
    ids_list = [tok(s)["input_ids"] for s in seqs]
    # One sequence longer than (5 + 2*3)*64 = 704 tokens, so block-sparse attention really runs.
    rng = random.Random(SEED + 3)
    long_ids = [1] + [rng.randrange(5, 64) for _ in range(768)] + [2]
    recs = []
    for i, ids in enumerate(ids_list + [long_ids]):
        # A fresh model per sequence: HF switches a BigBird model object to full attention for
        # good once it sees a short input (BEND's results then depend on order); here each
        # sequence gets the mode its own length selects.
        ref = BigBirdModel.from_pretrained(fixdir).eval()
        last, hs = hf_hidden(ref, ids)
        r = {"input_ids": ids, "last_hidden_state": f32(last),
             "attrs": {"attention_type": ref.attention_type}}
        if i < len(ids_list):
            r["hidden_states"] = [f32(h) for h in hs]
            r["sequence"] = seqs[i]
        recs.append(r)
    assert recs[-1]["attrs"]["attention_type"] == "block_sparse"
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "transformers.BigBirdModel (saved from BigBirdForMaskedLM)",
        "hidden_states_note": "HF output_hidden_states: 0 = embeddings, i = layer i output; the "
                              "last sequence (770 tokens, block-sparse) has last_hidden_state only; "
                              "attr attention_type = the mode HF used for that sequence"}


def make_hyenadna(fixdir, seqs, ctx):
    mod = ctx["bend"]["hyena_dna"]
    config = {
        "d_model": 32, "n_layer": 2, "d_inner": 64, "vocab_size": 12, "resid_dropout": 0.0,
        "embed_dropout": 0.1, "fused_mlp": False, "fused_dropout_add_ln": True,
        "checkpoint_mixer": True, "checkpoint_mlp": False, "residual_in_fp32": True,
        "pad_vocab_size_multiple": 8, "return_hidden_state": True,
        "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 16, "local_order": 3,
                  "l_max": 66, "modulate": True, "w": 10, "lr": 6e-4, "wd": 0.0,
                  "lr_pos_emb": 0.0},
    }
    with open(os.path.join(fixdir, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    torch.manual_seed(SEED)
    scratch = mod.HyenaDNAModel(**json.loads(json.dumps(config))).eval()
    # Lightning checkpoint as the HyenaDNA training code writes it: the LightningModule holds the
    # model under `model`, and with checkpoint_mixer the blocks' mixer/mlp sit one level deeper
    # (`.mixer.layer`, `.mlp.layer`), which is what BEND's loader undoes.
    sd = {}
    for k, v in scratch.state_dict().items():
        key = "model." + k
        if "backbone" in k:
            key = mod.inject_substring(key)
        sd[key] = v
    ckpt = {"epoch": 3, "global_step": 1200, "pytorch-lightning_version": "1.8.6",
            "state_dict": sd, "loops": {}, "callbacks": {}, "optimizer_states": [],
            "lr_schedulers": []}
    torch.save(ckpt, os.path.join(fixdir, "weights.ckpt"))
    # BEND: HyenaDNAPreTrainedModel.from_pretrained(path, model_name) reads config.json + weights.ckpt
    parent, name = os.path.split(fixdir.rstrip("/"))
    ref = mod.HyenaDNAPreTrainedModel.from_pretrained(parent, name, download=False, device="cpu")
    ref.eval()
    char_ids = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
    ids_list = [[0] + [char_ids[c] for c in s] + [1] for s in seqs]
    assert max(len(i) for i in ids_list) == config["layer"]["l_max"]

    def run(ids):
        block_out = []
        hooks = [b.register_forward_hook(
            lambda _m, _i, o: block_out.append((o[0] + o[1]).detach()))
            for b in ref.backbone.layers]
        emb_out = []
        hooks.append(ref.backbone.embeddings.register_forward_hook(
            lambda _m, _i, o: emb_out.append(o.detach())))
        with torch.no_grad():
            last = ref(torch.tensor([ids]))
        for h in hooks:
            h.remove()
        return last[0], [emb_out[0][0]] + [b[0] for b in block_out]
    recs = records_from(run, ids_list, seqs)
    return ["weights.ckpt"], recs, sum(p.numel() for p in scratch.parameters()), {
        "model_class": "bend.models.hyena_dna.HyenaDNAModel via HyenaDNAPreTrainedModel.from_pretrained",
        "hidden_states_note": "0 = word embeddings, i = residual stream after block i "
                              "(the block's returned hidden_states + residual); last_hidden_state = "
                              "ln_f output (what BEND embeds; CLS/SEP not removed here)"}


def make_awdlstm(fixdir, seqs, ctx):
    mod = ctx["bend"]["awd_lstm"]
    cfg = mod.AWDLSTMConfig(vocab_size=7, hidden_size=32, input_size=16, num_hidden_layers=2,
                            reset_token_id=None, bidirectional=False, batch_first=True,
                            weight_dropout_prob=0.5)
    torch.manual_seed(SEED)
    m = mod.AWDLSTMForLM(cfg).eval()
    # One training-mode forward of the encoder, as during pre-training: WeightDrop then leaves a
    # dropped (masked, 1/(1-p)-scaled) copy in `module.h2h.weight`, which is what a checkpoint
    # saved from training holds next to `weight_raw`. BEND's eval forward overwrites h2h.weight
    # with weight_raw, so only weight_raw may be used (the fixture makes the two differ).
    m.encoder.train()
    with torch.no_grad():
        m.encoder(torch.tensor([[0, 1, 2, 3, 4, 5, 6]]))
    m.eval()
    files = save_hf(m, fixdir, False)
    merge_config(os.path.join(fixdir, "config.json"), {
        "architectures": ["AWDLSTMForLM"], "vocab_size": 7, "hidden_size": 32, "input_size": 16,
        "num_hidden_layers": 2, "reset_token_id": None, "bidirectional": False,
        "batch_first": True, "weight_dropout_prob": 0.5, "dropout_prob": 0.4,
        "hidden_dropout_prob": 0.3, "embedding_dropout_prob": 0.1, "input_dropout_prob": 0.65,
        "alpha": 2, "beta": 1})
    # BEND: AWDLSTMModelForInference.from_pretrained(model_path)
    ref = mod.AWDLSTMModelForInference.from_pretrained(fixdir).eval()
    rng = random.Random(SEED + 4)
    ids_list = [[rng.randrange(7) for _ in range(n)] for n in DNA_LENGTHS]

    def run(ids):
        emb = []
        h = ref.encoder.embedding.register_forward_hook(lambda _m, _i, o: emb.append(o.detach()))
        with torch.no_grad():
            out = ref(torch.tensor([ids]))
        h.remove()
        return out.last_hidden_state[0], [emb[0][:, 0]] + [x[0] for x in out.hidden_states]
    recs = records_from(run, ids_list, None)
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "bend.models.awd_lstm.AWDLSTMModelForInference (saved from AWDLSTMForLM)",
        "hidden_states_note": "0 = embedding output, i = LSTM layer i output (outputs_raw); "
                              "ids are random in [0, 7): the released tokenizer is not known"}


def make_resnetlm(fixdir, seqs, ctx):
    mod = ctx["bend"]["dilated_cnn"]
    cfg = mod.ConvNetConfig(vocab_size=7, hidden_size=16, n_layers=4, kernel_size=9,
                            dilation_double_every=1, dilation_max=4, dilation_cycle=3)
    torch.manual_seed(SEED)
    m = mod.ConvNetForMaskedLM(cfg).eval()
    files = save_hf(m, fixdir, False)
    merge_config(os.path.join(fixdir, "config.json"), {
        "architectures": ["ConvNetForMaskedLM"], "vocab_size": 7, "hidden_size": 16,
        "n_layers": 4, "kernel_size": 9, "dilation_double_every": 1, "dilation_max": 4,
        "dilation_cycle": 3, "initializer_range": 0.02})
    # BEND: ConvNetModel.from_pretrained(model_path) (drops the `model.` prefix)
    ref = mod.ConvNetModel.from_pretrained(fixdir).eval()
    assert ref.dilation_schedule == [1, 2, 4, 1], ref.dilation_schedule
    rng = random.Random(SEED + 5)
    ids_list = [[rng.randrange(7) for _ in range(n)] for n in DNA_LENGTHS]

    def run(ids):
        outs = []
        hooks = [l.register_forward_hook(lambda _m, _i, o: outs.append(o.detach()))
                 for l in ref.encoder]
        emb = []
        hooks.append(ref.embedding.register_forward_hook(lambda _m, _i, o: emb.append(o.detach())))
        with torch.no_grad():
            last = ref(input_ids=torch.tensor([ids])).last_hidden_state
        for h in hooks:
            h.remove()
        return last[0], [emb[0][0]] + [o[0] for o in outs]
    recs = records_from(run, ids_list, None)
    return files, recs, sum(p.numel() for p in m.parameters()), {
        "model_class": "bend.models.dilated_cnn.ConvNetModel (saved from ConvNetForMaskedLM)",
        "hidden_states_note": "0 = one-hot embedding into hidden_size channels, i = layer i "
                              "output; ids random in [0, 7): the released tokenizer is not known"}


FAMILIES = [
    # directory, family, maker
    ("dnabert6", "dnabert", make_dnabert),
    ("grover", "grover", make_grover),
    ("nt_v1", "nucleotide_transformer", make_nt_v1),
    ("dnabert2", "dnabert2", make_dnabert2),
    ("gena_lm_bert", "gena_lm", make_gena_bert),
    ("gena_lm_bigbird", "gena_lm", make_gena_bigbird),
    ("hyenadna", "hyenadna", make_hyenadna),
    ("awdlstm", "awdlstm", make_awdlstm),
    ("resnetlm", "resnetlm", make_resnetlm),
]



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bend", required=True, help="upstream BEND checkout (or export)")
    ap.add_argument("--out", required=True, help="output directory (tests/fixtures/models)")
    ap.add_argument("--bend-commit", help="commit to record when --bend is not a git work tree")
    ap.add_argument("--only", help="comma-separated fixture directories to (re)make")
    args = ap.parse_args()

    import warnings
    warnings.filterwarnings("ignore")
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(1)

    ctx = {"bend": load_bend(args.bend)}
    commit = git_commit(args.bend, args.bend_commit)
    versions = package_versions(("torch", "transformers", "tokenizers", "safetensors", "h5py",
                                 "numpy", "einops", "torchvision"), missing=None)
    seqs = dna_sequences()
    only = set(args.only.split(",")) if args.only else None
    os.makedirs(args.out, exist_ok=True)
    for dirname, family, maker in FAMILIES:
        if only and dirname not in only:
            continue
        fixdir = os.path.join(args.out, dirname)
        if os.path.isdir(fixdir):
            shutil.rmtree(fixdir)
        os.makedirs(fixdir)
        files, recs, torch_params, attrs = maker(fixdir, seqs, ctx)
        # save_pretrained may leave generation_config.json for some classes: not part of the
        # real layouts BEND reads.
        gen = os.path.join(fixdir, "generation_config.json")
        if os.path.exists(gen):
            os.remove(gen)
        write_tensors_json(fixdir, files, torch_params)
        attrs = dict(attrs, bend_commit=commit, python_packages=versions, seed=SEED)
        write_expected(fixdir, family, recs, attrs)
        size = sum(os.path.getsize(os.path.join(fixdir, f)) for f in os.listdir(fixdir))
        print(f"{dirname:16s} {family:24s} {size / 1024:8.1f} KiB  files: "
              f"{' '.join(sorted(os.listdir(fixdir)))}")


if __name__ == "__main__":
    main()
