#!/usr/bin/env python3
"""Record what upstream BEND's trainable downstream networks, losses and torch's AdamW compute,
for tests/unit/test_net.c and tests/unit/test_loss_adamw.c.

    python make_train_fixtures.py /path/to/BEND-checkout tests/fixtures/train

Builds BEND's own modules (bend.models.downstream.CNN / ConvNetForSupervised,
bend.models.basset.Basset, imported from the checkout) and its loss classes
(bend/utils/task_trainer.py, executed with exec_selected), runs them in train mode on fixed random
inputs, and writes OUT_DIR/train.safetensors with, per case `<case>/`:
  x, target               the batch (target as float64; -100 is padding)
  w/<name>                initial weights under BEND's state_dict names (Basset: not stored, see
                          formula/<name> = [offset, scale, phase]: value[i] = offset + scale *
                          sin(0.61803 i + phase), computed in float64 then rounded to float32)
  y                       forward output (train mode); basset also y_eval (eval mode, before
                          training) and running stats after the first train forward (rs/<name>)
  loss, dpred             BEND's loss (mean) and d(loss)/d(output)
  step{k}/grad/<name>     parameter gradients before AdamW step k (k = 1..3, same batch each step)
  step{k}/param/<name>    parameters after AdamW step k (lr 1e-2, weight_decay 0.01, defaults)
  ref64/y, ref64/grad/<name>   the same first step in float64 (see record_float64)
  idx/<name>              Basset only: which flat elements the grad/param records hold (sampled,
                          the full tensors are megabytes)
  act/<a>/y, act/<a>/grad/<name>   cnn_ce, cnn_down: output with activation a and the
                          gradients of sum(y * act_r) (act_r stored), for softmax, sigmoid,
                          softplus (cnn_down's softmax spans the flattened [B, L/4])
Also loss-only cases: bce_mask (BCE with -100 targets, BEND's buggy mean and the masked mean),
mse, poisson."""
import copy
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream_source import exec_selected, git_commit, package_versions  # noqa: E402

if len(sys.argv) != 3:
    sys.exit(__doc__)
BEND_DIR, OUT_DIR = sys.argv[1], sys.argv[2]
sys.path.insert(0, BEND_DIR)
from bend.models.basset import Basset  # noqa: E402
from bend.models.downstream import CNN, ConvNetForSupervised  # noqa: E402

losses = exec_selected(os.path.join(BEND_DIR, "bend/utils/task_trainer.py"), "task_trainer",
                       modules={"torch", "torch.nn"},
                       classes={"CrossEntropyLoss", "BCEWithLogitsLoss", "PoissonLoss", "MSELoss"})

torch.manual_seed(20241125)
rng = np.random.default_rng(20241125)
out = {}


def put(key, a):
    out[key] = np.ascontiguousarray(np.asarray(a, dtype=np.float32 if not isinstance(a, np.ndarray)
                                               or a.dtype != np.float64 else np.float64))


def put_t(key, t):
    out[key] = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


def record_float64(case, model, x, target, criterion, samples=None):
    """The first step's output, loss and gradients in float64 from a copy of the model: how far
    torch's float32 result is from the exact one (a test's tolerance can take that into
    account where float32 rounding in torch alone exceeds it)."""
    m64 = copy.deepcopy(model).double()
    m64.train()
    y = m64(x.double())
    loss = copy.deepcopy(criterion).double()(y, target)
    loss.backward()
    put_t(f"{case}/ref64/y", y)
    for n, p in m64.named_parameters():
        g = p.grad.flatten()
        put_t(f"{case}/ref64/grad/{n}", g if samples is None else g[samples[n]])


def run_case(case, model, x, target, criterion, samples=None):
    """Forward/loss/backward and three AdamW steps on the same batch."""
    record_float64(case, model, x, target, criterion, samples)
    model.train()
    sd = model.state_dict()
    if samples is None:
        for k, v in sd.items():
            if v.dtype.is_floating_point:
                put_t(f"{case}/w/{k}", v)
    put_t(f"{case}/x", x)
    out[f"{case}/target"] = target.numpy().astype(np.float64)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    names = [n for n, _ in model.named_parameters()]
    for step in range(1, 4):
        opt.zero_grad()
        y = model(x)
        y.retain_grad()
        loss = criterion(y, target)
        loss.backward()
        if step == 1:
            put_t(f"{case}/y", y)
            put_t(f"{case}/dpred", y.grad)
            put(f"{case}/loss", np.array([loss.item()], dtype=np.float64))
            if samples is not None:
                for k, v in model.state_dict().items():
                    if "running" in k:
                        put_t(f"{case}/rs/{k}", v)
        for n, p in model.named_parameters():
            g = p.grad.flatten()
            put_t(f"{case}/step{step}/grad/{n}", g if samples is None else g[samples[n]])
        opt.step()
        for n, p in model.named_parameters():
            v = p.detach().flatten()
            put_t(f"{case}/step{step}/param/{n}", v if samples is None else v[samples[n]])
    return names


# 1. CNN, per-position 3 classes, cross entropy with -100 padding and class weights; plus the
#    output activations' forward and backward.
model = CNN(input_size=5, output_size=3, hidden_size=4, kernel_size=3)
x = torch.randn(3, 13, 5)
target = torch.randint(0, 3, (3, 13))
target[1, 9:] = -100
target[2, 0] = -100
cw = torch.tensor([0.5, 1.0, 2.0])
put("cnn_ce/class_weights", np.array(cw.numpy(), dtype=np.float64))


def record_activations(case, model, x):
    for act in ("softmax", "sigmoid", "softplus"):
        model.zero_grad()
        y = model(x, activation=act)
        r = torch.randn_like(y)
        (y * r).sum().backward()
        put_t(f"{case}/act/{act}/y", y)
        put_t(f"{case}/act/{act}/r", r)
        for n, p in model.named_parameters():
            put_t(f"{case}/act/{act}/grad/{n}", p.grad)
    model.zero_grad()


record_activations("cnn_ce", model, x)
run_case("cnn_ce", model, x, target, losses["CrossEntropyLoss"](ignore_index=-100, weight=cw))

# 2. CNN with a downsample window and output_size 1: [B, L/4] flattened, BCE with a positive
#    weight in BEND's mode (the padding mask masks nothing; a -100 target is counted).
model = CNN(input_size=7, output_size=1, hidden_size=4, kernel_size=3, output_downsample_window=4)
x = torch.randn(3, 13, 7)
target = torch.randint(0, 2, (3, 3))
target[2, 2] = -100
pw = torch.tensor([2.5])
put("cnn_down/class_weights", np.array(pw.numpy(), dtype=np.float64))
record_activations("cnn_down", model, x)  # softmax over the flattened [B, L/4]
run_case("cnn_down", model, x, target, losses["BCEWithLogitsLoss"](class_weights=pw))

# 3. CNN multi-label: window = L, 6 labels -> [B, 6], BCE with per-label weights.
model = CNN(input_size=5, output_size=6, hidden_size=4, kernel_size=3, output_downsample_window=13)
x = torch.randn(3, 13, 5)
target = torch.randint(0, 2, (3, 6))
pw = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5, 1.0])
put("cnn_multi/class_weights", np.array(pw.numpy(), dtype=np.float64))
run_case("cnn_multi", model, x, target, losses["BCEWithLogitsLoss"](class_weights=pw))

# 4. Losses alone. BCE with -100 targets: BEND's mean over everything and the masked mean.
pred = torch.randn(4, 5, requires_grad=True)
t = torch.randint(0, 2, (4, 5))
t[0, 1] = t[3, 4] = t[2, 0] = -100
pw = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5])
crit = losses["BCEWithLogitsLoss"](class_weights=pw)
loss = crit(pred, t)
loss.backward()
put_t("bce_mask/pred", pred)
out["bce_mask/target"] = t.numpy().astype(np.float64)
put("bce_mask/class_weights", np.array(pw.numpy(), dtype=np.float64))
put("bce_mask/loss", np.array([loss.item()], dtype=np.float64))
put_t("bce_mask/dpred", pred.grad)
pred.grad = None
el = torch.nn.BCEWithLogitsLoss(reduction="none")(pred, t.float()) * torch.where(t == 1, pw, 1)
masked = el[t != -100].mean()
masked.backward()
put("bce_mask/loss_masked", np.array([masked.item()], dtype=np.float64))
put_t("bce_mask/dpred_masked", pred.grad)

pred = torch.randn(2, 3, 4, requires_grad=True)
t = torch.randn(2, 4, 3)  # MSELoss permutes pred to [B, C, L]: its target is [B, C, L]
loss = losses["MSELoss"]()(pred, t)
loss.backward()
put_t("mse/pred", pred.permute(0, 2, 1))  # stored in the target's order, as bend pairs them
out["mse/target"] = t.numpy().astype(np.float64)
put("mse/loss", np.array([loss.item()], dtype=np.float64))
put_t("mse/dpred", pred.grad.permute(0, 2, 1))

pred = torch.rand(3, 5) * 3
pred[0, 0] = 0.0  # below the clamp: log(1e-20)
pred.requires_grad_(True)
t = torch.poisson(torch.full((3, 5), 2.0))
loss = losses["PoissonLoss"]()(pred, t)
loss.backward()
put_t("poisson/pred", pred)
out["poisson/target"] = t.numpy().astype(np.float64)
put("poisson/loss", np.array([loss.item()], dtype=np.float64))
put_t("poisson/dpred", pred.grad)

# 5. Basset at BEND's real size (input 512, 5 channels), weights from a formula, dropout p = 0
#    so train mode is deterministic; BCE multi-label.
model = Basset(input_size=5, input_len=512, output_size=4)
with torch.no_grad():
    for ti, (n, p) in enumerate(model.named_parameters()):
        if n.startswith("conv_net.") and p.dim() == 1 and n.split(".")[1] in ("1", "5", "9"):
            off, sc = (1.0, 0.1) if n.endswith("weight") else (0.0, 0.1)
        else:
            mod = model.get_submodule(n.rsplit(".", 1)[0])
            fan_in = mod.weight[0].numel()
            off, sc = 0.0, 1.0 / np.sqrt(fan_in)
        i = np.arange(p.numel(), dtype=np.float64)
        v = off + sc * np.sin(0.61803 * i + float(ti))
        p.copy_(torch.from_numpy(v.astype(np.float32)).reshape(p.shape))
        put(f"basset/formula/{n}", np.array([off, sc, float(ti)], dtype=np.float64))
model.clf[3].p = 0.0
model.clf[5].p = 0.0
ids = torch.randint(0, 5, (3, 512))
x = torch.nn.functional.one_hot(ids, 5).float()
model.eval()
with torch.no_grad():
    put_t("basset/y_eval", model(x))
target = torch.randint(0, 2, (3, 4))
samples = {}
for n, p in model.named_parameters():
    k = min(p.numel(), 61)
    picks = np.linspace(0, p.numel() - 1, k).round().astype(np.int64)
    samples[n] = torch.from_numpy(np.unique(picks))
    out[f"basset/idx/{n}"] = samples[n].numpy().astype(np.float64)
run_case("basset", model, x, target, losses["BCEWithLogitsLoss"](), samples=samples)

# 6. Supervised ResNet, small: 7 layers (dilations 1..32 then 1 again), hidden 8, kernel 3;
#    one-hot ids widened to the hidden width as BEND's OneHotEmbedding(hidden) does.
model = ConvNetForSupervised(hidden_size=8, vocab_size=5, n_layers=7, kernel_size=3,
                             output_size=3, hidden_size_downstream=4, kernel_size_downstream=3)
ids = torch.randint(0, 5, (2, 40))
x8 = torch.nn.functional.one_hot(ids, 8).float()
target = torch.randint(0, 3, (2, 40))
target[1, 30:] = -100
run_case("resnet", model, x8, target, losses["CrossEntropyLoss"](ignore_index=-100))
out["resnet/x"] = out["resnet/x"][:, :, :5].copy()  # bend's input: the 5 one-hot channels

os.makedirs(OUT_DIR, exist_ok=True)
save_file(out, os.path.join(OUT_DIR, "train.safetensors"),
          metadata={"bend_commit": git_commit(BEND_DIR),
                    "packages": package_versions(["torch", "numpy", "safetensors"])})
print(f"wrote {len(out)} tensors to {OUT_DIR}/train.safetensors")
