#!/usr/bin/env bash
# soc map --aoa and the training ranges on the simulated region (needs gdal-bin): the DI and AOA
# bands, the training sites' own pixels inside, a region whose covariates lie far from every
# training site's outside, and wrong units or an undeclared nodata value refused before any map.
# Usage: test_map_aoa.sh PATH/TO/soc
set -u
soc=$(realpath "$1")
source "$(dirname "$0")/checks.sh"
if ! command -v gdal_translate >/dev/null || ! command -v gdallocationinfo >/dev/null; then
  echo "SKIPPED: gdal-bin (gdal_translate, gdallocationinfo) is not installed"
  exit 77
fi

d=$work/data
r=$work/rasters
"$soc" simulate --n 300 --seed 5 --out "$d" --rasters "$r" 2>/dev/null || fail "simulate --rasters"
# Every site trains (an int32 index 0..299), so every site's pixel is a training site's.
index_npy() {
  local dict="{'descr': '<i4', 'fortran_order': False, 'shape': ($2,), }"
  local pad=$(( 117 - ${#dict} ))
  { printf '\x93NUMPY\x01\x00\x76\x00'; printf '%s%*s\n' "$dict" "$pad" '';
    for ((i = 0; i < $2; ++i)); do printf "\\x$(printf %02x $((i % 256)))\\x$(printf %02x $((i / 256)))\\x00\\x00"; done; } >"$1"
}
index_npy "$work/all.npy" 300
"$soc" train --x-cnn "$d/x_cnn.npy" --x-lstm "$d/x_lstm.npy" --y "$d/y.npy" --train-index "$work/all.npy" --ensemble 3 \
  --epochs 20 --names "$d/covariates.json" --quiet --out "$work/run" >/dev/null 2>&1 || fail "train"
model=$work/run/model.safetensors
series=("$r"/series_*.tif)

"$soc" map --model "$model" --static "$r/static.tif" --series "${series[@]}" --aoa --out "$work/map.tif" --quiet 2>/dev/null \
  && present "$work/map.tif" || fail "map --aoa"
info=$(gdalinfo "$work/map.tif")
for band in mean Q0.05 Q0.5 Q0.95 DI AOA; do grep -q "Description = $band\$" <<<"$info" && pass || fail "map.tif lacks band $band"; done

# The sites' own pixels: DI 0, inside (the lake's sites are nodata in every band).
header=$(head -1 "$d/samples.csv")
inside=0
for line in $(seq 2 41); do
  IFS=, read -r _ x y _ <<<"$(sed -n "${line}p" "$d/samples.csv")"
  if [[ $header == id,lon,lat* ]]; then how=-wgs84; else how=-geoloc; fi
  values=$(gdallocationinfo -valonly "$how" "$work/map.tif" "$x" "$y" | tr '\n' ' ')
  read -r mean _ _ _ di aoa <<<"$values"
  [ "$mean" = "-9999" ] && continue
  if [ "$di" = "0" ] && [ "$aoa" = "1" ]; then inside=$((inside + 1)); else fail "site at ($x, $y): DI $di, AOA $aoa"; fi
done
check '[ "$inside" -ge 30 ]' "only $inside of 40 sites' pixels checked inside"

# A region (columns and rows 80..119) whose every static covariate is 2 higher, as a VRT over static.tif.
gdal_translate -q -of VRT "$r/static.tif" "$work/base.vrt"
awk -v tif="$r/static.tif" '
  /<VRTRasterBand/ { match($0, /band="[0-9]+"/); band = substr($0, RSTART + 6, RLENGTH - 7) }
  { print }
  /<\/SimpleSource>/ {
    printf "    <ComplexSource><SourceFilename relativeToVRT=\"0\">%s</SourceFilename><SourceBand>%s</SourceBand>", tif, band
    printf "<ScaleOffset>2</ScaleOffset><ScaleRatio>1</ScaleRatio>"
    printf "<SrcRect xOff=\"80\" yOff=\"80\" xSize=\"40\" ySize=\"40\" /><DstRect xOff=\"80\" yOff=\"80\" xSize=\"40\" ySize=\"40\" /></ComplexSource>\n"
  }' "$work/base.vrt" >"$work/shifted.vrt"
"$soc" map --model "$model" --static "$work/shifted.vrt" --series "${series[@]}" --aoa --out "$work/shifted.tif" --quiet \
  2>"$work/shifted.log" && present "$work/shifted.tif" || fail "map of the shifted region: $(cat "$work/shifted.log")"
gdal_translate -q -b 6 -srcwin 84 84 32 32 "$work/shifted.tif" "$work/region_aoa.tif"
gdal_translate -q -b 6 -srcwin 10 10 60 60 "$work/shifted.tif" "$work/rest_aoa.tif"
region_max=$(gdalinfo -stats "$work/region_aoa.tif" | sed -n 's/.*STATISTICS_MAXIMUM=//p')
rest_mean=$(gdalinfo -stats "$work/rest_aoa.tif" | sed -n 's/.*STATISTICS_MEAN=//p')
check '[ "$region_max" = "0" ]' "the shifted region has pixels inside the AOA (max AOA $region_max)"
check 'awk -v m="$rest_mean" "BEGIN { exit !(m > 0.8) }"' "the unshifted part is mostly outside the AOA (mean AOA $rest_mean)"

# Wrong units (every static covariate x100) and an undeclared nodata value: refused, no map.
gdal_translate -q -ot Float32 -scale 0 1 0 100 -a_nodata -999900 "$r/static.tif" "$work/static_x100.tif"
expect 3 "static channel 0 \('elevation'\): 100.0% of [0-9]+ values lie outside the training sites' range.*scale factor" -- "$soc" map --model "$model" \
  --static "$work/static_x100.tif" --series "${series[@]}" --out "$work/x100.tif"
absent "$work/x100.tif"
gdal_translate -q -a_nodata none "$r/static.tif" "$work/static_untagged.tif"
expect 3 "values lie more than 10 times its width beyond .*a nodata value the file does not declare" -- "$soc" map \
  --model "$model" --static "$work/static_untagged.tif" --series "${series[@]}" --out "$work/untagged.tif"
absent "$work/untagged.tif"
"$soc" map --model "$model" --static "$work/static_x100.tif" --series "${series[@]}" --allow-out-of-range --out "$work/x100.tif" \
  --quiet 2>"$work/x100.log" && grep -q "WARNING: inputs outside" "$work/x100.log" && present "$work/x100.tif" \
  || fail "map --allow-out-of-range"

# The model records its inputs' names: the same static files in another order are refused.
statics=("$r"/static_[0-9]*.tif)
swapped=("${statics[1]}" "${statics[0]}" "${statics[@]:2}")
expect 3 "static channel 0 is 'slope', but the model was trained on 'elevation' there: the same inputs in another order" -- \
  "$soc" map --model "$model" --static "${swapped[@]}" --series "${series[@]}" --out "$work/swapped.tif"
absent "$work/swapped.tif"
"$soc" map --model "$model" --static "${statics[@]}" --series "${series[@]}" --out "$work/files.tif" --quiet 2>/dev/null \
  && present "$work/files.tif" || fail "map from one file per channel, in the training order"
report
