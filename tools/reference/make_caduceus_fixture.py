#!/usr/bin/env python3
"""Tiny Caduceus checkpoints (ph and ps) and the hidden states the real Caduceus code computes for
them on CPU, in the tests/fixtures/models layout.

    python make_caduceus_fixture.py --bend /path/to/BEND --caduceus /path/to/caduceus-checkout \
        --mamba /path/to/mamba-checkout --out tests/fixtures/models [--bend-commit ac6e80c]

The model classes are kuleshov-group/caduceus's caduceus/*.py on top of mamba_ssm 1.2.0.post1
(tag v1.2.0.post1 of state-spaces/mamba, the version BEND requires), all read from the checkouts
at run time (work trees or bare mirrors). Nothing runs on a GPU, and nothing is stubbed on the
path that computes:

- the selective scan is mamba_ssm's own pure-PyTorch `selective_scan_ref` from
  ops/selective_scan_interface.py of the tag (the module is imported for real; only the
  `selective_scan_cuda` extension it imports is a placeholder that raises if anything calls it).
  Mamba.forward takes its non-fused branch because causal_conv1d is absent (its short
  convolution is then the module's nn.Conv1d), and calls `selective_scan_fn`, which is bound to
  `selective_scan_ref`; each call is counted and the count is checked.
- the released configs have fused_add_norm true, and the fused path is kept (it decides what the
  HF hidden_states hold). Its Triton kernels are replaced by ops/triton/layernorm.py's own
  reference functions `rms_norm_ref` / `layer_norm_ref` (fp32 throughout, like the kernel).

Each fixture is saved as the releases are (config.json + model.safetensors with tied tensors
written once), reloaded with CaduceusForMaskedLM.from_pretrained, put in eval mode, and run the
way bend/utils/embedders.py CaduceusEmbedder.embed runs it: CaduceusTokenizer with
add_special_tokens=False, forward with output_hidden_states=True, `hidden_states[-1]`.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import git_commit, package_versions  # noqa: E402
from make_model_fixtures import (SEED, dna_sequences, f32, write_expected,  # noqa: E402
                                 write_tensors_json)
from make_model_tensor_fixtures import git_read, save_deduplicated, tag_commit, write_tree  # noqa: E402

MAMBA_TAG = "v1.2.0.post1"
SCAN_CALLS = {"ref": 0}


def load_classes(args, tmp):
    """Imports mamba_ssm (from the tag) and caduceus (from the checkout) with CPU reference ops."""
    files = {
        "mamba_ssm/__init__.py": '__version__ = "1.2.0.post1"\n',
        "mamba_ssm/modules/__init__.py": "",
        "mamba_ssm/ops/__init__.py": "",
        "mamba_ssm/ops/triton/__init__.py": "",
        # the CUDA extension selective_scan_interface.py imports at module level
        "selective_scan_cuda.py": "def __getattr__(name):\n"
                                  "    raise RuntimeError('selective_scan_cuda is not available')\n",
        "caduceus/__init__.py": "",
    }
    for f in ("modules/mamba_simple.py", "ops/selective_scan_interface.py",
              "ops/triton/layernorm.py", "ops/triton/selective_state_update.py"):
        files[f"mamba_ssm/{f}"] = git_read(args.mamba, f"mamba_ssm/{f}", MAMBA_TAG)
    for f in ("configuration_caduceus.py", "modeling_caduceus.py", "modeling_rcps.py",
              "tokenization_caduceus.py"):
        files[f"caduceus/{f}"] = git_read(args.caduceus, f"caduceus/{f}")
    write_tree(tmp, files)
    sys.path.insert(0, tmp)
    import mamba_ssm.ops.selective_scan_interface as ssi
    import mamba_ssm.ops.triton.layernorm as ln

    def scan(*a, **k):
        SCAN_CALLS["ref"] += 1
        return ssi.selective_scan_ref(*a, **k)

    def rms_norm_fn(x, weight, bias, residual=None, prenorm=False, residual_in_fp32=False,
                    eps=1e-6):
        return ln.rms_norm_ref(x, weight, bias, residual=residual, eps=eps, prenorm=prenorm,
                               upcast=True)

    def layer_norm_fn(x, weight, bias, residual=None, eps=1e-6, prenorm=False,
                      residual_in_fp32=False, is_rms_norm=False):
        ref = ln.rms_norm_ref if is_rms_norm else ln.layer_norm_ref
        return ref(x, weight, bias, residual=residual, eps=eps, prenorm=prenorm, upcast=True)

    def no_kernel(*a, **k):
        raise RuntimeError("fused CUDA path taken")

    # before mamba_simple / caduceus import them by name
    ln.rms_norm_fn, ln.layer_norm_fn = rms_norm_fn, layer_norm_fn
    ssi.selective_scan_fn, ssi.mamba_inner_fn = scan, no_kernel
    import mamba_ssm.modules.mamba_simple as ms
    assert ms.causal_conv1d_fn is None and ms.selective_scan_fn is scan
    from caduceus.configuration_caduceus import CaduceusConfig
    from caduceus.modeling_caduceus import CaduceusForMaskedLM
    from caduceus.tokenization_caduceus import CaduceusTokenizer
    import caduceus.modeling_caduceus as mc
    import caduceus.modeling_rcps as mr
    assert mc.rms_norm_fn is rms_norm_fn and mr.rms_norm_fn is rms_norm_fn
    sys.path.remove(tmp)
    return CaduceusConfig, CaduceusForMaskedLM, CaduceusTokenizer


def perturb(model):
    """Random init leaves norm weights 1, D 1 and A_log = log(1..N) in every channel; spread them so
    a wrong index or a swapped half shows in the outputs. In place, so weight ties survive."""
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                p.add_(0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".D") or name.endswith("A_log") or name.endswith("conv1d.bias"):
                p.add_(0.3 * torch.randn(p.shape, generator=g))
            elif "word_embeddings" in name:
                p.mul_(25.0)  # std 0.02 -> 0.5: the first layer's residual is the embedding


def make_one(name, rcps, classes, seqs, out):
    CaduceusConfig, CaduceusForMaskedLM, CaduceusTokenizer = classes
    comp = {str(i): i for i in range(16)}
    comp.update({"7": 10, "8": 9, "9": 8, "10": 7})
    torch.manual_seed(SEED)
    cfg = CaduceusConfig(d_model=24, n_layer=3, vocab_size=12, pad_vocab_size_multiple=8,
                         ssm_cfg={"d_state": 8, "d_conv": 4, "expand": 2, "dt_rank": "auto",
                                  "conv_bias": True, "bias": False},
                         rms_norm=True, fused_add_norm=True, residual_in_fp32=False,
                         norm_epsilon=1e-5, bidirectional=True, bidirectional_strategy="add",
                         bidirectional_weight_tie=True, rcps=rcps, complement_map=comp)
    scratch = CaduceusForMaskedLM(cfg).eval()
    perturb(scratch)
    fixdir = os.path.join(out, name)
    if os.path.isdir(fixdir):
        shutil.rmtree(fixdir)
    save_deduplicated(scratch, fixdir)   # config.json + model.safetensors (+ its tensors.json)
    with open(os.path.join(fixdir, "config.json")) as fh:
        conf = json.load(fh)
    # what the hub configs carry for trust_remote_code loading
    conf["auto_map"] = {"AutoConfig": "configuration_caduceus.CaduceusConfig",
                        "AutoModel": "modeling_caduceus.Caduceus",
                        "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM",
                        "AutoModelForSequenceClassification":
                            "modeling_caduceus.CaduceusForSequenceClassification"}
    conf["architectures"] = ["CaduceusForMaskedLM"]
    conf.pop("_attn_implementation_autoset", None)
    with open(os.path.join(fixdir, "config.json"), "w") as fh:
        json.dump(dict(sorted(conf.items())), fh, indent=2)
        fh.write("\n")

    # BEND: AutoModelForMaskedLM.from_pretrained(trust_remote_code=True) -> this class; eval().
    # transformers 4.46's from_pretrained unties mamba_rev's in/out projections when the file
    # holds them once (they come back randomly initialised), so the model is rebuilt from the
    # written config.json and model.safetensors directly; only tied names may be absent.
    from safetensors.torch import load_file
    model = CaduceusForMaskedLM(CaduceusConfig.from_pretrained(fixdir))
    missing, unexpected = model.load_state_dict(
        load_file(os.path.join(fixdir, "model.safetensors")), strict=False)
    tied = ("mamba_rev.in_proj.weight", "mamba_rev.out_proj.weight", "lm_head.weight")
    assert not unexpected and all(k.endswith(tied) for k in missing), (missing, unexpected)
    model.eval()
    assert not model.training and all(not m.training for m in model.modules())
    sd0, sd1 = scratch.state_dict(), model.state_dict()
    assert sd0.keys() == sd1.keys()
    for k in sd0:
        if not torch.equal(sd0[k], sd1[k]):
            sys.exit(f"{name}: {k} differs after reload")
    blk = model.caduceus.backbone.layers[0].mixer
    bi = blk.submodule if rcps else blk
    assert bi.mamba_rev.in_proj.weight is bi.mamba_fwd.in_proj.weight

    tok = CaduceusTokenizer(model_max_length=131072)
    recs = []
    for s in seqs:
        ids = tok(s, return_tensors="pt", return_attention_mask=False,
                  return_token_type_ids=False, add_special_tokens=False)["input_ids"]
        before = SCAN_CALLS["ref"]
        with torch.no_grad():
            o = model(input_ids=ids, output_hidden_states=True)
        # two directions per layer, ps runs the BiMamba on both strands
        want = cfg.n_layer * 2 * (2 if rcps else 1)
        assert SCAN_CALLS["ref"] - before == want, (SCAN_CALLS["ref"] - before, want)
        hs = o["hidden_states"]
        assert len(hs) == cfg.n_layer + 1
        with torch.no_grad():  # BEND's output is also what the backbone returns last
            last = model.caduceus(input_ids=ids, return_dict=True).last_hidden_state
        assert torch.equal(last, hs[-1])
        recs.append({"input_ids": ids[0].tolist(), "last_hidden_state": f32(hs[-1][0]),
                     "hidden_states": [f32(h[0]) for h in hs], "sequence": s})
    write_tensors_json(fixdir, ["model.safetensors"],
                       sum(p.numel() for p in scratch.parameters()))
    width = cfg.d_model * (2 if rcps else 1)
    attrs = {
        "model_class": "caduceus.modeling_caduceus.CaduceusForMaskedLM (kuleshov-group/caduceus) "
                       "on mamba_ssm 1.2.0.post1, CPU reference ops (selective_scan_ref, rms_norm_ref)",
        "hidden_states_note":
            f"HF output_hidden_states of the fused-add-norm path, {cfg.n_layer + 1} entries: 0 = "
            "word embeddings" + (" ([E[ids] | flip_LC(E[comp(flip_L(ids))])])" if rcps else "") +
            "; j = 1..n_layer-1 = the MIXER output of layer j-1 (the block's hidden_states, "
            "without the residual, which is not recorded); n_layer = final norm_f(hidden + "
            "residual) = last_hidden_state = what BEND's CaduceusEmbedder takes "
            f"(hidden_states[-1], width {width})",
        "scan_path": "selective_scan_ref",
    }
    return fixdir, recs, attrs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for a in ("bend", "caduceus", "mamba", "out"):
        ap.add_argument(f"--{a}", required=True)
    ap.add_argument("--bend-commit", help="BEND commit to record when --bend is not a git checkout")
    args = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    from transformers import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(1)
    seqs = dna_sequences()
    common = {
        "bend_commit": git_commit(args.bend, args.bend_commit),
        "caduceus_commit": git_commit(args.caduceus),
        "mamba_ssm": f"{MAMBA_TAG} = {git_commit(args.mamba, tag_commit(args.mamba, MAMBA_TAG))}",
        "python_packages": package_versions(("torch", "transformers", "safetensors", "h5py",
                                             "numpy", "einops", "triton"), missing=None),
        "seed": SEED,
    }
    with tempfile.TemporaryDirectory() as tmp:
        classes = load_classes(args, tmp)
        for name, rcps in (("caduceus_ph", False), ("caduceus_ps", True)):
            fixdir, recs, attrs = make_one(name, rcps, classes, seqs, args.out)
            write_expected(fixdir, "caduceus", recs, dict(attrs, **common))
            size = sum(os.path.getsize(os.path.join(fixdir, f)) for f in os.listdir(fixdir))
            print(f"{name:14s} {size / 1024:7.1f} KiB  {' '.join(sorted(os.listdir(fixdir)))}")


if __name__ == "__main__":
    main()
