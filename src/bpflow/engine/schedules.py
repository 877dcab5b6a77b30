"""Schedule rows of the trigger map become DBOS schedules (cron with time zone).

DBOS fires a small tick workflow once per scheduled time across all processes; the tick starts
the real workflow with the run id of DESIGN principle 2 (``<workflow>:<cron>@<time>``), so a
manual ``bpflow emit`` of the same tick, or a second scheduler, attaches instead of re-running.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dbos import DBOS

from bpflow.engine.registry import find_workflow
from bpflow.ids import schedule_run_id

if TYPE_CHECKING:
    from bpflow.engine.runtime import Runtime

log = logging.getLogger("bpflow.schedules")

SCHEDULE_PREFIX = "bpflow:"


def schedule_payload(workflow: str, cron: str, fire_time: datetime, bucket: str) -> dict[str, Any]:
    iso = fire_time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return {"type": "bpflow.schedule", "schedule": cron, "scheduled_time": iso, "data": {"bucket": bucket}, "workflow": workflow}


@DBOS.workflow(name="bpflow-schedule-tick")
def schedule_tick(scheduled_time: datetime, context: Any) -> None:
    from bpflow.engine.runtime import current_runtime

    rt = current_runtime()
    workflow, cron = context["workflow"], context["schedule"]
    payload = schedule_payload(workflow, cron, scheduled_time, rt.bucket.url)
    rt.dispatcher.start_run(workflow, schedule_run_id(workflow, cron, payload["scheduled_time"]), payload)


def apply_schedules(rt: "Runtime") -> list[str]:
    """Install enabled, implemented schedule rows; remove ours that are no longer wanted."""
    wanted = []
    for row in rt.triggers.schedules(env=rt.env):
        if find_workflow(row.workflow) is None or not row.schedule:
            continue
        wanted.append(
            {
                "schedule_name": SCHEDULE_PREFIX + row.workflow,
                "workflow_fn": schedule_tick,
                "schedule": row.schedule,
                "cron_timezone": row.timezone or "UTC",
                "context": {"workflow": row.workflow, "schedule": row.schedule},
            }
        )
    if wanted:
        DBOS.apply_schedules(wanted)  # type: ignore[arg-type]
    names = {w["schedule_name"] for w in wanted}
    for sched in DBOS.list_schedules():
        name = sched["schedule_name"] if isinstance(sched, dict) else getattr(sched, "schedule_name", "")
        if name.startswith(SCHEDULE_PREFIX) and name not in names:
            DBOS.delete_schedule(name)
    return sorted(names)
