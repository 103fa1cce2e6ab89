#!/usr/bin/python3
"""PyTorch predictions of the authors' trained CNN-LSTM on the public seed inputs.

Loads <seed-dir>/cnn_lstm_trained.safetensors (parsed by hand, no safetensors package) into the
paper's CovLSTM (variant CNN-LSTM_evi_lsp, F = 12), runs it in eval mode on <seed-dir>/x_cnn.npy
(308, 10, 5, 5) and x_lstm.npy (308, 10, 12), and writes the 308 predictions as a float32 .npy
to --out, for comparison with the C++ library's predictions on the same data.

The seed data is CC BY-NC and must not be committed: --out must lie outside the repository.

    /usr/bin/python3 tests/golden/seed_parity.py --out /tmp/seed_pred.npy
    /usr/bin/python3 tests/golden/seed_parity.py --seed-dir /path/to/seed --out /tmp/p.npy
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden  # noqa: E402  (the paper's modules and the safetensors reader)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output .npy file (outside the repository)")
    ap.add_argument("--seed-dir",
                    default=os.path.normpath(os.path.join(REPO_ROOT, "..", "shared",
                                                          "reference", "seed")),
                    help="folder with cnn_lstm_trained.safetensors, x_cnn.npy, x_lstm.npy "
                         "(default: ../shared/reference/seed relative to the repository root)")
    args = ap.parse_args(argv)

    out = os.path.realpath(args.out)
    root = os.path.realpath(REPO_ROOT)
    if os.path.commonpath([out, root]) == root:
        ap.error(f"--out {args.out} is inside the repository {root}; the seed data's "
                 "predictions must not be committed: write them elsewhere (e.g. /tmp)")

    torch.set_num_threads(1)
    weights, _ = make_golden.read_safetensors(os.path.join(args.seed_dir,
                                                           "cnn_lstm_trained.safetensors"))
    x_cnn = np.load(os.path.join(args.seed_dir, "x_cnn.npy")).astype(np.float32)
    x_lstm = np.load(os.path.join(args.seed_dir, "x_lstm.npy")).astype(np.float32)
    n_features = x_lstm.shape[2]

    model = make_golden.CovLSTM(10, n_features, 8, 2, 0.0)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_cnn), torch.from_numpy(x_lstm)).numpy()
    pred = pred.astype(np.float32)

    np.save(out, pred)
    print(f"seed parity: {pred.shape[0]} predictions, min {pred.min():.4f} "
          f"mean {pred.mean():.4f} max {pred.max():.4f} (torch {torch.__version__}) -> {out}")
    if not (pred.shape == (308,) and 9.0 < pred.min() and pred.max() < 27.0
            and 12.0 < pred.mean() < 14.0):
        print("WARNING: outside the range the seed README gives (about 10 to 26, mean ~12.9)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
