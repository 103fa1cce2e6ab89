#!/usr/bin/env bash
# soc map under mpirun: -n 2 and -n 3 give the one-process map pixel for pixel (one model and an
# ensemble, many small blocks so that the ranks share them), and bad setups end the job with the
# failing rank's message, the documented exit code and no map.
# Usage: test_mpi_map.sh PATH/TO/soc PATH/TO/mpirun
set -u
soc=$(realpath "$1")  # absolute: some ranks run in other folders
here=$(dirname "$0")
source "$here/../cli/checks.sh"
source "$here/mpi_checks.sh"
if ! command -v gdal_translate >/dev/null 2>&1; then
  echo "SKIPPED: gdal_translate not installed (Debian: gdal-bin); the maps cannot be compared pixel for pixel"
  exit 77
fi

d=$work/data
r=$work/rasters
"$soc" simulate --n 200 --seed 7 --out "$d" --rasters "$r" 2>/dev/null || fail "simulate --rasters"
series=("$r"/series_*.tif)
inputs=(--static "$r/static.tif" --series "${series[@]}")
train=(--x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" --epochs 2 --quiet)
"$soc" train "${train[@]}" --cv-folds 0 --ensemble 1 --out "$work/one" >/dev/null 2>&1 || fail "train one network"
"$soc" train "${train[@]}" --cv-folds 2 --ensemble 2 --out "$work/ens" >/dev/null 2>&1 || fail "train --ensemble 2"

# pixels MAP.tif: its bands' pixels as raw Float32 (ENVI), for a byte comparison.
pixels() { gdal_translate -q -of ENVI -ot Float32 "$1" "$1.raw" >/dev/null && echo "$1.raw"; }
bands() { gdalinfo "$1" | grep -E "Description|Block=|NoData|Size is|Origin|Pixel Size"; }

out=$work/maps
mkdir -p "$out"
for model in one ens; do
  m=$work/$model/model.safetensors
  "$soc" map --model "$m" "${inputs[@]}" --block 32 --out "$out/$model.tif" --quiet 2>/dev/null || fail "map $model alone"
  for n in 2 3; do
    ranks "$n" "$soc" map --model "$m" "${inputs[@]}" --block 32 --out "$out/${model}_$n.tif" 2>"$work/map_$n.log" \
      || fail "map $model on $n ranks: $(cat "$work/map_$n.log")"
    same "$(pixels "$out/$model.tif")" "$(pixels "$out/${model}_$n.tif")" "map $model: $n ranks against one process"
    check '[ "$(bands "$out/$model.tif")" = "$(bands "$out/${model}_$n.tif")" ]' "map $model on $n ranks: other bands or layout"
    check 'grep -qE "pixels predicted .* pixels/s with [0-9]+ threads on '"$n"' ranks" "$work/map_$n.log"' \
      "map $model on $n ranks: no pixels-per-second line for the job: $(cat "$work/map_$n.log")"
    check '[ "$(grep -c "pixels predicted" "$work/map_$n.log")" -eq 1 ]' "map $model on $n ranks: the summary is not printed once"
  done
done
# With the area of applicability (two more bands, computed in each rank's blocks).
m=$work/ens/model.safetensors
"$soc" map --model "$m" "${inputs[@]}" --aoa --block 32 --out "$out/aoa.tif" --quiet 2>/dev/null || fail "map --aoa alone"
ranks 3 "$soc" map --model "$m" "${inputs[@]}" --aoa --block 32 --out "$out/aoa_3.tif" --quiet 2>"$work/aoa_3.log" \
  || fail "map --aoa on 3 ranks: $(cat "$work/aoa_3.log")"
same "$(pixels "$out/aoa.tif")" "$(pixels "$out/aoa_3.tif")" "map --aoa: 3 ranks against one process"
check 'gdalinfo "$out/aoa_3.tif" | grep -q "Description = AOA"' "map --aoa on 3 ranks: no AOA band"
no_temporaries "$out"

# --- bad setups: the failing rank's message, its exit code, no map ---
bad=$work/bad
mkdir -p "$bad"
m=$work/one/model.safetensors
# A rank that cannot read a raster (mpirun's MPMD form gives rank 1 other flags).
err=$("${launcher[@]}" -n 1 "$soc" map --model "$m" "${inputs[@]}" --out "$bad/map.tif" --quiet : \
      -n 1 "$soc" map --model "$m" --static "$work/no_such.tif" --series "${series[@]}" --out "$bad/map.tif" --quiet 2>&1)
code=$?
check '[ "$code" -eq 4 ]' "a rank without its raster: exit code $code, expected 4: $err"
check 'grep -q "rank 1 of 2.*no_such.tif" <<<"$err"' "a rank without its raster: the message does not name rank 1 and the file: $err"
absent "$bad/map.tif"
# Ranks that see other inputs: rank 1 is given the series in another order.
reversed=($(printf '%s\n' "${series[@]}" | sort -r))
err=$("${launcher[@]}" -n 1 "$soc" map --model "$m" "${inputs[@]}" --out "$bad/map.tif" --quiet : \
      -n 1 "$soc" map --model "$m" --static "$r/static.tif" --series "${reversed[@]}" --out "$bad/map.tif" --quiet 2>&1)
code=$?
check '[ "$code" -eq 3 ]' "ranks with other inputs: exit code $code, expected 3: $err"
check 'grep -q "rank 1 of 2 sees other inputs" <<<"$err"' "ranks with other inputs: no clear message: $err"
absent "$bad/map.tif"
# A rank that fails in the middle of the map, while rank 0 writes: rank 1 runs in another folder
# whose static.tif has the right size but damaged tiles (the ranks' check of the inputs compares
# paths and sizes only).
mkdir -p "$work/good" "$work/damaged"
cp "$r/static.tif" "$work/good/static.tif"
cp "$r/static.tif" "$work/damaged/static.tif"
size=$(stat -c %s "$work/damaged/static.tif")
head -c $((size / 2)) /dev/urandom | dd of="$work/damaged/static.tif" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
map=(map --model "$m" --static static.tif --series "${series[@]}" --block 16 --out "$bad/map.tif" --quiet)
err=$("${launcher[@]}" -n 1 --wdir "$work/good" "$soc" "${map[@]}" : -n 1 --wdir "$work/damaged" "$soc" "${map[@]}" 2>&1)
code=$?
check '[ "$code" -eq 4 ]' "a rank failing mid-map: exit code $code, expected 4: $err"
check 'grep -q "rank 1 of 2.*static.tif.*cannot read" <<<"$err"' "a rank failing mid-map: the message does not name rank 1 and its file: $err"
absent "$bad/map.tif"
# An output folder that does not exist.
err=$(ranks 2 "$soc" map --model "$m" "${inputs[@]}" --out "$bad/none/map.tif" --quiet 2>&1)
code=$?
check '[ "$code" -eq 4 ]' "a missing output folder: exit code $code, expected 4: $err"
check 'grep -q "rank 0 of 2.*does not exist" <<<"$err"' "a missing output folder: no clear message: $err"
no_temporaries "$bad"
check '[ -z "$(ls -A "$bad")" ]' "files left after the failed jobs: $(ls -A "$bad")"

report
