#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs each for a while from its seed corpus. Used by tools/ci/sanitizers.sh (short runs in
# CI) and by hand for long campaigns (docs/reliability.md):
#
#   tools/ci/fuzz.sh                      # every target, FUZZ_SECONDS (30) each, one at a time
#   FUZZ_SECONDS=3600 tools/ci/fuzz.sh scan stream
#   FUZZ_RUNS=10000000 tools/ci/fuzz.sh normalize      # a number of executions instead of a time
#
# Environment:
#   FUZZ_SANITIZE    address (default: ASan + UBSan) or undefined (UBSan + LeakSanitizer, no ASan;
#                    about 3 times the rate for the compile target, whose time goes to ASan's
#                    allocator; misses memory errors that do not crash, so CI keeps address)
#   FUZZ_BUILD_DIR   build tree (default build-fuzz, build-fuzz-undefined for FUZZ_SANITIZE=undefined)
#   FUZZ_WORK_DIR    working corpora, logs and crash inputs (default $FUZZ_BUILD_DIR/fuzz-work);
#                    the seed corpora in the source tree are only read
#   FUZZ_SECONDS     time per target (default 30)
#   FUZZ_RUNS        an execution count per target instead; with FUZZ_SECONDS set as well, a
#                    target stops at whichever comes first
#   FUZZ_TIMEOUT     seconds before one input counts as a hang (default 25)
#   FUZZ_MAX_LEN     largest input libFuzzer generates (default 4096); long campaigns may lower it
#                    to keep the rate up (the seeds and the CI runs keep 4096)
#   FUZZ_JOBS        build jobs (default 2)
#   SCRIPTQA_FUZZ_IGNORE  checks of OPEN bugs to skip (tests/fuzz/fuzz_util.h; the default below
#                    lists the bugs open in docs/reliability.md, so that CI stays green while they
#                    are; set it to "" to see them fail)
# Exit status: non-zero when the build fails or any target finds a crash, a leak, a failed check
# or a hang. The offending input is kept in $FUZZ_WORK_DIR/<target>/ (crash-*, leak-*, timeout-*)
# and printed as base64; add it to tests/fuzz/open/<target>/ and report it.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
sanitize=${FUZZ_SANITIZE:-address}
case $sanitize in
  address) build=${FUZZ_BUILD_DIR:-build-fuzz} ;;
  undefined) build=${FUZZ_BUILD_DIR:-build-fuzz-undefined} ;;
  *) echo "fuzz.sh: FUZZ_SANITIZE must be address or undefined, not '$sanitize'" >&2; exit 2 ;;
esac
work=${FUZZ_WORK_DIR:-$build/fuzz-work}
seconds=${FUZZ_SECONDS:-30}
timeout_s=${FUZZ_TIMEOUT:-25}
max_len=${FUZZ_MAX_LEN:-4096}
jobs=${FUZZ_JOBS:-2}
# Open bugs (docs/reliability.md, "Open") whose checks are skipped; remove a name when its bug
# is fixed. None at present (normalize_idempotent was, until the fix of U+0EB3 -> U+0ECD U+0EB2).
export SCRIPTQA_FUZZ_IGNORE=${SCRIPTQA_FUZZ_IGNORE-}
all_targets="normalize scan stream dictionary compile deserialize cli_input"
targets=${*:-$all_targets}

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (tools/deps/hardening.txt lists the Debian packages)" >&2
  exit 1
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
  -DSCRIPTQA_SANITIZE="$sanitize" -DSCRIPTQA_FUZZ=ON \
  -DSCRIPTQA_BUILD_BENCHMARKS=OFF -DSCRIPTQA_BUILD_PYTHON=OFF -DSCRIPTQA_BUILD_EXAMPLES=OFF >/dev/null
build_targets=""
for t in $targets; do build_targets="$build_targets fuzz_$t"; done
cmake --build "$build" -j"$jobs" --target $build_targets

export ASAN_OPTIONS="malloc_context_size=5:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export SCRIPTQA_DICTIONARIES="$PWD/dictionaries"
mkdir -p "$work"
work=$(cd "$work" && pwd)
summary="$work/summary.txt"
: > "$summary"
status=0
for t in $targets; do
  dir="$work/$t"
  mkdir -p "$dir/corpus"
  # The deserialize target gets a real serialized filter of this machine as an extra seed.
  if [ "$t" = deserialize ]; then
    mkdir -p "$dir/empty"
    SCRIPTQA_FUZZ_DUMP_SEED="$dir/corpus/real-filter" "$build/tests/fuzz/fuzz_$t" -runs=0 \
      "$dir/empty" >/dev/null 2>&1 || true
  fi
  bin=$(cd "$build/tests/fuzz" && pwd)/fuzz_$t
  seeds=""
  for d in "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regressions/$t"; do
    [ -d "$d" ] && seeds="$seeds $d"
  done
  limit="-max_total_time=$seconds"
  if [ -n "${FUZZ_RUNS:-}" ]; then
    limit="-runs=$FUZZ_RUNS"
    [ -n "${FUZZ_SECONDS:-}" ] && limit="$limit -max_total_time=$FUZZ_SECONDS"
  fi
  echo "fuzz.sh: $t ($limit)" >&2
  start=$(date +%s)
  set +e
  (cd "$dir" && "$bin" $limit -timeout="$timeout_s" -rss_limit_mb=4096 \
      -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$dir/" \
      corpus $seeds) >"$dir/log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  line="$t: ${execs:-?} executions in $(( $(date +%s) - start )) s (${rate:-?}/s), exit $rc"
  echo "$line" | tee -a "$summary" >&2
  if [ $rc -ne 0 ]; then
    status=1
    grep -E -A8 "FUZZ_CHECK|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error" "$dir/log" \
      | grep -v "^    #[1-9][0-9]" | head -40 >&2 || true
    grep -E "^Base64:|Test unit written" "$dir/log" >&2 || true
  fi
done
echo "fuzz.sh: summary in $summary" >&2
exit $status
