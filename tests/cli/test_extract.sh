#!/usr/bin/env bash
# End-to-end test of soc extract: the simulated region's lon/lat sample table and single-band
# rasters -> extract -> train, cv --spatial-blocks and map take the files as they are, and the map
# at the kept sites equals soc predict on the extracted arrays; bad input (a clear message, the
# documented exit code, nothing written).
# Usage: test_extract.sh PATH/TO/soc
set -u
soc=$1
source "$(dirname "$0")/checks.sh"

r=$work/rasters
"$soc" simulate --n 300 --seed 5 --out "$work/data" --rasters "$r" 2>/dev/null || fail "simulate --rasters"
statics=("$r"/static_*.tif)
series=("$r"/series_*.tif)
check '[ "${#statics[@]}" -eq 10 ]' "10 single-band static files"
check '[ "$(head -1 "$r/samples.csv")" = "id,lon,lat,soc" ]' "samples.csv has id,lon,lat,soc"

# --- the real path ---
e=$work/extract
"$soc" extract --samples "$r/samples.csv" --static "${statics[@]}" --series "${series[@]}" --target soc --out "$e" \
  2>"$work/extract.log" || fail "extract: $(cat "$work/extract.log")"
grep -qE "^soc extract: [0-9]+ of 300 sites kept; .*nodata in their" "$work/extract.log" && pass \
  || fail "extract summary: $(cat "$work/extract.log")"
for f in x_cnn.npy x_lstm.npy y.npy coords.npy train_index.npy test_index.npy sites.csv bands.json; do present "$e/$f"; done
check '[ "$(wc -l <"$e/sites.csv")" -eq 301 ]' "sites.csv lists every input site"
check '[ "$(head -1 "$e/sites.csv")" = "id,lon,lat,raster_x,raster_y,row,col,status,array_row" ]' "sites.csv header"
check 'grep -q "\"elevation\"" "$e/bands.json"' "bands.json names the channels by their band descriptions"
kept=$(grep -c ",kept," "$e/sites.csv")
check '[ "$kept" -gt 250 ]' "only $kept sites kept"
# the stack and the single-band files give the same arrays
"$soc" extract --samples "$r/samples.csv" --static "$r/static.tif" --series "${series[@]}" --target soc --out "$work/stack" \
  2>/dev/null || fail "extract from the stack"
check 'cmp -s "$e/x_cnn.npy" "$work/stack/x_cnn.npy"' "the stack and the single-band files give different x_cnn"

# the same sites as a GeoPackage in lon/lat and a Shapefile in UTM: the layer's own CRS, the same arrays
if have ogr2ogr; then
  ogr2ogr -f GPKG "$work/sites.gpkg" "$r/samples.csv" -oo X_POSSIBLE_NAMES=lon -oo Y_POSSIBLE_NAMES=lat \
    -oo AUTODETECT_TYPE=YES -a_srs EPSG:4326 -nln sites 2>/dev/null
  ogr2ogr -f "ESRI Shapefile" "$work/sites_utm.shp" "$work/sites.gpkg" -t_srs EPSG:32633 2>/dev/null
  for layer in sites.gpkg sites_utm.shp; do
    "$soc" extract --samples "$work/$layer" --static "${statics[@]}" --series "${series[@]}" --target soc \
      --out "$work/from_$layer" 2>/dev/null || fail "extract from $layer"
    check 'cmp -s "$e/x_cnn.npy" "$work/from_$layer/x_cnn.npy" && cmp -s "$e/y.npy" "$work/from_$layer/y.npy"' \
      "$layer gives other arrays than the CSV"
  done
  check '[ "$(sed -n 2p "$work/from_sites_utm.shp/sites.csv" | cut -d, -f1)" = "$(sed -n 2p "$e/sites.csv" | cut -d, -f1)" ]' \
    "the Shapefile's ids are not the table's"
else
  echo "note: ogr2ogr not installed (Debian: gdal-bin); vector layers checked by test_mapping only"
fi

arrays=(--x-cnn "$e/x_cnn.npy" --x-lstm "$e/x_lstm.npy" --y "$e/y.npy")
"$soc" train "${arrays[@]}" --train-index "$e/train_index.npy" --test-index "$e/test_index.npy" --epochs 3 --cv-folds 0 \
  --ensemble 1 --quiet --out "$work/run" >/dev/null 2>&1 && present "$work/run/model.safetensors" || fail "train on the extracted arrays"
"$soc" cv "${arrays[@]}" --folds 3 --spatial-blocks 2000 --coordinates "$e/coords.npy" --epochs 2 --quiet --out "$work/cv" \
  >/dev/null 2>&1 && present "$work/cv/cv.json" || fail "cv --spatial-blocks on coords.npy"
model=$work/run/model.safetensors
"$soc" map --model "$model" --static "${statics[@]}" --series "${series[@]}" --out "$work/map.tif" --quiet 2>/dev/null \
  && present "$work/map.tif" || fail "map from the single-band files"
"$soc" predict --model "$model" "${arrays[@]:0:4}" --out "$work/predicted.csv" 2>/dev/null || fail "predict on the extracted arrays"

if have gdallocationinfo; then
  # the map at each kept site's pixel equals soc predict on its extracted row
  matched=0
  while IFS=, read -r id lon lat x y row col status array_row; do
    [ "$status" = kept ] || continue
    on_map=$(gdallocationinfo -valonly "$work/map.tif" "$col" "$row" | head -1)
    predicted=$(sed -n "$((array_row + 2))p" "$work/predicted.csv" | cut -d, -f2)
    if awk -v a="$on_map" -v b="$predicted" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * (b < 0 ? -b : b) + 1e-5) }'; then
      matched=$((matched + 1))
    else
      fail "site $id at row $row, column $col: the map has $on_map, soc predict $predicted"
    fi
    [ "$matched" -ge 25 ] && break
  done < <(tail -n +2 "$e/sites.csv")
  check '[ "$matched" -eq 25 ]' "only $matched sites compared"
fi

# --- bad input: a clear message, the exit code, nothing written ---
bad=$work/bad
mkdir -p "$bad"
run=(--static "${statics[@]}" --series "${series[@]}" --target soc)
expect 2 "give --target" -- "$soc" extract --samples "$r/samples.csv" --static "${statics[@]}" --out "$bad/a"
printf 'id,long,latt,soc\n1,15.3,39.5,10\n' >"$work/columns.csv"
expect 3 "no coordinate columns found .*did you mean 'long' for 'lon'.*the columns are id, long, latt, soc" -- \
  "$soc" extract --samples "$work/columns.csv" "${run[@]}" --out "$bad/b"
printf 'id,lon,lat,soc\n1,1.0,1.0,10\n2,1.1,1.0,11\n' >"$work/far.csv"
expect 3 "no site kept \(0 of 2 sites kept; 2 outside the rasters\); nothing written" -- \
  "$soc" extract --samples "$work/far.csv" "${run[@]}" --out "$bad/c"
printf 'id,lon,lat,soc\n1,541125,4397375,10\n' >"$work/metres.csv"
expect 3 "line 2: lon 541125, lat 4.39738e\+06 is not a longitude and latitude in degrees; give the table's CRS with --crs" -- \
  "$soc" extract --samples "$work/metres.csv" "${run[@]}" --out "$bad/d"
printf '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"soc": 1}, "geometry": {"type": "LineString", "coordinates": [[15.3, 39.5], [15.4, 39.6]]}}]}' >"$work/lines.geojson"
expect 3 "feature 1 is a Line String, not a point" -- "$soc" extract --samples "$work/lines.geojson" "${run[@]}" --out "$bad/e"
expect 2 "--patch must be odd" -- "$soc" extract --samples "$r/samples.csv" "${run[@]}" --patch 4 --out "$bad/f"
if have gdal_translate; then
  gdal_translate -q -srcwin 0 0 50 40 "${statics[3]}" "$work/small.tif"
  expect 3 "small.tif: size 50 x 40 \(columns x rows\) instead of .* as in .*static_00_elevation.tif" -- \
    "$soc" extract --samples "$r/samples.csv" --static "${statics[@]:0:3}" "$work/small.tif" --target soc --out "$bad/g"
  gdal_translate -q -of GTiff -co PROFILE=BASELINE "${statics[0]}" "$work/no_crs.tif" 2>/dev/null
  rm -f "$work/no_crs.tif.aux.xml"
  expect 3 "no_crs.tif: the raster has no coordinate reference system" -- \
    "$soc" extract --samples "$r/samples.csv" --static "$work/no_crs.tif" --target soc --out "$bad/h"
fi
check '[ -z "$(find "$bad" -type f)" ]' "bad runs left files: $(find "$bad" -type f | tr '\n' ' ')"

# duplicated ids and missing values are reported drops, not errors
{ head -4 "$r/samples.csv"; sed -n 2p "$r/samples.csv"; sed -n 5p "$r/samples.csv" | cut -d, -f1-3 | sed 's/$/,/'; } >"$work/dup.csv"
"$soc" extract --samples "$work/dup.csv" "${run[@]}" --test-fraction 0 --out "$work/dup" 2>"$work/dup.log" \
  || fail "extract with duplicated ids: $(cat "$work/dup.log")"
grep -q "soc extract: 2 of 5 sites kept; 1 without a target, 2 with a duplicated id" "$work/dup.log" && pass \
  || fail "duplicated ids not reported: $(cat "$work/dup.log")"
check '[ "$(grep -c ",duplicated id," "$work/dup/sites.csv")" -eq 2 ]' "both duplicated sites listed"
absent "$work/dup/test_index.npy"
# a file in DIR that soc extract did not write is not replaced
mkdir -p "$work/mine" && printf 'mine' >"$work/mine/y.npy"
expect 2 "was not written by soc extract" -- "$soc" extract --samples "$r/samples.csv" "${run[@]}" --out "$work/mine"
check '[ "$(cat "$work/mine/y.npy")" = mine ]' "the user's y.npy was replaced"

# soc demo runs the real path: lon/lat table + rasters -> extract -> train -> map with the interval and AOA
"$soc" demo --n 200 --out "$work/demo" >/dev/null 2>"$work/demo.log" || fail "demo: $(tail -3 "$work/demo.log")"
grep -q "^soc extract: [0-9]* of 200 sites kept" "$work/demo.log" && pass || fail "demo does not extract"
for f in sites/x_cnn.npy sites/sites.csv model/model.safetensors model/metrics.json map/soc_map.tif map/soc_map.png; do
  present "$work/demo/$f"
done
if have gdalinfo; then
  for band in mean Q0.05 Q0.5 Q0.95 DI AOA; do
    grep -q "Description = $band\$" <<<"$(gdalinfo "$work/demo/map/soc_map.tif")" && pass || fail "demo map lacks band $band"
  done
fi

report
