# Shared by the soc end-to-end scripts (source it): a scratch folder ($work), pass/fail counters,
# the checks (expect, check, present, absent, unchanged), make_npy and have. The sourcing script
# ends with `report`.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect CODE PATTERN -- command...: exit code and a stderr line matching PATTERN
expect() {
  local code=$1 pattern=$2
  shift 3
  local err
  err=$("$@" 2>&1 >/dev/null)
  local got=$?
  if [ "$got" -ne "$code" ]; then fail "$* exited $got, expected $code: $err"; return; fi
  if ! grep -qE -- "$pattern" <<<"$err"; then fail "$*: message '$err' lacks /$pattern/"; return; fi
  pass
}

# make_npy FILE SHAPE ELEMENTS: a float32 .npy of zeros, e.g. make_npy a.npy "(3, 4)" 12
make_npy() {
  local dict="{'descr': '<f4', 'fortran_order': False, 'shape': $2, }"
  local total=$(( (10 + ${#dict} + 1 + 63) / 64 * 64 ))
  local pad=$(( total - 10 - ${#dict} - 1 ))
  local len=$(( total - 10 ))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((len % 256)))\\x$(printf %02x $((len / 256)))";
    printf '%s%*s\n' "$dict" "$pad" ''; head -c $(( $3 * 4 )) /dev/zero; } >"$1"
}

# check CONDITION MESSAGE: CONDITION (shell code, evaluated) holds, or the check fails with MESSAGE
check() { if eval "$1"; then pass; else fail "$2"; fi; }
# have TOOL: TOOL is on the PATH (for the checks that need gdal-bin, ogr2ogr, ...)
have() { command -v "$1" >/dev/null 2>&1; }

present() { if [ -s "$1" ]; then pass; else fail "$1 is missing or empty"; fi; }
absent() { if [ -e "$1" ]; then fail "$1 exists but should not"; else pass; fi; }
# unchanged FILE COPY: FILE still has the content of COPY
unchanged() { if cmp -s "$1" "$2"; then pass; else fail "$1 was changed"; fi; }

# The closing line test runners are read for, and the exit code.
report() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
