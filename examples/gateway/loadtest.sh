#!/usr/bin/env bash
# The gateway load test (docs/server.md, "Measured"): starts the gateway on loopback, then runs
# the load generator twice, each bounded in time, with the rules reloaded every second:
#   1. block checks only (POST /check): the throughput / latency bar;
#   2. mixed: 30 % of the messages streamed as 1–8-character chunk requests.
#   examples/gateway/loadtest.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
# Messages: the real corpus when present (../shared/corpus, read at run time), else the bundled
# samples. Prints each run's summary; exits non-zero if any run lost or mismatched an answer.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-srv}
secs=${2:-10}
conns=${3:-16}
work=$build/gateway-loadtest
gw=$build/examples/gateway/scriptqa_gateway
lg=$build/examples/gateway/scriptqa_loadgen
rm -rf "$work"
mkdir -p "$work"
msgs=$src/examples/sample_messages.txt
corpus=${SCRIPTQA_CORPUS:-$src/../shared/corpus/jddc_sample_dialogues.jsonl}
[ -f "$corpus" ] && msgs=$corpus
"$gw" --dictionaries "$src/dictionaries" --save-db "$work/rules.sqdb" \
  --profiles "$src/examples/gateway/profiles.json" --port 0 --port-file "$work/port" \
  --threads $((conns + 4)) >"$work/gateway.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 500); do [ -s "$work/port" ] && break; sleep 0.02; done
[ -s "$work/port" ] || { cat "$work/gateway.log" >&2; exit 1; }
status=0
for share in 0 0.3; do
  echo "== stream share $share, $conns connections, $secs s, reload every 1000 ms, messages: $msgs"
  "$lg" --port-file "$work/port" --db "$work/rules.sqdb" --messages "$msgs" \
    --profiles "$src/examples/gateway/profiles.json" --connections "$conns" --duration-s "$secs" \
    --reload-every-ms 1000 --stream-share "$share" --json-out "$work/summary-$share.json" || status=1
done
exit $status
