"""Extra fixtures for the non-transformer LM forward passes: the configurations the released
checkpoints may use but tests/fixtures/models does not cover.

  awdlstm_reset     BEND's AWD-LSTM with reset_token_id set (3 layers, widths 8 -> 12 -> 12 -> 8)
  hyenadna_order3   BEND's HyenaDNA with a Hyena operator of order 3, emb_dim 3, no
                    checkpoint_mixer renaming, modulation shift 0 from the config

Same layout as make_model_fixtures.py (config.json, checkpoint in the family's real format,
expected.h5 with /<i>/input_ids, /<i>/last_hidden_state, /<i>/hidden_states/<j>), produced by
the upstream modules imported at run time from the BEND checkout (nothing is copied):

  /tmp/refvenv/bin/python tools/reference/make_seqlm_fixtures.py \
      --bend /tmp/bend-upstream --out tests/fixtures/seqlm
"""
import argparse
import json
import os
import random
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_fixtures as mmf  # noqa: E402  (shared helpers: load_bend, write_expected, ...)
from upstream_source import git_commit, package_versions  # noqa: E402

SEED = 20240917


def make_awdlstm_reset(fixdir, ctx):
    mod = ctx["bend"]["awd_lstm"]
    keys = dict(vocab_size=7, hidden_size=12, input_size=8, num_hidden_layers=3, reset_token_id=3,
                bidirectional=False, batch_first=True, weight_dropout_prob=0.5)
    cfg = mod.AWDLSTMConfig(**keys)
    torch.manual_seed(SEED)
    m = mod.AWDLSTMForLM(cfg).eval()
    m.encoder.train()  # leaves a stale dropped h2h.weight next to weight_raw, as training does
    with torch.no_grad():
        m.encoder(torch.tensor([[0, 1, 2, 3, 4, 5, 6]]))
    m.eval()
    m.save_pretrained(fixdir, safe_serialization=False)
    with open(os.path.join(fixdir, "config.json")) as fh:
        conf = json.load(fh)
    conf.update(keys, architectures=["AWDLSTMForLM"])
    with open(os.path.join(fixdir, "config.json"), "w") as fh:
        json.dump(conf, fh, indent=2, sort_keys=True)
        fh.write("\n")
    ref = mod.AWDLSTMModelForInference.from_pretrained(fixdir).eval()
    rng = random.Random(SEED + 1)
    # the reset id at position 0 (never checked), 1 (first checked), in runs, and last
    ids_list = [[3], [3, 3], [3, 3, 5, 3, 3, 3, 1, 0, 3],
                [rng.randrange(7) for _ in range(37)] + [3]]

    def run(ids):
        emb = []
        h = ref.encoder.embedding.register_forward_hook(lambda _m, _i, o: emb.append(o.detach()))
        with torch.no_grad():
            out = ref(torch.tensor([ids]))
        h.remove()
        # the embedding runs on the time-major [T, 1, E] ids: batch element 0 is [:, 0]
        return out.last_hidden_state[0], [emb[0][:, 0]] + [x[0] for x in out.hidden_states]
    return mmf.records_from(run, ids_list, None), {
        "model_class": "bend.models.awd_lstm.AWDLSTMModelForInference (saved from AWDLSTMForLM)",
        "hidden_states_note": "0 = embedding output, i = LSTM layer i output (outputs_raw, where "
                              "BEND's in-place reset zeroes the reset token's own row)"}


def make_hyenadna_order3(fixdir, ctx):
    mod = ctx["bend"]["hyena_dna"]
    config = {
        "d_model": 16, "n_layer": 2, "d_inner": 32, "vocab_size": 12, "resid_dropout": 0.0,
        "embed_dropout": 0.1, "fused_mlp": False, "fused_dropout_add_ln": True,
        "checkpoint_mixer": False, "checkpoint_mlp": False, "residual_in_fp32": True,
        "pad_vocab_size_multiple": 8, "return_hidden_state": True,
        "layer": {"_name_": "hyena", "order": 3, "emb_dim": 3, "filter_order": 8, "l_max": 40,
                  "modulate": True, "shift": 0.0, "w": 10, "lr": 6e-4, "wd": 0.0,
                  "lr_pos_emb": 0.0},
    }
    with open(os.path.join(fixdir, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    torch.manual_seed(SEED)
    scratch = mod.HyenaDNAModel(**json.loads(json.dumps(config))).eval()
    sd = {"model." + k: v for k, v in scratch.state_dict().items()}
    torch.save({"state_dict": sd, "epoch": 0, "global_step": 0}, os.path.join(fixdir, "weights.ckpt"))
    parent, name = os.path.split(fixdir.rstrip("/"))
    ref = mod.HyenaDNAPreTrainedModel.from_pretrained(parent, name, download=False, device="cpu")
    ref.eval()
    rng = random.Random(SEED + 2)
    ids_list = [[0], [0, 1], [0] + [rng.randrange(7, 12) for _ in range(15)] + [1],
                [0] + [rng.randrange(7, 12) for _ in range(38)] + [1]]

    def run(ids):
        block_out, emb_out = [], []
        hooks = [b.register_forward_hook(lambda _m, _i, o: block_out.append((o[0] + o[1]).detach()))
                 for b in ref.backbone.layers]
        hooks.append(ref.backbone.embeddings.register_forward_hook(
            lambda _m, _i, o: emb_out.append(o.detach())))
        with torch.no_grad():
            last = ref(torch.tensor([ids]))
        for h in hooks:
            h.remove()
        return last[0], [emb_out[0][0]] + [b[0] for b in block_out]
    return mmf.records_from(run, ids_list, None), {
        "model_class": "bend.models.hyena_dna.HyenaDNAModel via HyenaDNAPreTrainedModel.from_pretrained",
        "hidden_states_note": "0 = word embeddings, i = residual stream after block i; "
                              "last_hidden_state = ln_f output"}


FIXTURES = [("awdlstm_reset", "awdlstm", make_awdlstm_reset),
            ("hyenadna_order3", "hyenadna", make_hyenadna_order3)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bend", required=True, help="upstream BEND checkout")
    ap.add_argument("--out", required=True, help="output directory (tests/fixtures/seqlm)")
    ap.add_argument("--bend-commit", help="commit to record when --bend is not a git work tree")
    args = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    ctx = {"bend": mmf.load_bend(args.bend)}
    commit = git_commit(args.bend, args.bend_commit)
    versions = package_versions(("torch", "transformers", "h5py", "numpy", "einops"), missing=None)
    for dirname, family, maker in FIXTURES:
        fixdir = os.path.join(args.out, dirname)
        if os.path.isdir(fixdir):
            shutil.rmtree(fixdir)
        os.makedirs(fixdir)
        recs, attrs = maker(fixdir, ctx)
        attrs = dict(attrs, bend_commit=commit, python_packages=versions, seed=SEED)
        mmf.write_expected(fixdir, family, recs, attrs)
        size = sum(os.path.getsize(os.path.join(fixdir, f)) for f in os.listdir(fixdir))
        print(f"{dirname:16s} {size / 1024:6.1f} KiB  {' '.join(sorted(os.listdir(fixdir)))}")


if __name__ == "__main__":
    main()
