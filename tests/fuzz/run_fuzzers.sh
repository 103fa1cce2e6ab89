#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses of the three parsers of untrusted input (.npy,
# safetensors and model files, JSON configuration) for a bounded time each.
#
# Requires clang++ with libFuzzer and the sanitizer runtimes; installs nothing.
# On Debian: apt-get install clang libclang-rt-14-dev
#
#   tests/fuzz/run_fuzzers.sh SECONDS        # from anywhere; SECONDS per harness
#
# Each harness runs on a copy of its seed corpus (tests/fuzz/corpus/<name>), so the committed
# corpus is never modified. Exits non-zero if any harness reports a crash, leak, timeout,
# out-of-memory or sanitizer error, printing the path of the input that triggered it (kept in
# the work folder, which is then not removed). Environment: CXX (default clang++),
# EIGEN_INCLUDE_DIR (default /usr/include/eigen3), FUZZ_WORK_DIR (default: a new temporary
# folder, removed when every harness passed).

set -u -o pipefail

if [[ $# -ne 1 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 SECONDS  (time per harness, a positive whole number)" >&2
  exit 2
fi
duration=$1
cxx=${CXX:-clang++}
harnesses=(npy safetensors config)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "error: $cxx not found (on Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

work=${FUZZ_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cnnlstm-fuzz.XXXXXX")}
mkdir -p "$work"
echo "fuzzing with $("$cxx" --version | head -n 1), $duration s per harness, in $work"

# shellcheck disable=SC2054  # the commas belong to one flag
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer -I "$repo/include" -isystem "${EIGEN_INCLUDE_DIR:-/usr/include/eigen3}")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
for name in "${harnesses[@]}"; do
  dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "$repo/tests/fuzz/corpus/$name/." "$dir/corpus/"

  echo "=== fuzz_$name: building"
  if ! "$cxx" "${flags[@]}" "$repo/tests/fuzz/fuzz_$name.cpp" -o "$dir/fuzz_$name" \
      >"$dir/build.log" 2>&1; then
    cat "$dir/build.log"
    echo "=== fuzz_$name: FAILED (build error)"
    failed=$((failed + 1))
    continue
  fi

  echo "=== fuzz_$name: running for $duration s"
  dict=()
  [[ -f $repo/tests/fuzz/$name.dict ]] && dict=(-dict="$repo/tests/fuzz/$name.dict")
  "$dir/fuzz_$name" "${dict[@]}" -max_total_time="$duration" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/fuzz.log" 2>&1
  status=$?
  findings=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
      -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  grep -E '^(INFO: seed corpus|Done [0-9]+ runs|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' \
      "$dir/fuzz.log" || true
  if [[ $status -ne 0 || -n $findings ]]; then
    # The report: from the first line of the sanitizer's or libFuzzer's message to the end.
    report='runtime error|==[0-9]+==ERROR|ERROR: libFuzzer|terminate called|invariant broken'
    if grep -qE "$report" "$dir/fuzz.log"; then
      awk -v re="$report" 'found || $0 ~ re { found = 1; print }' "$dir/fuzz.log" | head -n 150
    else
      tail -n 60 "$dir/fuzz.log"
    fi
    echo "=== fuzz_$name: FAILED (exit status $status); full log: $dir/fuzz.log"
    if [[ -n $findings ]]; then
      while IFS= read -r f; do echo "failing input: $f"; done <<<"$findings"
    else
      echo "failing input: none written (see the log)"
    fi
    failed=$((failed + 1))
  else
    echo "=== fuzz_$name: passed"
    passed=$((passed + 1))
  fi
done

if [[ $failed -eq 0 && -z ${FUZZ_WORK_DIR:-} ]]; then
  rm -rf "$work"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
