#!/usr/bin/env bash
# The Python package installs like any package (docs/python.md, "Installing"): pip builds and
# installs it offline into a fresh venv made with --system-site-packages (Debian's setuptools and
# wheel), `import scriptqa` works outside the source and build trees with the packs inside the
# wheel, `pip show` gives the version and `pip uninstall` removes it.
#   install_test.sh PYTHON SOURCE_DIR BUILD_DIR WORK_DIR VERSION
# The project's own build is reused (SCRIPTQA_CMAKE_BUILD_DIR), so nothing is compiled twice.
set -euo pipefail
python=$1 src=$2 build=$3 work=$4 version=$5
trap 'echo "python install test: failed at line $LINENO" >&2' ERR
rm -rf "$work"
mkdir -p "$work"
"$python" -m venv --system-site-packages "$work/venv"
venv=$(cd "$work/venv" && pwd)
if ! SCRIPTQA_CMAKE_BUILD_DIR=$build "$venv/bin/pip" install --no-build-isolation --no-index \
    --no-cache-dir "$src/bindings/python" >"$work/pip.log" 2>&1; then
  cat "$work/pip.log" >&2
  exit 1
fi
cd /
env -u PYTHONPATH -u SCRIPTQA_DICTIONARIES "$venv/bin/python" - "$venv" "$version" <<'PY'
import os, sys
import scriptqa

venv, version = sys.argv[1], sys.argv[2]
assert scriptqa.__file__.startswith(venv + "/"), f"imported from {scriptqa.__file__}, not the venv"
assert scriptqa.__version__ == version, (scriptqa.__version__, version)
package = os.path.dirname(scriptqa.__file__)
assert os.path.exists(os.path.join(package, "default.sqdb")), "no compiled packs in the wheel"
assert any(n.endswith(".rules") for n in os.listdir(os.path.join(package, "dictionaries")))
f = scriptqa.Filter.default()
assert scriptqa.counters()["compiled"] == 0, "the packs were compiled instead of loaded"
rules = [x.rule for x in f.scan("亲，加我薇信发您优惠券")]
assert any(r.startswith("off_platform.") for r in rules), rules
PY
show=$("$venv/bin/pip" show scriptqa)
if [[ $show != *"Version: $version"* ]]; then
  echo "python install test: pip show scriptqa lacks the version $version:" >&2
  echo "$show" >&2
  exit 1
fi
"$venv/bin/pip" uninstall -y scriptqa >/dev/null
# Gone from the venv (a copy elsewhere on the system path may still be found: not ours to check).
origin=$(env -u PYTHONPATH "$venv/bin/python" -c \
  "import importlib.util as u; s = u.find_spec('scriptqa'); print(s.origin if s else '')")
if [[ $origin == "$venv/"* ]]; then
  echo "python install test: scriptqa still imports from the venv after pip uninstall: $origin" >&2
  exit 1
fi
echo "python install test: pip installed, imported, showed $version and uninstalled scriptqa"
