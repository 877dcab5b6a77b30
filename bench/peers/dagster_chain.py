"""Dagster on the peers' workload: an asset job of 6 no-op assets, one run per scene.

Each run is ``execute_in_process`` (the in-process executor, one run after the other in this
process: Dagster's runs are launched one per process by its daemon otherwise, which costs more).
``--storage memory`` uses ``DagsterInstance.ephemeral()``, ``--storage sqlite`` a fresh
``DAGSTER_HOME`` with Dagster's default SQLite storage. The assets return nothing, so no IO
manager writes anything. Run with the Dagster peer venv's python.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagster as dg  # noqa: E402
from common import STAGES, chain_figures, emit, workload  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Dagster's console logger prints every event at DEBUG by default: bpflow and the others run at WARNING."""


def build_assets() -> list[dg.AssetsDefinition]:
    out: list[dg.AssetsDefinition] = []
    for n in range(1, STAGES + 1):
        deps = [out[-1]] if out else []

        @dg.asset(name=f"stage_{n}", deps=deps)
        def stage() -> None:
            return None

        out.append(stage)
    return out


def main() -> int:
    storage = sys.argv[sys.argv.index("--storage") + 1] if "--storage" in sys.argv else "memory"
    scenes, reps = workload()
    defs = dg.Definitions(assets=build_assets(), jobs=[dg.define_asset_job("chain", selection="*")])
    job = defs.resolve_job_def("chain")
    if storage == "sqlite":
        instance = dg.DagsterInstance.local_temp(tempfile.mkdtemp(prefix="dagster-peer-"))
    else:
        instance = dg.DagsterInstance.ephemeral()

    def run_once(tag: str, n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            result = job.execute_in_process(instance=instance, tags={"scene": f"{tag}{i:04d}"}, run_config=QUIET)
            if not result.success:
                raise RuntimeError("a Dagster run failed")
        return time.perf_counter() - t0

    run_once("warm", 3)
    walls = [run_once(f"r{rep}s", scenes) for rep in range(reps)]
    emit(
        {
            "name": f"Dagster ({'in-memory' if storage != 'sqlite' else 'SQLite'} storage)",
            "version": dg.__version__,
            "chain": chain_figures(walls, scenes),
            "setup": f"asset job of 6 ops per scene, execute_in_process (in-process executor, runs one after the other), {storage} storage",
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
