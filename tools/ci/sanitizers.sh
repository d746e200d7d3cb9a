#!/usr/bin/env bash
# CI hardening stages (issue 8; docs/reliability.md), run by .ci/run after tools/quickstart.sh test
# (which has installed tools/deps/*.txt, including hardening.txt: clang, libclang-rt, llvm):
#
#   asan  the whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, the
#         top-level -DSCRIPTQA_SANITIZE=address), without benchmarks and the Python extension;
#         the install tests (they build consumers of an installed package) and the callgrind
#         budget (valgrind cannot run ASan binaries) are left out; LeakSanitizer is on
#   tsan  the concurrency, reload, stream and C API tests under ThreadSanitizer:
#         tests/stream/tsan.sh, plus concurrency_test and the scanner's misuse tests
#   fuzz  every libFuzzer target for FUZZ_SECONDS (default 30) from its seed corpus, with
#         ASan + UBSan (tools/ci/fuzz.sh)
#
#   tools/ci/sanitizers.sh               # all three stages, in this order
#   tools/ci/sanitizers.sh tsan fuzz     # some of them
#
# Build trees: build-asan, build-tsan, build-fuzz (override with ASAN_BUILD_DIR, TSAN_BUILD_DIR,
# FUZZ_BUILD_DIR). Every stage runs even when an earlier one failed; the exit status is non-zero
# when any failed, and the last lines say which.
set -uo pipefail
cd "$(dirname "$0")/../.."
stages=${*:-asan tsan fuzz}
jobs=${SANITIZER_JOBS:-2}
failed=""
timing=""

stage_asan() {
  local build=${ASAN_BUILD_DIR:-build-asan}
  # -O1 with line tables: the usual sanitizer setting, and a faster build than -O2 -g; without
  # NDEBUG, so that assert() stays on.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DSCRIPTQA_SANITIZE=address -DSCRIPTQA_BUILD_BENCHMARKS=OFF -DSCRIPTQA_BUILD_PYTHON=OFF \
    >/dev/null || return 1
  cmake --build "$build" -j"$jobs" || return 1
  # abort_on_error makes a report fail the test even where a test harness catches exit codes;
  # UBSan findings are fatal (-fno-sanitize-recover=undefined in the top-level CMakeLists.txt).
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
    ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE "install|budget" --timeout 1500
}

stage_tsan() {
  local build=${TSAN_BUILD_DIR:-build-tsan}
  TSAN_BUILD_DIR="$build" tests/stream/tsan.sh || return 1
  cmake --build "$build" -j"$jobs" --target concurrency_test scanner_test || return 1
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
  "$build/tests/concurrency_test" || return 1
  "$build/tests/scanner_test" --gtest_filter='Misuse.*:Scanner.*' || return 1
  echo "sanitizers.sh: tsan: no data races reported"
}

stage_fuzz() {
  tools/ci/fuzz.sh
}

for s in $stages; do
  case "$s" in
    asan|tsan|fuzz) ;;
    *) echo "usage: $0 [asan] [tsan] [fuzz]" >&2; exit 2 ;;
  esac
  echo "sanitizers.sh: === $s ===" >&2
  start=$(date +%s)
  if "stage_$s"; then result=passed; else result=FAILED; failed="$failed $s"; fi
  timing="$timing $s:$result:$(( $(date +%s) - start ))s"
  echo "sanitizers.sh: $s $result in $(( $(date +%s) - start )) s" >&2
done
echo "sanitizers.sh: stages$timing" >&2
if [ -n "$failed" ]; then
  echo "sanitizers.sh: FAILED:$failed" >&2
  exit 1
fi
echo "sanitizers.sh: all stages passed" >&2
