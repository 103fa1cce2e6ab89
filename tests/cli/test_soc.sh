#!/usr/bin/env bash
# End-to-end tests of the soc program: the workflow on simulated data, bad input of every kind
# (a clear message, the documented exit code, no output file left behind), and kill-and-resume.
# Usage: test_soc.sh PATH/TO/soc
set -u
soc=$(realpath "$1")  # absolute: some checks run from another folder
source "$(dirname "$0")/checks.sh"

d=$work/data
"$soc" simulate --n 300 --seed 5 --out "$d" 2>/dev/null || fail "simulate"
for f in x_cnn.npy x_lstm.npy y.npy coordinates.npy train_index.npy test_index.npy samples.csv covariates.json; do present "$d/$f"; done
common=(--x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy")

# --- the workflow ---
"$soc" train "${common[@]}" --test-index "$d/test_index.npy" --epochs 20 --quiet --out "$work/run" >"$work/train.json" 2>/dev/null \
  || fail "train"
for f in model.safetensors metrics.json history.csv learning_curves.svg observed_vs_predicted.svg; do
  present "$work/run/$f"
done
grep -q '"test"' "$work/run/metrics.json" && pass || fail "metrics.json has no test metrics"
# The default recipe: one file holds the whole ensemble with its interval; the test metrics carry its coverage.
[ "$(ls "$work/run" | grep -c safetensors)" -eq 1 ] && pass || fail "the default run wrote more than one model file"
grep -q '"picp_90"' "$work/run/metrics.json" && grep -q '"cv"' "$work/run/metrics.json" && pass \
  || fail "default metrics.json lacks the interval coverage or the cross-validation"
"$soc" predict --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/run_bands.csv" \
  2>/dev/null && head -1 "$work/run_bands.csv" | grep -qx "row,mean,q05,q50,q95" && pass || fail "default model: bands"
[ "$(awk -F, 'NR > 1 && ($2 < $3 || $2 > $5 || $3 < 0)' "$work/run_bands.csv" | wc -l)" -eq 0 ] && pass \
  || fail "default model: a mean outside its interval or a bound below 0"
# The same seed and thread count give the same bits.
"$soc" train "${common[@]}" --test-index "$d/test_index.npy" --epochs 20 --quiet --out "$work/run_again" >/dev/null 2>&1 \
  && "$soc" predict --model "$work/run_again/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" \
       --out "$work/run_again_bands.csv" 2>/dev/null \
  && cmp -s "$work/run_bands.csv" "$work/run_again_bands.csv" && pass || fail "the same seed gave another model"
# A member exported alone has PyTorch's state_dict names and predicts as it did inside the ensemble.
"$soc" export --model "$work/run/model.safetensors" --member 2 --out "$work/member2.safetensors" 2>/dev/null \
  && grep -aq '"fc_final.weight"' "$work/member2.safetensors" && pass || fail "export of member 2"
expect 2 "member 11: .* holds 10 members" -- "$soc" export --model "$work/run/model.safetensors" --member 11 --out "$work/m11.safetensors"
absent "$work/m11.safetensors"
expect 2 "holds an ensemble" -- "$soc" train "${common[@]}" --init "$work/run/model.safetensors" --epochs 1 --out "$work/init_ens"
"$soc" predict --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/p.npy" 2>/dev/null \
  && present "$work/p.npy" || fail "predict"
"$soc" predict --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/p.csv" 2>/dev/null \
  && [ "$(wc -l <"$work/p.csv")" -eq 301 ] && pass || fail "predict to CSV"
"$soc" evaluate --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" \
  --index "$d/test_index.npy" >"$work/eval.json" 2>/dev/null && grep -q '"rmse"' "$work/eval.json" && pass || fail "evaluate"
"$soc" train --variant LSTM_evi --x-lstm "$d/x_lstm.npy" --y "$d/samples.csv" --train-index "$d/train_index.npy" \
  --epochs 3 --quiet --out "$work/lstm" >/dev/null 2>&1 && present "$work/lstm/model.safetensors" || fail "LSTM_evi from a CSV target"
arrays=(--x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy")
"$soc" cv "${arrays[@]}" --folds 3 --epochs 3 --quiet --out "$work/cv" >/dev/null 2>&1 && present "$work/cv/cv.json" || fail "cv"
"$soc" cv "${arrays[@]}" --folds 3 --spatial-blocks 1500 --coordinates "$d/coordinates.npy" --epochs 2 --quiet \
  --out "$work/cvs" >/dev/null 2>&1 && grep -q '"spatial fold 3"' "$work/cvs/cv.json" && pass || fail "spatial cv"
"$soc" cv "${arrays[@]}" --split "$d/train_index.npy:$d/test_index.npy" --epochs 2 --quiet --out "$work/cvf" >/dev/null 2>&1 \
  && grep -q '"split 1"' "$work/cvf/cv.json" && pass || fail "cv over a fixed split"
# Networks selected on a validation split (--cv-folds 0), calibrated on it; one file all the same.
mkdir -p "$work/ens" && touch "$work/ens/model_4.safetensors" "$work/ens/checkpoint_4.safetensors"  # an older run's members
"$soc" train "${common[@]}" --test-index "$d/test_index.npy" --cv-folds 0 --ensemble 3 --epochs 4 --val-fraction 0.2 --quiet \
  --out "$work/ens" >/dev/null 2>&1 && grep -q '"picp_90"' "$work/ens/metrics.json" && pass || fail "ensemble training"
absent "$work/ens/model_4.safetensors"
absent "$work/ens/checkpoint_4.safetensors"
"$soc" predict --model "$work/ens/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/bands.csv" 2>/dev/null \
  && head -1 "$work/bands.csv" | grep -qx "row,mean,q05,q50,q95" && pass || fail "ensemble prediction bands"
grep -q '"lower_limit": 0' "$work/ens/metrics.json" && pass || fail "ensemble of SOC targets: no interval lower limit 0"
[ "$(awk -F, 'NR > 1 && $3 < 0' "$work/bands.csv" | wc -l)" -eq 0 ] && pass || fail "interval below the lower limit 0"
expect 3 "lower-limit 1000 is above the target of row [0-9]+" -- "$soc" train "${common[@]}" --ensemble 2 --epochs 1 \
  --lower-limit 1000 --quiet --out "$work/limit"
absent "$work/limit/model.safetensors"
# Two targets at once: a CSV with two target columns, one model with two outputs and two intervals.
awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0, "soc_deep"; next } { print $0, $4 * 0.6 + 1 }' "$d/samples.csv" >"$work/two.csv"
"$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$work/two.csv" --target-column soc --target-column soc_deep \
  --train-index "$d/train_index.npy" --test-index "$d/test_index.npy" --epochs 10 --ensemble 3 --quiet --out "$work/two" \
  >/dev/null 2>&1 && [ "$(grep -c '"picp_90"' "$work/two/metrics.json")" -ge 4 ] && pass || fail "two targets"
"$soc" predict --model "$work/two/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/two.csv.out.csv" \
  2>/dev/null && head -1 "$work/two.csv.out.csv" | grep -qx "row,mean_0,q05_0,q50_0,q95_0,mean_1,q05_1,q50_1,q95_1" && pass \
  || fail "two targets: prediction columns"
expect 2 "lower-limit applies to ensembles" -- "$soc" train "${common[@]}" --cv-folds 0 --ensemble 1 --lower-limit 0 --out "$work/limit"
expect 2 "lower-limit must be a number, got 'zero'" -- "$soc" train "${common[@]}" --ensemble 2 --lower-limit zero \
  --out "$work/limit"
expect 2 "holds a whole ensemble" -- "$soc" predict --model "$work/ens/model.safetensors" \
  --model "$work/lstm/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/mixed.npy"
absent "$work/mixed.npy"
"$soc" train "${common[@]}" --cv-folds 0 --ensemble 1 --epochs 2 --quiet --out "$work/single" >/dev/null 2>&1 || fail "one network"
"$soc" train --variant LSTM_evi --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" --cv-folds 0 \
  --ensemble 1 --epochs 2 --quiet --out "$work/lstm1" >/dev/null 2>&1 || fail "one LSTM network"
expect 3 "differs from the first member" -- "$soc" predict --model "$work/single/model.safetensors" \
  --model "$work/lstm1/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/mixed.npy"
absent "$work/mixed.npy"
expect 2 "resume applies to networks selected on a validation split" -- "$soc" train "${common[@]}" --resume --out "$work/run"
"$soc" importance --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" \
  --index "$d/test_index.npy" --names "$d/covariates.json" --repeats 1 --out "$work/imp" >/dev/null 2>&1 \
  && [ "$(wc -l <"$work/imp/importance.csv")" -eq 33 ] && grep -q "channel,1,slope" "$work/imp/importance.csv" \
  && present "$work/imp/importance.svg" || fail "importance"
# An output of the run that is one of its inputs is refused before any work, the input intact.
mkdir -p "$work/same" && cp "$d/samples.csv" "$work/same/history.csv"
expect 2 "is the input file" -- "$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$work/same/history.csv" \
  --train-index "$d/train_index.npy" --out "$work/same"
cmp -s "$d/samples.csv" "$work/same/history.csv" && pass || fail "train changed its input history.csv"
absent "$work/same/model.safetensors"
"$soc" train --print-config --lr 0.01 | grep -q '"lr": 0.01' && pass || fail "--print-config"

# --- bad usage and configuration: exit 2 ---
expect 2 "cv: give one of --split" -- "$soc" cv "${arrays[@]}" --out "$work/x9"
expect 2 "unknown command 'trian' \(did you mean 'train'\?\)" -- "$soc" trian
expect 2 "unknown flag --epoch \(did you mean --epochs\?\)" -- "$soc" train "${common[@]}" --epoch 3 --out "$work/x1"
expect 2 "--epochs must be a whole number, got 'ten'" -- "$soc" train "${common[@]}" --epochs ten --out "$work/x2"
expect 2 "--lr must be in \(0, 10\], got 0" -- "$soc" train "${common[@]}" --lr 0 --out "$work/x3"
expect 2 "--batch-size must be in \[1, 10000000\], got 0" -- "$soc" train "${common[@]}" --batch-size 0 --out "$work/x4"
expect 2 "--val-fraction must be in \[0, 1\), got 1" -- "$soc" train "${common[@]}" --val-fraction 1 --out "$work/x5"
expect 2 "--out DIR" -- "$soc" train "${common[@]}"
echo '{"lr": 0.001, "epocs": 3}' >"$work/c.json"
expect 2 "key \"epocs\" is not known \(did you mean \"epochs\"\?\)" -- "$soc" train "${common[@]}" --config "$work/c.json" --out "$work/x6"
echo '{"lr": ' >"$work/broken.json"
expect 2 "broken.json: not valid JSON" -- "$soc" train "${common[@]}" --config "$work/broken.json" --out "$work/x7"
expect 2 "unknown model variant \"CNN_LSTM\"" -- "$soc" train "${common[@]}" --variant CNN_LSTM --out "$work/x8"
for x in x1 x2 x3 x4 x5 x6 x7 x8; do absent "$work/$x/model.safetensors"; done

# --- the training domain: the area of applicability and the inputs' training ranges ---
"$soc" predict --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --aoa --out "$work/aoa.csv" \
  2>/dev/null && head -1 "$work/aoa.csv" | grep -qx "row,mean,q05,q50,q95,DI,AOA" && pass || fail "predict --aoa: columns"
# The training sites are their own nearest neighbours (DI 0, inside); AOA is 1 or 0 and agrees with DI's order.
[ "$(awk -F, 'NR > 1 && $6 == 0 && $7 == 1' "$work/aoa.csv" | wc -l)" -ge 240 ] && pass || fail "predict --aoa: training sites inside"
[ "$(awk -F, 'NR > 1 && ($7 != 0 && $7 != 1)' "$work/aoa.csv" | wc -l)" -eq 0 ] && pass || fail "predict --aoa: AOA not 0/1"
expect 2 "holds no area of applicability" -- "$soc" predict --model "$work/member2.safetensors" --x-cnn "$d/x_cnn.npy" \
  --x-lstm "$d/x_lstm.npy" --aoa --out "$work/noaoa.csv"
absent "$work/noaoa.csv"
# Covariates in other units (every value 1000, float32 0x447a0000) are refused, naming the input, unless allowed.
{ head -c 128 "$d/x_cnn.npy"; printf '\x00\x00\x7a\x44%.0s' $(seq 75000); } >"$work/x_units.npy"
expect 3 "static channel 0: 100.0% of 7500 values lie outside the training sites' range" -- "$soc" predict \
  --model "$work/run/model.safetensors" --x-cnn "$work/x_units.npy" --x-lstm "$d/x_lstm.npy" --out "$work/units.csv"
absent "$work/units.csv"
expect 3 "scale factor not applied" -- "$soc" evaluate --model "$work/run/model.safetensors" --x-cnn "$work/x_units.npy" \
  --x-lstm "$d/x_lstm.npy" --y "$d/y.npy"
"$soc" predict --model "$work/run/model.safetensors" --x-cnn "$work/x_units.npy" --x-lstm "$d/x_lstm.npy" --allow-out-of-range \
  --out "$work/units.csv" 2>"$work/units.err" && grep -q "WARNING: inputs outside" "$work/units.err" && present "$work/units.csv" \
  || fail "predict --allow-out-of-range"
# A PyTorch export records no ranges: used as it is.
"$soc" predict --model "$work/member2.safetensors" --x-cnn "$work/x_units.npy" --x-lstm "$d/x_lstm.npy" --out "$work/units2.csv" \
  2>/dev/null && pass || fail "a model without ranges is not checked"
printf '{"x_cnn_channels": ["a", "b", "c"], "x_lstm_features": []}' >"$work/names3.json"
expect 3 "names3.json: 3 x_cnn_channels, but .*x_cnn.npy has 10 channels" -- "$soc" train "${common[@]}" --names "$work/names3.json" \
  --out "$work/names3"
absent "$work/names3/model.safetensors"
"$soc" train "${common[@]}" --input-scaling minmax --epochs 10 --ensemble 2 --quiet --out "$work/minmax" >/dev/null 2>&1 \
  && grep -aq 'input_scaling\\":\\"minmax' "$work/minmax/model.safetensors" && pass || fail "train --input-scaling minmax"

# --- bad data: exit 3, nothing written ---
printf 'not a numpy file at all' >"$work/garbage.npy"
expect 3 "garbage.npy: .*magic" -- "$soc" train --x-cnn "$work/garbage.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" \
  --train-index "$d/train_index.npy" --out "$work/bad1"
expect 3 "row [0-9]+ is in both .* a site must not be trained on and tested on" -- "$soc" train "${common[@]}" --test-index "$d/train_index.npy" --out "$work/bad2"
make_npy "$work/short_y.npy" "(299,)" 299
make_npy "$work/seven.npy" "(300, 10, 7)" 21000
expect 3 "row counts disagree" -- "$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$work/short_y.npy" \
  --train-index "$d/train_index.npy" --out "$work/bad3"
expect 3 "the model reads 12 series features per year, the array has 7" -- \
  "$soc" predict --model "$work/run/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$work/seven.npy" --out "$work/bad.npy"
expect 3 "garbage.npy: header length [0-9]+ is above the 100 MB limit" -- "$soc" predict --model "$work/garbage.npy" --x-cnn "$d/x_cnn.npy" \
  --x-lstm "$d/x_lstm.npy" --out "$work/bad2.npy"
for x in bad1 bad2 bad3; do absent "$work/$x/model.safetensors"; done
absent "$work/bad.npy"
absent "$work/bad2.npy"
expect 4 "cannot read|No such file" -- "$soc" train --x-cnn "$work/nothing.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" \
  --train-index "$d/train_index.npy" --out "$work/bad4"

# --- kill a run mid-way, resume it, and get the uninterrupted run's model to the bit ---
run_args=("${common[@]}" --cv-folds 0 --ensemble 1 --epochs 400 --patience 0 --eval-interval 2 --quiet --threads 1)
"$soc" train "${run_args[@]}" --out "$work/straight" >/dev/null 2>&1 || fail "uninterrupted run"
"$soc" train "${run_args[@]}" --out "$work/killed" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -e "$work/killed/checkpoint.safetensors" ] && break
  sleep 0.01
done
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -e "$work/killed/model.safetensors" ]; then
  echo "note: the run finished before it was killed; resume still checked"
fi
"$soc" train "${run_args[@]}" --out "$work/killed" --resume >/dev/null 2>&1 || fail "resume"
for r in straight killed; do
  "$soc" predict --model "$work/$r/model.safetensors" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/$r.npy" 2>/dev/null
done
cmp -s "$work/straight.npy" "$work/killed.npy" && pass || fail "resumed model differs from the uninterrupted one"
ls "$work/killed" | grep -q '\.tmp' && fail "a temporary file was left behind" || pass

# --- a resume continues only its own run: same data, same configuration (paths as files) ---
cp -r "$d" "$work/dd"
rargs=(--x-lstm "$work/dd/x_lstm.npy" --y "$work/dd/y.npy" --train-index "$work/dd/train_index.npy" --cv-folds 0 --ensemble 1
       --eval-interval 2 --patience 0 --quiet)
"$soc" train --x-cnn "$work/dd/x_cnn.npy" "${rargs[@]}" --epochs 6 --out "$work/r1" >/dev/null 2>&1 || fail "a run to resume"
(cd "$work" && "$soc" train --x-cnn ./dd/../dd/x_cnn.npy "${rargs[@]}" --epochs 8 --out "$work/r1" --resume >/dev/null 2>&1) \
  && pass || fail "resume with the same files spelled otherwise"
# (relative paths in a checkpoint are relative to where the run started: resume from there)
cd "$work" || fail "cd"
expect 2 "another configuration: lr \(was .*, now 0.01\)" -- "$soc" train --x-cnn dd/x_cnn.npy "${rargs[@]}" --lr 0.01 \
  --epochs 10 --out "$work/r1" --resume
printf '\x41' | dd of="$work/dd/y.npy" bs=1 seek=300 conv=notrunc 2>/dev/null
expect 3 "dd/y.npy \(y\) is not the file the run was started on" -- "$soc" train --x-cnn dd/x_cnn.npy "${rargs[@]}" \
  --epochs 10 --out "$work/r1" --resume
cd - >/dev/null || fail "cd -"

# --- what cannot be mapped is refused at training; a run that fails writes no model ---
make_npy "$work/x6.npy" "(300, 10, 6, 6)" 108000
expect 3 "6x6; soc map centres the window on each pixel, which needs an odd size" -- "$soc" train --x-cnn "$work/x6.npy" \
  --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" --out "$work/even"
absent "$work/even/model.safetensors"
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { $4 = $4 * 1e20; print }' "$d/samples.csv" >"$work/huge.csv"
for how in "--cv-folds 0 --ensemble 1" "--cv-folds 5"; do
  # shellcheck disable=SC2086
  expect 1 "training diverged in epoch 1" -- "$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$work/huge.csv" \
    --train-index "$d/train_index.npy" --no-standardize $how --out "$work/diverged"
  absent "$work/diverged/model.safetensors"
done

report
