#!/usr/bin/env python3
"""Tiny checkpoints of the families whose tensor lists (src/models/model_tensors.c) had no
reference: GPN's legacy ConvNet, Caduceus (ph and ps), BEND's bidirectional AWD-LSTM. Each is the
state dict of the real module class at a tiny size, saved the way its release is saved.

    python make_model_tensor_fixtures.py --bend /path/to/BEND --gpn /path/to/gpn-checkout \
        --caduceus /path/to/caduceus-checkout --mamba /path/to/mamba-checkout \
        --out tests/fixtures/model_tensors [--bend-commit ac6e80c]

- gpn: gpn/legacy.py of songlab-cal/gpn (ConvNetForMaskedLM; model.save_pretrained, safetensors).
- caduceus_ph / caduceus_ps / caduceus_untied: caduceus/{configuration,modeling}_caduceus.py and
  modeling_rcps.py of kuleshov-group/caduceus (CaduceusForMaskedLM; safetensors written as
  save_pretrained of transformers <= 4.38 wrote them: tied tensors once, under the first name). Its Mamba is mamba_ssm 1.2.0.post1
  (tag v1.2.0.post1 of state-spaces/mamba): modules/mamba_simple.py and ops/triton/layernorm.py
  are imported from that checkout; only the CUDA scan kernels (selective_scan_interface,
  selective_state_update), which no constructor touches, are stubbed.
- awdlstm_bi: bend/models/awd_lstm.py (AWDLSTMModelForInference with bidirectional true; BEND's
  checkpoints are PyTorch pickles: pytorch_model.bin).
Each directory gets config.json, the weights and tensors.json ({"files": {file: {"tensors":
{name: {"dtype", "shape"}}}}}, the layout of tests/fixtures/models). Checkouts may be work trees
or bare mirrors (files are then read with `git show <rev>:<path>`)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import git_commit, package_versions  # noqa: E402


def git_read(repo, path, rev="HEAD"):
    p = os.path.join(repo, path)
    if rev == "HEAD" and os.path.isfile(p):
        with open(p) as fh:
            return fh.read()
    return subprocess.run(["git", "-C", repo, "show", f"{rev}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def tag_commit(repo, tag="v1.2.0.post1"):
    return subprocess.run(["git", "-C", repo, "rev-parse", f"{tag}^{{commit}}"], check=True,
                          capture_output=True, text=True).stdout.strip()


def write_tree(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)


def tensors_json(d):
    from safetensors import safe_open
    files = {}
    for f in sorted(os.listdir(d)):
        path = os.path.join(d, f)
        if f.endswith(".safetensors"):
            with safe_open(path, "pt") as st:
                sd = {k: st.get_tensor(k) for k in st.keys()}
        elif f.endswith(".bin"):
            sd = torch.load(path, map_location="cpu", weights_only=True)
        else:
            continue
        dt = {torch.float32: "F32", torch.int64: "I64", torch.float16: "F16"}
        files[f] = {"count": len(sd), "tensors": {k: {"dtype": dt.get(v.dtype, str(v.dtype)),
                                                      "shape": list(v.shape)}
                                                  for k, v in sorted(sd.items())}}
    with open(os.path.join(d, "tensors.json"), "w") as fh:
        json.dump({"files": files}, fh, indent=1)
        fh.write("\n")


def save_hf(model, d):
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    tensors_json(d)


def save_deduplicated(model, d):
    """save_pretrained as transformers <= 4.38 did it (the Caduceus releases are from then):
    of tensors sharing storage (tied mamba_rev in/out projections, lm_head tied to the word
    embeddings) only the first name in state-dict order is written. transformers 4.46 refuses to
    save these ties with safetensors, so the file is written with safetensors directly."""
    from safetensors.torch import save_file
    os.makedirs(d, exist_ok=True)
    model.config.save_pretrained(d)
    seen, sd = set(), {}
    for k, v in model.state_dict().items():
        ptr = (v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape))
        if ptr in seen:
            continue
        seen.add(ptr)
        sd[k] = v.contiguous()
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    tensors_json(d)


def make_gpn(args, out):
    with tempfile.TemporaryDirectory() as tmp:
        write_tree(tmp, {"gpn_legacy.py": git_read(args.gpn, "gpn/legacy.py")})
        sys.path.insert(0, tmp)
        import gpn_legacy
        sys.path.remove(tmp)
    torch.manual_seed(0)
    cfg = gpn_legacy.ConvNetConfig(vocab_size=7, hidden_size=16, n_layers=3, kernel_size=5,
                                   dilation_cycle=2, dilation_max=4)
    save_hf(gpn_legacy.ConvNetForMaskedLM(cfg), os.path.join(out, "gpn"))


def mamba_package(args, root):
    """mamba_ssm 1.2.0.post1 from the tag, CUDA scan kernels stubbed."""
    tag = "v1.2.0.post1"
    stub = ("def _no_kernel(*a, **k):\n    raise RuntimeError('CUDA kernel stubbed')\n\n"
            "selective_scan_fn = mamba_inner_fn = selective_state_update = _no_kernel\n")
    write_tree(root, {
        "mamba_ssm/__init__.py": '__version__ = "1.2.0.post1"\n',
        "mamba_ssm/modules/__init__.py": "",
        "mamba_ssm/modules/mamba_simple.py": git_read(args.mamba, "mamba_ssm/modules/mamba_simple.py", tag),
        "mamba_ssm/ops/__init__.py": "",
        "mamba_ssm/ops/selective_scan_interface.py": stub,
        "mamba_ssm/ops/triton/__init__.py": "",
        "mamba_ssm/ops/triton/selective_state_update.py": stub,
        "mamba_ssm/ops/triton/layernorm.py": git_read(args.mamba, "mamba_ssm/ops/triton/layernorm.py", tag),
    })


def make_caduceus(args, out):
    with tempfile.TemporaryDirectory() as tmp:
        mamba_package(args, tmp)
        write_tree(tmp, {f"caduceus/{f}": git_read(args.caduceus, f"caduceus/{f}")
                         for f in ("configuration_caduceus.py", "modeling_caduceus.py",
                                   "modeling_rcps.py", "tokenization_caduceus.py")})
        write_tree(tmp, {"caduceus/__init__.py": ""})
        sys.path.insert(0, tmp)
        from caduceus.configuration_caduceus import CaduceusConfig
        from caduceus.modeling_caduceus import CaduceusForMaskedLM
        sys.path.remove(tmp)
        # the released complement map (A<->T, C<->G; specials and N map to themselves)
        comp = {str(i): i for i in range(16)}
        comp.update({"7": 10, "8": 9, "9": 8, "10": 7})
        for name, kw in (("caduceus_ph", dict(rcps=False)),
                         ("caduceus_ps", dict(rcps=True)),
                         ("caduceus_untied", dict(rcps=False, bidirectional_weight_tie=False))):
            torch.manual_seed(0)
            cfg = CaduceusConfig(d_model=8, n_layer=2, vocab_size=12, ssm_cfg={"d_state": 4},
                                 rms_norm=True, fused_add_norm=True, residual_in_fp32=False,
                                 pad_vocab_size_multiple=8, bidirectional=True,
                                 bidirectional_strategy="add", complement_map=comp, **kw)
            save_deduplicated(CaduceusForMaskedLM(cfg), os.path.join(out, name))


def make_awdlstm(args, out):
    sys.path.insert(0, args.bend)
    from bend.models.awd_lstm import AWDLSTMConfig, AWDLSTMModelForInference
    torch.manual_seed(0)
    cfg = AWDLSTMConfig(vocab_size=7, input_size=6, hidden_size=10, num_hidden_layers=2,
                        bidirectional=True, weight_dropout_prob=0.5)
    model = AWDLSTMModelForInference(cfg)
    d = os.path.join(out, "awdlstm_bi")
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=False)
    tensors_json(d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for a in ("bend", "gpn", "caduceus", "mamba", "out"):
        ap.add_argument(f"--{a}", required=True)
    ap.add_argument("--bend-commit", help="BEND commit to record when --bend is not a git checkout")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    make_gpn(args, args.out)
    make_caduceus(args, args.out)
    make_awdlstm(args, args.out)
    with open(os.path.join(args.out, "SOURCE"), "w") as fh:
        fh.write("generator: tools/reference/make_model_tensor_fixtures.py\n"
                 f"bend: {git_commit(args.bend, args.bend_commit)}\ngpn: {git_commit(args.gpn)}\n"
                 f"caduceus: {git_commit(args.caduceus)}\nmamba: v1.2.0.post1 = "
                 f"{git_commit(args.mamba, tag_commit(args.mamba))}\n"
                 f"packages: {package_versions(['torch', 'transformers', 'safetensors', 'triton'])}\n")


if __name__ == "__main__":
    main()
