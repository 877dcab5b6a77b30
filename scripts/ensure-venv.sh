#!/usr/bin/env bash
# ensure-venv.sh NAME REQUIREMENTS LINK: builds a venv once per pinned requirements and links it.
# The venv lives in ~/.cache/bpflow/venv-NAME-<hash> (hash of REQUIREMENTS and the Python
# version), built under a flock, so every checkout on a machine that built it reuses it in
# seconds. Exits non-zero (pip's error on stderr) when the requirements cannot install.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: ensure-venv.sh NAME REQUIREMENTS LINK}" req="${2:?requirements file}" link="${3:?link path}"
PY="${PY:-python3}"
key=$( (cat "$req"; "$PY" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
cache="${BPFLOW_CACHE_DIR:-$HOME/.cache/bpflow}"
target="$cache/venv-$name-$key"
if [ ! -f "$target/.complete" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/venv-$name-$key.lock"
  flock 9
  if [ ! -f "$target/.complete" ]; then
    echo "building the $name venv in $target (one-off)" >&2
    rm -rf "$target"
    "$PY" -m venv "$target"
    "$target/bin/python" -m pip install -q --upgrade pip
    "$target/bin/python" -m pip install -q -r "$req"
    touch "$target/.complete"
  fi
fi
mkdir -p "$(dirname "$link")"
ln -sfn "$target" "$link"
echo "$target"
