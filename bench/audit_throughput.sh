#!/usr/bin/env bash
# Throughput and peak memory of `scriptqa audit` on the real corpus replicated to a large archive.
#   bench/audit_throughput.sh [SIZE_MB=512] [THREADS=2]
# Builds /tmp/scriptqa-bench/corpus-<SIZE>MB.jsonl from ../shared/corpus (each copy gets its own
# conversation ids, so conversation metrics see distinct conversations), then runs the audit under
# /usr/bin/time -v and prints MB/s and peak RSS. The big file stays in /tmp; never commit it.
# Environment: BUILD_DIR (default build-cli), CORPUS (default ../shared/corpus/jddc_sample_dialogues.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-512}
threads=${2:-2}
build=${BUILD_DIR:-build-cli}
corpus=${CORPUS:-../shared/corpus/jddc_sample_dialogues.jsonl}
bin="$(realpath -m "$build/tools/scriptqa")"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target scriptqa_cli)" >&2; exit 2; }
[ -f "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 2; }

work=/tmp/scriptqa-bench
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
rm -rf "$out"
log="$work/time.log"
set +e
# Run where the archive is, as a user would (the file name is part of every output record).
(cd "$work" && /usr/bin/time -v "$bin" audit "$(basename "$big")" --threads "$threads" --out "$out" \
  --progress never --quiet 2> "$log")
rc=$?
set -e
wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
rss_kb=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
out_lines=$(wc -l < "$out/findings.jsonl")
awk -v b="$bytes" -v s="$secs" -v r="$rss_kb" -v l="$lines" -v o="$out_lines" -v t="$threads" -v rc="$rc" 'BEGIN {
  printf "input: %.1f MB, %d records; output: %d records; exit code %d\n", b / 1e6, l, o, rc
  printf "threads %d: %.2f s wall, %.1f MB/s, peak RSS %.1f MB\n", t, s, b / 1e6 / s, r / 1024
}'
grep -E "User time|System time|Percent of CPU" "$log"
[ "$out_lines" -eq "$lines" ] || { echo "count in != count out" >&2; exit 1; }
