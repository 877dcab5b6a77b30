"""Regions on one machine: a region is a named runner with a health switch.

In the seed a region is a Cloud Run location whose job definition either answers or not. Here
``GENIESIM_REGION_RUNNERS`` maps region names to runner kinds (``us-central1=subprocess,
us-east1=subprocess``; unlisted regions use the default runner), and a region is unhealthy
while ``{BPFLOW_HOME}/regions/{region}.down`` exists or its runner cannot be built. An operator
drains a region by touching that file; the tests make the primary unhealthy the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from bpflow.core.errors import ConfigError
from bpflow.core.runners import get_runner

RUNNERS_ENV = "GENIESIM_REGION_RUNNERS"


def region_runners(raw: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        region, sep, runner = item.partition("=")
        if not sep or not region.strip() or not runner.strip():
            raise ConfigError(f"{RUNNERS_ENV} entry {item!r} must be region=runner", field=RUNNERS_ENV)
        out[region.strip()] = runner.strip()
    return out


def down_file(home: str | Path, region: str) -> Path:
    return Path(home) / "regions" / f"{region}.down"


def runner_for(region: str, env: dict[str, str] | None = None) -> str | None:
    """The runner kind of ``region`` (None: the default runner)."""
    return region_runners((env or os.environ).get(RUNNERS_ENV)).get(region)


def healthy(home: str | Path, region: str, env: dict[str, str] | None = None) -> bool:
    """Raises (with the reason) when unhealthy; the router records it."""
    marker = down_file(home, region)
    if marker.exists():
        raise ConfigError(f"region {region} is drained ({marker} exists)", field="region")
    get_runner(runner_for(region, env))
    return True
