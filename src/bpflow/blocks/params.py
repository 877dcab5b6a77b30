"""Recorded parameters: a run's flags and options, read once inside a durable step.

``Run.param`` looks at the payload, then the worker's environment. Read outside a step, a replay
on a worker with other env vars could take another branch than the first execution did; read
here, the first execution's values are recorded and every replay sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bpflow.core.config import parse_bool
from bpflow.core.engine.durable import step

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

#: name -> (env var or None, default)
ParamSpec = Mapping[str, tuple[str | None, Any]]  # read only, so a table of str env names fits


def recorded_params(
    run: Run,
    spec: ParamSpec,
    *,
    name: str = "read parameters",
    also: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Each name's value (payload, else env, else default), recorded as one step; ``also``
    adds values read another way (a worker-wide flag) to the same step."""

    def read() -> dict[str, Any]:
        values = {key: run.param(key, env, default) for key, (env, default) in spec.items()}
        return {**values, **(also() if also else {})}

    return step(name, read)


def flag(value: Any, default: bool) -> bool:
    """The reference's booleans (§0.2): true only when the value reads exactly "true"."""
    return parse_bool(value, default, strict=True)
