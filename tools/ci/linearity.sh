#!/usr/bin/env bash
# Exact instruction counts, with callgrind, of scan/explain/rewrite/stream on the adversarial
# message families of tests/fuzz/limits_util.h at growing sizes (docs/reliability.md, "Linear
# time"). Not part of CI: it takes minutes, and limits_test checks the same robustly in CTest.
#
#   tools/ci/linearity.sh [BUILD_DIR]          # default build (any build with the tests)
#   FAMILIES="best digits" OPS="scan stream1" SIZES="250 1000 4000" tools/ci/linearity.sh
#
# Prints a Markdown table: instructions inside the operation only (callgrind client requests
# around it), and the growth exponent between the first and the last size (1 = linear).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
tool="$build/tests/fuzz/scriptqa_limits_tool"
[ -x "$tool" ] || { echo "linearity.sh: $tool not built (cmake --build $build --target scriptqa_limits_tool)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "linearity.sh: valgrind not installed" >&2; exit 1; }
families=${FAMILIES:-"plain best best_spaced allow_context partial digits phones_joined phones negated contact_ids overlaps expansions invalid_utf8 letters"}
ops=${OPS:-"scan explain rewrite stream1 stream64"}
sizes=${SIZES:-"250 1000 4000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCRIPTQA_DICTIONARIES=${SCRIPTQA_DICTIONARIES:-$PWD/dictionaries}
printf '| family | op |'
for k in $sizes; do printf ' k=%s |' "$k"; done
printf ' exponent |\n|---|---|'
for k in $sizes; do printf -- '---|'; done
printf -- '---|\n'
first=$(echo $sizes | awk '{print $1}')
last=$(echo $sizes | awk '{print $NF}')
for fam in $families; do
  for op in $ops; do
    printf '| %s | %s |' "$fam" "$op"
    w_first=0
    w_last=0
    for k in $sizes; do
      out="$work/cg.$fam.$op.$k"
      valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
        "$tool" run "$fam" "$op" "$k" >/dev/null 2>&1
      n=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | head -1)
      n=${n:-0}
      printf ' %s |' "$n"
      [ "$k" = "$first" ] && w_first=$n
      [ "$k" = "$last" ] && w_last=$n
    done
    awk -v a="$w_first" -v b="$w_last" -v s="$first" -v t="$last" \
      'BEGIN { if (a > 0 && b > 0) printf " %.2f |\n", log(b / a) / log(t / s); else print " ? |" }'
  done
done
