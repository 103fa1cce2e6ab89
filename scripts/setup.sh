#!/usr/bin/env bash
# Installs what cnnlstm needs on Debian 12 (run as root). Idempotent: packages already present
# are left alone. GDAL (soc extract, soc map, soc simulate --rasters, and the real path of soc
# demo) is installed by default, as the field's standard raster library. Options:
#   --no-gdal  skip GDAL (soc is then built without extract, map and simulate --rasters)
#   --gdal     accepted for compatibility; GDAL is installed anyway
#   --mpi      OpenMPI, for soc map, train and cv across the ranks of mpirun (built only when MPI is found)
#   --fuzz     clang and its runtime, for the libFuzzer harnesses (tests/fuzz/)
#   --pytorch  Debian's PyTorch, for the golden-file generator (tests/golden/) and the
#              side-by-side benchmark (benchmarks/)
set -euo pipefail

packages=(cmake make g++ libeigen3-dev libxsimd-dev xtl-dev doctest-dev nlohmann-json3-dev)
gdal=(libgdal-dev gdal-bin)
for arg in "$@"; do
  case "$arg" in
    --gdal) ;;
    --no-gdal) gdal=() ;;
    --mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --pytorch) packages+=(python3-torch python3-numpy) ;;
    *) echo "setup.sh: unknown option '$arg' (known: --no-gdal, --gdal, --mpi, --fuzz, --pytorch)" >&2; exit 2 ;;
  esac
done
packages+=("${gdal[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all packages present"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup.sh: installed ${missing[*]}"
