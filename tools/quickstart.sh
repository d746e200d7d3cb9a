#!/usr/bin/env bash
# The README's quick start. On a fresh Debian 12 machine (root, apt available):
#   tools/quickstart.sh        install what is missing, build, run the main job on bundled samples
#   tools/quickstart.sh test   install what is missing, build, run every test
# Packages come from tools/deps/*.txt: run mode installs the lists marked "# quickstart: run"
# (the library and the tool), test mode every list. Nothing is written outside the system's
# package manager and the build directory, ./build (override with BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
build=${BUILD_DIR:-build}
case "$mode" in
  run|test) ;;
  *)
    echo "usage: $0 [run|test]" >&2
    exit 2
    ;;
esac

# 1. Install what is missing (Debian packages only).
lists=()
for f in tools/deps/*.txt; do
  first=""
  read -r first <"$f" || true
  if [ "$mode" = test ] || [ "$first" = "# quickstart: run" ]; then lists+=("$f"); fi
done
# A line may end in [ARCH] or [!ARCH] (dpkg's architecture name): only on / not on that one.
arch=$(dpkg --print-architecture)
packages=$(sed -e 's/#.*//' "${lists[@]}" | awk -v arch="$arch" '
  NF == 0 { next }
  NF == 1 { print $1; next }
  { q = $2; gsub(/[][]/, "", q)
    if ((substr(q, 1, 1) == "!") ? (substr(q, 2) != arch) : (q == arch)) print $1 }' | sort -u | xargs)
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Debian's Vectorscan and Hyperscan packages conflict (both ship libhs): where Hyperscan is wanted
# and Vectorscan is installed, the same apt call replaces it.
case " $missing " in
  *" libhyperscan-dev "*)
    for p in libvectorscan-dev libvectorscan5; do
      if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p-"
      fi
    done
    ;;
esac
if [ -n "$missing" ]; then
  echo "quickstart: installing:$missing" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
fi

# 2. Build (Release, two jobs: the machine has two cores). Run mode builds the library and the
# tool; test mode everything: tests, benchmarks, examples and the Python package.
if [ "$mode" = run ]; then
  parts=(-DSCRIPTQA_BUILD_TOOLS=ON -DSCRIPTQA_BUILD_TESTS=OFF -DSCRIPTQA_BUILD_BENCHMARKS=OFF
         -DSCRIPTQA_BUILD_EXAMPLES=OFF -DSCRIPTQA_BUILD_PYTHON=OFF)
else
  parts=(-DSCRIPTQA_BUILD_TOOLS=ON -DSCRIPTQA_BUILD_TESTS=ON -DSCRIPTQA_BUILD_BENCHMARKS=ON
         -DSCRIPTQA_BUILD_EXAMPLES=ON -DSCRIPTQA_BUILD_PYTHON=ON)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${parts[@]}" >&2
cmake --build "$build" -j2 >&2

# 3. Run.
case "$mode" in
  run)
    # The main job: an audit of the bundled sample (it has findings by design; do not gate on them).
    "$build/tools/scriptqa" audit examples/sample_transcripts.jsonl --out "$build/audit" --fail-on none
    ;;
  test)
    ctest --test-dir "$build" --output-on-failure -j2
    ;;
esac
