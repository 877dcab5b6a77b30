"""Live per-stage progress of one scene until it completes or fails (``bpflow submit --wait``, the demo).

On a terminal it is a rich live display, one bar per stage; elsewhere (CI logs, pipes) it prints
one line per stage state change, which reads well in a log. Either way it polls the same stage
table as ``bpflow status``, so what it reports is what the dashboard shows.
"""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.text import Text

from bpflow.core.triggers import validate_scene_id
from bpflow.ops import fmt
from bpflow.ops.scene_status import SceneNotFound, SceneStatus, scene_status
from bpflow.ops.session import Session, open_session

EXIT_COMPLETE, EXIT_FAILED, EXIT_TIMEOUT = 0, 1, 124
POLL_SECONDS = 0.5
#: ``bpflow submit --wait`` gives up after this long unless ``--timeout`` says otherwise: longer
#: than the whole pipeline with training on a 2-core machine.
DEFAULT_WAIT_SECONDS = 3600.0
#: How long a just-submitted scene may show no object and no run before the watch gives up.
APPEAR_SECONDS = 30.0


def _poll(session: Session, scene_id: str) -> SceneStatus | None:
    try:
        return scene_status(session.rt, scene_id, reader=session.reader, runs=None if session.has_runs else [])
    except SceneNotFound:
        return None


class _Bars:
    """One rich progress task per stage; a finished stage shows a full bar and its duration."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description}", style="bold"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[state]}"),
            TextColumn("{task.fields[info]}", style="dim"),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.header = Text("")

    def update(self, status: SceneStatus) -> None:
        parts: list[tuple[str, str]] = [
            ("scene ", "dim"),
            (status.scene_id, "bold"),
            ("  ", ""),
            (status.state, fmt.style(status.state)),
        ]
        for child in status.children:
            parts += [
                ("\n  seed ", "dim"),
                (child["scene_id"], ""),
                ("  ", ""),
                (f"{child['state']} {child['done']}/{child['total']}", fmt.style(child["state"])),
            ]
        self.header = Text.assemble(*parts)
        width = max(len(st.name) for st in status.stages)
        for st in status.stages:
            if st.name not in self.tasks:
                self.tasks[st.name] = self.progress.add_task(st.name.ljust(width), total=1, state="", info="")
            task = self.tasks[st.name]
            done = st.state in ("succeeded", "skipped", "failed", "not_implemented")
            info = fmt.duration(st.duration_seconds)
            if st.error_code:
                info = f"{info}  {st.error_code}".strip()
            state = Text(f"{fmt.symbol(st.state)} {st.state.replace('_', ' ')}", style=fmt.style(st.state))
            # A running stage has an unknown total: rich draws a pulsing bar for total=None.
            self.progress.update(
                task, total=None if st.state == "running" else 1, completed=1 if done else 0, state=state, info=info
            )
            if done:
                self.progress.stop_task(task)

    def renderable(self) -> Group:
        return Group(self.header, self.progress)


def _print_changes(console: Console, status: SceneStatus, seen: dict[str, str]) -> None:
    for child in status.children:
        key = f"seed:{child['scene_id']}"
        if seen.get(key) != child["state"]:
            seen[key] = child["state"]
            console.print(
                f"{fmt.timestamp(time.time(), short=True)} {status.scene_id} seed {child['scene_id']}: {child['state']} ({child['done']}/{child['total']})",
                highlight=False,
            )
    for st in status.stages:
        prev = seen.get(st.name)
        if prev == st.state:
            continue
        seen[st.name] = st.state
        if prev is None and st.state in ("pending", "not_implemented"):
            continue
        extra = ""
        if st.state in ("succeeded", "failed") and st.duration_seconds is not None:
            extra = f" in {fmt.duration(st.duration_seconds)}"
        if st.error_code:
            extra += f" ({st.error_code})"
        console.print(
            f"{fmt.timestamp(time.time(), short=True)} {status.scene_id} {st.name}: {st.state.replace('_', ' ')}{extra}",
            highlight=False,
        )


def _final_message(console: Console, status: SceneStatus | None, scene_id: str, timed_out: bool) -> int:
    if status is None:
        console.print(f"[red]scene {scene_id} did not appear (no objects, no runs)[/red]")
        return EXIT_FAILED
    if timed_out:
        console.print(
            f"[yellow]scene {scene_id} still {status.state} when the wait ended (--timeout); it goes on: `bpflow status {scene_id}`[/yellow]"
        )
        return EXIT_TIMEOUT
    if status.state == "succeeded":
        seeds = (
            f" ({len(status.children)} seeds: {', '.join(c['scene_id'] for c in status.children)})"
            if status.children
            else ""
        )
        console.print(f"[green]scene {scene_id} complete{seeds}[/green]")
        return EXIT_COMPLETE
    for child in status.children:
        if child["state"] in ("failed", "stalled"):
            console.print(
                f"[red]seed {child['scene_id']} {child['state']}: `bpflow status {child['scene_id']}`[/red]",
                highlight=False,
            )
    for st in status.failures():
        console.print(
            f"[red]{st.name} failed: {st.error_code}{': ' + st.error_message if st.error_message else ''}[/red]",
            highlight=False,
        )
    if status.state == "stalled":
        blocked = [st.name for st in status.stages if st.state == "not_implemented"]
        console.print(
            f"[yellow]scene {scene_id} cannot go further: {', '.join(blocked) or 'no stage can start'} not implemented in this build[/yellow]"
        )
    return EXIT_FAILED


def watch_scene(
    scene_id: str, *, timeout: float | None = None, console: Console | None = None, poll_seconds: float = POLL_SECONDS
) -> int:
    """Show the scene's stages live until it is complete (0), failed or stalled (1), or
    ``timeout`` seconds passed (124)."""
    validate_scene_id(scene_id)
    console = console or Console()
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    status: SceneStatus | None = None
    timed_out = False
    with open_session() as session:
        bars = _Bars(console) if console.is_terminal else None
        seen: dict[str, str] = {}
        live = Live(console=console, refresh_per_second=8, transient=False) if bars is not None else None
        if live is not None:
            live.start()
        try:
            while True:
                status = _poll(session, scene_id)
                if status is not None:
                    if bars is not None and live is not None:
                        bars.update(status)
                        live.update(bars.renderable())
                    else:
                        _print_changes(console, status, seen)
                    if status.terminal:
                        break
                elif time.monotonic() - start > APPEAR_SECONDS:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    break
                time.sleep(poll_seconds)
        finally:
            if live is not None:
                live.stop()
    return _final_message(console, status, scene_id, timed_out)
