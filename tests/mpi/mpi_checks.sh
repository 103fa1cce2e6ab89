# Shared by the MPI end-to-end scripts (source it after tests/cli/checks.sh): the launcher, and
# files compared byte for byte. Usage of the sourcing script: SCRIPT PATH/TO/soc PATH/TO/mpirun
mpirun_path=$2
# OpenMPI refuses root without --allow-run-as-root; --oversubscribe lets 3 ranks share 2 cores.
launcher=("$mpirun_path" --oversubscribe)
[ "$(id -u)" = 0 ] && launcher+=(--allow-run-as-root)
# One thread per rank: the ranks, not threads, share the cores here.
export OMP_NUM_THREADS=1
ranks() { local n=$1; shift; "${launcher[@]}" -n "$n" "$@"; }

# same FILE_A FILE_B WHAT: byte-identical files
same() { if cmp -s "$1" "$2"; then pass; else fail "$3: $1 and $2 differ"; fi; }

# No temporary file left in a folder (GDAL's and the atomic writers' temporaries start with '.').
no_temporaries() {
  local left
  left=$(ls -A "$1" | grep -i tmp)
  if [ -z "$left" ]; then pass; else fail "temporary files left in $1: $left"; fi
}
