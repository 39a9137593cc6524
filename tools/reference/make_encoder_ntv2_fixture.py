"""A tiny Nucleotide Transformer v2-shaped checkpoint and its hidden states, for test_encoder.

NT v2 runs InstaDeep's remote-code ESM (trust_remote_code), which is not in transformers and not
in BEND. Its documented differences from HF ESM (spec transformer-models.md section 3): rotary
positions (HF ESM has them too: position_embedding_type="rotary"), no token dropout, and an FFN
`output.dense(SiLU(a) * b)` with `a, b = split(intermediate.dense(x))`, both projections without
bias (add_bias_fnn=false). The reference here is HF's EsmModel with exactly that FFN swapped in
(a module replacement, nothing else changed), so the test checks the C encoder's rotary + SwiGLU
+ pre-LN + emb_layer_norm_after composition against PyTorch; it is NOT a check against the real
remote code.

usage: make_encoder_ntv2_fixture.py OUT_DIR   (writes config.json, model.safetensors, expected.h5)
"""
import json
import os
import sys

import h5py
import numpy as np
import torch
from safetensors.torch import save_file
from transformers import EsmConfig, EsmModel

from upstream_source import package_versions

SEED = 20240611
H, I, NH, NL, V = 16, 24, 2, 2, 4107


class SwiGLUIntermediate(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(H, 2 * I, bias=False)

    def forward(self, x):
        a, b = self.dense(x).chunk(2, dim=-1)
        return torch.nn.functional.silu(a) * b


class NoBiasOutput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(I, H, bias=False)

    def forward(self, hidden_states, input_tensor):
        return self.dense(hidden_states) + input_tensor


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    cfg = EsmConfig(vocab_size=V, hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH,
                    intermediate_size=I, max_position_embeddings=2050, layer_norm_eps=1e-12,
                    position_embedding_type="rotary", token_dropout=False,
                    emb_layer_norm_before=False, pad_token_id=1, mask_token_id=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    m = EsmModel(cfg, add_pooling_layer=False).eval()
    for layer in m.encoder.layer:
        layer.intermediate = SwiGLUIntermediate()
        layer.output = NoBiasOutput()
    with torch.no_grad():
        # weights large enough that attention is far from uniform, so positions matter
        for name, p in m.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.normal_(0.0, 0.6 if ("query" in name or "key" in name) else 0.3)
            elif "LayerNorm" in name or "layer_norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
            else:
                p.normal_(0.0, 0.1)
    sd = {"esm." + k: v.contiguous() for k, v in m.state_dict().items()
          if "position_embeddings" not in k and "position_ids" not in k}
    save_file(sd, os.path.join(out, "model.safetensors"))
    config = cfg.to_diff_dict()
    config.update({"model_type": "esm", "architectures": ["EsmForMaskedLM"],
                   "add_bias_fnn": False, "position_embedding_type": "rotary",
                   "intermediate_size": I, "token_dropout": False})
    for k in ("transformers_version", "esmfold_config", "vocab_list"):
        config.pop(k, None)
    with open(os.path.join(out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=1, sort_keys=True)

    rng = np.random.default_rng(SEED)
    seqs = [[3], [3] + list(rng.integers(6, 4107, 8)), [3] + list(rng.integers(6, 4107, 39))]
    with h5py.File(os.path.join(out, "expected.h5"), "w") as f:
        f.attrs["model_class"] = ("transformers.EsmModel (rotary) with InstaDeep's NT v2 FFN "
                                  "swapped in: SiLU(a)*b, no FFN biases")
        f.attrs["hidden_states_note"] = ("0 = embeddings, i = layer i output for i < N, N = after "
                                         "emb_layer_norm_after (= last_hidden_state)")
        f.attrs["python_packages"] = package_versions(["torch", "transformers"])
        f.attrs["seed"] = SEED
        for i, ids in enumerate(seqs):
            with torch.no_grad():
                o = m(torch.tensor([ids]), output_hidden_states=True)
            g = f.create_group(str(i))
            g["input_ids"] = np.array(ids, dtype=np.int64)
            g["last_hidden_state"] = o.last_hidden_state[0].numpy().astype(np.float32)
            for j, h in enumerate(o.hidden_states):
                g[f"hidden_states/{j}"] = h[0].numpy().astype(np.float32)


if __name__ == "__main__":
    main()
