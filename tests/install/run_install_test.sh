#!/usr/bin/env bash
# Installs scriptqa into a temporary prefix and builds tiny consumers against it: one with CMake
# (find_package(scriptqa) -> scriptqa::scriptqa, C++ and C) and one with pkg-config (C++ and C).
#   run_install_test.sh SOURCE_DIR BUILD_DIR WORK_DIR [shared]
# Without "shared", BUILD_DIR is the project's own (static) build and is installed as is. With
# "shared", the library alone is built again as a shared library in WORK_DIR/build and installed
# from there; the exported symbols are checked as well.
set -euo pipefail
src=$1 build=$2 work=$3 mode=${4:-static}
trap 'echo "install test ($mode): failed at line $LINENO" >&2' ERR
prefix=$work/prefix
rm -rf "$prefix" "$work/consumer" "$work"/pc_*
mkdir -p "$work"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)

if [ "$mode" = shared ]; then
  cmake -S "$src" -B "$work/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DSCRIPTQA_BUILD_TESTS=OFF -DSCRIPTQA_BUILD_BENCHMARKS=OFF -DSCRIPTQA_BUILD_EXAMPLES=OFF \
    -DSCRIPTQA_BUILD_TOOLS=OFF -DSCRIPTQA_BUILD_PYTHON=OFF >/dev/null
  cmake --build "$work/build" -j2 --target scriptqa >/dev/null
  build=$work/build
fi
cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/scriptqa/scriptqa.h"
test -f "$prefix/share/scriptqa/dictionaries/ad_law.rules"

# The tool users run (built with the project: static mode installs the project's own build).
if [ -x "$build/tools/scriptqa" ]; then
  test -x "$prefix/bin/scriptqa"
  test -f "$prefix/share/bash-completion/completions/scriptqa"
  bash -n "$prefix/share/bash-completion/completions/scriptqa"
  # --version names the library, the engine and the packs installed beside the tool.
  version=$(env -u SCRIPTQA_DICTIONARIES "$prefix/bin/scriptqa" --version)
  for want in "library  " "engine   " "packs    $prefix/share/scriptqa/dictionaries: " " rules, hash "; do
    if [[ $version != *"$want"* ]]; then
      echo "install test: 'scriptqa --version' lacks \"$want\":" >&2
      echo "$version" >&2
      exit 1
    fi
  done
  # It checks messages with the installed packs, outside the source and build trees.
  found=$(cd / && env -u SCRIPTQA_DICTIONARIES "$prefix/bin/scriptqa" check --json 加我薇信 || true)
  [[ $found == *'"rule": "off_platform.'* ]] || { echo "install test: no finding: $found" >&2; exit 1; }
  page=$(MANWIDTH=80 man -l "$prefix/share/man/man1/scriptqa.1" 2>&1)
  [[ $page == *"scriptqa check"* && $page == *"--add-rules"* ]] || {
    echo "install test: man -l $prefix/share/man/man1/scriptqa.1 does not show the page:" >&2
    echo "$page" | head -20 >&2
    exit 1
  }
  echo "install test ($mode): bin/scriptqa, its man page and completion installed and ran"
fi
export SCRIPTQA_DICTIONARIES=$prefix/share/scriptqa/dictionaries

if [ "$mode" = shared ]; then
  # No "| head -1" or "| grep -q" under pipefail: the reader may exit before the writer has
  # written everything, and the writer's SIGPIPE (141) then fails the script without a word
  # (install_shared failed so, now and then, until the symbol list was read whole).
  lib=$(find "$prefix" -name "libscriptqa.so*" -type f -print -quit)
  test -n "$lib"
  # Only the scriptqa API is exported: no Abseil, Hyperscan or C++ runtime symbols are defined.
  symbols=$(nm -D --defined-only "$lib")
  leaked=$(nm -D --defined-only -C "$lib" | awk '{ $1=""; $2=""; print substr($0, 3) }' |
           grep -v -E '^(scriptqa_|scriptqa::|SCRIPTQA)' | grep -v -E '^$' || true)
  if [ -n "$leaked" ]; then
    echo "install test: symbols outside the scriptqa API are exported:" >&2
    echo "$leaked" | head -20 >&2
    exit 1
  fi
  # ... and of it only the public API: nothing of the implementation (scriptqa::internal, the
  # *Impl classes behind the public ones).
  internal=$(nm -D --defined-only -C "$lib" | awk '{ $1=""; $2=""; print substr($0, 3) }' |
             sed 's/(.*//' | grep -E 'scriptqa::internal::|scriptqa::[A-Za-z]*Impl::' || true)
  if [ -n "$internal" ]; then
    echo "install test: $(wc -l <<<"$internal") implementation symbols are exported, e.g.:" >&2
    echo "$internal" | head -10 >&2
    exit 1
  fi
  if ! grep -q ' T scriptqa_scan$' <<<"$symbols"; then
    echo "install test: scriptqa_scan is not exported by $lib" >&2
    exit 1
  fi
  export LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# 1. CMake consumer.
cmake -S "$src/tests/install/consumer" -B "$work/consumer" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" -j2 >/dev/null
"$work/consumer/consumer_cxx"
"$work/consumer/consumer_c"

# 2. pkg-config consumers (the .pc file is relocatable: the prefix is found from its own path).
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name scriptqa.pc -print -quit)")
pkg-config --exists scriptqa
test "$(pkg-config --variable=dictionarydir scriptqa)" -ef "$prefix/share/scriptqa/dictionaries"
c++ -std=c++17 -O1 "$src/tests/install/consumer/consumer.cc" \
  -DDICTIONARY_DIR="\"$prefix/share/scriptqa/dictionaries\"" \
  $(pkg-config --cflags --libs scriptqa) -o "$work/pc_cxx"
cc -std=c99 -O1 "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs scriptqa) \
  -o "$work/pc_c"
"$work/pc_cxx"
"$work/pc_c"
echo "install test ($mode): CMake and pkg-config consumers built and ran"
