#!/usr/bin/env bash
# soc map never destroys an input or a protected file, checks every output before the work,
# refuses series that cannot be the model's (a file twice, the static stack as a series, other
# years), leaves no temporary after SIGINT, SIGTERM or SIGHUP and cleans up after SIGKILL,
# fits its threads to the open-file limit, warns of an all-nodata map, and refuses an --output
# the model lacks.
# Usage: test_map_safety.sh PATH/TO/soc
set -u
soc=$1
source "$(dirname "$0")/checks.sh"

temporaries() { ls -A "$1" | grep -c '\.tmp-'; }

d=$work/data
r=$work/rasters
"$soc" simulate --n 5000 --seed 5 --out "$d" --rasters "$r" 2>/dev/null || fail "simulate --rasters"
series=("$r"/series_*.tif)
# Two networks: every check here is about the files, not the ensemble (ten made the sanitizer run take 20 minutes).
"$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" \
  --epochs 1 --ensemble 2 --quiet --out "$work/run" >/dev/null 2>&1 || fail "train"
m=$work/run/model.safetensors
inputs=(--static "$r/static.tif" --series "${series[@]}")
cp -r "$r" "$work/original"
cp "$m" "$work/original/model.safetensors"
out=$work/maps
mkdir -p "$out"

# --- outputs that are inputs, protected, folders or in missing folders: refused before any work ---
expect 2 "out '.*static.tif' is the input file" -- "$soc" map --model "$m" "${inputs[@]}" --out "$r/static.tif"
expect 2 "model.safetensors' is the input file" -- "$soc" map --model "$m" "${inputs[@]}" --out "$m"
ln -s "${series[4]}" "$out/link.tif"
expect 2 "link.tif' is the input file '.*series_04" -- "$soc" map --model "$m" "${inputs[@]}" --out "$out/link.tif"
expect 2 "quicklook '.*same.png' and --out" -- "$soc" map --model "$m" "${inputs[@]}" --out "$out/same.png" --quicklook "$out/same.png"
unchanged "$r/static.tif" "$work/original/static.tif"
unchanged "${series[4]}" "$work/original/$(basename "${series[4]}")"
unchanged "$m" "$work/original/model.safetensors"
expect 4 "quicklook '.*nowhere/q.png': the folder '.*nowhere' does not exist" -- \
  "$soc" map --model "$m" "${inputs[@]}" --out "$out/q.tif" --quicklook "$out/nowhere/q.png"
absent "$out/q.tif"
mkdir "$out/folder.tif"
start=$(date +%s%N)
expect 4 "folder.tif': it is a folder, not a file" -- "$soc" map --model "$m" "${inputs[@]}" --out "$out/folder.tif"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] && pass || fail "a folder --out was found only after the work"
"$soc" map --model "$m" "${inputs[@]}" --out "$out/protected.tif" --quiet 2>/dev/null || fail "map"
cp "$out/protected.tif" "$work/protected_copy.tif"
chmod 0444 "$out/protected.tif"
expect 4 "cannot replace '.*protected.tif': it is write-protected" -- "$soc" map --model "$m" "${inputs[@]}" --out "$out/protected.tif"
unchanged "$out/protected.tif" "$work/protected_copy.tif"
[ "$(stat -c %a "$out/protected.tif")" = 444 ] && pass || fail "protected.tif lost its mode"

# --- series that cannot be the model's ---
twice=("${series[@]}")
twice[5]=${series[4]}
expect 3 "series_04.*given twice in --series" -- "$soc" map --model "$m" --static "$r/static.tif" --series "${twice[@]}" --out "$out/e.tif"
as_series=("${series[@]}")
as_series[11]=$r/static.tif
expect 3 "static.tif: the --static stack is given as a series file" -- \
  "$soc" map --model "$m" --static "$r/static.tif" --series "${as_series[@]}" --out "$out/e.tif"
cp "$r/static.tif" "$work/copy_of_static.tif"
as_series[11]=$work/copy_of_static.tif
expect 3 "copy_of_static.tif: its bands have the names of the --static stack's \(elevation, ...\)" -- \
  "$soc" map --model "$m" --static "$r/static.tif" --series "${as_series[@]}" --out "$out/e.tif"
if command -v gdal_translate >/dev/null 2>&1; then
  nine=()
  for f in "${series[@]}"; do
    gdal_translate -q $(printf -- '-b %d ' 1 2 3 4 5 6 7 8 9) "$f" "$work/nine_$(basename "$f")"
    nine+=("$work/nine_$(basename "$f")")
  done
  expect 3 "model.safetensors: the model was trained on 10 years of series, each series file has 9" -- \
    "$soc" map --model "$m" --static "$r/static.tif" --series "${nine[@]}" --out "$out/e.tif"
  small=(--static "$work/small_static.tif")
  gdal_translate -q -srcwin 0 0 4 4 "$r/static.tif" "$work/small_static.tif"
  small+=(--series)
  for f in "${series[@]}"; do
    gdal_translate -q -srcwin 0 0 4 4 "$f" "$work/small_$(basename "$f")"
    small+=("$work/small_$(basename "$f")")
  done
  expect 0 "WARNING: every pixel of .*empty.tif is nodata" -- "$soc" map --model "$m" "${small[@]}" --out "$out/empty.tif" --quiet
fi
absent "$out/e.tif"

# --- --block as its help says; --output within the model's outputs ---
"$soc" map --help | grep -q -- "--block N.*\[16, 4096\]" && pass || fail "--block help does not give [16, 4096]"
expect 2 "--block must be in \[16, 4096\], got 8192" -- "$soc" map --model "$m" "${inputs[@]}" --block 8192 --out "$out/b.tif"
# (mapping output K of a model with several outputs is checked pixel by pixel in tests/mapping)
expect 2 "--output 1: .*model.safetensors has 1 output \(0..0\)" -- "$soc" map --model "$m" "${inputs[@]}" --output 1 --out "$out/k1.tif"
absent "$out/k1.tif"

# --- the open-file limit: threads fitted to it, or a clear error (exit 4), never "bad data" ---
(ulimit -n 64; "$soc" map --model "$m" "${inputs[@]}" --threads 16 --block 64 --out "$out/fd.tif" --quiet) 2>"$work/fd.log" \
  && present "$out/fd.tif" || fail "map under ulimit -n 64: $(cat "$work/fd.log")"
grep -qE "note: [0-9]+ threads instead of 16: the limit of open files \(ulimit -n 64\)" "$work/fd.log" && pass \
  || fail "no note of fewer threads: $(cat "$work/fd.log")"
expect 4 "limit of open files \(ulimit -n\) is 32.*raise the limit" -- \
  bash -c "ulimit -n 32; exec \"$soc\" map --model \"$m\" ${inputs[*]} --threads 4 --out \"$out/fd2.tif\""
absent "$out/fd2.tif"
expect 4 "cannot open '.*series_.*': Too many open files" -- \
  bash -c "ulimit -n 12; exec \"$soc\" map --model \"$m\" ${inputs[*]} --out \"$out/fd3.tif\""

# --- interrupted maps: no temporary left, the previous map intact; after SIGKILL the next run cleans up ---
map_args=(--model "$m" "${inputs[@]}" --block 32 --quiet --out "$out/soc.tif")
slow=("${map_args[@]}" --threads 1)
"$soc" map "${map_args[@]}" 2>/dev/null || fail "first map"
cp "$out/soc.tif" "$work/previous.tif"
# interrupt SIGNAL: starts a map, signals it once its temporary exists; prints the exit code.
# With job control (set -m) the background map does not start with SIGINT ignored, as it would
# in a script otherwise.
interrupt() {
  set -m
  "$soc" map "${slow[@]}" 2>/dev/null &
  set +m
  local pid=$! seen=0
  for _ in $(seq 1 500); do
    if [ "$(temporaries "$out")" -gt 0 ]; then seen=1; break; fi
    sleep 0.01
  done
  [ "$seen" -eq 1 ] || echo "note: the map ended before its temporary was seen" >&2
  kill -s "$1" "$pid" 2>/dev/null
  wait "$pid"
  echo $?
}
for signal in INT TERM HUP; do
  code=$(interrupt "$signal")
  [ "$code" -eq $((128 + $(kill -l "$signal"))) ] && pass || fail "SIG$signal: map exited $code"
  [ "$(temporaries "$out")" -eq 0 ] && pass || fail "SIG$signal left a temporary: $(ls -A "$out" | grep tmp)"
  unchanged "$out/soc.tif" "$work/previous.tif"
done
code=$(interrupt KILL)
[ "$(temporaries "$out")" -eq 1 ] && pass || fail "SIGKILL: expected the killed run's temporary (exit $code)"
unchanged "$out/soc.tif" "$work/previous.tif"
"$soc" map "${map_args[@]}" 2>/dev/null || fail "map after SIGKILL"
[ "$(temporaries "$out")" -eq 0 ] && pass || fail "the next run left the killed run's temporary"

report
