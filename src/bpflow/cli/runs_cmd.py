"""``bpflow runs [--workflow W] [--status S] [--scene ID]``: recent runs, newest first."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from bpflow.cli.consoles import console, err_console, print_json
from bpflow.core.errors import BpflowError
from bpflow.core.scrub import Scrubber
from bpflow.ops import fmt
from bpflow.ops.runs import RunInfo, runs_page
from bpflow.ops.session import open_session


def runs_table(runs: list[RunInfo]) -> Table:
    table = Table(title="runs", title_justify="left", header_style="bold")
    for col in ("id", "run", "workflow", "scene", "state", "created", "duration", "error"):
        table.add_column(col, overflow="fold")
    for r in runs:
        table.add_row(
            Text(r.short_id, style="bold"),
            r.run_id,
            r.workflow,
            r.scene_id or "",
            Text(f"{fmt.symbol(r.state)} {r.state}", style=fmt.style(r.state)),
            fmt.timestamp(r.created_at),
            fmt.duration(r.duration()),
            Text(r.error_code or (r.message if r.state == "failed" else ""), style="red"),
        )
    return table


def runs_command(
    *,
    workflow: str | None,
    status: str | None,
    scene: str | None,
    limit: int,
    json_output: bool,
    before: str | None = None,
) -> int:
    with open_session() as session:
        if session.reader is None:
            raise BpflowError(
                "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
            )
        scrub = Scrubber.from_settings(session.rt.settings)
        page = runs_page(session.reader, workflow=workflow, status=status, scene=scene, limit=limit, before=before)
        runs = session.reader.refine_timings(page.runs)
    if json_output:
        out: list[dict[str, Any]] = [r.to_dict() for r in runs]
        print_json(scrub.obj(out))
    elif not runs:
        console.print("no runs match")
    else:
        console.print(runs_table(runs))
        if page.next_cursor:
            err_console.print(f"more: --before '{page.next_cursor}'", highlight=False, soft_wrap=True)
    return 0
