#!/usr/bin/env bash
# Builds one peer orchestrator's venv for `make bench-peers` and links it as ./.venv-peers/<peer>.
# Like the training venv: cached in ~/.cache/bpflow/venv-peer-<peer>-<hash> (hash of the pinned
# bench/peers/requirements-<peer>.txt and the Python version), built once under a flock, reused
# by every checkout. Exit status non-zero (pip's error on stderr) when the peer cannot install:
# the benchmark reports that peer as not installable instead of dropping it.
set -euo pipefail
cd "$(dirname "$0")/.."
peer="${1:?usage: ensure-venv-peer.sh dbos|prefect|dagster}"
PY="${PY:-python3}"
req="bench/peers/requirements-$peer.txt"
[ -f "$req" ] || { echo "no pinned requirements for peer $peer ($req)" >&2; exit 2; }
key=$( (cat "$req"; "$PY" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)
cache="${BPFLOW_CACHE_DIR:-$HOME/.cache/bpflow}"
target="$cache/venv-peer-$peer-$key"
if [ ! -f "$target/.complete" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/venv-peer-$peer-$key.lock"
  flock 9
  if [ ! -f "$target/.complete" ]; then
    echo "building the $peer venv in $target (one-off)" >&2
    rm -rf "$target"
    "$PY" -m venv "$target"
    "$target/bin/python" -m pip install -q --upgrade pip
    "$target/bin/python" -m pip install -q -r "$req"
    touch "$target/.complete"
  fi
fi
mkdir -p .venv-peers
ln -sfn "$target" ".venv-peers/$peer"
echo "$target"
