#!/usr/bin/python3
"""Generate the golden files the C++ tests compare against (so the tests need no Python).

For each of the seven model variants of Zhang et al. 2022 (CNN, LSTM_evi, LSTM_lsp,
LSTM_evi_lsp, CNN-LSTM_evi, CNN-LSTM_lsp, CNN-LSTM_evi_lsp) this script builds the paper's
PyTorch module (same classes, same state_dict names, same initialisation: PyTorch default init
under a fixed per-variant torch.manual_seed, then every nn.Linear re-initialised with
xavier_uniform_ weights and bias 0.01) and writes <OUT>/<variant>.safetensors holding, all
float32:

  <state_dict name>         the initial weights, e.g. "conv1.weight", "lstm.weight_ih_l0"
  input.x_cnn               (16, 10, 5, 5)  uniform [0, 1]   (variants with a CNN branch)
  input.x_lstm              (16, 10, F)     uniform [0, 1]   (variants with an LSTM branch)
  input.y                   (16,)           12 + 3 * randn
  output                    (16,)           model(inputs), train mode
  loss                      (1,)            nn.MSELoss()(output, input.y)
  grad.<param>              d loss / d param at the initial weights
  adam.<param>              weights after 20 torch.optim.Adam steps (lr 1e-3, other defaults);
                            step s (0-based) uses rows [8*(s%2), 8*(s%2)+8), MSE loss,
                            zero_grad before each backward
  only in CNN-LSTM_evi_lsp (the paper's main model), same batches and 20 steps each,
  always starting from the initial weights:
  adam_l2.<param>           torch.optim.Adam(lr=1e-2, weight_decay=1e-2)   (classic L2)
  adamw.<param>             torch.optim.AdamW(lr=1e-2, weight_decay=1e-2)  (decoupled)
  sgd.<param>               torch.optim.SGD(lr=1e-2, momentum=0.9, nesterov=False,
                            weight_decay=1e-3)

The LSTM dropout of the golden models is 0.0 (the paper's code passes a dropout between the
two LSTM layers), so train-mode passes are deterministic; the metadata says so.
__metadata__ (all strings): variant, model (architecture JSON), adam (optimiser settings and
batch rule, JSON), optimizers (JSON of the extra trajectories adam_l2/adamw/sgd, "{}" when
there are none), note, seed, torch_version, generator.

The output is deterministic (single thread, fixed seeds): rerunning gives the same bytes with
the same torch build. Rerun from the repository root with

    /usr/bin/python3 tests/golden/make_golden.py            # writes tests/data/golden/
    /usr/bin/python3 tests/golden/make_golden.py --out DIR  # somewhere else

(Debian's Python, which has torch; no safetensors package is needed: the writer is below.)
"""

import argparse
import copy
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

GENERATOR = "tests/golden/make_golden.py"
N_SAMPLES = 16
BATCH = 8
STEPS = 20
T_YEARS = 10
CNN_CHANNELS = 10
PATCH = 5
HIDDEN = 8
LAYERS = 2
DROPOUT = 0.0  # golden models only; see the module docstring

# variant -> (kind, F, seed). Seeds are fixed per variant (the paper trains with seed 314).
VARIANTS = OrderedDict([
    ("CNN",              ("cnn",      None, 314)),
    ("LSTM_evi",         ("lstm",     1,    315)),
    ("LSTM_lsp",         ("lstm",     11,   316)),
    ("LSTM_evi_lsp",     ("lstm",     12,   317)),
    ("CNN-LSTM_evi",     ("cnn_lstm", 1,    318)),
    ("CNN-LSTM_lsp",     ("cnn_lstm", 11,   319)),
    ("CNN-LSTM_evi_lsp", ("cnn_lstm", 12,   320)),
])
MAIN_VARIANT = "CNN-LSTM_evi_lsp"


# ----------------------------------------------------------------------------------------------
# The paper's architectures, written from their description in the design guide (attribute
# names are the state_dict names).

def _flat(x):
    return x.reshape(x.shape[0], -1)


class ConvNet(nn.Module):
    def __init__(self, num_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(num_channels, 16, kernel_size=(2, 2), stride=1, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=(2, 2), stride=1, padding=1)
        self.fc1 = nn.Linear(64, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = F.relu(self.fc1(_flat(x)))
        return self.fc2(x).reshape(-1)


class SimpleLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, dropout):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size,
                            num_layers=num_layers, dropout=dropout, batch_first=True)
        self.fc_1 = nn.Linear(hidden_size, 16)
        self.fc_2 = nn.Linear(16, 1)

    def forward(self, x):
        x, _ = self.lstm(x)
        x = torch.tanh(self.fc_1(x[:, -1, :]))
        return self.fc_2(x).reshape(-1)


class CovLSTM(nn.Module):
    def __init__(self, cnn_num_channels, lstm_input_size, lstm_hidden_size,
                 lstm_num_layers, lstm_dropout):
        super().__init__()
        self.conv1 = nn.Conv2d(cnn_num_channels, 6, kernel_size=(2, 2), stride=1, padding=1)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=(2, 2), stride=1, padding=1)
        self.fc_cnn_1 = nn.Linear(64, 16)
        self.lstm = nn.LSTM(input_size=lstm_input_size, hidden_size=lstm_hidden_size,
                            num_layers=lstm_num_layers, dropout=lstm_dropout, batch_first=True)
        self.fc_lstm_1 = nn.Linear(lstm_hidden_size, 16)
        self.fc_final = nn.Linear(16 + 16, 1)

    def forward(self, x_cnn, x_lstm):
        c = F.max_pool2d(F.relu(self.conv1(x_cnn)), (2, 2))
        c = F.max_pool2d(F.relu(self.conv2(c)), (2, 2))
        c = F.relu(self.fc_cnn_1(_flat(c)))
        s, _ = self.lstm(x_lstm)
        s = torch.tanh(self.fc_lstm_1(s[:, -1, :]))
        return self.fc_final(torch.cat((c, s), 1)).reshape(-1)


def init_weights(m):
    """The paper's re-initialisation, applied with model.apply(init_weights)."""
    if type(m) == nn.Linear:
        nn.init.xavier_uniform_(m.weight)
        m.bias.data.fill_(0.01)


def build_model(kind, n_features, dropout=DROPOUT):
    if kind == "cnn":
        return ConvNet(CNN_CHANNELS)
    if kind == "lstm":
        return SimpleLSTM(n_features, HIDDEN, LAYERS, dropout)
    return CovLSTM(CNN_CHANNELS, n_features, HIDDEN, LAYERS, dropout)


def architecture(variant, kind, n_features):
    cnn = None
    if kind in ("cnn", "cnn_lstm"):
        cnn = {"in_channels": CNN_CHANNELS, "patch": PATCH,
               "conv_channels": [16, 16] if kind == "cnn" else [6, 16],
               "kernel": 2, "padding": 1, "pool": 2, "fc": 16}
    lstm = None
    if kind in ("lstm", "cnn_lstm"):
        lstm = {"input_size": n_features, "hidden_size": HIDDEN, "num_layers": LAYERS,
                "dropout": DROPOUT, "fc": 16}
    return {"variant": variant, "cnn": cnn, "lstm": lstm, "head": {"outputs": 1}}


# ----------------------------------------------------------------------------------------------
# safetensors, written and read by hand.

def write_safetensors(path, tensors, metadata):
    """tensors: ordered {name: float32 torch tensor}; stored in that order, no gaps."""
    header = OrderedDict()
    header["__metadata__"] = OrderedDict((k, str(v)) for k, v in metadata.items())
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4")
        b = a.tobytes(order="C")
        header[name] = OrderedDict([("dtype", "F32"), ("shape", list(a.shape)),
                                    ("data_offsets", [offset, offset + len(b)])])
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns ({name: np.ndarray}, metadata). F32 only, checks the layout is gap-free."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100 * 1024 * 1024 or 8 + n > len(data):
        raise ValueError(f"{path}: bad header length {n}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    buf = data[8 + n:]
    spans = []
    out = OrderedDict()
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}")
        b, e = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if e - b != 4 * count:
            raise ValueError(f"{path}: {name} size does not match its shape")
        out[name] = np.frombuffer(buf[b:e], dtype="<f4").reshape(info["shape"]).copy()
        spans.append((b, e))
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError(f"{path}: gap or overlap in the byte buffer at {b}")
        pos = e
    if pos != len(buf):
        raise ValueError(f"{path}: byte buffer has {len(buf) - pos} trailing bytes")
    return out, meta


# ----------------------------------------------------------------------------------------------
# Golden data.

def run(model, kind, x_cnn, x_lstm):
    if kind == "cnn":
        return model(x_cnn)
    if kind == "lstm":
        return model(x_lstm)
    return model(x_cnn, x_lstm)


def trajectory(model0, kind, x_cnn, x_lstm, y, make_opt):
    """STEPS optimiser steps from a copy of model0; batch s = rows [8*(s%2), 8*(s%2)+8)."""
    model = copy.deepcopy(model0)
    model.train()
    opt = make_opt(model.parameters())
    loss_fn = nn.MSELoss()
    for s in range(STEPS):
        lo = BATCH * (s % 2)
        sl = slice(lo, lo + BATCH)
        xc = x_cnn[sl] if x_cnn is not None else None
        xl = x_lstm[sl] if x_lstm is not None else None
        opt.zero_grad()
        loss = loss_fn(run(model, kind, xc, xl), y[sl])
        loss.backward()
        opt.step()
    return OrderedDict((k, v.detach().clone()) for k, v in model.named_parameters())


BATCH_RULE = (f"{STEPS} steps from the initial weights; step s (0-based) uses input rows "
              f"[{BATCH}*(s%2), {BATCH}*(s%2)+{BATCH}); loss nn.MSELoss() (mean); "
              f"zero_grad before each backward; model in train mode")

OPTIMIZERS = OrderedDict([
    ("adam", ({"optimizer": "torch.optim.Adam", "lr": 1e-3, "betas": [0.9, 0.999],
               "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
              lambda p: torch.optim.Adam(p, lr=1e-3))),
    ("adam_l2", ({"optimizer": "torch.optim.Adam", "lr": 1e-2, "betas": [0.9, 0.999],
                  "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
                 lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-2))),
    ("adamw", ({"optimizer": "torch.optim.AdamW", "lr": 1e-2, "betas": [0.9, 0.999],
                "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
               lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-2))),
    ("sgd", ({"optimizer": "torch.optim.SGD", "lr": 1e-2, "momentum": 0.9, "dampening": 0.0,
              "nesterov": False, "weight_decay": 1e-3},
             lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, nesterov=False,
                                       weight_decay=1e-3))),
])


def make_variant(variant, out_dir):
    kind, n_features, seed = VARIANTS[variant]

    torch.manual_seed(seed)
    model = build_model(kind, n_features)
    model.apply(init_weights)
    model.train()

    # Inputs from their own generator, so they do not depend on how much RNG the init used.
    g = torch.Generator().manual_seed(seed + 100000)
    x_cnn = x_lstm = None
    if kind in ("cnn", "cnn_lstm"):
        x_cnn = torch.rand(N_SAMPLES, CNN_CHANNELS, PATCH, PATCH, generator=g)
    if kind in ("lstm", "cnn_lstm"):
        x_lstm = torch.rand(N_SAMPLES, T_YEARS, n_features, generator=g)
    y = 12.0 + 3.0 * torch.randn(N_SAMPLES, generator=g)

    tensors = OrderedDict()
    for name, t in model.state_dict().items():
        tensors[name] = t.clone()
    if x_cnn is not None:
        tensors["input.x_cnn"] = x_cnn
    if x_lstm is not None:
        tensors["input.x_lstm"] = x_lstm
    tensors["input.y"] = y

    model.zero_grad()
    output = run(model, kind, x_cnn, x_lstm)
    loss = nn.MSELoss()(output, y)
    loss.backward()
    tensors["output"] = output.detach().clone()
    tensors["loss"] = loss.detach().reshape(1).clone()
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().clone()
    model.zero_grad()

    # Reference copy of the initial weights for the trajectories (independent of the pass above).
    model0 = build_model(kind, n_features)
    model0.load_state_dict(OrderedDict((k, v) for k, v in tensors.items()
                                       if k in model.state_dict()))

    runs = ["adam"] + (["adam_l2", "adamw", "sgd"] if variant == MAIN_VARIANT else [])
    for prefix in runs:
        final = trajectory(model0, kind, x_cnn, x_lstm, y, OPTIMIZERS[prefix][1])
        for name, t in final.items():
            tensors[prefix + "." + name] = t

    opt_meta = OrderedDict()
    for prefix in runs:
        d = dict(OPTIMIZERS[prefix][0])
        d["steps"] = STEPS
        d["batch_rule"] = BATCH_RULE if prefix == "adam" else "same as adam"
        d["tensors"] = prefix + ".<param>"
        opt_meta[prefix] = d

    metadata = OrderedDict([
        ("variant", variant),
        ("model", json.dumps(architecture(variant, kind, n_features), separators=(",", ":"))),
        ("adam", json.dumps(opt_meta["adam"], separators=(",", ":"))),
        ("optimizers", json.dumps(OrderedDict((k, v) for k, v in opt_meta.items()
                                              if k != "adam"), separators=(",", ":"))),
        ("note", "LSTM dropout is 0.0 in these golden models (the paper's modules take a "
                 "dropout argument for between the LSTM layers) so train-mode passes are "
                 "deterministic. "
                 f"Init: torch.manual_seed({seed}), PyTorch default init, then every nn.Linear "
                 "xavier_uniform_ weight and bias 0.01. N=16 samples; inputs uniform [0,1], "
                 "y = 12 + 3*randn. output/loss/grad.* are one train-mode pass over all 16 rows."),
        ("seed", str(seed)),
        ("torch_version", torch.__version__),
        ("generator", GENERATOR),
    ])

    path = os.path.join(out_dir, variant + ".safetensors")
    write_safetensors(path, tensors, metadata)

    # Read back and compare, so a writer bug cannot go unnoticed.
    back, meta = read_safetensors(path)
    assert list(back) == list(tensors), "tensor order changed on read-back"
    for k, t in tensors.items():
        if not np.array_equal(back[k], t.numpy()):
            raise AssertionError(f"{path}: {k} differs on read-back")
    assert meta["variant"] == variant
    return path, len(tensors)


def main(argv=None):
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(repo_root, "tests", "data", "golden"),
                    help="output directory (default: tests/data/golden)")
    ap.add_argument("--variant", action="append", choices=list(VARIANTS),
                    help="only this variant (repeatable; default: all seven)")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)  # bitwise-reproducible reductions
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    for variant in args.variant or list(VARIANTS):
        path, count = make_variant(variant, args.out)
        print(f"{path}: {count} tensors, {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
