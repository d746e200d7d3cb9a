#!/usr/bin/env bash
# Bad input through the scriptqa executable (docs/reliability.md, "catalogue"): the cases
# tests/cli/cli_test.cc does not cover. Usage: cli_bad_input.sh SCRIPTQA_BINARY WORKDIR
# Each case checks the exit code and a piece of the message; the script fails on the first miss.
set -uo pipefail
cli=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export SCRIPTQA_CACHE=off
fails=0
expect() {  # expect NAME CODE PATTERN -- command...
  local name=$1 code=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" != "$code" ] || ! grep -qa -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $code), output lacks '$pattern':"
    head -c 1500 <<<"$out"
    echo
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
# check: invalid UTF-8 and NUL on standard input are scanned after repair, offsets as the library's.
printf '\xe5\x8a\xa0\xff\xe5\xbe\xae\xe4\xbf\xa1' > bad_utf8.txt
expect "check invalid UTF-8 on stdin" 1 off_platform.wechat -- \
  sh -c "'$cli' check --json < bad_utf8.txt"
printf '\xe5\x8a\xa0\x00\xe5\xbe\xae\xe4\xbf\xa1' > nul.txt
expect "check NUL on stdin" 1 off_platform.wechat -- sh -c "'$cli' check --json < nul.txt"
printf '\xef\xbb\xbf\xe8\xbf\x99\xe6\xac\xbe\xe6\x98\xaf\xe5\x85\xa8\xe7\xbd\x91\xe6\x9c\x80\xe4\xbd\x8e\xe4\xbb\xb7' > bom.txt
expect "check BOM on stdin" 0 'ad_law' -- sh -c "'$cli' check --json < bom.txt"
expect "check empty stdin" 0 '' -- sh -c "'$cli' check --json < /dev/null"
# Databases: damaged, truncated, another format version, not a database, a directory.
"$cli" compile -o good.sqdb >/dev/null 2>&1 || { echo "FAIL compile"; exit 1; }
size=$(stat -c %s good.sqdb)
cp good.sqdb flipped.sqdb
printf '\x55' | dd of=flipped.sqdb bs=1 seek=$((size / 2)) conv=notrunc status=none
expect "check --db damaged" 2 'checksum' -- "$cli" check --db flipped.sqdb 最佳
head -c $((size / 3)) good.sqdb > cut.sqdb
expect "check --db truncated" 2 'damaged' -- "$cli" check --db cut.sqdb 最佳
cp good.sqdb version.sqdb
printf '\x63' | dd of=version.sqdb bs=1 seek=8 conv=notrunc status=none
expect "check --db other format version" 2 'recompile' -- "$cli" check --db version.sqdb 最佳
expect "check --db a text file" 2 'bad magic' -- "$cli" check --db bad_utf8.txt 最佳
expect "check --db a directory" 2 '' -- "$cli" check --db . 最佳
# Dictionaries: invalid UTF-8, a regex the engine rejects, an empty file.
printf '%%format scriptqa-rules 1\n%%default category ad_law\n%%default severity review\nrule x.a\n  literal \xe6\x9c\x80\xff\n  reason r\n' > bad.rules
expect "check --rules invalid UTF-8" 2 'bad.rules:5: rule x.a: invalid UTF-8' -- "$cli" check --rules bad.rules --fail-on block 最佳
printf '%%format scriptqa-rules 1\n%%default category privacy\n%%default severity block\nrule p.big\n  regex [0-9]{1,1000}x\n  reason r\n' > big.rules
expect "check --rules regex too large" 2 'Pattern is too large' -- "$cli" check --rules big.rules --fail-on block 最佳
: > empty.rules
expect "check --rules empty file" 2 'no rules' -- "$cli" check --rules empty.rules --fail-on block 最佳
# audit: corrupt (not truncated) gzip, empty input, binary junk, a directory, CSV without text.
printf '{"conversation_id":"c","role":"agent","text":"最佳"}\n' | gzip -c > good.jsonl.gz
cp good.jsonl.gz corrupt.jsonl.gz
gsize=$(stat -c %s corrupt.jsonl.gz)
printf '\x00\x00\x00\x00' | dd of=corrupt.jsonl.gz bs=1 seek=$((gsize - 8)) conv=notrunc status=none
expect "audit corrupt gzip (CRC)" 2 'gzip' -- "$cli" audit corrupt.jsonl.gz --out out1 --fail-on none
: > empty.jsonl
expect "audit empty file" 2 'no records' -- "$cli" audit empty.jsonl --out out2 --fail-on none
head -c 4096 /dev/urandom > junk.jsonl 2>/dev/null || dd if=/dev/urandom of=junk.jsonl bs=4096 count=1 status=none
expect "audit binary junk (errors per line, nothing scanned: exit 2)" 2 'malformed' -- "$cli" audit junk.jsonl --out out3 --fail-on none
expect "audit binary junk --strict" 2 '' -- "$cli" audit junk.jsonl --out out4 --fail-on none --strict
expect "audit a directory" 2 'directory' -- "$cli" audit . --out out5 --fail-on none
printf 'conversation_id,role\nc,agent\n' > notext.csv
expect "audit CSV without a text column" 2 'no column "text"' -- "$cli" audit notext.csv --out out6 --fail-on none
printf '"unterminated,header\n' > badheader.csv
expect "audit CSV with a broken header" 2 'CSV header' -- "$cli" audit badheader.csv --out out7 --fail-on none
printf '{"conversation_id":"c","role":"agent","text":"好的","timestamp":"yesterday"}\n' > bad_ts.jsonl
expect "audit unreadable timestamp (warning, scanned)" 0 'unreadable timestamp' -- \
  sh -c "'$cli' audit bad_ts.jsonl --out out8 --fail-on none >/dev/null 2>&1; cat out8/findings.jsonl"
if [ $fails -ne 0 ]; then
  echo "cli_bad_input: $fails case(s) failed"
  exit 1
fi
echo "cli_bad_input: all cases passed"
