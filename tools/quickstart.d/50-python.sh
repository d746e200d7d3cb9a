#!/usr/bin/env bash
# Quick-start hook of the Python package (run by tools/quickstart.sh after the build, with
# BUILD_DIR set): makes `python3 -c "import scriptqa"` work for Debian's /usr/bin/python3 by
# putting a .pth file in its site directory that points at the package assembled in the build
# tree ($BUILD_DIR/bindings/python). Rebuilding updates the package in place; nothing is copied.
# To install a copy instead (or into another interpreter): docs/python.md.
set -euo pipefail
build=${BUILD_DIR:-build}
pkgdir=$(cd "$build" && pwd)/bindings/python
python=/usr/bin/python3
if [ ! -d "$pkgdir/scriptqa" ]; then
  echo "50-python: $pkgdir/scriptqa not built (configure with -DSCRIPTQA_BUILD_PYTHON=ON)" >&2
  exit 0
fi
# Debian's site directory for locally added packages (/usr/local/lib/python3.X/dist-packages).
site=$("$python" -c 'import site; print(site.getsitepackages()[0])')
pth="$site/scriptqa-build.pth"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ "$(cat "$pth" 2>/dev/null || true)" != "$pkgdir" ]; then
  $sudo mkdir -p "$site"
  echo "$pkgdir" | $sudo tee "$pth" >/dev/null
  echo "50-python: $pth -> $pkgdir" >&2
fi
# Check from a neutral directory, so the source tree's bindings/python/scriptqa cannot shadow it.
(cd / && "$python" -c 'import scriptqa, scriptqa._scriptqa') || {
  echo "50-python: 'import scriptqa' fails with $python" >&2
  exit 1
}
