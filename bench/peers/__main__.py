"""``make bench-peers``: bpflow and its peers on the same workload, one after the other.

Workload: a 6-stage chain of no-op jobs per scene × 100 scenes, each scene triggered on its own,
3 repetitions (the median is reported). Contenders, each in its own process and (peers) venv:
bpflow's embedded default (the zygote runner: a forked child per job), the plain subprocess
runner and the in-process runner, raw DBOS (the issue's 6-step workflow, and by hand in bpflow's
shape: a workflow of two steps per stage, each enqueuing the next),
Prefect 3, Dagster in-memory and on SQLite; then object event → run start for bpflow (a Bucket-API
write, a dropped file) and a Dagster sensor at its default interval. A peer that cannot be
installed or fails is reported with its error, never dropped. Writes bench/peers.json, prints it
and renders README's comparison table from it (bench/peers/render.py).

``BENCH_SCENES`` / ``BENCH_REPS`` shrink the workload; ``BENCH_PEERS_ONLY=bpflow-inprocess,dbos``
runs a subset; ``BENCH_PEERS_SEQUENTIAL_PREFECT=1`` adds Prefect with flows one after the other.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = REPO / "bench" / "peers.json"
TIMEOUT_S = 3600

BPFLOW = ("bpflow-inprocess", "bpflow-zygote", "bpflow-subprocess")
TARGETS = {
    "inprocess_per_stage_ms": 5.0,
    "isolated_per_stage_ms": 10.0,
    "prefect_ratio_max": 1 / 3,
    "dbos_ratio_max": 3.0,
}


def contenders() -> list[dict[str, Any]]:
    """(key, peer venv or None for bpflow's own, argv after the interpreter)."""
    out = [
        {"key": "bpflow-zygote", "peer": None, "argv": ["-m", "bench.peers.bpflow_chain", "zygote", "--latency"]},
        {"key": "bpflow-subprocess", "peer": None, "argv": ["-m", "bench.peers.bpflow_chain", "subprocess"]},
        {"key": "bpflow-inprocess", "peer": None, "argv": ["-m", "bench.peers.bpflow_chain", "inprocess"]},
        {"key": "dbos", "peer": "dbos", "argv": [str(HERE / "dbos_chain.py")]},
        {"key": "dbos-shape", "peer": "dbos", "argv": [str(HERE / "dbos_chain.py"), "--shape"]},
        {"key": "prefect", "peer": "prefect", "argv": [str(HERE / "prefect_chain.py")]},
        {"key": "dagster-memory", "peer": "dagster", "argv": [str(HERE / "dagster_chain.py"), "--storage", "memory"]},
        {"key": "dagster-sqlite", "peer": "dagster", "argv": [str(HERE / "dagster_chain.py"), "--storage", "sqlite"]},
        {"key": "dagster-sensor", "peer": "dagster", "argv": [str(HERE / "dagster_sensor.py")]},
    ]
    if os.environ.get("BENCH_PEERS_SEQUENTIAL_PREFECT"):
        out.insert(
            4,
            {"key": "prefect-sequential", "peer": "prefect", "argv": [str(HERE / "prefect_chain.py"), "--sequential"]},
        )
    only = {k.strip() for k in os.environ.get("BENCH_PEERS_ONLY", "").split(",") if k.strip()}
    return [c for c in out if not only or c["key"] in only]


def ensure_venv(peer: str) -> tuple[Path | None, str]:
    """The peer's venv (built once, cached by its pinned requirements), or None and pip's error."""
    proc = subprocess.run(
        [str(REPO / "scripts" / "ensure-venv-peer.sh"), peer], cwd=REPO, capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        return None, (proc.stderr or proc.stdout)[-1500:]
    return Path(proc.stdout.strip().splitlines()[-1]), ""


def pinned(peer: str) -> str:
    lines = (HERE / f"requirements-{peer}.txt").read_text().splitlines()
    return ", ".join(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def load() -> float:
    return round(os.getloadavg()[0], 1)


def run(python: str, argv: list[str], env: dict[str, str]) -> tuple[dict[str, Any] | None, str]:
    """Runs one contender in its own session; whatever it leaves behind (Prefect's server, Dagster's
    daemon and code server) is killed with the session."""
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        # Files, not pipes: a server the contender leaves behind (Prefect's) would hold a pipe open.
        proc = subprocess.Popen(
            [python, *argv], cwd=REPO, env=env, stdout=out_f, stderr=err_f, text=True, start_new_session=True
        )
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            err_f.write(f"\ntimed out after {TIMEOUT_S} s")
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line), ""
            except ValueError:
                break
    return None, (err or out)[-3000:] or f"exit {proc.returncode} without a result"


def per_stage_ms(results: dict[str, dict[str, Any]], key: str) -> float | None:
    """A contender's per-stage figure, None when it did not run (or measured no chain)."""
    return (results.get(key) or {}).get("chain", {}).get("per_stage_ms")


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """bpflow's per-stage time over each peer's (below 1: bpflow is faster)."""
    out: dict[str, dict[str, float]] = {}
    for mine in BPFLOW:
        ms = per_stage_ms(results, mine)
        if not ms:
            continue
        for key in results:
            peer_ms = per_stage_ms(results, key)
            if key.startswith("bpflow") or not peer_ms:
                continue
            out.setdefault(mine, {})[key] = round(ms / peer_ms, 3)
    return out


def targets(results: dict[str, dict[str, Any]], ratio: dict[str, dict[str, float]]) -> dict[str, Any]:
    def ms(key: str) -> float | None:
        return per_stage_ms(results, key)

    checks: dict[str, Any] = {}
    if ms("bpflow-inprocess") is not None:
        checks["inprocess_per_stage_ms<=5"] = ms("bpflow-inprocess") <= TARGETS["inprocess_per_stage_ms"]  # type: ignore[operator]
    if ms("bpflow-zygote") is not None:  # the default, process-isolated runner
        checks["default_isolated_per_stage_ms<=10"] = ms("bpflow-zygote") <= TARGETS["isolated_per_stage_ms"]  # type: ignore[operator]
    inproc = ratio.get("bpflow-inprocess", {})
    if "prefect" in inproc:
        checks["inprocess<=prefect/3"] = inproc["prefect"] <= TARGETS["prefect_ratio_max"]
    if "dbos" in inproc:
        checks["inprocess<=3x_dbos"] = inproc["dbos"] <= TARGETS["dbos_ratio_max"]
    return checks


def floor(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """How much of the 3×-DBOS target DBOS itself uses: its own cost of bpflow's durable shape
    over its plain chain, and bpflow in-process over that shape (bpflow's own share)."""
    out: dict[str, float] = {}
    plain, shape, mine = (per_stage_ms(results, k) for k in ("dbos", "dbos-shape", "bpflow-inprocess"))
    if plain and shape:
        out["dbos_shape_over_dbos"] = round(shape / plain, 2)
    if shape and mine:
        out["bpflow_inprocess_over_dbos_shape"] = round(mine / shape, 2)
    return out


def machine() -> dict[str, Any]:
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gb = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BPFLOW_", "PREFECT_", "DAGSTER_"))}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["DAGSTER_DISABLE_TELEMETRY"] = "1"
    results: dict[str, dict[str, Any]] = {}
    if os.environ.get("BENCH_PEERS_ONLY") and OUT.exists():  # a partial rerun updates its rows only
        results = json.loads(OUT.read_text()).get("results", {})
    venvs: dict[str, tuple[Path | None, str]] = {}
    invocation = datetime.now(UTC).isoformat(timespec="seconds")  # rows of one invocation are comparable
    for c in contenders():
        key, peer = c["key"], c["peer"]
        if peer is None:
            python, version_pin = sys.executable, "this checkout"
        else:
            if peer not in venvs:
                venvs[peer] = ensure_venv(peer)
            path, error = venvs[peer]
            version_pin = pinned(peer)
            if path is None:
                results[key] = {"status": "not_installable", "pinned": version_pin, "error": error}
                print(
                    f"{key:20s} could not be installed: {error.strip().splitlines()[-1] if error.strip() else ''}",
                    flush=True,
                )
                continue
            python = str(path / "bin" / "python")
        before = load()
        started = time.monotonic()
        doc, error = run(python, c["argv"], env)
        entry: dict[str, Any] = {
            "pinned": version_pin,
            "load_before": before,
            "load_after": load(),
            "measured_at": datetime.now(UTC).isoformat(timespec="minutes"),
            "invocation": invocation,
            "seconds": round(time.monotonic() - started, 1),
        }
        if doc is None:
            entry.update(status="failed", error=error)
        else:
            entry.update(status="ok", **doc)
        results[key] = entry
        shown = (doc or {}).get("chain", {}).get("per_stage_ms") or (doc or {}).get("latency") or entry.get("error", "")
        shown = str(shown).strip().splitlines()[-1] if entry["status"] != "ok" and str(shown).strip() else shown
        print(f"{key:20s} {entry['status']:8s} load {before}→{entry['load_after']}  {str(shown)[:300]}", flush=True)

    ratio = ratios(results)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "workload": {
            "scenes": int(os.environ.get("BENCH_SCENES", 100)),
            "stages": 6,
            "repetitions": int(os.environ.get("BENCH_REPS", 3)),
            "job": "no-op",
            "per_stage_ms": "median repetition's wall time / (scenes × stages)",
        },
        "results": results,
        "ratio_bpflow_to_peer": ratio,
        "targets": targets(results, ratio),
        "dbos_floor": floor(results),
        "rerun": "make bench-peers",
    }
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"written to {OUT}")
    from bench.peers.render import update_readme

    update_readme(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
