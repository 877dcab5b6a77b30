"""Schedule rows of the trigger map become DBOS schedules (cron with time zone).

DBOS fires a small tick workflow once per scheduled time across all processes; the tick starts
the real workflow with the run id of DESIGN principle 2 (``<workflow>:<cron>@<time>``), so a
manual ``bpflow emit`` of the same tick, or a second scheduler, attaches instead of re-running.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from dbos import DBOS, ScheduleInput

from bpflow.core.engine.context import installed as installed_context
from bpflow.core.engine.registry import find_workflow
from bpflow.core.ids import schedule_run_id

if TYPE_CHECKING:
    from bpflow.core.triggers import TriggerMap


class ScheduleHost(Protocol):
    """What the schedules read of their process (the runtime passes itself)."""

    triggers: TriggerMap

    @property
    def env(self) -> Mapping[str, str]: ...  # read only: a host may keep a dict


log = logging.getLogger("bpflow.schedules")

SCHEDULE_PREFIX = "bpflow:"


def schedule_payload(workflow: str, cron: str, fire_time: datetime, bucket: str) -> dict[str, Any]:
    iso = fire_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "type": "bpflow.schedule",
        "schedule": cron,
        "scheduled_time": iso,
        "data": {"bucket": bucket},
        "workflow": workflow,
    }


@DBOS.workflow(name="bpflow-schedule-tick")
def schedule_tick(scheduled_time: datetime, context: Any) -> None:
    ctx = installed_context()
    workflow, cron = context["workflow"], context["schedule"]
    payload = schedule_payload(workflow, cron, scheduled_time, ctx.bucket.url)
    ctx.start_run(workflow, schedule_run_id(workflow, cron, payload["scheduled_time"]), payload)


def apply_schedules(rt: ScheduleHost) -> list[str]:
    """Install enabled, implemented schedule rows; remove ours that are no longer wanted.

    Installing resets a schedule to ACTIVE, so pauses are put back afterwards: one an operator
    set (``bpflow schedules pause``) survives restarts, and a row whose ``paused`` rule holds
    (``TEXT_AUTONOMY_SCHEDULER_PAUSED=true``) is installed paused.
    """
    was_paused = {
        s["schedule_name"]
        for s in DBOS.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX)
        if s.get("status") == "PAUSED"
    }
    pause_now: list[str] = []
    wanted: list[ScheduleInput] = []
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
        if SCHEDULE_PREFIX + row.workflow in was_paused or row.is_paused(rt.env):
            pause_now.append(SCHEDULE_PREFIX + row.workflow)
    if wanted:
        DBOS.apply_schedules(wanted)
    for name in pause_now:
        DBOS.pause_schedule(name)
    names = {w["schedule_name"] for w in wanted}
    for sched in DBOS.list_schedules():
        name = sched["schedule_name"] if isinstance(sched, dict) else getattr(sched, "schedule_name", "")
        if name.startswith(SCHEDULE_PREFIX) and name not in names:
            DBOS.delete_schedule(name)
    return sorted(names)


# -- what `bpflow schedules` and the dashboard show ----------------------------------------------
def fire_times(cron: str, tz_name: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, in the schedule's zone (DST-aware:
    ``0 9 * * *`` in New York is 14:00 UTC in winter and 13:00 UTC in summer)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    zone = ZoneInfo(tz_name or "UTC")
    it = croniter(cron, after.astimezone(zone))
    return [it.get_next(datetime) for _ in range(count)]


def previous_fire(cron: str, tz_name: str, before: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    from croniter import croniter

    fire: datetime = croniter(cron, before.astimezone(ZoneInfo(tz_name or "UTC"))).get_prev(
        datetime
    )  # croniter is untyped
    return fire


def _both(dt: datetime | None) -> dict[str, str] | None:
    if dt is None:
        return None
    return {"local": dt.isoformat(), "utc": dt.astimezone(UTC).isoformat().replace("+00:00", "Z")}


def schedule_rows(rt: ScheduleHost, api: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every schedule row of the trigger map: cron, zone, enabled, installed state, last and next
    fire time (local and UTC). ``api`` is ``DBOS`` in a launched runtime or a ``DBOSClient``."""
    from zoneinfo import ZoneInfo

    now = now or datetime.now(UTC)
    installed = {s["schedule_name"]: s for s in api.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX)}
    out: list[dict[str, Any]] = []
    for row in rt.triggers.rows:
        if row.kind != "schedule":
            continue
        cron, tz_name = row.resolved_schedule(rt.env) or "", row.resolved_timezone(rt.env) or "UTC"
        sched = installed.get(SCHEDULE_PREFIX + row.workflow)
        enabled = row.is_enabled(rt.env)
        state = "not installed" if sched is None else ("paused" if sched.get("status") == "PAUSED" else "active")
        if sched is None and enabled and find_workflow(row.workflow) is None:
            state = "not implemented"
        last = sched.get("last_fired_at") if sched else None
        last_dt = None
        if last:
            try:
                last_dt = datetime.fromisoformat(str(last).replace("Z", "+00:00")).astimezone(ZoneInfo(tz_name))
            except ValueError:
                last_dt = None
        firing = state == "active"
        out.append(
            {
                "workflow": row.workflow,
                "schedule": cron,
                "timezone": tz_name,
                "enabled": enabled,
                "enabled_when": row.enabled_when,
                "state": state,
                "paused": state == "paused",
                "implemented": find_workflow(row.workflow) is not None,
                "last_run": _both(last_dt),
                "next_run": _both(fire_times(cron, tz_name, now)[0]) if firing else None,
                "next_run_if_resumed": _both(fire_times(cron, tz_name, now)[0]),
            }
        )
    return out


def set_paused(api: Any, workflow: str, paused: bool) -> None:
    """Pause or resume an installed schedule (kept across restarts, see apply_schedules)."""
    from bpflow.core.errors import BpflowError

    name = SCHEDULE_PREFIX + workflow
    if api.get_schedule(name) is None:
        raise BpflowError(
            f"no installed schedule for {workflow!r} (is it enabled? see `bpflow schedules`)",
            code="schedule_not_installed",
            field="workflow",
        )
    if paused:
        api.pause_schedule(name)
    else:
        api.resume_schedule(name)
