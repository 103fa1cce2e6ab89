#!/usr/bin/env python3
"""Measures training recipes against a random forest on the same proxies, splits and seeds.

For every proxy data set (proxies.py), every one of the paper's five train/test splits and every
training seed, it runs `soc train` with the recipe's flags (nothing is selected on the test rows)
and fits scikit-learn's RandomForestRegressor (500 trees) on the same training rows, once on the
flattened window + series and once on the centre pixel + series. It prints one JSON line per run
and, at the end, a Markdown table of mean and range of the test R2 per recipe and proxy.

Usage:
  experiment.py --soc build/bin/soc --seed-dir ../shared/reference/seed --work /tmp/recipe \
      [--proxy additive ...] [--seeds 1 2 3] [--jobs 2] [--rf] \
      --recipe NAME="--flag value ..." [--recipe ...]
A recipe with no flags ("default=") is `soc train`'s defaults. Each soc run gets
OMP_NUM_THREADS=1 and --jobs of them run at once.
"""
import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxies  # noqa: E402


def r2(y, p):
    return 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


def random_forest_runs(data_dir, proxy, seeds):
    from sklearn.ensemble import RandomForestRegressor
    x_cnn = np.load(os.path.join(data_dir, "x_cnn.npy"))
    x_lstm = np.load(os.path.join(data_dir, "x_lstm.npy"))
    y = np.load(os.path.join(data_dir, "y.npy"))
    n = len(y)
    centre = x_cnn[:, :, x_cnn.shape[2] // 2, x_cnn.shape[3] // 2]
    features = {"rf_window": np.concatenate([x_cnn.reshape(n, -1), x_lstm.reshape(n, -1)], axis=1),
                "rf_centre": np.concatenate([centre, x_lstm.reshape(n, -1)], axis=1)}
    for split in range(1, 6):
        train = np.load(os.path.join(data_dir, f"train_{split}.npy"))
        test = np.load(os.path.join(data_dir, f"test_{split}.npy"))
        for name, x in features.items():
            for seed in seeds:
                rf = RandomForestRegressor(n_estimators=500, random_state=seed, n_jobs=2)
                rf.fit(x[train], y[train])
                yield {"recipe": name, "proxy": proxy, "split": split, "seed": seed,
                       "test_r2": float(r2(y[test], rf.predict(x[test])))}


def soc_run(soc, data_dir, work, proxy, recipe, flags, split, seed):
    out = os.path.join(work, "runs", f"{proxy}-{recipe}-{split}-{seed}")
    cmd = [soc, "train", "--x-cnn", f"{data_dir}/x_cnn.npy", "--x-lstm", f"{data_dir}/x_lstm.npy",
           "--y", f"{data_dir}/y.npy", "--train-index", f"{data_dir}/train_{split}.npy",
           "--test-index", f"{data_dir}/test_{split}.npy", "--seed", str(seed), "--out", out,
           "--quiet"] + shlex.split(flags)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    test = metrics["test"]
    test = test[0] if isinstance(test, list) else test
    row = {"recipe": recipe, "proxy": proxy, "split": split, "seed": seed, "test_r2": test["r2"],
           "seconds": round(seconds, 2)}
    if "picp_90" in test:
        row["picp_90"] = test["picp_90"]
        row["interval_width"] = test["mean_interval_width"]
    return row


def table(rows, proxies_used):
    recipes = list(dict.fromkeys(r["recipe"] for r in rows))
    head = "| recipe | " + " | ".join(proxies_used) + " | all: mean | all: min |"
    lines = [head, "|" + "---|" * (len(proxies_used) + 3)]
    for recipe in recipes:
        cells, every = [], []
        for p in proxies_used:
            v = [r["test_r2"] for r in rows if r["recipe"] == recipe and r["proxy"] == p]
            every += v
            cells.append(f"{np.mean(v):.3f} ({min(v):.2f} - {max(v):.2f})" if v else "")
        lines.append(f"| {recipe} | " + " | ".join(cells) + f" | {np.mean(every):.3f} | {min(every):.2f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--soc", required=True)
    ap.add_argument("--seed-dir", required=True, help="the folder with the paper's public arrays")
    ap.add_argument("--work", required=True)
    ap.add_argument("--proxy", action="append", choices=list(proxies.PROXIES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rf", action="store_true", help="also fit the random forests")
    ap.add_argument("--keep-data", action="store_true", help="use the proxies already in --work")
    ap.add_argument("--recipe", action="append", default=[], help='NAME="soc train flags"')
    args = ap.parse_args()
    used = args.proxy or list(proxies.PROXIES)
    if not args.keep_data:
        proxies.main(args.seed_dir, args.work)
    rows = []

    def keep(row):
        rows.append(row)
        print(json.dumps(row), flush=True)

    if args.rf:
        for p in used:
            for row in random_forest_runs(os.path.join(args.work, p), p, args.seeds):
                keep(row)
    jobs = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for spec in args.recipe:
            name, _, flags = spec.partition("=")
            for p in used:
                for split in range(1, 6):
                    for seed in args.seeds:
                        jobs.append(pool.submit(soc_run, args.soc, os.path.join(args.work, p), args.work,
                                                p, name, flags, split, seed))
        for job in jobs:
            keep(job.result())
    print()
    print(table(rows, used))


if __name__ == "__main__":
    main()
