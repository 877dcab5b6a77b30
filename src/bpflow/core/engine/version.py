"""A run acts on exactly its own object version (``run.generation``).

An event may name an older generation (a redelivery, a storm, an operator replaying last week's
events) or one the bucket does not show yet. Reading "whatever the object holds now" would run
the pipeline again on someone else's version and rewrite every marker. So before a run does
anything, it checks the trigger object's current generation:

* equal: this run's version; go on;
* newer: this version is **superseded**; the run ends SKIPPED saying so and writes nothing;
* older or absent: the version is not visible yet; wait a bounded time, then end SKIPPED
  (the dispatcher already holds such events back, so a run rarely gets here; an object deleted
  since its event was dispatched ends here too, and a re-created object gets a new generation).

The check runs inside the run's first step, before that step's work (``durable.
checked_before_first_step``): every side effect is a step, so nothing is done before it, and its
verdict is recorded with that step for replays.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from bpflow.core.engine.context import RunContext

if TYPE_CHECKING:
    from bpflow.core.storage import Bucket


class Run(Protocol):
    """What the check reads of a ``registry.Run`` (declared here: the registry imports this module)."""

    workflow: str

    @property
    def object_name(self) -> str | None: ...
    @property
    def object_generation(self) -> int | None: ...
    @property
    def bucket(self) -> Bucket: ...
    @property
    def context(self) -> RunContext: ...


#: How long a run waits for its version to become visible, and how often it looks.
VISIBLE_WAIT_SECONDS = 10.0
VISIBLE_POLL_SECONDS = 0.5


def version_gone(run: Run) -> str | None:
    """None when the run's trigger object is at exactly its generation (or the run has no
    object version to honour); else why the run must not act."""
    wanted = run.object_generation
    key = run.object_name
    if wanted is None or key is None or not _is_trigger(run, key):
        return None  # no version named, or an object that is not this workflow's trigger (its own filter answers)
    current = _generation(run, key)
    if current == wanted:
        return None
    start = time.monotonic()
    while current is None or current < wanted:
        if time.monotonic() - start >= VISIBLE_WAIT_SECONDS:
            seen = "does not exist" if current is None else f"is at an older generation {current}"
            return f"{key} {seen}; generation {wanted} never became visible, nothing done"
        time.sleep(VISIBLE_POLL_SECONDS)
        current = _generation(run, key)
    if current == wanted:
        return None
    return f"superseded: {key} is at generation {current}, this run is for generation {wanted}; nothing rewritten"


def _is_trigger(run: Run, key: str) -> bool:
    return run.workflow in run.context.triggered_by(key)


def _generation(run: Run, key: str) -> int | None:
    info = run.bucket.stat(key)
    return None if info is None else info.generation
