"""Shared fixtures: real services (tests/support/services.py) and a launched bpflow runtime.

DBOS is one runtime per process, so tests that launch one run sequentially and shut it down.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.support.services"]

REPO = Path(__file__).resolve().parent.parent
CHAIN_TRIGGERS = str(REPO / "tests" / "fixtures" / "chain_triggers.yaml")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests first, longest first (``@pytest.mark.long(seconds)``, the seconds a quiet
    2-core machine takes), the rest in their order: under pytest-xdist they start at once on
    different workers instead of becoming the last worker's tail."""

    def rank(item: pytest.Item) -> float:
        mark = item.get_closest_marker("long")
        return 0.0 if mark is None else -float(mark.args[0] if mark.args else 1.0)

    items.sort(key=rank)


def runtime_env(home: Path, **extra: str) -> dict[str, str]:
    """A complete environment for one isolated bpflow home (its own bucket and database)."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("BPFLOW_"):
            del env[k]
    env.update(
        {
            "BPFLOW_HOME": str(home),
            "BPFLOW_TRIGGER_FILES": CHAIN_TRIGGERS,
            "BPFLOW_WORKFLOW_MODULES": "tests.fixtures.chain",
            "BPFLOW_SCAN_INTERVAL_SECONDS": "0",
            "BPFLOW_TEST_SIDE_EFFECTS": str(home / "side_effects.log"),
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
            # Stage 4 runs on every usd/.usd_complete: keep its robot episodes tiny in tests
            "EPISODES_PER_VARIATION": "1",
            "EPISODE_MAX_TASKS": "1",
            "EPISODE_CAMERAS": "front",
            "EPISODE_IMAGE_SIZE": "32",
            "BPFLOW_SIM_WORKERS": "1",
        }
    )
    env.update(extra)
    return env


#: Stop the pipeline after Stage 3 (``BPFLOW_LAST_STAGE``): tests about Stages 1-3 do not start
#: robot episodes, Genie Sim, arena export or training behind their backs.
THROUGH_STAGE3 = {"BPFLOW_LAST_STAGE": "3"}
#: Stop after Stage 4: robot-episode tests do not start the arena export, training, evaluation.
THROUGH_STAGE4 = {"BPFLOW_LAST_STAGE": "4"}


@pytest.fixture
def runtime_defaults() -> dict[str, str]:
    """Settings every runtime of a test starts with (a test's own settings win). A directory's
    conftest overrides it, e.g. with THROUGH_STAGE3 where the tests are about Stages 1-3."""
    return {}


@pytest.fixture
def make_runtime(tmp_path: Path, runtime_defaults: dict[str, str]) -> Iterator[Callable[..., Any]]:
    from bpflow.core.config import reset_settings_cache
    from bpflow.core.engine.runtime import Runtime

    started: list[Runtime] = []

    def make(role: str = "all", watch: bool = False, **extra: str) -> Runtime:
        env = runtime_env(tmp_path / "home", **{**runtime_defaults, **extra})
        saved = dict(os.environ)
        os.environ.update(env)  # jobs run by the in-process paths read os.environ
        reset_settings_cache()
        rt = Runtime(env=env)
        rt._saved_environ = saved  # type: ignore[attr-defined]
        rt.launch(role=role, watch=watch)
        started.append(rt)
        return rt

    yield make
    for rt in reversed(started):
        rt.shutdown()
        os.environ.clear()
        os.environ.update(rt._saved_environ)  # type: ignore[attr-defined]
        reset_settings_cache()


@pytest.fixture
def runtime(make_runtime: Callable[..., Any]) -> Any:
    return make_runtime()


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate`` is truthy; fail loudly with what was being waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {getattr(predicate, '__name__', predicate)}")
