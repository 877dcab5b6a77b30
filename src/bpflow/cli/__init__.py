"""The ``bpflow`` command. Exit codes: 0 ok, 1 the thing asked about failed, 2 usage error."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from bpflow.errors import BpflowError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="bpflow: durable, event-driven scene pipeline orchestration.")
console = Console()
err_console = Console(stderr=True)


def fail(exc: BpflowError, *, as_json: bool = False, code: int = 2) -> None:
    """A user mistake: one clear line (or JSON), never a traceback."""
    if as_json:
        print(json.dumps({"error": exc.to_dict()}))
    else:
        field = f" [{exc.field}]" if exc.field else ""
        err_console.print(f"[red]error[/red] {exc.code}{field}: {exc.message}")
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))


@app.command()
def triggers(
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    explain: Annotated[Optional[str], typer.Option("--explain", metavar="OBJECT_NAME", help="Which workflows this object would start.")] = None,
) -> None:
    """Print the trigger map (every workflow, what starts it, whether it is enabled)."""
    from bpflow.cli.triggers_cmd import triggers_command

    try:
        raise typer.Exit(triggers_command(json_output=json_output, explain=explain))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def config(json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Print the effective configuration, secrets redacted."""
    from bpflow.cli.config_cmd import config_command

    try:
        raise typer.Exit(config_command(json_output=json_output))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def up(
    host: Annotated[Optional[str], typer.Option(help="Bind address (BPFLOW_HTTP_HOST).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (BPFLOW_HTTP_PORT).")] = None,
    watch: Annotated[bool, typer.Option(help="Watch a local bucket for dropped files.")] = True,
) -> None:
    """Run everything in one process: ingestion, dispatcher, scheduler, worker and HTTP service."""
    from bpflow.cli.serve import serve_up

    try:
        serve_up(host=host, port=port, watch=watch)
    except BpflowError as exc:
        fail(exc)


@app.command()
def worker() -> None:
    """Start one more worker against the shared PostgreSQL database and bucket."""
    from bpflow.cli.serve import serve_worker

    try:
        serve_worker()
    except BpflowError as exc:
        fail(exc)


@app.command()
def emit(
    event_type: Annotated[str, typer.Argument(metavar="TYPE", help="Event type, e.g. manual.geniesim.job.completed.")],
    data: Annotated[str, typer.Option("--data", help="Event data as a JSON object.")] = "{}",
    event_id: Annotated[Optional[str], typer.Option("--id", help="Event id (default: random). Same id → same run.")] = None,
    workflow: Annotated[Optional[str], typer.Option("--workflow", help="Start this workflow directly (manual trigger).")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Emit a custom event (or a manual run with --workflow); prints the run ids it started."""
    from bpflow.cli.emit_cmd import emit_command

    try:
        raise typer.Exit(emit_command(event_type, data, event_id=event_id, workflow=workflow, json_output=json_output))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def scan(
    lookback: Annotated[Optional[float], typer.Option(help="Seconds to look back (default BPFLOW_SCAN_LOOKBACK_SECONDS).")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run one reconciliation pass now: dispatch trigger objects whose event was missed."""
    from bpflow.cli.emit_cmd import scan_command

    try:
        raise typer.Exit(scan_command(lookback, json_output=json_output))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
