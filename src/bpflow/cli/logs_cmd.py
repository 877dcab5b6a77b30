"""``bpflow logs RUN``: a run's steps, then the whole output of each job it launched."""

from __future__ import annotations

from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bpflow.cli.consoles import console, print_json
from bpflow.core.errors import BpflowError
from bpflow.ops import fmt
from bpflow.ops.run_logs import run_logs
from bpflow.ops.session import open_session


def logs_command(run_id: str, *, json_output: bool) -> int:
    with open_session() as session:
        if session.reader is None:
            raise BpflowError(
                "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
            )
        data = run_logs(session.rt, session.reader.resolve(run_id))
    run = data["run"]
    failed = run["state"] in ("failed", "cancelled")
    if json_output:
        print_json(data)
        return 1 if failed else 0
    head = Text.assemble(
        (run["run_id"], "bold"),
        "  ",
        (run["short_id"], "dim"),
        "  ",
        (f"{fmt.symbol(run['state'])} {run['state']}", fmt.style(run["state"])),
    )
    console.print(head)
    if run.get("message"):
        console.print(Text(run["message"], style="red" if failed else ""))
    steps = Table(header_style="bold")
    for col in ("#", "step", "started", "duration", "error"):
        steps.add_column(col, overflow="fold")
    for s in data["steps"]:
        steps.add_row(
            str(s["step_id"]),
            s["name"],
            fmt.timestamp(s["started_at"]),
            fmt.duration(s["duration_seconds"]),
            Text(s["error"] or "", style="red"),
        )
    console.print(steps)
    for job in data["jobs"]:
        outcome = (
            "timed out"
            if job["timed_out"]
            else (f"exit {job['exit_code']}" if job["exit_code"] is not None else "did not start")
        )
        console.print(Rule(f"{job['job']} attempt {job['attempt']} · {job['execution_id'] or '-'} · {outcome}"))
        if job["start_error"]:
            console.print(Text(f"{job['start_error'].get('code')}: {job['start_error'].get('message')}", style="red"))
        if job["log_available"]:
            if job["log_truncated"]:
                console.print(Text("(log cut to its last part)", style="yellow"))
            console.out(job["log"], end="" if job["log"].endswith("\n") else "\n", highlight=False)
        elif job["execution_id"]:
            console.print(Text("log not on this machine (jobs keep their logs where they ran)", style="yellow"))
    return 1 if failed else 0
