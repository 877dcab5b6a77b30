"""``make bench-peers``: bpflow and its peers (raw DBOS, Prefect 3, Dagster) on the same workload.

Each contender runs in its own process (one DBOS per process; the peers in their own venvs,
``scripts/ensure-venv-peer.sh``) and prints one JSON document; ``bench.peers.__main__`` runs
them one after the other, writes ``bench/peers.json`` and prints it.
"""
