#!/usr/bin/env bash
# Throughput and peak memory of `scriptqa audit` on the real corpus replicated to a large archive.
#   bench/audit_throughput.sh [SIZE_MB=512] [THREADS=2]
# Builds /tmp/scriptqa-bench/corpus-<SIZE>MB.jsonl from ../shared/corpus (each copy gets its own
# conversation ids, so conversation metrics see distinct conversations), then runs the audit RUNS
# times under /usr/bin/time -v and prints, per run and as the median: wall MB/s, CPU seconds
# (user + system) and MB per CPU-second, peak RSS, and the load average before the run. The big
# file stays in /tmp; never commit it.
#
# On a shared machine the wall time measures the share of the cores the audit got; the CPU time
# measures the tool. "CPU share" is (user + system) / wall: 2.0 means two whole cores.
# Environment: BUILD_DIR (default build-cli), CORPUS (default ../shared/corpus/jddc_sample_dialogues.jsonl),
# RUNS (default 3), BENCH_DIR (default /tmp/scriptqa-bench: the archive, the outputs and the logs;
# give each concurrent run its own, or they overwrite each other's outputs).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-512}
threads=${2:-2}
runs=${RUNS:-3}
build=${BUILD_DIR:-build-cli}
corpus=${CORPUS:-../shared/corpus/jddc_sample_dialogues.jsonl}
bin="$(realpath -m "$build/tools/scriptqa")"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target scriptqa_cli)" >&2; exit 2; }
[ -f "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 2; }

work=${BENCH_DIR:-/tmp/scriptqa-bench}
mkdir -p "$work"
big="$work/corpus-${size_mb}MB.jsonl"
if [ ! -f "$big" ]; then
  echo "building $big ..." >&2
  tmp="$big.tmp"
  : > "$tmp"
  i=0
  while [ "$(stat -c %s "$tmp")" -lt $((size_mb * 1000000)) ]; do
    i=$((i + 1))
    sed "s/\"conversation_id\": \"/\"conversation_id\": \"r$i-/" "$corpus" >> "$tmp"
  done
  mv "$tmp" "$big"
fi
bytes=$(stat -c %s "$big")
lines=$(wc -l < "$big")
cat "$big" > /dev/null  # warm the page cache: measure the tool, not the disk

out="$work/out"
log="$work/time.log"
# The first run after a rebuild compiles the rules into the cache; keep it out of the numbers.
(cd "$work" && "$bin" audit "$(basename "$big")" --threads "$threads" --out "$out" \
  --progress never --quiet > /dev/null 2>&1 || true)
results="$work/results.txt"
: > "$results"
echo "input: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'), $lines records; $threads threads; $(nproc) CPUs"
for run in $(seq "$runs"); do
  rm -rf "$out"
  load=$(cut -d' ' -f1 /proc/loadavg)
  set +e
  # Run where the archive is, as a user would (the file name is part of every output record).
  (cd "$work" && /usr/bin/time -v "$bin" audit "$(basename "$big")" --threads "$threads" \
    --out "$out" --progress never --quiet 2> "$log")
  rc=$?
  set -e
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  user=$(grep "User time" "$log" | awk '{print $NF}')
  sys=$(grep "System time" "$log" | awk '{print $NF}')
  rss_kb=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  out_lines=$(wc -l < "$out/findings.jsonl")
  [ "$out_lines" -eq "$lines" ] || { echo "count in ($lines) != count out ($out_lines)" >&2; exit 1; }
  conv_lines=$( [ -f "$out/conversations.jsonl" ] && wc -l < "$out/conversations.jsonl" || echo "-")
  awk -v b="$bytes" -v s="$secs" -v u="$user" -v y="$sys" -v r="$rss_kb" -v l="$load" -v rc="$rc" \
      -v n="$run" -v c="$conv_lines" 'BEGIN {
    cpu = u + y
    printf "run %d: %.2f s wall, %.1f MB/s; CPU %.2f s (user %.2f, sys %.2f) = %.5f CPU-s/MB, %.0f MB per CPU-s, CPU share %.2f; peak RSS %.1f MB; load before %s; exit %d; conversation rows %s\n",
      n, s, b / 1e6 / s, cpu, u, y, cpu / (b / 1e6), b / 1e6 / cpu, cpu / s, r / 1024, l, rc, c
    printf "%f %f %f %s\n", b / 1e6 / s, cpu, r / 1024, l > "/dev/stderr"
  }' 2>> "$results"
done
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall_med=$(awk '{ print $1 }' "$results" | median)
cpu_med=$(awk '{ print $2 }' "$results" | median)
rss_med=$(awk '{ print $3 }' "$results" | median)
awk -v b="$bytes" -v n="$runs" -v w="$wall_med" -v c="$cpu_med" -v r="$rss_med" 'BEGIN {
  printf "median of %d runs: %.1f MB/s wall; %.2f CPU-s = %.5f CPU-s/MB (%.0f MB per CPU-s); peak RSS %.1f MB\n",
    n, w, c, c / (b / 1e6), b / 1e6 / c, r
}'
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
