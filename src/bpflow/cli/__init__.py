"""The ``bpflow`` command. Exit codes: 0 ok, 1 the thing asked about failed, 2 usage error."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bpflow.cli.consoles import err_console
from bpflow.core.errors import BpflowError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="bpflow: durable, event-driven scene pipeline orchestration."
)

TzOption = Annotated[
    str | None,
    typer.Option("--tz", help="Show times in this zone: UTC (default), local, or an IANA name such as Europe/Paris."),
]


def use_tz(tz: str | None) -> None:
    from bpflow.ops import fmt

    fmt.set_zone(tz)


def fail(exc: BpflowError, *, as_json: bool = False, code: int = 2) -> None:
    """A user mistake: one clear line (or JSON), never a traceback."""
    if as_json:
        print(json.dumps({"error": exc.to_dict()}))
    else:
        field = f" \\[{escape(exc.field)}]" if exc.field else ""
        err_console.print(f"[red]error[/red] {escape(exc.code)}{field}: {escape(exc.message)}")
    raise typer.Exit(code)


@app.command()
def triggers(
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    explain: Annotated[
        str | None, typer.Option("--explain", metavar="OBJECT_NAME", help="Which workflows this object would start.")
    ] = None,
) -> None:
    """Print the trigger map (every workflow, what starts it, whether it is enabled)."""
    from bpflow.cli.triggers_cmd import triggers_command

    try:
        raise typer.Exit(triggers_command(json_output=json_output, explain=explain))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def config(
    match: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILTER]",
            help="Only variables or sections containing this text (case-insensitive), e.g. geniesim, TEXT_GEN, storage.",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print the effective configuration, secrets redacted (optionally only what FILTER matches)."""
    from bpflow.cli.config_cmd import config_command

    try:
        raise typer.Exit(config_command(json_output=json_output, match=match))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Bind address (BPFLOW_HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (BPFLOW_HTTP_PORT).")] = None,
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
    event_id: Annotated[
        str | None, typer.Option("--id", help="Event id (default: random). Same id → same run.")
    ] = None,
    workflow: Annotated[
        str | None, typer.Option("--workflow", help="Start this workflow directly (manual trigger).")
    ] = None,
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
    lookback: Annotated[
        float | None, typer.Option(help="Seconds to look back (default BPFLOW_SCAN_LOOKBACK_SECONDS).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run one reconciliation pass now: dispatch trigger objects whose event was missed."""
    from bpflow.cli.emit_cmd import scan_command

    try:
        raise typer.Exit(scan_command(lookback, json_output=json_output))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def validate(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="A scene_request.json ('-' reads stdin), or a Genie Sim bundle folder (scenes/<id>/geniesim/).",
        ),
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print {valid, problems} as JSON.")] = False,
) -> None:
    """Check a scene request as the source orchestrator would (or a Genie Sim bundle as the runtime
    would); print every problem with its field."""
    from bpflow.cli.validate_cmd import validate_command

    try:
        raise typer.Exit(validate_command(file, json_output=json_output))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


# -- operator commands: status, runs, rerun, logs -------------------------------------------------
#: Errors about the thing asked for (exit 1); any other BpflowError is a usage error (exit 2).
_SUBJECT_FAILURES = frozenset(
    {
        "batch_not_found",
        "schedule_not_installed",
        "scene_not_found",
        "run_not_found",
        "not_implemented",
        "trigger_missing",
        "rerun_unsupported",
        "runtime_not_initialised",
        "run_active",
        "ambiguous_run_id",
    }
)


def _ops_fail(exc: BpflowError, as_json: bool) -> None:
    fail(exc, as_json=as_json, code=1 if exc.code in _SUBJECT_FAILURES else 2)


@app.command()
def status(
    scene: Annotated[
        str | None, typer.Argument(metavar="[SCENE]", help="A scene id; without it, one line per scene.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many scenes in the summary.")] = 200,
    search: Annotated[
        str | None, typer.Option("--search", help="Only scenes whose id or prompt contains this text.")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only scenes in this state: pending, running, succeeded, failed, stalled."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    tz: TzOption = None,
) -> None:
    """A scene's stage table (state, started, duration, attempts, marker, error code), or every scene."""
    from bpflow.cli.status_cmd import status_command

    try:
        use_tz(tz)
        raise typer.Exit(status_command(scene, json_output=json_output, limit=limit, search=search, state=state))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def runs(
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")] = None,
    status_: Annotated[
        str | None,
        typer.Option("--status", help="queued, running, succeeded, skipped, failed, cancelled (or an engine status)."),
    ] = None,
    scene: Annotated[str | None, typer.Option("--scene", help="Only runs of this scene.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 50,
    before: Annotated[
        str | None, typer.Option("--before", help="The next page: the cursor the previous page printed.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    tz: TzOption = None,
) -> None:
    """List runs, newest first (a page at a time: --limit, then --before CURSOR)."""
    from bpflow.cli.runs_cmd import runs_command

    try:
        use_tz(tz)
        raise typer.Exit(
            runs_command(
                workflow=workflow, status=status_, scene=scene, limit=limit, json_output=json_output, before=before
            )
        )
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def schedules(
    action: Annotated[
        str | None, typer.Argument(metavar="[pause|resume]", help="Pause or resume WORKFLOW's schedule.")
    ] = None,
    workflow: Annotated[str | None, typer.Argument(metavar="[WORKFLOW]", help="A schedule row's workflow.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Every schedule: cron, time zone, enabled/paused, last and next run (local and UTC)."""
    from bpflow.cli.schedules_cmd import schedules_command

    try:
        raise typer.Exit(schedules_command(action=action, workflow=workflow, json_output=json_output))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


batch_app = typer.Typer(
    no_args_is_help=True, help="Scene batches: start one from a manifest object, print its results table."
)
app.add_typer(batch_app, name="batch")


@batch_app.command("start")
def batch_start(
    manifest: Annotated[
        str, typer.Argument(metavar="MANIFEST_OBJECT", help="Bucket object listing the scene requests.")
    ],
    max_concurrent: Annotated[int | None, typer.Option(help="Scenes in flight at once (default 3).")] = None,
    retry_attempts: Annotated[int | None, typer.Option(help="Attempts per scene in total (default 1).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Start the scene-batch workflow for a manifest."""
    from bpflow.cli.batch_cmd import batch_start as start

    try:
        raise typer.Exit(
            start(manifest, max_concurrent=max_concurrent, retry_attempts=retry_attempts, json_output=json_output)
        )
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@batch_app.command("status")
def batch_status(
    batch_id: Annotated[str, typer.Argument(metavar="BATCH_ID", help="The batch id (batches/<id>/).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The batch's results table: one row per scene with its outcome, attempts and error."""
    from bpflow.cli.batch_cmd import batch_status as status_of

    try:
        raise typer.Exit(status_of(batch_id, json_output=json_output))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def rerun(
    workflow: Annotated[
        str, typer.Argument(metavar="WORKFLOW", help="A workflow (or stage) name, e.g. usd-assembly-pipeline.")
    ],
    scene: Annotated[str, typer.Option("--scene", help="The scene to rerun it for.")],
    force: Annotated[
        bool, typer.Option("--force", help="Run again even if this input version already ran (new run id).")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Start a stage again for the scene's current input version (attaches to that run if it exists)."""
    from bpflow.cli.rerun_cmd import rerun_command

    try:
        raise typer.Exit(rerun_command(workflow, scene=scene, force=force, json_output=json_output))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def logs(
    run_id: Annotated[
        str, typer.Argument(metavar="RUN", help="A run id, or the start of its short id (see `bpflow runs`).")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    tz: TzOption = None,
) -> None:
    """A run's steps and the whole log of every job it launched (exit 1 if the run failed)."""
    from bpflow.cli.logs_cmd import logs_command

    try:
        use_tz(tz)
        raise typer.Exit(logs_command(run_id, json_output=json_output))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def retry(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="A finished run's id, or the start of its short id.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Start a finished run's workflow again with the same input (a new run id)."""
    from bpflow.cli.rerun_cmd import retry_command

    try:
        raise typer.Exit(retry_command(run_id, json_output=json_output))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def cancel(
    run_id: Annotated[
        str, typer.Argument(metavar="RUN", help="A queued or running run's id, or the start of its short id.")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Cancel a queued or running run."""
    from bpflow.cli.rerun_cmd import cancel_command

    try:
        raise typer.Exit(cancel_command(run_id, json_output=json_output))
    except BpflowError as exc:
        _ops_fail(exc, json_output)


@app.command()
def submit(
    prompt: Annotated[
        str | None,
        typer.Argument(
            help='What the scene should contain, e.g. "a kitchen with a fridge, a table and two mugs" (optional with --image).'
        ),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Number of variants (seed_count).")] = 1,
    tier: Annotated[str, typer.Option("--tier", help="Quality tier: standard or premium.")] = "standard",
    backend: Annotated[
        str | None, typer.Option("--backend", help="Text backend (default TEXT_BACKEND_DEFAULT).")
    ] = None,
    scene_id: Annotated[
        str | None, typer.Option("--scene-id", help="Scene id (default: made from the prompt).")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the scene (and its seeds) until it completes (exit 0), fails (1) or --timeout passes (124).",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="With --wait: give up after this many seconds (default 3600)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    image: Annotated[
        Path | None,
        typer.Option(
            "--image",
            help="A room photo (PNG/JPEG): uploaded to scenes/<id>/images/ and submitted as an image request.",
        ),
    ] = None,
) -> None:
    """Submit a scene request (writes scenes/<id>/prompts/scene_request.json; with --image, the photo
    under scenes/<id>/images/ first); prints the scene id last."""
    from bpflow.cli.submit_cmd import submit_command, submit_image_command

    try:
        if image is not None:
            raise typer.Exit(
                submit_image_command(
                    image, prompt, tier=tier, scene_id=scene_id, wait=wait, json_output=json_output, timeout=timeout
                )
            )
        if not prompt:
            raise BpflowError(
                "a prompt is required (or --image PATH for an image request)", code="invalid_arguments", field="prompt"
            )
        raise typer.Exit(
            submit_command(
                prompt,
                seeds=seeds,
                tier=tier,
                backend=backend,
                scene_id=scene_id,
                wait=wait,
                json_output=json_output,
                timeout=timeout,
            )
        )
    except BpflowError as exc:
        fail(exc, as_json=json_output)


@app.command()
def demo(
    prompt: Annotated[
        str, typer.Option(help="The scene request's prompt.")
    ] = "a kitchen with a fridge, a table and two mugs",
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 1800.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (progress goes to stderr).")
    ] = False,
) -> None:
    """Run one text request through every stage this build has, on the embedded default."""
    from bpflow.cli.demo_cmd import demo_command

    try:
        raise typer.Exit(demo_command(prompt=prompt, timeout=timeout, json_output=json_output))
    except BpflowError as exc:
        fail(exc, as_json=json_output)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
