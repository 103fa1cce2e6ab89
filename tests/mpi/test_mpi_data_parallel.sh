#!/usr/bin/env bash
# soc train --data-parallel PARTS under mpirun: every batch's parts shared among the ranks, their
# gradients gathered and summed in part order. Some hundred Adam steps on 2 and 3 ranks give the
# one-process weights (to 1e-5 relative, and in fact byte for byte), and the same model run to run.
# Usage: test_mpi_data_parallel.sh PATH/TO/soc PATH/TO/mpirun
set -u
soc=$(realpath "$1")
here=$(dirname "$0")
source "$here/../cli/checks.sh"
source "$here/mpi_checks.sh"

d=$work/data
"$soc" simulate --n 200 --seed 11 --out "$d" >/dev/null 2>&1 || fail "simulate"
# 200 sites, 180 to fit (a tenth validates): 6 batches of 32 per epoch, 40 epochs: 240 steps.
base=(--x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy"
      --cv-folds 0 --ensemble 1 --data-parallel 6 --quiet)
train=("${base[@]}" --epochs 40)
run=$work/run  # every run writes here (the model stores its folder), then is moved
"$soc" train "${train[@]}" --out "$run" >/dev/null 2>&1 || fail "data-parallel training alone"
mv "$run" "$work/alone"
"$soc" train "${train[@]}" --out "$run" >/dev/null 2>&1 || fail "data-parallel training alone, again"
same "$work/alone/model.safetensors" "$run/model.safetensors" "data-parallel training run to run"
rm -rf "$run"
for n in 2 3; do
  ranks "$n" "$soc" train "${train[@]}" --out "$run" >/dev/null 2>"$work/dp_$n.log" \
    || fail "data-parallel training on $n ranks: $(cat "$work/dp_$n.log")"
  # The weights to 1e-5 relative (what float rounding of another order of sums would allow) ...
  if command -v python3 >/dev/null; then
    python3 - "$work/alone/model.safetensors" "$run/model.safetensors" <<'PY' && pass || fail "data-parallel on $n ranks: weights differ"
import json, struct, sys
def weights(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__' or v['dtype'] != 'F32': continue
        b, e = v['data_offsets']
        out[k] = struct.unpack('<%df' % ((e - b) // 4), raw[8 + n + b:8 + n + e])
    return out
a, b = weights(sys.argv[1]), weights(sys.argv[2])
assert a and a.keys() == b.keys(), "other tensors"
for k in a:
    scale = max(max(abs(x) for x in a[k]), 1e-30)
    assert max(abs(x - y) for x, y in zip(a[k], b[k])) <= 1e-5 * scale, k
PY
  else
    echo "note: no python3: the 1e-5 comparison is left to the byte comparison below"
  fi
  # ... and in fact byte for byte: the parts are summed in one order whatever the ranks.
  for f in model.safetensors metrics.json; do same "$work/alone/$f" "$run/$f" "data-parallel on $n ranks"; done
  # history.csv: every column but the last, the seconds.
  check '[ "$(cut -d, -f1-6 "$work/alone/history.csv")" = "$(cut -d, -f1-6 "$run/history.csv")" ]' \
    "data-parallel on $n ranks: another learning curve"
  mv "$run" "$work/ranks_$n"
done
# The model is trained: its weights moved from the initial ones (a run of 0 epochs would match too).
"$soc" train "${base[@]}" --epochs 1 --out "$work/short" >/dev/null 2>&1 || fail "data-parallel training, 1 epoch"
check '! cmp -s "$work/short/model.safetensors" "$work/alone/model.safetensors"' "40 epochs gave the 1-epoch model"
expect 2 "data-parallel.*--cv-folds 0" -- "$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" \
  --train-index "$d/train_index.npy" --data-parallel 4 --out "$work/x"

report
