#!/usr/bin/env python3
"""Writes the checkpoint-format fixtures that tests/unit/test_weights.c reads.

One small state dict of deterministic tensors (every dtype the loader converts, a scalar, 1-D to
3-D shapes, an empty tensor, a transposed view, slices with a storage offset and a tied pair) is
saved by PyTorch and safetensors in every on-disk format bend reads, and its values, as PyTorch
computes them, go to expected.h5. A few hostile files go to bad/.

    /tmp/refvenv/bin/python tools/reference/make_weight_fixtures.py --out tests/fixtures/weights
"""
import argparse
import collections
import io
import json
import os
import pickle
import shutil
import sys
import types
import zipfile

import h5py
import numpy as np
import safetensors
import safetensors.torch
import torch

DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def make_state_dict():
    g = torch.Generator().manual_seed(20240611)

    def randn(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=g, dtype=torch.float32).to(dtype)

    def randint(lo, hi, shape, dtype):
        return torch.randint(lo, hi, shape, generator=g, dtype=torch.int64).to(dtype)

    sd = collections.OrderedDict()
    word = randn(16, 8)
    sd["embeddings.word_embeddings.weight"] = word
    sd["encoder.layer.0.attention.self.query.weight"] = randn(8, 8)
    sd["encoder.layer.0.attention.self.query.bias"] = randn(8)
    sd["lm_head.decoder.weight"] = word  # tied: the same tensor (one storage) under two names
    sd["backbone.layers.0.mixer.short_filter.weight"] = randn(6, 1, 3)
    sd["scalar.temperature"] = torch.tensor(0.125)
    half = randn(5, 3, dtype=torch.float16)
    sd["half.weight"] = half
    sd["half.rows_1_3"] = half[1:3]  # storage offset 3 in a 2-byte storage
    sd["half.special"] = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), 65504.0, 6e-8, -1.5],
                                      dtype=torch.float16)
    sd["bf16.weight"] = randn(3, 4, dtype=torch.bfloat16)
    sd["f64.buffer"] = randn(5, dtype=torch.float64) * 1e3
    sd["position_ids"] = torch.arange(12, dtype=torch.int64).reshape(1, 12)
    sd["i64.large"] = torch.tensor([2**40 + 7, -(2**35), 0, 2**52 - 1], dtype=torch.int64)
    sd["i32.buffer"] = randint(-100000, 100000, (7,), torch.int32)
    sd["i16.buffer"] = randint(-32768, 32768, (2, 5), torch.int16)
    sd["i8.buffer"] = randint(-128, 128, (9,), torch.int8)
    sd["u8.cube"] = randint(0, 256, (2, 3, 2), torch.uint8)
    sd["bool.mask"] = randn(3, 3) > 0
    sd["empty.buffer"] = torch.zeros(0, 4)
    base = randn(6, 5)
    sd["view.base"] = base
    sd["view.transposed"] = base.t()  # non-contiguous, strides (1, 5), same storage
    sd["view.rows_2_5"] = base[2:5]  # storage offset 10
    sd["view.permuted"] = randn(2, 3, 4).permute(2, 0, 1)  # strides (1, 12, 4)
    sd._metadata = collections.OrderedDict({"": {"version": 1}})  # as nn.Module.state_dict() has
    return sd


def contiguous_clones(sd):
    return {k: v.contiguous().clone() for k, v in sd.items()}


def fake_omegaconf():
    """A stand-in for omegaconf.dictconfig.DictConfig (a dict subclass pickled by reference, as
    the configs in real HyenaDNA Lightning checkpoints are), without needing omegaconf."""
    pkg = types.ModuleType("omegaconf")
    mod = types.ModuleType("omegaconf.dictconfig")

    class DictConfig(dict):
        pass

    DictConfig.__module__ = "omegaconf.dictconfig"
    DictConfig.__qualname__ = "DictConfig"
    mod.DictConfig = DictConfig
    pkg.dictconfig = mod
    sys.modules.setdefault("omegaconf", pkg)
    sys.modules.setdefault("omegaconf.dictconfig", mod)
    return DictConfig


def lightning_checkpoint(sd):
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(lin.parameters(), lr=6e-4, betas=(0.9, 0.999), weight_decay=0.1)
    lin(torch.ones(2, 4)).sum().backward()
    opt.step()
    DictConfig = fake_omegaconf()
    cfg = DictConfig(d_model=8, n_layer=2, layer=DictConfig(_name_="hyena", l_max=1026))
    cfg.extra = "instance state, pickled with BUILD"
    return {
        "epoch": 3,
        "global_step": 10,
        "pytorch-lightning_version": "1.8.6",
        "state_dict": collections.OrderedDict(("model." + k, v) for k, v in sd.items()),
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 4}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val/loss'}": {"best_model_score": torch.tensor(0.25),
                                                               "best_model_path": "/ckpt/best.ckpt"}},
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [{"base_lrs": [6e-4], "last_epoch": 10, "_step_count": 11, "verbose": False}],
        "hyper_parameters": {"model": cfg, "lr": 6e-4, "tags": ["hg38", "tiny"], "betas": (0.9, 0.999),
                             "flag": True, "nothing": None, "big": 2**70},
    }


def write_zip64(src, dst):
    """Re-packs a torch zip with ZIP64 everywhere: sizes/offsets of 0xffffffff with the 0x0001 extra
    field in every central-directory entry, and the ZIP64 end records (forced by lowering
    zipfile's limits). Entries stay stored, names unchanged; the 64-byte alignment is lost."""
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 0, 0
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                with zout.open(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), "w",
                               force_zip64=True) as f:
                    f.write(zin.read(info))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved
    with open(dst, "rb") as f:
        data = f.read()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data, "no ZIP64 end records"
    # torch.load cannot check this file: its miniz rejects a zero-length entry (the empty tensor's
    # storage) whose local-header offset is in the ZIP64 extra field (it adds the 0xffffffff
    # placeholder to the size). Python's zipfile and Info-ZIP read it; check it that way.
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst) as b:
        assert b.testzip() is None
        assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()]
        assert all(a.read(n) == b.read(n) for n in a.namelist())


def write_expected(sd, path):
    with h5py.File(path, "w") as h5:
        h5.attrs["torch_version"] = str(torch.__version__)
        h5.attrs["safetensors_version"] = str(safetensors.__version__)
        for name, t in sd.items():
            d = h5.create_dataset(name, data=t.to(torch.float64).contiguous().numpy())
            d.attrs["dtype"] = DTYPE_NAMES[t.dtype]
            d.attrs["shape"] = np.array(t.shape, dtype=np.int64)
            d.attrs["stride"] = np.array(t.stride(), dtype=np.int64)
            d.attrs["storage_offset"] = t.storage_offset()


class FakeStorage:
    def __init__(self, key, numel, cls="FloatStorage"):
        self.key, self.numel, self.cls = key, numel, cls


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def fake_pickle(obj):
    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, FakeStorage):
                return ("storage", getattr(torch, o.cls), o.key, "cpu", o.numel)
            return None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(obj)
    return buf.getvalue()


def torch_like_zip(path, pkl, storages=(), compress=False):
    """A zip laid out as torch.save's (archive/data.pkl, archive/data/<key>, ...)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, data in storages:
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")


def write_bad(out):
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)
    four = np.arange(4, dtype=np.float32).tobytes()
    ok = {"w": FakeTensor(FakeStorage("0", 4), 0, (4,), (1,))}
    torch_like_zip(os.path.join(bad, "compressed.bin"), fake_pickle(ok), [("0", four * 64)], compress=True)
    # A view reaching element 11 of a 4-element storage (size 4, stride 3).
    over = {"w": FakeTensor(FakeStorage("0", 4), 0, (4,), (3,))}
    torch_like_zip(os.path.join(bad, "overrun.bin"), fake_pickle(over), [("0", four)])
    # The persistent id says 8 elements; data/0 holds 4.
    short = {"w": FakeTensor(FakeStorage("0", 8), 0, (8,), (1,))}
    torch_like_zip(os.path.join(bad, "short_storage.bin"), fake_pickle(short), [("0", four)])
    # os.system (pickled as posix.system) where a tensor should be.
    torch_like_zip(os.path.join(bad, "os_system.bin"), fake_pickle({"w": Evil()}))
    # A harmless but foreign global in a plain state dict.
    torch_like_zip(os.path.join(bad, "foreign.bin"),
                   fake_pickle({"w": FakeTensor(FakeStorage("0", 4), 0, (4,), (1,)),
                                "args": argparse.Namespace(lr=1.0)}), [("0", four)])
    # An opcode torch never writes (0xfe is no pickle opcode at all).
    torch_like_zip(os.path.join(bad, "unknown_opcode.bin"), b"\x80\x02}q\x00\xfe.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    out = ap.parse_args().out
    if os.path.isdir(out):
        shutil.rmtree(out)
    for sub in ("zip64", "legacy", "proto4", "sharded", "sharded_safetensors", "lightning"):
        os.makedirs(os.path.join(out, sub))
    sd = make_state_dict()

    safetensors.torch.save_file(contiguous_clones(sd), os.path.join(out, "model.safetensors"),
                                metadata={"format": "pt"})
    torch.save(sd, os.path.join(out, "pytorch_model.bin"))
    write_zip64(os.path.join(out, "pytorch_model.bin"), os.path.join(out, "zip64", "pytorch_model.bin"))
    torch.save(sd, os.path.join(out, "legacy", "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(out, "proto4", "pytorch_model.bin"), pickle_protocol=4)

    names = list(sd.keys())
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    for sub, ext, save in (("sharded", "bin", lambda d, p: torch.save(d, p)),
                           ("sharded_safetensors", "safetensors",
                            lambda d, p: safetensors.torch.save_file(contiguous_clones(d), p))):
        stem = "pytorch_model" if ext == "bin" else "model"
        weight_map = {}
        for i, part in enumerate(halves):
            shard = f"{stem}-{i + 1:05d}-of-00002.{ext}"
            save(collections.OrderedDict((k, sd[k]) for k in part), os.path.join(out, sub, shard))
            weight_map.update({k: shard for k in part})
        index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in sd.values())},
                 "weight_map": weight_map}
        with open(os.path.join(out, sub, f"{stem}.{ext}.index.json"), "w") as f:
            json.dump(index, f, indent=2)

    torch.save(lightning_checkpoint(sd), os.path.join(out, "lightning", "weights.ckpt"))
    write_expected(sd, os.path.join(out, "expected.h5"))
    write_bad(out)

    # PyTorch itself must read back what the loader will be tested on.
    for p in ("pytorch_model.bin", "legacy/pytorch_model.bin", "proto4/pytorch_model.bin",
              "sharded/pytorch_model-00001-of-00002.bin", "lightning/weights.ckpt"):
        back = torch.load(os.path.join(out, p), weights_only=False)
        back = back.get("state_dict", back)
        assert all(torch.equal(v, sd[k.removeprefix("model.")]) for k, v in back.items()), p
    back = safetensors.torch.load_file(os.path.join(out, "model.safetensors"))
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    for root, _, files in os.walk(out):
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    print(f"wrote {out}: {len(sd)} tensors; torch {torch.__version__}, safetensors {safetensors.__version__}")


if __name__ == "__main__":
    main()
