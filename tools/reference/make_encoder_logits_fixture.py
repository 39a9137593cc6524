"""MLM logits of the tiny reference checkpoints (tests/fixtures/models), for test_encoder's check
of bend_transformer_lm_logits.

Each family's own *ForMaskedLM class (HF BertForMaskedLM for DNABERT, EsmForMaskedLM for NT v1,
HF BigBirdForMaskedLM, and BEND's DNABERT-2 and GENA-LM BERT copies, imported from the upstream
checkout given with --bend) is loaded from the fixture directory and run on the input_ids that
make_model_fixtures.py recorded in expected.h5. The logits of the 4101/4105-token vocabularies are
large, so those families keep their first sequence only. GROVER's fixture is a bare BertModel
(no head) and is left out.

usage: make_encoder_logits_fixture.py --bend /path/to/BEND --models tests/fixtures/models \
           --out tests/fixtures/encoder/logits.h5
"""
import argparse
import os

import h5py
import numpy as np
import torch

from make_model_fixtures import load_bend
from upstream_source import git_commit, package_versions


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bend", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    mods = load_bend(a.bend)
    from transformers import BertForMaskedLM, BigBirdForMaskedLM, EsmForMaskedLM
    families = {  # fixture dir -> (loader, sequences kept)
        "dnabert6": (BertForMaskedLM.from_pretrained, 1),
        "nt_v1": (EsmForMaskedLM.from_pretrained, 1),
        "dnabert2": (mods["dnabert2"].BertForMaskedLM.from_pretrained, 3),
        "gena_lm_bert": (mods["gena_lm"].BertForMaskedLM.from_pretrained, 3),
        "gena_lm_bigbird": (BigBirdForMaskedLM.from_pretrained, 3),
    }
    with h5py.File(a.out, "w") as out:
        out.attrs["bend_commit"] = git_commit(a.bend)
        out.attrs["python_packages"] = package_versions(["torch", "transformers"])
        out.attrs["layout"] = "/<fixture>/<i>/input_ids, /<fixture>/<i>/logits [tokens, vocab]"
        for fam, (load, keep) in families.items():
            d = os.path.join(a.models, fam)
            with h5py.File(os.path.join(d, "expected.h5")) as exp:
                ids_list = [exp[f"{i}/input_ids"][()] for i in range(keep)]
            for i, ids in enumerate(ids_list):
                # BigBird: a fresh model per sequence (HF switches a model object to full
                # attention for good on a short input); the others have no state
                model = load(d).eval()
                with torch.no_grad():
                    logits = model(torch.tensor([ids.astype(np.int64)])).logits
                logits = logits.reshape(len(ids), -1).numpy().astype(np.float32)
                g = out.create_group(f"{fam}/{i}")
                g["input_ids"] = ids
                g["logits"] = logits
            out[fam].attrs["model_class"] = getattr(load, "__self__", load).__name__


if __name__ == "__main__":
    main()
