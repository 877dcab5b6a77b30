"""What a workflow's :class:`~bpflow.core.engine.registry.Run` may use of the process it runs in.

The runtime (the composition root, ``engine.runtime``) builds one :class:`RunContext` at launch and
installs it here; the registry hands it to every ``Run`` it builds. So nothing below the runtime
imports the runtime: a run reads its bucket, settings and env, and starts other runs, through
what it was given. A test can install a context of its own instead of steering a runtime through
``os.environ``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bpflow.core.errors import BpflowError

if TYPE_CHECKING:
    from bpflow.core.config import Settings
    from bpflow.core.events.model import CustomEvent
    from bpflow.core.storage import Bucket


class DispatchOutcome(Protocol):
    """What a dispatch answers (the dispatcher's ``Dispatched``), named here so a run reads it
    without importing the dispatcher."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunContext:
    bucket: Bucket
    settings: Settings
    env: Mapping[str, str]
    start_run: Callable[[str, str, dict[str, Any]], Any]
    """``(workflow, run_id, payload)``: start (or attach to) a durable run."""
    dispatch_custom: Callable[[CustomEvent], DispatchOutcome]
    """Dispatch a ``CustomEvent`` through the trigger map; returns the dispatch result."""
    triggered_by: Callable[[str], set[str]]
    """The workflows an object key triggers (under this process's env)."""


_CONTEXT: RunContext | None = None


def install(ctx: RunContext | None) -> None:
    """Set (or clear, with None) the process's context; the runtime calls it at launch/shutdown."""
    global _CONTEXT
    _CONTEXT = ctx


def installed() -> RunContext:
    if _CONTEXT is None:
        raise BpflowError("the bpflow runtime is not launched in this process", code="runtime_not_launched")
    return _CONTEXT
