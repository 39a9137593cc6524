#!/usr/bin/env python3
"""Build the tokenizer parity fixture: small tokenizer directories plus what the upstream
tokenizers (Hugging Face transformers / tokenizers, driven through upstream BEND's embedders) make
of a fixed set of sequences.

    python make_tokenizer_fixtures.py --bend /path/to/BEND-checkout \
        --caduceus /path/to/caduceus-checkout --out tests/fixtures/tokenizers

Every vocabulary / tokenizer file is built here (no hub access): DNABERT k = 3..6 vocab.txt in
DNABERT's order, Nucleotide Transformer v1 and v2 vocab.txt layouts, tiny BPE tokenizers trained
with the `tokenizers` library on random DNA and configured like DNABERT-2's and GENA-LM's
tokenizer.json (plus a byte-level one), a GROVER-like variable-length vocab.txt, a HyenaDNA and a
Caduceus directory, and a character-level WordLevel tokenizer.json (how a ResNet-LM / AWD-LSTM
directory might look). Reference ids come from:

- DNABERT: transformers' BertTokenizer on the k-mer text built by BEND's DNABertEmbedder;
- NT v1/v2: EsmTokenizer (AutoTokenizer on the directory, as BEND loads it);
- BPE: PreTrainedTokenizerFast / the tokenizers library (ids and offsets);
- GROVER: BEND's GROVEREmbedder.max_match_tokenize followed by BertTokenizer;
- HyenaDNA: BEND's CharacterTokenizer; Caduceus: CaduceusTokenizer from the caduceus checkout.

For every tokenizer that BEND drives, the embedder class itself is run with a stub model that
records the id windows it is given (BEND's own chunking code): `bend_windows`.

No BEND or caduceus code is copied into the repository: the checkouts are parsed / imported at
run time. Layout of expected.json: see tools/reference/README.md.
"""
import argparse
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import types

from upstream_source import exec_selected, git_commit, package_versions  # noqa: E402  (tools/reference/upstream_source.py)

# ---------------------------------------------------------------------------------------------
# Deterministic long sequences (re-made by the C test from the recorded parameters)
# ---------------------------------------------------------------------------------------------
MASK64 = (1 << 64) - 1


def gen_sequence(spec):
    """splitmix64 stream: nucleotide i = "ACGT"[z_i >> 62] where z_i is the i-th splitmix64
    output for the seed; then position p becomes 'N' when p % n_period == n_offset (n_period > 0)
    and inside every [pos, pos + len) of n_runs; then lower-cased inside lower_runs."""
    state = spec["seed"] & MASK64
    out = []
    for _ in range(spec["length"]):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        out.append("ACGT"[z >> 62])
    period = spec.get("n_period", 0)
    if period:
        for p in range(len(out)):
            if p % period == spec.get("n_offset", 0):
                out[p] = "N"
    for pos, n in spec.get("n_runs", []):
        for p in range(pos, min(len(out), pos + n)):
            out[p] = "N"
    for pos, n in spec.get("lower_runs", []):
        for p in range(pos, min(len(out), pos + n)):
            out[p] = out[p].lower()
    return "".join(out)


SHORT = [
    ("short10", "ACGTACGTAC"),
    ("bend_example", "GATTTATTAGGGGAGATTTTATATATCCCGA"),
    ("with_n", "ACGNACGTACGT"),
    ("n_run12", "ACGT" + "N" * 12 + "ACGTTTGCA"),
    ("n_run9", "ACGT" + "N" * 9 + "ACG"),
    ("lower_raw", "acgtACGTnnacGT"),       # raw lower case reaching the tokenizer
    ("lower_upper", "ACGTACGTNNACGT"),     # the same after BEND's .upper()
    ("iupac", "ACGTRYKMSWBDHVNACGTU"),
    ("len1", "A"),
    ("len5", "ACGTA"),
    ("len7", "ACGTACG"),
    ("empty", ""),
    ("non_dna", "ACGTACxyzACGTAC"),
    ("punct", "ACG-TACGT.AC"),
    ("spaces", " ACGT ACG  T "),
    ("tab_cr", "AC\tGT\rACGTA"),
    ("special_text", "AC [MASK]GT<cls>ACGTAC[UNK]A<unk>"),  # special-token strings in the input
]

LONG = {
    # > 512 DNABERT tokens for every k (one 3-N run)
    "long_dnabert": {"seed": 11, "length": 700, "n_runs": [[100, 3]]},
    # NT: > 5994 / 12282 nt (several raw chunks) and > 1000 / 2048 ids in one chunk
    "long_nt": {"seed": 12, "length": 12800, "n_period": 47, "n_offset": 40},
    # one BPE word of more than 10,000 nt (two DNABERT-2 raw chunks), a 15-N run for GENA
    "long_bpe": {"seed": 13, "length": 12000, "n_runs": [[5000, 15]]},
    # > 510 MaxMatch tokens
    "long_grover": {"seed": 14, "length": 3000, "n_runs": [[1500, 4]]},
    # > 1024 nt: two HyenaDNA-tiny chunks
    "long_char": {"seed": 15, "length": 1500, "n_runs": [[700, 5]], "lower_runs": [[20, 10]]},
}

# ---------------------------------------------------------------------------------------------
# Upstream BEND, loaded from the checkout (see make_onehot_fixture.py for the approach)
# ---------------------------------------------------------------------------------------------
EMBEDDER_CLASSES = ["BaseEmbedder", "DNABertEmbedder", "NucleotideTransformerEmbedder",
                    "GENALMEmbedder", "HyenaDNAEmbedder", "DNABert2Embedder", "GROVEREmbedder",
                    "CaduceusEmbedder"]


class StubModel:
    """Stands in for every BEND model: records the id windows it is called with and returns
    zeros of the shape BEND's code expects."""

    def __init__(self, log, style):
        self.log, self.style = log, style

    def to(self, *a, **k):
        return self

    def eval(self):
        return self

    def __call__(self, *args, **kwargs):
        import torch
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.log.append([int(x) for x in ids[0].tolist()])
        out = torch.zeros((1, ids.shape[1], 1))
        if self.style == "tuple":
            return (out,)
        if self.style == "hidden_states":
            return {"hidden_states": [out]}
        if self.style == "last_hidden_state":
            return {"last_hidden_state": out}
        return out  # HyenaDNA: the model returns the tensor itself


class StubLoader:
    """`X.from_pretrained(...)` returning a StubModel (for the model classes BEND imports)."""

    def __init__(self, log, style):
        self.log, self.style = log, style

    def from_pretrained(self, *a, **k):
        return StubModel(self.log, self.style)


def load_upstream(bend_dir):
    """Namespace holding BEND's embedder classes (parsed from bend/utils/embedders.py with only the
    imports they need; BEND's model modules are replaced by stubs) and CharacterTokenizer (parsed
    from bend/models/hyena_dna.py)."""
    pkg_dir = os.path.join(bend_dir, "bend")
    emb_path = os.path.join(pkg_dir, "utils", "embedders.py")
    hy_path = os.path.join(pkg_dir, "models", "hyena_dna.py")
    for p in (emb_path, hy_path):
        if not os.path.isfile(p):
            sys.exit(f"{bend_dir} does not look like a BEND checkout (no {p})")

    # CharacterTokenizer: the class and the imports it uses, nothing else of hyena_dna.py
    hy_ns = exec_selected(hy_path, "bend.models.hyena_dna", classes={"CharacterTokenizer"},
                          imported_names={"AddedToken", "PreTrainedTokenizer", "Dict", "List",
                                          "Optional", "Sequence", "Union", "Path", "json", "os"})
    ns = exec_selected(emb_path, "bend.utils.embedders",
                       modules={"torch", "numpy", "typing", "functools", "os", "tqdm.auto",
                                "transformers"},
                       assigns={"device"}, keep_calls=True, classes=set(EMBEDDER_CLASSES),
                       namespace={"CharacterTokenizer": compat_character_tokenizer(hy_ns["CharacterTokenizer"])})
    return ns


def compat_character_tokenizer(base):
    """BEND's CharacterTokenizer was written for transformers <= 4.33. Under 4.46 its constructor
    fails twice: the base constructor now asks get_vocab() before the subclass has filled its
    table, and the `add_special_tokens=False` keyword BEND passes (ignored by 4.33, as BEND's own
    comment notes) now collides with the method of that name. This shim only pre-fills the same
    table BEND's constructor assigns right after (so the added special tokens get their ids) and
    drops the ignored keyword; tokenization itself is BEND's code."""

    class CompatCharacterTokenizer(base):
        def __init__(self, characters, model_max_length, **kwargs):
            kwargs.pop("add_special_tokens", None)
            self._vocab_str_to_int = {"[CLS]": 0, "[SEP]": 1, "[BOS]": 2, "[MASK]": 3, "[PAD]": 4,
                                      "[RESERVED]": 5, "[UNK]": 6,
                                      **{ch: i + 7 for i, ch in enumerate(characters)}}
            super().__init__(characters, model_max_length, **kwargs)

        def get_vocab(self):
            return dict(self._vocab_str_to_int)

    return CompatCharacterTokenizer



# ---------------------------------------------------------------------------------------------
# Tokenizer directories
# ---------------------------------------------------------------------------------------------
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")


def make_dnabert(out, k):
    d = os.path.join(out, f"dnabert{k}")
    os.makedirs(d, exist_ok=True)
    kmers = ["".join(p) for p in itertools.product("ATCG", repeat=k)]  # DNABERT's A,T,C,G order
    with open(os.path.join(d, "vocab.txt"), "w") as fh:
        fh.write("\n".join(BERT_SPECIALS + kmers))  # DNABERT's files have no final newline
    write_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": False, "max_len": 512})
    write_json(os.path.join(d, "special_tokens_map.json"),
               {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                "cls_token": "[CLS]", "mask_token": "[MASK]"})
    return d


def make_nt(out, version):
    d = os.path.join(out, f"nt_{version}")
    os.makedirs(d, exist_ok=True)
    sixmers = ["".join(p) for p in itertools.product("ATCG", repeat=6)]
    if version == "v1":
        toks = ["<unk>", "<pad>", "<mask>", "<cls>"] + sixmers + ["A", "T", "C", "G", "N",
                                                                  "<eos>", "<bos>"]
        max_len = 1000
    else:
        toks = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"] + sixmers + \
               ["A", "T", "C", "G", "N"]
        max_len = 2048
    with open(os.path.join(d, "vocab.txt"), "w") as fh:
        fh.write("\n".join(toks) + "\n")
    write_json(os.path.join(d, "special_tokens_map.json"),
               {"cls_token": "<cls>", "mask_token": "<mask>", "pad_token": "<pad>",
                "unk_token": "<unk>"})
    write_json(os.path.join(d, "tokenizer_config.json"),
               {"clean_up_tokenization_spaces": True, "eos_token": None,
                "model_max_length": max_len, "tokenizer_class": "EsmTokenizer"})
    return d


def dna_corpus(seed, n, lo, hi, extra=""):
    rng = random.Random(seed)
    return ["".join(rng.choice("ACGT" + extra) for _ in range(rng.randint(lo, hi)))
            for _ in range(n)]


def train_bpe(vocab_size, seed, alphabet, specials, normalizer=None, pre_tokenizer=None,
              corpus_extra=""):
    from tokenizers import Tokenizer, models, trainers
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(dna_corpus(seed, 400, 40, 400, corpus_extra), trainer)
    return tok


def merges_as_strings(path):
    """Rewrites model.merges from the ["a", "b"] pair form (what tokenizers 0.20 writes) to the
    "a b" string form older files use (GENA's published tokenizer.json has it)."""
    with open(path) as fh:
        obj = json.load(fh)
    obj["model"]["merges"] = [m if isinstance(m, str) else f"{m[0]} {m[1]}"
                              for m in obj["model"]["merges"]]
    write_json(path, obj)


FAST_SPECIALS_CFG = {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]",
                     "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                     "mask_token": "[MASK]"}
SPECIALS5 = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def make_dnabert2(out):
    """DNABERT-2's layout (spec 4.3): specials [UNK] [CLS] [SEP] [PAD] [MASK] = 0..4, Whitespace
    pre-tokenizer, BPE with unk [UNK] and fuse_unk false, TemplateProcessing [CLS] $A [SEP]."""
    from tokenizers import pre_tokenizers, processors
    d = os.path.join(out, "dnabert2_bpe")
    os.makedirs(d, exist_ok=True)
    tok = train_bpe(300, 21, list("ACGT"), SPECIALS5, pre_tokenizer=pre_tokenizers.Whitespace())
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    tok.save(os.path.join(d, "tokenizer.json"))
    write_json(os.path.join(d, "tokenizer_config.json"), FAST_SPECIALS_CFG)
    return d


def make_gena(out):
    """GENA-LM's t2t tokenizer.json layout (AIRI-Institute/GENA_LM
    data/tokenizers/t2t_1000h_multi_32k): normalizer Sequence[Strip, Replace(Regex N{10,} -> '-')],
    pre-tokenizer Split('-', Isolated), BertProcessing, added special '-' = id 5, merges in the
    "a b" string form, an alphabet with IUPAC letters."""
    from tokenizers import Regex, normalizers, pre_tokenizers, processors
    d = os.path.join(out, "gena_bert_bpe")
    os.makedirs(d, exist_ok=True)
    tok = train_bpe(300, 22, list("ABCGKMNRSTWY"), SPECIALS5 + ["-"],
                    normalizer=normalizers.Sequence([normalizers.Strip(),
                                                     normalizers.Replace(Regex("N{10,}"), "-")]),
                    pre_tokenizer=pre_tokenizers.Split("-", behavior="isolated"),
                    corpus_extra="N")
    tok.post_processor = processors.BertProcessing(("[SEP]", 2), ("[CLS]", 1))
    path = os.path.join(d, "tokenizer.json")
    tok.save(path)
    merges_as_strings(path)
    write_json(os.path.join(d, "tokenizer_config.json"), FAST_SPECIALS_CFG)
    return d


def make_bytelevel(out):
    """Not a BEND model: a byte-level BPE (GPT-2/RoBERTa style) to test that part of the engine:
    ByteLevel pre-tokenizer with add_prefix_space, RobertaProcessing with trimmed offsets."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    d = os.path.join(out, "bytelevel_bpe")
    os.makedirs(d, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    rng = random.Random(23)
    corpus = [" ".join("".join(rng.choice("ACGT") for _ in range(rng.randint(3, 30)))
                       for _ in range(rng.randint(1, 8))) for _ in range(400)]
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0),
                                                      trim_offsets=True, add_prefix_space=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    write_json(os.path.join(d, "tokenizer_config.json"),
               {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
                "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                "pad_token": "<pad>", "unk_token": "<unk>"})
    return d


def make_charlevel(out):
    """A guess at a ResNet-LM / AWD-LSTM directory (their real vocabulary is not public): a
    WordLevel tokenizer.json over single nucleotides with a one-character Split, no specials added."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    d = os.path.join(out, "charlevel")
    os.makedirs(d, exist_ok=True)
    vocab = {"[PAD]": 0, "[UNK]": 1, "[MASK]": 2, "A": 3, "C": 4, "G": 5, "T": 6, "N": 7}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[MASK]"])
    tok.save(os.path.join(d, "tokenizer.json"))
    write_json(os.path.join(d, "tokenizer_config.json"),
               {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]",
                "pad_token": "[PAD]", "mask_token": "[MASK]"})
    return d


def make_grover(out):
    """GROVER-like: vocab.txt = BERT specials, A C G T and ~300 variable-length DNA tokens (the
    vocabulary of a BPE trained on random DNA; no N, so N is unknown), a tokenizer.json of the
    same vocabulary (BertTokenizerFast's WordPiece, as the Zenodo record ships one besides
    vocab.txt) and a special_tokens_map listing only CLS, MASK and PAD like the Hub copy."""
    from transformers import BertTokenizerFast
    d = os.path.join(out, "grover")
    os.makedirs(d, exist_ok=True)
    bpe = train_bpe(300, 24, list("ACGT"), [])
    inv = sorted(bpe.get_vocab().items(), key=lambda kv: kv[1])
    toks = BERT_SPECIALS + [t for t, _ in inv]
    with open(os.path.join(d, "vocab.txt"), "w") as fh:
        fh.write("\n".join(toks) + "\n")
    write_json(os.path.join(d, "tokenizer_config.json"),
               {"do_lower_case": False, "tokenizer_class": "BertTokenizer"})
    write_json(os.path.join(d, "special_tokens_map.json"),
               {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]"})
    fast = BertTokenizerFast(vocab_file=os.path.join(d, "vocab.txt"), do_lower_case=False)
    fast.backend_tokenizer.save(os.path.join(d, "tokenizer.json"))
    return d


def make_hyena(out):
    d = os.path.join(out, "hyenadna-tiny-1k-seqlen")
    os.makedirs(d, exist_ok=True)
    # the shape of the non-hf HyenaDNA config.json (only what identifies it matters here)
    write_json(os.path.join(d, "config.json"),
               {"d_model": 128, "n_layer": 2, "d_inner": 512, "vocab_size": 12,
                "resid_dropout": 0.0, "embed_dropout": 0.1, "fused_mlp": False,
                "fused_dropout_add_ln": True, "residual_in_fp32": True,
                "pad_vocab_size_multiple": 8, "return_hidden_state": True,
                "layer": {"_name_": "hyena", "emb_dim": 5, "filter_order": 64,
                          "local_order": 3, "l_max": 1026, "modulate": True, "w": 10,
                          "lr": 6e-4, "wd": 0.0, "lr_pos_emb": 0.0}})
    return d


def make_caduceus(out):
    d = os.path.join(out, "caduceus")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "tokenizer_config.json"),
               {"model_max_length": 1000000000000000019884624838656,
                "tokenizer_class": "CaduceusTokenizer",
                "auto_map": {"AutoTokenizer": ["tokenization_caduceus.CaduceusTokenizer", None]}})
    write_json(os.path.join(d, "config.json"), {"model_type": "caduceus", "vocab_size": 16})
    return d


# ---------------------------------------------------------------------------------------------
# Reference encodings
# ---------------------------------------------------------------------------------------------

def locate(seq, pieces, casefold=False):
    """[start, end) of each piece of a slow tokenizer's tokenize() output, found left to right
    in seq (pieces are substrings of the input, in order, separated only by dropped whitespace)."""
    hay = seq.upper() if casefold else seq
    pos, spans = 0, []
    for p in pieces:
        i = hay.find(p.upper() if casefold else p, pos)
        if i < 0:
            raise SystemExit(f"cannot locate {p!r} in {seq!r} after {pos}")
        spans.append([i, i + len(p)])
        pos = i + len(p)
    return spans


def bert_word_spans(tok, text, base):
    """Tokens and spans BertTokenizer makes of one whitespace-free piece (a k-mer or a MaxMatch
    token) that starts at nucleotide `base`: the basic tokenizer's words located in the piece,
    then WordPiece (a failed word is one [UNK] over the whole word)."""
    out_tokens, spans = [], []
    pieces = tok.tokenize(text)  # trie split on specials + basic tokenizer + WordPiece
    # Locate words: run the basic tokenizer ourselves to know the word boundaries.
    words = []
    for chunk in tok.tokens_trie.split(text):
        if not chunk:
            continue
        if chunk in tok._added_tokens_encoder:
            words.append((chunk, True))
        else:
            words += [(w, False) for w in
                      tok.basic_tokenizer.tokenize(chunk, never_split=tok.all_special_tokens)]
    pos = 0
    for w, special in words:
        i = text.find(w, pos)
        if i < 0:
            raise SystemExit(f"cannot locate word {w!r} in {text!r}")
        pos = i + len(w)
        if special or w in tok.basic_tokenizer.never_split:
            out_tokens.append(w)
            spans.append([base + i, base + i + len(w)])
            continue
        subs = tok.wordpiece_tokenizer.tokenize(w)
        if subs == [tok.unk_token]:
            out_tokens.append(tok.unk_token)
            spans.append([base + i, base + i + len(w)])
            continue
        j = i
        for s in subs:
            n = len(s[2:]) if s.startswith("##") else len(s)
            out_tokens.append(s)
            spans.append([base + j, base + j + n])
            j += n
    if out_tokens != pieces:
        raise SystemExit(f"word-wise BERT tokens {out_tokens} != tokenize() {pieces} for {text!r}")
    return out_tokens, spans


def finish(tok, ids, spans, add_special, n_total):
    """Adds the model's special tokens as its tokenizer does, with empty [0, 0) spans."""
    full = tok.build_inputs_with_special_tokens(ids) if add_special else list(ids)
    # the specials are only prepended / appended: find where the body starts
    lead = next((i for i in range(len(full) - len(ids) + 1) if full[i:i + len(ids)] == ids), None)
    if lead is None:
        raise SystemExit("special tokens are not only around the body")
    return full, [spans[i - lead] if lead <= i < lead + len(ids) else [0, 0]
                  for i in range(len(full))]


def ref_kmer(tok, seq, k, add_special):
    kmers = [seq[i:i + k] for i in range(len(seq) + 1 - k)]
    text = " ".join(kmers)
    ids_hf = tok(text, add_special_tokens=add_special)["input_ids"]
    body_tokens, body_spans = [], []
    for i, km in enumerate(kmers):
        t, s = bert_word_spans(tok, km, i)
        body_tokens += t
        body_spans += s
    body_ids = tok.convert_tokens_to_ids(body_tokens)
    ids, spans = finish(tok, body_ids, body_spans, add_special, len(seq))
    if ids != ids_hf:
        raise SystemExit(f"k-mer-wise ids differ from BertTokenizer on the joined text: {seq!r}")
    return ids, spans


def ref_slow(tok, seq, add_special, casefold=False):
    """EsmTokenizer / CharacterTokenizer / CaduceusTokenizer: tokenize() pieces located in seq."""
    ids_hf = tok(seq, add_special_tokens=add_special)["input_ids"]
    pieces = tok.tokenize(seq)
    spans = locate(seq, pieces, casefold)
    body_ids = tok.convert_tokens_to_ids(pieces)
    ids, spans = finish(tok, body_ids, spans, add_special, len(seq))
    if ids != ids_hf:
        raise SystemExit(f"piece-wise ids differ from tokenizer(): {seq!r}")
    return ids, spans


def ref_grover(emb, seq, add_special):
    tok = emb.tokenizer
    mm = emb.max_match_tokenize(seq)  # BEND's MaxMatch
    body_tokens, body_spans, pos = [], [], 0
    for t in mm:
        # an unknown character is the unk token over one character; the text "[UNK]" itself is
        # a vocabulary entry that MaxMatch finds whole
        if t == tok.unk_token and not seq.startswith(t, pos):
            body_tokens.append(t)
            body_spans.append([pos, pos + 1])
            pos += 1
            continue
        tt, ss = bert_word_spans(tok, t, pos)
        body_tokens += tt
        body_spans += ss
        pos += len(t)
    if pos != len(seq):
        raise SystemExit("MaxMatch tokens do not cover the sequence")
    ids_hf = tok(" ".join(mm), add_special_tokens=add_special)["input_ids"]
    ids, spans = finish(tok, tok.convert_tokens_to_ids(body_tokens), body_spans, add_special,
                        len(seq))
    if ids != ids_hf:
        raise SystemExit(f"GROVER word-wise ids differ from BertTokenizer: {seq!r}")
    return ids, spans


def ref_fast(tok, seq, add_special):
    enc = tok(seq, add_special_tokens=add_special, return_offsets_mapping=True)
    return enc["input_ids"], [list(o) for o in enc["offset_mapping"]]


# ---------------------------------------------------------------------------------------------
# Driving BEND's embedders with stub models (records BEND's windows)
# ---------------------------------------------------------------------------------------------

def bend_windows(ns, kind, emb, seq):
    log = emb._stub_log
    del log[:]
    emb.embed([seq], disable_tqdm=True)
    return [list(w) for w in log]


def new_embedder(ns, cls_name, model_attr, style, load_args, patch):
    """BEND's embedder with its load_model run for real, except that the model classes it names
    are replaced by StubLoader (patch: names in the embedders namespace)."""
    log = []
    saved = {}
    for name in patch:
        saved[name] = ns.get(name)
        ns[name] = StubLoader(log, style)
    try:
        emb = ns[cls_name](*load_args)
    finally:
        for name, v in saved.items():
            if v is None:
                ns.pop(name, None)
            else:
                ns[name] = v
    emb._stub_log = log
    return emb


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def case_list(long_names):
    cases = [{"name": n, "seq": s} for n, s in SHORT]
    for n in long_names:
        cases.append({"name": n, "gen": LONG[n]})
    return cases


def seq_of(case):
    return case["seq"] if "seq" in case else gen_sequence(case["gen"])


def special_ids(tok):
    out = {}
    for role in ("cls", "sep", "eos", "bos", "unk", "pad", "mask"):
        v = getattr(tok, f"{role}_token_id", None)
        out[role] = -1 if v is None else int(v)
    return out


def record(entry, tok, cases, encode, windows=None, no_special=("short10", "with_n", "empty",
                                                                   "spaces", "lower_raw")):
    """Fills entry["cases"]: every case with add_special_tokens true, a few also with false."""
    out = []
    for c in cases:
        seq = seq_of(c)
        for add in (True, False):
            if not add and c["name"] not in no_special:
                continue
            ids, spans = encode(seq, add)
            if len(ids) != len(spans):
                raise SystemExit("ids/spans length mismatch")
            item = {"name": c["name"] + ("" if add else "_nospecial"),
                    "add_special_tokens": add, "ids": ids,
                    "tokens": tok.convert_ids_to_tokens(ids), "spans": spans}
            if "seq" in c:
                item["seq"] = c["seq"]
            else:
                item["gen"] = c["gen"]
            if add and windows is not None:
                try:
                    item["bend_windows"] = windows(seq)
                except Exception as e:  # BEND itself fails (e.g. NT on an empty sequence)
                    item["bend_windows"] = None
                    item["bend_error"] = f"{type(e).__name__}: {e}"
            out.append(item)
    entry["cases"] = out



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bend", required=True, help="path of an upstream BEND checkout")
    ap.add_argument("--caduceus", required=True,
                    help="path of a kuleshov-group/caduceus checkout (caduceus/tokenization_caduceus.py)")
    ap.add_argument("--out", required=True, help="fixture directory to (re)write")
    ap.add_argument("--bend-commit", help="BEND commit to record when --bend is not a git checkout")
    ap.add_argument("--caduceus-commit", help="caduceus commit to record when not a git checkout")
    args = ap.parse_args()
    bend_dir = os.path.abspath(args.bend)
    out = os.path.abspath(args.out)
    cad_file = os.path.join(os.path.abspath(args.caduceus), "caduceus", "tokenization_caduceus.py")
    if not os.path.isfile(cad_file):
        sys.exit(f"{cad_file} not found")

    from transformers import AutoTokenizer, BertTokenizer, PreTrainedTokenizerFast
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    ns = load_upstream(bend_dir)

    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    result = {"generator": "tools/reference/make_tokenizer_fixtures.py",
              "bend_commit": git_commit(bend_dir, args.bend_commit),
              "caduceus_commit": git_commit(os.path.dirname(os.path.dirname(cad_file)),
                                            args.caduceus_commit),
              "python_packages": package_versions(("transformers", "tokenizers", "torch", "numpy")),
              "sequence_generator": gen_sequence.__doc__.replace("\n    ", " ").strip(),
              "spans": "[start, end) of input characters per token; specials added by the "
                       "tokenizer have [0, 0]",
              "tokenizers": {}}
    T = result["tokenizers"]
    cwd = os.getcwd()
    work = tempfile.mkdtemp(prefix="bend-tok-ref-")
    os.chdir(work)  # HyenaDNAEmbedder.load_model looks at ./.git/hooks
    try:
        # DNABERT k = 3..6 ------------------------------------------------------------------
        for k in (3, 4, 5, 6):
            d = make_dnabert(out, k)
            emb = new_embedder(ns, "DNABertEmbedder", "bert_model", "tuple", (d, k),
                               ["BertModel", "BertConfig"])
            tok = emb.tokenizer
            entry = {"dir": f"dnabert{k}", "kind": "kmer", "kmer": k,
                     "vocab_size": len(tok.vocab), "special": special_ids(tok)}
            record(entry, tok, case_list(["long_dnabert"]),
                   lambda s, a, tok=tok, k=k: ref_kmer(tok, s, k, a),
                   lambda s, emb=emb: bend_windows(ns, "dnabert", emb, s))
            T[f"dnabert{k}"] = entry
        # Nucleotide Transformer ----------------------------------------------------------
        for v in ("v1", "v2"):
            d = make_nt(out, v)
            emb = new_embedder(ns, "NucleotideTransformerEmbedder", "model", "hidden_states",
                               (d,), ["AutoModelForMaskedLM"])
            tok = emb.tokenizer
            entry = {"dir": f"nt_{v}", "kind": "nt6", "vocab_size": len(tok.all_tokens),
                     "special": special_ids(tok)}
            record(entry, tok, case_list(["long_nt"]),
                   lambda s, a, tok=tok: ref_slow(tok, s, a),
                   lambda s, emb=emb: bend_windows(ns, "nt", emb, s))
            T[f"nt_{v}"] = entry
        # BPE --------------------------------------------------------------------------------
        for name, maker, cls, style, patch in (
                ("dnabert2_bpe", make_dnabert2, "DNABert2Embedder", "hidden_states",
                 ["DNABert2BertForMaskedLM"]),
                ("gena_bert_bpe", make_gena, "GENALMEmbedder", "last_hidden_state",
                 ["GenaLMBertModel", "BigBirdModel"]),
                ("bytelevel_bpe", make_bytelevel, None, None, None)):
            d = maker(out)
            if cls:
                emb = new_embedder(ns, cls, "model", style, (d,), patch)
                tok = emb.tokenizer
                windows = (lambda s, emb=emb: bend_windows(ns, "bpe", emb, s))
            else:
                tok = AutoTokenizer.from_pretrained(d)
                windows = None
            if not isinstance(tok, PreTrainedTokenizerFast):
                raise SystemExit(f"{d}: AutoTokenizer gave {type(tok)}")
            entry = {"dir": name, "kind": "bpe", "vocab_size": tok.backend_tokenizer.get_vocab_size(True),
                     "special": special_ids(tok)}
            record(entry, tok, case_list(["long_bpe"] if cls else []),
                   lambda s, a, tok=tok: ref_fast(tok, s, a), windows)
            T[name] = entry
        # character-level tokenizer.json (ResNet-LM / AWD-LSTM stand-in) ---------------------
        d = make_charlevel(out)
        tok = AutoTokenizer.from_pretrained(d)
        entry = {"dir": "charlevel", "kind": "char",
                 "vocab_size": tok.backend_tokenizer.get_vocab_size(True),
                 "special": special_ids(tok)}
        record(entry, tok, case_list([]), lambda s, a, tok=tok: ref_fast(tok, s, a))
        T["charlevel"] = entry
        # GROVER -------------------------------------------------------------------------------
        d = make_grover(out)
        emb = new_embedder(ns, "GROVEREmbedder", "model", "tuple", (d,), ["BertModel"])
        tok = emb.tokenizer
        if not isinstance(tok, BertTokenizer):
            raise SystemExit("GROVER tokenizer is not a BertTokenizer")
        entry = {"dir": "grover", "kind": "maxmatch", "vocab_size": len(tok.vocab),
                 "special": special_ids(tok), "max_token_length": emb.max_token_length}
        record(entry, tok, case_list(["long_grover"]),
               lambda s, a, emb=emb: ref_grover(emb, s, a),
               lambda s, emb=emb: bend_windows(ns, "grover", emb, s))
        T["grover"] = entry
        # HyenaDNA -----------------------------------------------------------------------------
        d = make_hyena(out)
        emb = new_embedder(ns, "HyenaDNAEmbedder", "model", "tensor", (d,),
                           ["HyenaDNAPreTrainedModel"])
        tok = emb.tokenizer
        entry = {"dir": "hyenadna-tiny-1k-seqlen", "kind": "char", "vocab_size": tok.vocab_size,
                 "special": special_ids(tok)}
        record(entry, tok, case_list(["long_char"]),
               lambda s, a, tok=tok: ref_slow(tok, s, a),
               lambda s, emb=emb: bend_windows(ns, "hyena", emb, s))
        T["hyenadna"] = entry
        # Caduceus -----------------------------------------------------------------------------
        d = make_caduceus(out)
        tmpd = os.path.join(work, "caduceus")
        shutil.copytree(d, tmpd)
        shutil.copy(cad_file, tmpd)  # the remote-code file, only in the temporary copy
        mamba = types.ModuleType("mamba_ssm")
        mamba.__version__ = "1.2.0.post1"   # CaduceusEmbedder.load_model checks this version
        sys.modules["mamba_ssm"] = mamba
        emb = new_embedder(ns, "CaduceusEmbedder", "model", "hidden_states", (tmpd,),
                           ["AutoModelForMaskedLM"])
        tok = emb.tokenizer
        entry = {"dir": "caduceus", "kind": "char", "vocab_size": tok.vocab_size,
                 "special": special_ids(tok)}
        record(entry, tok, case_list(["long_char"]),
               lambda s, a, tok=tok: ref_slow(tok, s, a, casefold=True),
               lambda s, emb=emb: bend_windows(ns, "caduceus", emb, s))
        T["caduceus"] = entry
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)

    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(result, fh, separators=(",", ":"))
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"wrote {out} ({total} bytes)")


if __name__ == "__main__":
    main()
