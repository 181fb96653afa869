#!/usr/bin/env bash
# Installs what a fresh Debian machine with Swift 6.3 lacks: libzstd (packages), libsqlite3 (run
# tracking), and the Python packages the tests use as independent references (numpy, the
# `tokenizers` library, `safetensors`). Safe to run again; quiet when everything is present.
set -euo pipefail
need_apt=()
for pkg in libzstd-dev libsqlite3-dev pkg-config zstd; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! python3 -c "import numpy, tokenizers, safetensors" >/dev/null 2>&1; then
  echo "setup: installing numpy tokenizers safetensors (pip)"
  python3 -m pip install -q numpy tokenizers safetensors 2>&1 | grep -v -i "warning" || true
fi
