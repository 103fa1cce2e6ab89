#!/usr/bin/env bash
# soc never destroys an input or a file it did not write, and refuses input that does not match
# the model: outputs that are inputs (by any spelling, symlink or hard link), write-protected or
# folder outputs, folders holding the user's files (simulate, demo), series of other years than
# at training, importance names of the wrong count, configuration keys given twice.
# Usage: test_safety.sh PATH/TO/soc
set -u
soc=$1
source "$(dirname "$0")/checks.sh"

d=$work/data
"$soc" simulate --n 300 --seed 5 --out "$d" 2>/dev/null || fail "simulate"
"$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" \
  --epochs 2 --quiet --out "$work/run" >/dev/null 2>&1 || fail "train"
model=$work/run/model.safetensors
cp -r "$d" "$work/original"
x=(--x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy")

# --- an output that is an input is refused before any work, whatever its spelling ---
expect 2 "out '.*x_cnn.npy' is the input file" -- "$soc" predict --model "$model" "${x[@]}" --out "$d/x_cnn.npy"
expect 2 "is the input file" -- "$soc" predict --model "$model" "${x[@]}" --out "$d/../data/./x_lstm.npy"
ln -s "$d/x_lstm.npy" "$work/link.npy"
expect 2 "link.npy' is the input file" -- "$soc" predict --model "$model" "${x[@]}" --out "$work/link.npy"
ln "$d/x_cnn.npy" "$work/hard.npy"
expect 2 "hard.npy' is the input file" -- "$soc" predict --model "$model" "${x[@]}" --out "$work/hard.npy"
ln -s "$model" "$work/model.npy"
expect 2 "model.npy' is the input file '.*model.safetensors'" -- "$soc" predict --model "$model" "${x[@]}" --out "$work/model.npy"
expect 2 "y.npy' is the input file" -- "$soc" evaluate --model "$model" "${x[@]}" --y "$d/y.npy" --out "$d/y.npy"
expect 2 "test_index.npy' is the input file" -- "$soc" evaluate --model "$model" "${x[@]}" --y "$d/y.npy" \
  --index "$d/test_index.npy" --out "$d/test_index.npy"
mkdir -p "$work/imp"
cp "$d/covariates.json" "$work/imp/importance.json"
expect 2 "importance.json' is the input file" -- "$soc" importance --model "$model" "${x[@]}" --y "$d/y.npy" \
  --names "$work/imp/importance.json" --repeats 1 --out "$work/imp"
for f in x_cnn.npy x_lstm.npy y.npy test_index.npy; do unchanged "$d/$f" "$work/original/$f"; done
unchanged "$work/imp/importance.json" "$d/covariates.json"
absent "$work/imp/importance.csv"
ls -A "$d" "$work" | grep -q '\.tmp-' && fail "a temporary was left behind" || pass

# --- write-protected files are not replaced (even by root); folders and missing folders refused up front ---
printf 'keep me' >"$work/protected.npy"
chmod 0444 "$work/protected.npy"
expect 4 "cannot replace '.*protected.npy': it is write-protected" -- "$soc" predict --model "$model" "${x[@]}" --out "$work/protected.npy"
[ "$(cat "$work/protected.npy")" = "keep me" ] && [ "$(stat -c %a "$work/protected.npy")" = 444 ] && pass \
  || fail "protected.npy was replaced or lost its mode"
mkdir "$work/folder.npy"
expect 4 "folder.npy': it is a folder, not a file" -- "$soc" predict --model "$model" "${x[@]}" --out "$work/folder.npy"
expect 4 "the folder '.*nowhere' does not exist" -- "$soc" predict --model "$model" "${x[@]}" --out "$work/nowhere/p.npy"
expect 4 "folder.npy': it is a folder" -- "$soc" evaluate --model "$model" "${x[@]}" --y "$d/y.npy" --out "$work/folder.npy"
"$soc" predict --model "$model" "${x[@]}" --out "$work/p.npy" 2>/dev/null && present "$work/p.npy" || fail "predict to a new file"

# --- series of another number of years than at training: one rule for predict, evaluate, importance ---
make_npy "$work/nine.npy" "(300, 9, 12)" 32400
make_npy "$work/twenty.npy" "(300, 20, 12)" 72000
expect 3 "model.safetensors: the model was trained on 10 years of series, .*nine.npy has 9" -- \
  "$soc" predict --model "$model" --x-cnn "$d/x_cnn.npy" --x-lstm "$work/nine.npy" --out "$work/nine_p.npy"
expect 3 "trained on 10 years of series, .*twenty.npy has 20" -- \
  "$soc" evaluate --model "$model" --x-cnn "$d/x_cnn.npy" --x-lstm "$work/twenty.npy" --y "$d/y.npy"
expect 3 "trained on 10 years of series, .*nine.npy has 9" -- "$soc" importance --model "$model" --x-cnn "$d/x_cnn.npy" \
  --x-lstm "$work/nine.npy" --y "$d/y.npy" --repeats 1 --out "$work/imp9"
absent "$work/nine_p.npy"

# --- importance names must name every channel and feature ---
echo '{"x_cnn_channels": ["a", "b"], "x_lstm_features": []}' >"$work/two.json"
expect 3 "two.json: \"x_cnn_channels\" has 2 names, but .*x_cnn.npy \(channels\) has 10" -- "$soc" importance --model "$model" \
  "${x[@]}" --y "$d/y.npy" --names "$work/two.json" --repeats 1 --out "$work/imp2"
echo '{"x_cnn_channels": [], "x_lstm_features": ["evi", "greenup", "x"]}' >"$work/three.json"
expect 3 "\"x_lstm_features\" has 3 names, but .*x_lstm.npy \(series features\) has 12" -- "$soc" importance --model "$model" \
  "${x[@]}" --y "$d/y.npy" --names "$work/three.json" --repeats 1 --out "$work/imp3"
absent "$work/imp2/importance.csv"
"$soc" train --variant LSTM_lsp --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" --epochs 1 --quiet \
  --out "$work/lsp" >/dev/null 2>&1 || fail "train LSTM_lsp"
"$soc" importance --model "$work/lsp/model.safetensors" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --names "$d/covariates.json" \
  --repeats 1 --out "$work/implsp" >/dev/null 2>&1 || fail "importance of LSTM_lsp with the 12 names"
grep -q "^feature,0,greenup," "$work/implsp/importance.csv" && ! grep -q ",evi," "$work/implsp/importance.csv" && pass \
  || fail "LSTM_lsp's first feature is not named greenup (its column 1): $(head -3 "$work/implsp/importance.csv")"

# --- a configuration key given twice ---
echo '{"lr": 0.001, "epochs": 2, "lr": 10}' >"$work/twice.json"
expect 2 "twice.json: key \"lr\" is given twice" -- "$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" \
  --train-index "$d/train_index.npy" --config "$work/twice.json" --out "$work/twice"
absent "$work/twice/model.safetensors"

# --- soc simulate and soc demo replace only what they wrote themselves ---
u=$work/user
mkdir -p "$u"
printf 'my own table' >"$u/samples.csv"
expect 2 "samples.csv' exists and was not written by soc simulate .*--force" -- "$soc" simulate --n 50 --out "$u"
[ "$(cat "$u/samples.csv")" = "my own table" ] && pass || fail "the user's samples.csv was overwritten"
absent "$u/y.npy"
"$soc" simulate --n 50 --out "$u" --force 2>/dev/null && present "$u/y.npy" || fail "simulate --force"
"$soc" simulate --n 60 --out "$u" 2>/dev/null && pass || fail "simulate again into its own folder"
printf 'x' >>"$u/y.npy"
expect 2 "y.npy' exists and was not written by soc simulate \(or was changed since\)" -- "$soc" simulate --n 50 --out "$u"
mkdir -p "$work/dm/model"
printf 'my model' >"$work/dm/model/model.safetensors"
expect 2 "model.safetensors' exists and was not written by soc demo" -- "$soc" demo --n 100 --out "$work/dm"
absent "$work/dm/data/y.npy"
rm "$work/dm/model/model.safetensors"
mkdir -p "$work/dm/data"
printf 'my y' >"$work/dm/data/y.npy"
expect 2 "y.npy' exists and was not written by soc simulate" -- "$soc" demo --n 100 --out "$work/dm"
[ "$(cat "$work/dm/data/y.npy")" = "my y" ] && pass || fail "demo overwrote the user's y.npy"
rm -r "$work/dm"
"$soc" demo --n 100 --out "$work/dm" >/dev/null 2>&1 && "$soc" demo --n 100 --out "$work/dm" >/dev/null 2>&1 \
  && present "$work/dm/model/model.safetensors" || fail "demo twice into its own folder"

report
