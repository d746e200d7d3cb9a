#!/usr/bin/env bash
# A short end-to-end run of the gateway under load with reloads (CTest "gateway_smoke"; the full
# load test is examples/gateway/loadtest.sh). Loopback only; bounded by SECONDS of load.
#   smoke.sh GATEWAY_BIN LOADGEN_BIN SOURCE_DIR WORK_DIR [SECONDS] [CONNECTIONS] [STREAM_SHARE]
set -euo pipefail
gw=$1 lg=$2 src=$3 work=$4 secs=${5:-3} conns=${6:-8} share=${7:-0.3}
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
for _ in $(seq 1 3000); do  # up to 60 s: the gateway compiles the packs first (slow on a loaded CI machine)
  [ -s "$work/port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/gateway.log" >&2; exit 1; }
  sleep 0.02
done
[ -s "$work/port" ] || { echo "smoke: the gateway did not start" >&2; cat "$work/gateway.log" >&2; exit 1; }
"$lg" --port-file "$work/port" --db "$work/rules.sqdb" --messages "$msgs" \
  --profiles "$src/examples/gateway/profiles.json" --connections "$conns" --duration-s "$secs" \
  --reload-every-ms 500 --stream-share "$share" --json-out "$work/summary.json"
