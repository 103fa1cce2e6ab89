#!/usr/bin/env bash
# End-to-end test of soc map: simulate --rasters, train tiny models, map (one model, an ensemble,
# reflect edges, a quick-look), check the map with gdalinfo / gdallocationinfo when installed
# (Debian: gdal-bin), and bad input (a clear message, the documented exit code, no map left behind).
# Usage: test_map.sh PATH/TO/soc
set -u
soc=$1
source "$(dirname "$0")/checks.sh"

d=$work/data
r=$work/rasters
"$soc" simulate --n 300 --seed 5 --out "$d" --rasters "$r" 2>/dev/null || fail "simulate --rasters"
for f in static.tif soc_truth.tif rasters.json series_00_evi.tif series_11_cycles.tif; do present "$r/$f"; done
check '[ "$(ls "$r"/series_*.tif | wc -l)" -eq 12 ]' "12 series files"
series=("$r"/series_*.tif)
"$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" \
  --epochs 3 --cv-folds 0 --ensemble 1 --quiet --out "$work/run" >/dev/null 2>&1 || fail "train one network"
"$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$d/train_index.npy" \
  --epochs 3 --ensemble 2 --quiet --out "$work/ens" >/dev/null 2>&1 || fail "train --ensemble 2"
m1=$work/run/model.safetensors
ensemble_model=$work/ens/model.safetensors
inputs=(--static "$r/static.tif" --series "${series[@]}")

# --- maps ---
out=$work/maps
mkdir -p "$out"
"$soc" map --model "$m1" "${inputs[@]}" --out "$out/map.tif" --quicklook "$out/map.png" --quiet 2>"$work/map.log" \
  && present "$out/map.tif" || fail "map: $(cat "$work/map.log")"
present "$out/map.png"
grep -qE "pixels predicted .* pixels/s" "$work/map.log" && pass || fail "map reports pixels per second"
"$soc" map --model "$ensemble_model" "${inputs[@]}" --out "$out/ensemble.tif" --quiet 2>/dev/null \
  && present "$out/ensemble.tif" || fail "ensemble map"
"$soc" map --model "$m1" "${inputs[@]}" --edge reflect --block 32 --threads 2 --out "$out/reflect.tif" --quiet 2>/dev/null \
  && present "$out/reflect.tif" || fail "reflect map"
check '[ -z "$(ls -A "$out" | grep tmp)" ]' "temporary files left in $out"
"$soc" map --help >/dev/null && pass || fail "map --help"

if have gdalinfo; then
  info=$(gdalinfo "$out/map.tif")
  static_info=$(gdalinfo "$r/static.tif")
  for line in "Size is" "Origin =" "Pixel Size ="; do
    check '[ "$(grep "^$line" <<<"$info")" = "$(grep "^$line" <<<"$static_info")" ]' "map.tif: '$line' differs from static.tif"
  done
  for pattern in 'UTM zone 33N' 'Type=Float32' 'NoData Value=-9999' 'COMPRESSION=DEFLATE' 'Block=256x256' 'Description = prediction'; do
    grep -q "$pattern" <<<"$info" && pass || fail "map.tif: gdalinfo lacks '$pattern'"
  done
  ensemble=$(gdalinfo "$out/ensemble.tif")
  for band in mean Q0.05 Q0.5 Q0.95; do
    grep -q "Description = $band\$" <<<"$ensemble" && pass || fail "ensemble.tif lacks band $band"
  done
  grep -q "Block=32x32" <<<"$(gdalinfo "$out/reflect.tif")" && pass || fail "reflect.tif: tiles are not the 32-pixel blocks"
else
  echo "note: gdalinfo not installed (Debian: gdal-bin); georeferencing checked by test_mapping only"
fi

if have gdallocationinfo; then
  # The map at the sampling sites equals soc predict on the sites' arrays (cut from the same region).
  "$soc" predict --model "$m1" --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --out "$work/sites.csv" 2>/dev/null \
    || fail "predict at the sites"
  matched=0
  for line in $(seq 2 21); do
    IFS=, read -r id x y _ <<<"$(sed -n "${line}p" "$d/samples.csv")"
    on_map=$(gdallocationinfo -valonly -geoloc "$out/map.tif" "$x" "$y" | head -1)
    predicted=$(sed -n "${line}p" "$work/sites.csv" | cut -d, -f2)
    [ "$on_map" = "-9999" ] && continue  # a site in the lake
    if awk -v a="$on_map" -v b="$predicted" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * (b < 0 ? -b : b) + 1e-5) }'; then
      matched=$((matched + 1))
    else
      fail "site $id at ($x, $y): the map has $on_map, soc predict $predicted"
    fi
  done
  check '[ "$matched" -ge 15 ]' "only $matched of 20 sites compared"

  value() { gdallocationinfo -valonly "$1" "$2" "$3" | head -1; }  # file, column, row
  lake=$(python3 -c "import json; l = json.load(open('$r/rasters.json'))['lake']; print(int(l['col']), int(l['row']))" 2>/dev/null \
         || echo "36 83")
  check '[ "$(value "$out/map.tif" 0 0)" = "-9999" ]' "the corner of map.tif is not nodata"
  check '[ "$(value "$out/reflect.tif" 0 0)" != "-9999" ]' "the corner of reflect.tif is nodata"
  check '[ "$(value "$out/map.tif" $lake)" = "-9999" ]' "the lake is not nodata in map.tif"
  check '[ "$(value "$out/reflect.tif" $lake)" = "-9999" ]' "the lake is not nodata in reflect.tif"
  check '[ "$(value "$out/map.tif" 60 20)" != "-9999" ]' "an inland pixel of map.tif is nodata"
fi

# --- bad input: the documented exit code, a message naming the problem, no map ---
bad=$work/bad
mkdir -p "$bad"
expect 2 "map: --model is required" -- "$soc" map "${inputs[@]}" --out "$bad/a.tif"
expect 2 "edge mode must be 'nodata' or 'reflect', got 'wrap'" -- "$soc" map --model "$m1" "${inputs[@]}" --edge wrap --out "$bad/b.tif"
expect 2 "--block must be a multiple of 16" -- "$soc" map --model "$m1" "${inputs[@]}" --block 100 --out "$bad/c.tif"
expect 2 "give --static" -- "$soc" map --model "$m1" --series "${series[@]}" --out "$bad/d.tif"
expect 3 "soc_truth.tif: 1 band, but the models read 10 static covariates" -- \
  "$soc" map --model "$m1" --static "$r/soc_truth.tif" --series "${series[@]}" --out "$bad/e.tif"
expect 3 "reads 12 series features per year, 11 series files" -- \
  "$soc" map --model "$m1" --static "$r/static.tif" --series "${series[@]:0:11}" --out "$bad/f.tif"
expect 4 "nothing.tif.*no such file" -- "$soc" map --model "$m1" --static "$work/nothing.tif" --series "${series[@]}" --out "$bad/g.tif"
printf 'not a raster' >"$work/garbage.tif"
expect 3 "garbage.tif: GDAL cannot open it as a raster" -- \
  "$soc" map --model "$m1" --static "$work/garbage.tif" --series "${series[@]}" --out "$bad/h.tif"
if have gdal_translate; then
  gdal_translate -q -srcwin 0 0 100 90 "${series[3]}" "$work/small.tif"
  expect 3 "small.tif: size 100 x 90 \(columns x rows\) instead of" -- \
    "$soc" map --model "$m1" --static "$r/static.tif" --series "${series[@]:0:3}" "$work/small.tif" "${series[@]:4}" --out "$bad/i.tif"
  gdal_translate -q -a_srs EPSG:32634 "${series[3]}" "$work/zone34.tif"
  expect 3 "zone34.tif: projection WGS 84 / UTM zone 34N instead of WGS 84 / UTM zone 33N" -- \
    "$soc" map --model "$m1" --static "$r/static.tif" --series "${series[@]:0:3}" "$work/zone34.tif" "${series[@]:4}" --out "$bad/j.tif"
fi
check '[ -z "$(ls -A "$bad")" ]' "bad runs left files: $(ls -A "$bad" | tr '\n' ' ')"

# --- rasters in their units: the static stack as Int16 with a GDAL scale of 1e-4 (as MODIS products
# come) maps like the Float32 stack, to its Int16 rounding ---
if have gdal_translate && have gdalinfo; then
  gdal_translate -q -ot Int16 -scale 0 1 0 10000 -a_scale 0.0001 -a_nodata -32768 "$r/static.tif" "$work/static_int16.tif"
  "$soc" map --model "$m1" --static "$work/static_int16.tif" --series "${series[@]}" --out "$out/int16.tif" --quiet 2>/dev/null \
    || fail "map from the Int16 stack"
  stats() { gdalinfo -stats "$1" 2>/dev/null | grep -m1 "Minimum=" | sed 's/[^0-9.,-]//g'; }  # min,max,mean,sd
  IFS=, read -r min max mean _ <<<"$(stats "$out/map.tif")"
  IFS=, read -r imin imax imean _ <<<"$(stats "$out/int16.tif")"
  check 'awk -v a="$mean" -v b="$imean" -v c="$max" -v d="$imax" "BEGIN { exit !((a - b)^2 < 1e-4 && (c - d)^2 < 1e-2) }"' \
    "the Int16 stack maps to mean $imean, max $imax; the Float32 stack to mean $mean, max $max"
fi

report
