"""``bpflow schedules [pause|resume WORKFLOW]``: every schedule, its state, last and next run."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from bpflow.cli.consoles import console, print_json
from bpflow.core.errors import BpflowError
from bpflow.ops.session import Session, open_session


def schedule_api(session: Session) -> Any:
    """``DBOS`` inside a launched runtime, the client of a CLI session, or None (no database yet)."""
    if session.reader is None:
        return None
    if session.rt.client is not None:
        return session.rt.client
    from dbos import DBOS

    return DBOS


class _NoSchedules:
    """Before the runtime ever started nothing is installed; the table still shows the rows."""

    @staticmethod
    def list_schedules(**_: Any) -> list[Any]:
        return []


def _fmt(both: dict[str, str] | None) -> str:
    return "-" if not both else f"{both['local'][:16].replace('T', ' ')} ({both['utc'][11:16]}Z)"


def schedules_command(*, action: str | None, workflow: str | None, json_output: bool) -> int:
    from bpflow.core.engine.schedules import schedule_rows, set_paused

    with open_session() as session:
        api = schedule_api(session)
        if action in ("pause", "resume"):
            if not workflow:
                raise BpflowError(f"bpflow schedules {action} needs a WORKFLOW", code="usage", field="workflow")
            if api is None:
                raise BpflowError(
                    "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
                )
            set_paused(api, workflow, action == "pause")
        elif action is not None:
            raise BpflowError(f"unknown action {action!r} (use pause or resume)", code="usage", field="action")
        rows = schedule_rows(session.rt, api or _NoSchedules())
    if workflow:
        rows = [r for r in rows if r["workflow"] == workflow]
    if json_output:
        print_json(rows)
        return 0
    table = Table(title="schedules", title_justify="left", header_style="bold")
    for col in ("workflow", "cron", "time zone", "enabled", "state", "last run", "next run"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["workflow"],
            r["schedule"],
            r["timezone"],
            "yes" if r["enabled"] else "no",
            r["state"],
            _fmt(r["last_run"]),
            _fmt(r["next_run"]),
        )
    console.print(table)
    return 0
