#!/usr/bin/env bash
# soc train (the default recipe: internal folds and an ensemble) and soc cv under mpirun: -n 2 and
# -n 3 write the same files, byte for byte, as one process; a bad setup ends the job clearly.
# Usage: test_mpi_train.sh PATH/TO/soc PATH/TO/mpirun
set -u
soc=$(realpath "$1")
here=$(dirname "$0")
source "$here/../cli/checks.sh"
source "$here/mpi_checks.sh"

d=$work/data
"$soc" simulate --n 160 --seed 3 --out "$d" >/dev/null 2>&1 || fail "simulate"
data=(--x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --epochs 3 --quiet)
recipe=(--cv-folds 3 --ensemble 4)
train=("${data[@]}" --train-index "$d/train_index.npy" --test-index "$d/test_index.npy" "${recipe[@]}")
files=(model.safetensors metrics.json history.csv learning_curves.svg observed_vs_predicted.svg)

# The outputs name their folder (the configuration is stored): every run writes to $run, then is moved.
run=$work/run
"$soc" train "${train[@]}" --out "$run" >/dev/null 2>&1 || fail "train alone"
mv "$run" "$work/train_1"
"$soc" cv "${data[@]}" --folds 3 --cv-folds 2 --ensemble 2 --out "$run" >/dev/null 2>&1 || fail "cv alone"
mv "$run" "$work/cv_1"
for n in 2 3; do
  ranks "$n" "$soc" train "${train[@]}" --out "$run" >/dev/null 2>"$work/train_$n.log" \
    || fail "train on $n ranks: $(cat "$work/train_$n.log")"
  for f in "${files[@]}"; do same "$work/train_1/$f" "$run/$f" "train on $n ranks"; done
  mv "$run" "$work/train_$n"
  ranks "$n" "$soc" cv "${data[@]}" --folds 3 --cv-folds 2 --ensemble 2 --out "$run" >/dev/null 2>"$work/cv_$n.log" \
    || fail "cv on $n ranks: $(cat "$work/cv_$n.log")"
  same "$work/cv_1/cv.json" "$run/cv.json" "cv on $n ranks"
  check '[ "$(grep -c "test RMSE" "$work/cv_$n.log")" -eq 3 ]' "cv on $n ranks: not one line per fold from rank 0"
  mv "$run" "$work/cv_$n"
done
# The members really differ (the comparison above is not of identical networks).
check '[ "$(grep -c . "$work/train_1/history.csv")" -gt 1 ]' "the recipe wrote no cross-validation curve"

# Ranks that read other data: rank 1 trains on other rows.
err=$("${launcher[@]}" -n 1 "$soc" train "${train[@]}" --out "$run" : \
      -n 1 "$soc" train "${data[@]}" "${recipe[@]}" --train-index "$d/test_index.npy" --test-index "$d/train_index.npy" \
      --out "$run" 2>&1)
code=$?
check '[ "$code" -eq 3 ]' "train with other data on rank 1: exit code $code, expected 3: $err"
check 'grep -q "rank 1 of 2 sees other data files or flags" <<<"$err"' "train with other data on rank 1: no clear message: $err"
absent "$run/model.safetensors"
# What does not share its work refuses to run on several ranks.
err=$(ranks 2 "$soc" train "${data[@]}" --train-index "$d/train_index.npy" --cv-folds 0 --out "$run" 2>&1)
check 'grep -q "without mpirun" <<<"$err"' "train --cv-folds 0 on 2 ranks: no clear refusal: $err"
err=$(ranks 2 "$soc" simulate --n 50 --out "$work/sim" 2>&1)
check 'grep -q "runs in one process" <<<"$err"' "simulate on 2 ranks: no clear refusal: $err"

report
