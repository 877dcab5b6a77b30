"""``bpflow status [SCENE]``: a scene's stage table, or one line per scene.

Exit codes follow the CLI's rule: 0 when the scene (or listing) is fine, 1 when the scene asked
about failed or is stalled (or does not exist), 2 for a usage error such as an invalid scene id.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from bpflow.cli.consoles import console, err_console, print_json
from bpflow.core.engine.queues import QueueHealth
from bpflow.core.scrub import Scrubber
from bpflow.core.triggers import validate_scene_id
from bpflow.ops import fmt
from bpflow.ops.dag import load_dag
from bpflow.ops.scene_list import find_scenes
from bpflow.ops.scene_status import SceneStatus, scene_status
from bpflow.ops.session import open_session

EXIT_OK, EXIT_FAILED = 0, 1


def state_text(state: str, detail: str = "") -> Text:
    label = f"{fmt.symbol(state)} {state.replace('_', ' ')}"
    if detail:
        label += f" ({detail})"
    return Text(label, style=fmt.style(state))


def stage_table(status: SceneStatus) -> Table:
    table = Table(title=f"scene {status.scene_id} — {status.state}", title_justify="left", header_style="bold")
    for col in ("stage", "state", "started", "duration", "attempts", "marker", "error code"):
        table.add_column(col, overflow="fold")
    for st in status.stages:
        marker = fmt.scene_relative(status.scene_id, st.marker.key) if st.marker else ""
        table.add_row(
            st.name,
            state_text(st.state, st.detail if st.state in ("running", "skipped") else ""),
            fmt.timestamp(st.started_at),
            fmt.duration(st.duration_seconds),
            str(st.attempts) if st.attempts else "",
            marker,
            Text(st.error_code or "", style="red"),
        )
    return table


def _summary_table(lines: list[dict[str, Any]]) -> Table:
    table = Table(title="scenes", title_justify="left", header_style="bold")
    for col in ("scene", "seeds", "state", "progress", "running", "failed", "updated"):
        table.add_column(col, overflow="fold")
    for line in lines:
        failed = ", ".join(f"{f['stage']} ({f['error_code']})" for f in line["failed"])
        seeds = (
            f"seed {line['seed']} of {line['parent']}"
            if line.get("parent")
            else (f"{len(line['children'])} seeds" if line.get("children") else "")
        )
        table.add_row(
            line["scene_id"],
            seeds,
            state_text(line["state"]),
            f"{line['done']}/{line['total']}",
            ", ".join(line["running"]),
            Text(failed, style="red"),
            fmt.timestamp(line["updated"]),
        )
    return table


def _queue_table(queues: list[QueueHealth]) -> Table:
    """Queued work that is not progressing must show: counts and the oldest queued run's wait."""
    table = Table(title="run queues", title_justify="left", header_style="bold")
    for col in ("queue", "queued", "running", "oldest queued", "workers"):
        table.add_column(col)
    for q in queues:
        age = "" if q.oldest_queued_age_seconds is None else fmt.duration(q.oldest_queued_age_seconds)
        workers = "" if q.consumers is None else str(q.consumers)
        table.add_row(
            q.queue,
            str(q.queued),
            str(q.running),
            Text(age + (" (stalled)" if q.stalled else ""), style="red" if q.stalled else ""),
            Text(workers + (" (queued, no consumer)" if q.no_consumer else ""), style="red" if q.no_consumer else ""),
        )
    return table


def status_command(
    scene: str | None, *, json_output: bool, limit: int, search: str | None = None, state: str | None = None
) -> int:
    if scene is not None:
        validate_scene_id(scene)
    with open_session() as session:
        scrub = Scrubber.from_settings(session.rt.settings)
        if not session.has_runs:
            err_console.print("[yellow]no bpflow database yet (start `bpflow up`): showing markers only[/yellow]")
        if scene is None:
            lines = find_scenes(
                session.rt, reader=session.reader, with_runs=session.has_runs, limit=limit, q=search, state=state
            ).scenes
            queues = session.reader.queue_health() if session.reader is not None else []
            if json_output:
                print_json(
                    scrub.obj(
                        {
                            "dag": load_dag(session.rt.env).name,
                            "runs_available": session.has_runs,
                            "queues": {q.queue: q.to_dict() for q in queues},
                            "scenes": lines,
                        }
                    )
                )
                return EXIT_OK
            if queues:
                console.print(_queue_table(queues))
            if not lines:
                console.print("no scenes yet")
            else:
                console.print(_summary_table(lines))
            return EXIT_OK
        status = scene_status(session.rt, scene, reader=session.reader, runs=None if session.has_runs else [])
    if json_output:
        print_json(scrub.obj(status.to_dict()))
    else:
        console.print(stage_table(status))
        if status.parent:
            console.print(
                Text.assemble(
                    ("seed ", "dim"),
                    str(status.lineage.seed if status.lineage else ""),
                    (" of ", "dim"),
                    (status.parent, "bold"),
                    (f"  (bpflow status {status.parent})", "dim"),
                )
            )
        for child in status.children:
            console.print(
                Text.assemble(
                    ("seed ", "dim"),
                    (child["scene_id"], "bold"),
                    "  ",
                    state_text(child["state"]),
                    f"  {child['done']}/{child['total']}",
                )
            )
        for st in status.failures():
            if st.error_message:
                console.print(Text(f"{st.name}: {st.error_code}: {scrub.text(st.error_message)}", style="red"))
    return EXIT_FAILED if status.state in ("failed", "stalled") else EXIT_OK
