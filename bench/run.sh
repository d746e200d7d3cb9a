#!/usr/bin/env bash
# One command for every scriptqa benchmark: builds in Release, then runs, on the same terms and the
# same messages, scriptqa (full pipeline and match-only) against a naive find loop, RE2::Set + RE2,
# ICU regex and raw Hyperscan; the Google Benchmark suite; the rule-cost tool; the instruction
# budget; bench/python_bench.py when it exists; and the peers users of this domain pick, on terms
# that match (substrings of the corpus messages) at 90 B, 900 B and 4 KiB: pyahocorasick (in
# python_bench.py) and the npm package mint-filter (bench/mint_filter_bench.js, Node; installed with
# npm into BUILD_DIR/node when missing, skipped with a note when npm or node is unavailable).
# Writes a Markdown report.
#
#   bench/run.sh                  full run (20–30 minutes on the 2-core machine, with the build)
#   bench/run.sh --quick          a smoke run (a few minutes): fewer rule sets, lengths, time
#   bench/run.sh --update-budget  re-measure and rewrite bench/budget.json, nothing else
#   bench/run.sh --no-build       use the existing build
#   bench/run.sh -- ARGS          extra arguments for scriptqa_compare (e.g. --rules=1000)
#
# Environment: BUILD_DIR (default build-bench), OUT_DIR (default out/bench-<date>),
# SCRIPTQA_CORPUS (default ../shared/corpus/jddc_sample_dialogues.jsonl when present),
# SCRIPTQA_COMMIT (what to call the sources in the report when they are not a git checkout),
# NODE (default /usr/bin/node, else node on PATH).
# Packages: tools/deps/bench.txt (libbenchmark-dev, libre2-dev, valgrind); for the peers
# python3-ahocorasick, nodejs and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD_DIR:-build-bench}
quick=0
update_budget=0
do_build=1
compare_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --update-budget) update_budget=1 ;;
    --no-build) do_build=0 ;;
    --) shift; compare_args=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$do_build" = 1 ]; then
  # Front ends other engineers are writing are left out: the benchmarks need only the library.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCRIPTQA_BUILD_BENCHMARKS=ON \
    -DSCRIPTQA_BUILD_TESTS=ON -DSCRIPTQA_BUILD_TOOLS=OFF -DSCRIPTQA_BUILD_EXAMPLES=OFF >&2
  targets="scriptqa_compare scriptqa_rulecost scriptqa_budget_scan"
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" ||
    { echo "run.sh: $build is not a Release build" >&2; exit 1; }
  if grep -q 'scriptqa_bench' "$build/build.ninja"; then targets="$targets scriptqa_bench"; fi
  # shellcheck disable=SC2086
  cmake --build "$build" -j2 --target $targets >&2
  # The Python package, for bench/python_bench.py (optional: its failure does not stop the run).
  if [ -f bench/python_bench.py ] && [ -f bindings/python/CMakeLists.txt ]; then
    { cmake -S . -B "$build" -DSCRIPTQA_BUILD_PYTHON=ON >&2 &&
      cmake --build "$build" -j2 --target scriptqa_python >&2; } ||
      echo "run.sh: the Python package did not build; python_bench.py is skipped" >&2
  fi
fi

if [ "$update_budget" = 1 ]; then
  cmake --build "$build" --target update_budget
  exit 0
fi

build=$(cd "$build" && pwd)
out=${OUT_DIR:-out/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
echo "run.sh: writing $out/report.md" >&2

# The machine.
{
  echo "## Machine"
  echo
  echo '```'
  lscpu | grep -E '^(Architecture|Model name|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|Hypervisor|Flags)' |
    sed -E 's/^(Flags:\s+).*/\1'"$(grep -o -w -E 'avx2|avx512f|avx512bw|sse4_2|bmi2' /proc/cpuinfo | sort -u | xargs)"' (relevant subset)/'
  free -h | head -2
  uname -srm
  echo "compiler: $(c++ --version | head -1)"
  echo "engine: $(dpkg-query -W -f='${Package} ${Version} ' libhyperscan5 libvectorscan5 2>/dev/null || true)(libhs $(pkg-config --modversion libhs 2>/dev/null || echo unknown))"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  if git rev-parse --short HEAD > /dev/null 2>&1; then
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
  else
    echo "commit: ${SCRIPTQA_COMMIT:-unknown (not a git checkout)}"
  fi
  echo '```'
} > "$out/machine.md"

if [ "$quick" = 1 ]; then
  compare_default=(--quick)
  gbench_args=(--benchmark_min_time=0.05 --benchmark_repetitions=3)
  rulecost_args=(--no-loo --passes=3 --top=5)
  peer_args=(--cell-seconds 0.15)
else
  compare_default=()
  gbench_args=(--benchmark_repetitions=5)
  rulecost_args=(--top=10)
  peer_args=(--cell-seconds 0.4)
fi

# 1. scriptqa vs peers.
"$build/bench/scriptqa_compare" "${compare_default[@]}" "${compare_args[@]}" > "$out/compare.md"

# 2. Google Benchmark suite (medians of the repetitions).
if [ -x "$build/bench/scriptqa_bench" ]; then
  "$build/bench/scriptqa_bench" "${gbench_args[@]}" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/gbench.json" --benchmark_out_format=json > "$out/gbench.txt" 2>&1 ||
    echo "(scriptqa_bench failed)" >> "$out/gbench.txt"
else
  echo "scriptqa_bench not built (libbenchmark-dev missing)" > "$out/gbench.txt"
fi

# 3. Rule cost of the default packs.
"$build/bench/scriptqa_rulecost" "${rulecost_args[@]}" > "$out/rulecost.txt" 2> "$out/rulecost.log" ||
  echo "(rulecost failed; see rulecost.log)" >> "$out/rulecost.txt"

# 4. Instruction budget (the CI check).
budget_status=0
cmake -DVALGRIND="$(command -v valgrind || true)" \
  -DPROGRAM="$build/tests/budget/scriptqa_budget_scan" -DBUDGET="$root/bench/budget.json" \
  -DWORKDIR="$out/callgrind" -P tests/budget/check_budget.cmake > "$out/budget.txt" 2>&1 ||
  budget_status=$?

# 5. The same comparison in instructions per message (callgrind): immune to machine load.
if command -v valgrind > /dev/null && [ "$quick" = 0 ]; then
  mkdir -p "$out/cgcompare"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cgcompare/cg.out" \
    "$build/bench/scriptqa_compare" --instructions="$out/cgcompare/cg.out" "${compare_args[@]}" \
    > "$out/instructions.md" 2> "$out/instructions.log" ||
    echo "(instruction count failed; see instructions.log)" >> "$out/instructions.md"
fi

# 5b. Rule cost in instructions (deterministic ranking; alone only, leave-one-out is too slow
# under valgrind).
if command -v valgrind > /dev/null && [ "$quick" = 0 ]; then
  mkdir -p "$out/cgrulecost"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cgrulecost/cg.out" \
    "$build/bench/scriptqa_rulecost" --instructions="$out/cgrulecost/cg.out" --no-loo --top=10 \
    > "$out/rulecost_instructions.txt" 2> "$out/rulecost_instructions.log" ||
    echo "(failed; see rulecost_instructions.log)" >> "$out/rulecost_instructions.txt"
fi

# 6. Python: scriptqa's binding vs pyahocorasick (bench/python_bench.py, when it exists); its
# section 4 (terms that match, 90 B / 900 B / 4 KiB) also writes its terms and messages to
# $out/peers for mint-filter.
if [ -f bench/python_bench.py ] && [ -d "$build/bindings/python/scriptqa" ]; then
  corpus_args=()
  [ -n "${SCRIPTQA_CORPUS:-}" ] && corpus_args=(--corpus "$SCRIPTQA_CORPUS")
  PYTHONPATH="$build/bindings/python" /usr/bin/python3 bench/python_bench.py \
    "${corpus_args[@]}" "${peer_args[@]}" --peer-inputs "$out/peers" --json "$out/python.json" \
    > "$out/python.md" 2>&1 ||
    echo "(python_bench.py failed; output above)" >> "$out/python.md"
fi

# 7. mint-filter (npm) on the same terms and messages (bench/mint_filter_bench.js), then one table:
# scriptqa (measured in step 6, this run) vs pyahocorasick vs mint-filter.
if [ -f "$out/peers/manifest.json" ]; then
  node_bin=${NODE:-}
  [ -z "$node_bin" ] && [ -x /usr/bin/node ] && node_bin=/usr/bin/node
  [ -z "$node_bin" ] && node_bin=$(command -v node || true)
  node_prefix="$build/node"
  mint_note=""
  if [ -z "$node_bin" ]; then
    mint_note="mint-filter skipped: no node (apt-get install nodejs npm)"
  else
    if [ ! -f "$node_prefix/node_modules/mint-filter/package.json" ]; then
      if command -v npm > /dev/null; then
        echo "run.sh: installing mint-filter@4 into $node_prefix (npm)" >&2
        mkdir -p "$node_prefix"
        npm install --prefix "$node_prefix" --no-audit --no-fund --loglevel=error mint-filter@4 >&2 ||
          mint_note="mint-filter skipped: npm install --prefix $node_prefix mint-filter@4 failed"
      else
        mint_note="mint-filter skipped: not installed in $node_prefix and no npm to install it"
      fi
    fi
    if [ -z "$mint_note" ]; then
      "$node_bin" bench/mint_filter_bench.js "$out/peers" --modules "$node_prefix" "${peer_args[@]}" \
        > "$out/peers/mint_filter.json" 2> "$out/peers/mint_filter.log" ||
        mint_note="mint-filter failed; see peers/mint_filter.log"
    fi
  fi
  [ -n "$mint_note" ] && echo "run.sh: $mint_note" >&2
  mint_json=()
  [ -z "$mint_note" ] && mint_json=("$out/peers/mint_filter.json")
  { /usr/bin/python3 bench/python_bench.py --peer-table "$out/python.json" "${mint_json[@]}" &&
      if [ -n "$mint_note" ]; then echo; echo "($mint_note)"; fi; } > "$out/peers.md" 2>&1 ||
    echo "(the peer table failed; output above)" >> "$out/peers.md"
fi

{
  echo "# scriptqa benchmark run, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  cat "$out/machine.md"
  echo
  sed -e '1{/^# /d}' "$out/compare.md"
  echo
  if [ -f "$out/instructions.md" ]; then
    cat "$out/instructions.md"
    echo
  fi
  echo "## Google Benchmark suite (aggregates of the repetitions)"
  echo
  echo '```'
  grep -E '^(BM_|Benchmark|-----)' "$out/gbench.txt" | grep -v -E '_(mean|stddev|cv) ' || cat "$out/gbench.txt"
  echo '```'
  echo
  echo "## Rule cost (default packs)"
  echo
  echo '```'
  cat "$out/rulecost.txt"
  echo '```'
  echo
  if [ -f "$out/rulecost_instructions.txt" ]; then
    echo "## Rule cost in instructions (default packs, callgrind)"
    echo
    echo '```'
    cat "$out/rulecost_instructions.txt"
    echo '```'
    echo
  fi
  echo "## Instruction budget"
  echo
  echo '```'
  grep -v '^$' "$out/budget.txt"
  echo '```'
  if [ -f "$out/peers.md" ]; then
    echo
    echo "## Peers users of this domain pick: pyahocorasick and mint-filter, on terms that match"
    echo
    echo "Per-message p50 in µs, one thread (bench/python_bench.py section 4, bench/mint_filter_bench.js)."
    echo
    cat "$out/peers.md"
  fi
  if [ -f "$out/python.md" ]; then
    echo
    echo "## Python (bench/python_bench.py)"
    echo
    echo '```'
    cat "$out/python.md"
    echo '```'
  fi
} > "$out/report.md"
echo "$out/report.md"
exit "$budget_status"
