#!/usr/bin/env bash
# Builds the training venv once per pinned requirements and links it as ./.venv-train.
# The venv lives in ~/.cache/bpflow/venv-train-<hash> (hash of requirements-train.txt and the
# Python version), so a fresh clone on a machine that built it before reuses it in seconds;
# a fresh machine builds it (several GB: lerobot pulls a CUDA torch build from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-venv.sh train requirements-train.txt .venv-train >/dev/null
