#!/usr/bin/python3
"""The cases of bench_cnnlstm for the same model in PyTorch (Debian's python3-torch).

The paper's CNN-LSTM_evi_lsp (10x5x5 patches, 10 years x 12 features), written as in
tests/golden/make_golden.py, timed like bench_cnnlstm: warm-up, rounds of five measurements until a
round's median is within 2% of the overall median (calls of a second or more: one round of three),
the median reported.

  train_step_b<N>  zero_grad, forward, MSE loss, backward and an Adam step at batch N
  infer_b<N>       one prediction (eval mode, no autograd) at batch N
  seed_recipe      1000 epochs over 247 samples, batch 32 shuffled, an evaluation every 10 epochs
                   (predictions on the 247 training samples, as the Trainer does without a
                   validation set)

    /usr/bin/python3 benchmarks/pytorch_reference.py [--json] [--threads N] [--cases a,b,...]
"""

import argparse
import json
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS, PATCH, YEARS, FEATURES = 10, 5, 10, 12
RECIPE_SAMPLES, RECIPE_EPOCHS, RECIPE_BATCH, RECIPE_EVAL = 247, 1000, 32, 10


class CovLSTM(nn.Module):
    """The paper's CNN-LSTM: conv branch on the patches, LSTM branch on the yearly series."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(CHANNELS, 6, kernel_size=2, stride=1, padding=1)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=2, stride=1, padding=1)
        self.fc_cnn_1 = nn.Linear(64, 16)
        self.lstm = nn.LSTM(input_size=FEATURES, hidden_size=8, num_layers=2, batch_first=True)
        self.fc_lstm_1 = nn.Linear(8, 16)
        self.fc_final = nn.Linear(32, 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.constant_(m.bias, 0.01)

    def forward(self, x_cnn, x_lstm):
        a = F.max_pool2d(F.relu(self.conv1(x_cnn)), 2)
        a = F.max_pool2d(F.relu(self.conv2(a)), 2)
        a = F.relu(self.fc_cnn_1(a.reshape(a.shape[0], -1)))
        b, _ = self.lstm(x_lstm)
        b = torch.tanh(self.fc_lstm_1(b[:, -1, :]))
        return self.fc_final(torch.cat([a, b], dim=1)).reshape(-1)


def batch(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, CHANNELS, PATCH, PATCH, generator=g),
            torch.rand(n, YEARS, FEATURES, generator=g),
            12 + 3 * torch.randn(n, generator=g))


def median_us(op):
    """Microseconds per call of op, measured as bench_cnnlstm does."""
    start, calls = time.perf_counter(), 0
    while calls < 1 or time.perf_counter() - start < 0.3:
        op()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    reps = max(1, int(0.02 / per_call))
    slow = per_call >= 1.0
    per_round, max_rounds = (3, 1) if slow else (5, 8)
    every = []
    for round_ in range(max_rounds):
        this_round = []
        for _ in range(per_round):
            t = time.perf_counter()
            for _ in range(reps):
                op()
            this_round.append((time.perf_counter() - t) * 1e6 / reps)
        every += this_round
        overall = statistics.median(every)
        if round_ > 0 and abs(statistics.median(this_round) - overall) <= 0.02 * overall:
            break
    return statistics.median(every)


def paper_model():
    torch.manual_seed(314)
    return CovLSTM()


def train_step_us(n):
    model = paper_model()
    x_cnn, x_lstm, y = batch(n, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x_cnn, x_lstm), y)
        loss.backward()
        opt.step()

    return median_us(step)


def infer_us(n):
    model = paper_model().eval()
    x_cnn, x_lstm, _ = batch(n, 3)

    def predict():
        with torch.no_grad():
            model(x_cnn, x_lstm)

    return median_us(predict)


def seed_recipe_us():
    x_cnn, x_lstm, y = batch(RECIPE_SAMPLES, 4)

    def recipe():
        model = paper_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.MSELoss()
        g = torch.Generator().manual_seed(314)
        for epoch in range(1, RECIPE_EPOCHS + 1):
            model.train()
            order = torch.randperm(RECIPE_SAMPLES, generator=g)
            for start in range(0, RECIPE_SAMPLES, RECIPE_BATCH):
                rows = order[start:start + RECIPE_BATCH]
                opt.zero_grad()
                loss = loss_fn(model(x_cnn[rows], x_lstm[rows]), y[rows])
                loss.backward()
                opt.step()
            if epoch % RECIPE_EVAL == 0:
                model.eval()
                with torch.no_grad():
                    model(x_cnn, x_lstm)

    return median_us(recipe)


def run_case(name):
    if name == "seed_recipe":
        us = seed_recipe_us()
        return us, RECIPE_SAMPLES * RECIPE_EPOCHS / (us * 1e-6)
    m = re.fullmatch(r"(train_step|infer)_b([0-9]+)", name)
    if not m or int(m.group(2)) < 1:
        sys.exit(f"pytorch_reference.py: unknown case \"{name}\"; known: train_step_b<N>, infer_b<N>, seed_recipe")
    n = int(m.group(2))
    us = train_step_us(n) if m.group(1) == "train_step" else infer_us(n)
    return us, n / (us * 1e-6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", default="train_step_b32,infer_b1,infer_b4096,seed_recipe")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.json:
        print(f"{'case':<18} {'threads':>8} {'us/iter':>14} {'samples/s':>14}")
    for name in filter(None, args.cases.split(",")):
        us, rate = run_case(name)
        if args.json:
            print(json.dumps({"impl": "pytorch", "case": name, "threads": args.threads,
                              "us_per_iter": round(us, 3), "samples_per_s": round(rate, 1)}))
        else:
            print(f"{name:<18} {args.threads:>8} {us:>14.2f} {rate:>14.0f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
