#!/usr/bin/env bash
# Builds one peer orchestrator's venv for `make bench-peers` and links it as ./.venv-peers/<peer>;
# prints its path. Cached like the training venv (scripts/ensure-venv.sh): ~/.cache/bpflow/
# venv-peer-<peer>-<hash of bench/peers/requirements-<peer>.txt and the Python version>. Exit
# status non-zero (pip's error on stderr) when the peer cannot install: the benchmark then
# reports that peer as not installable instead of dropping it.
set -euo pipefail
cd "$(dirname "$0")/.."
peer="${1:?usage: ensure-venv-peer.sh dbos|prefect|dagster}"
req="bench/peers/requirements-$peer.txt"
[ -f "$req" ] || { echo "no pinned requirements for peer $peer ($req)" >&2; exit 2; }
exec ./scripts/ensure-venv.sh "peer-$peer" "$req" ".venv-peers/$peer"
