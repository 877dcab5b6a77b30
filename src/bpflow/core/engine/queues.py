"""The run queues, one per tier of waiting.

The rule (docs/decisions.md): **no run may wait on a run that cannot be scheduled.** A run that
waits on another run holds its queue slot while it waits (DBOS frees a slot only when the run
ends), so if waiters and the runs they wait on shared one capped queue, as many waiters as slots
would stall every scene for good. So runs are tiered:

* ``bpflow-runs`` (tier 0): stage work. Waits on no other run (only on markers its own jobs write).
* ``bpflow-scenes`` (tier 1): orchestrators of one scene's stages (image-to-scene-orchestrator).
* ``bpflow-requests`` (tier 2): orchestrators that may start a tier-1 orchestrator
  (source-orchestrator hands an image request to the image orchestrator).

A run may only start-and-wait on a run of a *lower* tier (``check_wait`` enforces it), and each
tier has its own slots, so the lowest tier always progresses, then the one above it, and so on:
on SQLite with one process and on PostgreSQL with N workers alike (each worker takes up to its
per-tier limit from every queue).

**Job classes** (``bpflow.core.job_classes``) split the stage-work tier on PostgreSQL: a stage run
of class ``sim`` goes to ``bpflow-runs-sim``, ``cpu`` stays on ``bpflow-runs``. A worker listens
(``DBOS.listen_queues``) to the stage queues of its classes, and to the orchestrator tiers only
if it takes ``cpu`` (orchestrators and Stage 1 are light work). The split stays inside tier 0, so
the tier rule is untouched: a class queue waits on nothing. On SQLite one process takes every
class, so there is no split (and no extra queue to poll).
"""

from __future__ import annotations

from dataclasses import dataclass

from bpflow.core.errors import BpflowError


@dataclass(frozen=True)
class QueueTier:
    name: str
    level: int


STAGE_WORK = QueueTier("bpflow-runs", 0)
SCENE_ORCHESTRATORS = QueueTier("bpflow-scenes", 1)
REQUEST_ORCHESTRATORS = QueueTier("bpflow-requests", 2)
TIERS: tuple[QueueTier, ...] = (STAGE_WORK, SCENE_ORCHESTRATORS, REQUEST_ORCHESTRATORS)

_SPLIT_CLASSES = False


def split_by_class(enabled: bool) -> None:
    """Set once per process by the runtime: True on PostgreSQL (several workers may share it)."""
    global _SPLIT_CLASSES
    _SPLIT_CLASSES = enabled


def queue_name(tier: QueueTier, job_class: str) -> str:
    """The DBOS queue of a run of ``tier`` whose jobs need ``job_class``."""
    from bpflow.core.job_classes import CPU

    if not _SPLIT_CLASSES or tier is not STAGE_WORK or job_class == CPU:
        return tier.name
    return f"{tier.name}-{job_class}"


def queues_of(classes: tuple[str, ...]) -> list[tuple[QueueTier, str]]:
    """(tier, queue name) of every queue a worker taking ``classes`` listens to."""
    from bpflow.core.job_classes import CLASSES, CPU

    out: list[tuple[QueueTier, str]] = []
    for tier in TIERS:
        wanted = [c for c in CLASSES if c in classes] if tier is STAGE_WORK else ([CPU] if CPU in classes else [])
        for name in dict.fromkeys(queue_name(tier, c) for c in wanted):
            out.append((tier, name))
    return out


def all_queues() -> list[str]:
    from bpflow.core.job_classes import CLASSES

    return [name for _, name in queues_of(CLASSES)]


#: A queue whose oldest queued run has waited this long is reported stalled (/healthz, status,
#: ``bpflow_queue_stalled``): either the queue is wedged or its limit is far below the load.
STALL_SECONDS = 600.0


@dataclass(frozen=True)
class QueueHealth:
    """What an operator needs to see a stalled runtime: per queue, queued and running runs, how
    long the oldest queued one has waited, and how many live workers listen to it (None:
    unknown, e.g. a database no worker of this version ever used)."""

    queue: str
    queued: int
    running: int
    oldest_queued_age_seconds: float | None
    consumers: int | None = None

    @property
    def stalled(self) -> bool:
        return (self.oldest_queued_age_seconds or 0.0) >= STALL_SECONDS

    @property
    def no_consumer(self) -> bool:
        """Work is queued and no live worker takes this queue: it would wait silently for ever."""
        return self.queued > 0 and self.consumers == 0

    def to_dict(self) -> dict[str, object]:
        age = self.oldest_queued_age_seconds
        return {
            "queued": self.queued,
            "running": self.running,
            "oldest_queued_age_seconds": None if age is None else round(age, 1),
            "stalled": self.stalled,
            "consumers": self.consumers,
            "no_consumer": self.no_consumer,
        }


def queue_health(
    rows: list[tuple[str | None, str, float]],
    now: float,
    consumers: dict[str, int] | None = None,
    queues: list[str] | None = None,
) -> list[QueueHealth]:
    """From (queue name, engine status, created at in epoch seconds) of every active run, and
    the number of live workers per queue when known."""
    out = []
    for name in queues or [t.name for t in TIERS]:
        mine = [(status, created) for queue, status, created in rows if queue == name]
        waiting = [created for status, created in mine if status == "ENQUEUED"]
        running = sum(1 for status, _ in mine if status == "PENDING")
        oldest = max(0.0, now - min(waiting)) if waiting else None
        out.append(
            QueueHealth(name, len(waiting), running, oldest, None if consumers is None else consumers.get(name, 0))
        )
    return out


class WaitOrderError(BpflowError):
    """A run tried to wait on a run of its own tier or above: that wait could deadlock."""

    code = "wait_on_same_tier"


def check_wait(waiter: str, waiter_tier: QueueTier, target: str, target_tier: QueueTier) -> None:
    if target_tier.level >= waiter_tier.level:
        raise WaitOrderError(
            f"{waiter} (queue {waiter_tier.name}) may not wait on {target} (queue {target_tier.name}): "
            "a run may only wait on runs of a lower queue tier; declare the waiting workflow with a higher queue",
            field="queue",
        )
