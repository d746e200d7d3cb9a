#!/usr/bin/env bash
# Builds the streaming, reload and C API tests with ThreadSanitizer and runs them.
#   tests/stream/tsan.sh                 # build dir: build-srv-tsan (override with TSAN_BUILD_DIR)
# Exit status: non-zero when the build fails or any test reports a failure or a data race.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${TSAN_BUILD_DIR:-build-srv-tsan}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCRIPTQA_SANITIZE=thread \
  -DSCRIPTQA_BUILD_BENCHMARKS=OFF -DSCRIPTQA_BUILD_TOOLS=OFF -DSCRIPTQA_BUILD_PYTHON=OFF \
  -DSCRIPTQA_BUILD_EXAMPLES=OFF >/dev/null
targets="reload_test stream_test"
[ -f tests/c/CMakeLists.txt ] && targets="$targets c_api_test"
cmake --build "$build" -j2 --target $targets
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
# The concurrency tests are the point; the stream differential runs too (it is single-threaded,
# but exercises every code path the concurrent tests reach).
"$build/tests/stream/reload_test"
"$build/tests/stream/stream_test" --gtest_filter='StreamApi.*:StreamDifferential.Golden*'
if [ -x "$build/tests/c/c_api_test" ]; then "$build/tests/c/c_api_test"; fi
echo "tsan.sh: no data races reported"
