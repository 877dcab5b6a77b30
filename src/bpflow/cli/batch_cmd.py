"""``bpflow batch start MANIFEST_OBJECT`` / ``bpflow batch status BATCH_ID``: scene batches."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from bpflow.cli.consoles import console, print_json
from bpflow.core.errors import BpflowError
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.automation.batch import BatchPaths, batch_id_for
from bpflow.ops.session import open_session


def batch_start(manifest: str, *, max_concurrent: int | None, retry_attempts: int | None, json_output: bool) -> int:
    payload: dict[str, Any] = {"manifest_object": manifest}
    if max_concurrent:
        payload["max_concurrent"] = max_concurrent
    if retry_attempts:
        payload["retry_attempts"] = retry_attempts
    with open_session() as session:
        if session.reader is None:
            raise BpflowError(
                "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
            )
        out = session.rt.dispatcher.start_manual("scene-batch", payload)
    result = {
        "batch_id": batch_id_for(manifest),
        "run_ids": out.run_ids,
        "report_object": BatchPaths(batch_id_for(manifest)).report,
    }
    if json_output:
        print_json(result)
    else:
        console.print(
            f"batch {result['batch_id']} started (run {', '.join(out.run_ids)}); follow it with `bpflow batch status {result['batch_id']}`"
        )
    return 0


def batch_status(batch_id: str, *, json_output: bool) -> int:
    validate_scene_id(batch_id)  # same character rules as a scene id
    with open_session() as session:
        report = session.rt.bucket.read_json_or_none(BatchPaths(batch_id).report)
    if report is None:
        raise BpflowError(
            f"no report for batch {batch_id} yet (batches/{batch_id}/batch_report.json)",
            code="batch_not_found",
            field="batch_id",
        )
    if json_output:
        print_json(report)
        return 0 if report.get("failed", 0) == 0 else 1
    table = Table(
        title=f"batch {batch_id}: {report['status']} · {report['success']}/{report['total']} succeeded, {report['failed']} failed",
        title_justify="left",
        header_style="bold",
    )
    for col in ("#", "scene", "status", "attempts", "duration", "error"):
        table.add_column(col, overflow="fold")
    for r in report.get("scene_reports", []):
        error = r.get("error") or "; ".join(f"{p['field']}: {p['message']}" for p in r.get("problems") or [])
        duration = f"{r['duration_seconds']:.1f} s" if r.get("duration_seconds") is not None else ""
        table.add_row(
            str(r["index"]), r.get("scene_id") or "-", r["status"], str(r.get("attempts") or 0), duration, error or ""
        )
    console.print(table)
    if report.get("error"):
        console.print(f"[red]error[/red]: {report['error']}")
    return 0 if report.get("failed", 0) == 0 and not report.get("error") else 1
