#!/usr/bin/env bash
# Builds the training venv once per pinned requirements and links it as ./.venv-train.
# The venv lives in ~/.cache/bpflow/venv-train-<hash> (hash of requirements-train.txt and the
# Python version), so a fresh clone on a machine that built it before reuses it in seconds;
# a fresh machine builds it (several GB: lerobot pulls a CUDA torch build from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-python3}"
req=requirements-train.txt
key=$( (cat "$req"; "$PY" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
cache="${BPFLOW_CACHE_DIR:-$HOME/.cache/bpflow}"
target="$cache/venv-train-$key"
if [ ! -f "$target/.complete" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/venv-train-$key.lock"
  flock 9
  if [ ! -f "$target/.complete" ]; then
    echo "building the training venv in $target (one-off, several GB)"
    rm -rf "$target"
    "$PY" -m venv "$target"
    "$target/bin/python" -m pip install -q --upgrade pip
    "$target/bin/python" -m pip install -q -r "$req"
    touch "$target/.complete"
  fi
fi
ln -sfn "$target" .venv-train
