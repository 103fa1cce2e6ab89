#!/usr/bin/env bash
# Ours against PyTorch, measured in one go on this machine: runs bench_cnnlstm and
# pytorch_reference.py (Debian's /usr/bin/python3 with torch) for 1 and 2 threads, and the FMA
# peak probe, then prints one table with the ratios and a roofline line. Builds nothing.
#
#   benchmarks/compare.sh [BUILD_DIR] [CASES]
#     BUILD_DIR  where bench_cnnlstm and peak_flops were built (default: build)
#     CASES      comma-separated (default: train_step_b32,infer_b1,infer_b4096,seed_recipe);
#                train_step_b<N> and infer_b<N> take any batch size N
# The raw JSON lines are kept in compare.jsonl in the current directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
cases=${2:-train_step_b32,infer_b1,infer_b4096,seed_recipe}
python=/usr/bin/python3
out=compare.jsonl

for program in "$build/bin/bench_cnnlstm" "$build/bin/peak_flops"; do
  [[ -x $program ]] || { echo "compare.sh: $program not found; build the benchmarks first" >&2; exit 1; }
done
"$python" -c "import torch" 2>/dev/null || { echo "compare.sh: $python has no torch (apt install python3-torch)" >&2; exit 1; }

: > "$out"
for threads in 1 2; do
  "$build/bin/peak_flops" --json --threads "$threads" >> "$out"
  "$build/bin/bench_cnnlstm" --json --threads "$threads" --cases "$cases" >> "$out"
  "$python" "$here/pytorch_reference.py" --json --threads "$threads" --cases "$cases" >> "$out"
done

"$python" - "$out" <<'EOF'
import json, sys

# FLOP of one sample's forward pass of CNN-LSTM_evi_lsp, 2 per multiply-add (elementwise work not
# counted): conv O*C*k*k*Ho*Wo, linear in*out, LSTM per layer and year 4H*(in + H).
conv1 = 6 * 10 * 2 * 2 * 6 * 6          # 10->6, k 2, output 6x6
conv2 = 16 * 6 * 2 * 2 * 4 * 4          # 6->16, k 2, output 4x4
fc_cnn, fc_lstm, fc_final = 64 * 16, 8 * 16, 32 * 1
lstm = 10 * (4 * 8 * (12 + 8) + 4 * 8 * (8 + 8))  # 10 years, 2 layers, H = 8, F = 12
forward_flop = 2 * (conv1 + conv2 + fc_cnn + lstm + fc_lstm + fc_final)
# Training: the forward, the weight gradients (a forward's worth) and the gradients of each layer's
# input (another), except the inputs of conv1 and the first LSTM layer, which training skips.
skipped_input_grads = 2 * (conv1 + 10 * 4 * 8 * 12)
train_flop = 3 * forward_flop - skipped_input_grads

rows = [json.loads(line) for line in open(sys.argv[1])]
peak = {r["threads"]: r["gflops"] for r in rows if r["impl"] == "peak"}
runs = {(r["impl"], r["case"], r["threads"]): r for r in rows if r["impl"] != "peak"}
cases = list(dict.fromkeys(r["case"] for r in rows if r["impl"] == "cnnlstm"))

print(f"{'case':<18}{'threads':>8}{'cnnlstm us':>14}{'pytorch us':>14}{'speed-up':>10}{'cnnlstm samples/s':>20}")
for case in cases:
    for threads in (1, 2):
        ours, torch = runs.get(("cnnlstm", case, threads)), runs.get(("pytorch", case, threads))
        if not ours or not torch:
            continue
        ratio = torch["us_per_iter"] / ours["us_per_iter"]
        print(f"{case:<18}{threads:>8}{ours['us_per_iter']:>14.1f}{torch['us_per_iter']:>14.1f}"
              f"{ratio:>9.1f}x{ours['samples_per_s']:>20,.0f}")

print(f"\nroofline: forward {forward_flop} FLOP/sample, training step {train_flop} FLOP/sample")
for threads in (1, 2):
    line = [f"  {threads} thread(s): FMA peak {peak[threads]:.0f} GFLOP/s"]
    for case, flop in (("infer_b4096", forward_flop), ("train_step_b32", train_flop)):
        r = runs.get(("cnnlstm", case, threads))
        if r:
            gflops = r["samples_per_s"] * flop * 1e-9
            line.append(f"{case} {gflops:.1f} GFLOP/s ({100 * gflops / peak[threads]:.1f}% of peak)")
    print("; ".join(line))
EOF
