"""``bpflow emit`` and ``bpflow scan``: hand work to the running workers through the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bpflow.cli.consoles import console, print_json
from bpflow.core.engine.runtime import Runtime
from bpflow.core.errors import ValidationFailed
from bpflow.core.events.model import OBJECT_FINALIZED, CustomEvent, ObjectEvent
from bpflow.core.storage import Bucket
from bpflow.core.triggers import TriggerMap


def _parse_data(data: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise ValidationFailed(f"--data is not valid JSON: {exc}", field="data") from None
    if not isinstance(obj, dict):
        raise ValidationFailed("--data must be a JSON object", field="data")
    return obj


def emit_command(event_type: str, data: str, *, event_id: str | None, workflow: str | None, json_output: bool) -> int:
    payload = _parse_data(data)
    rt = Runtime().launch(role="client")
    try:
        if workflow is not None:
            out = rt.dispatcher.start_manual(
                workflow,
                {"type": event_type, "data": payload, **payload},
                run_id=None if event_id is None else f"{workflow}:manual:{event_id}",
            )
        elif event_type == OBJECT_FINALIZED:
            try:
                generation = int(str(payload.get("generation", "")))
            except ValueError:
                raise ValidationFailed("data.generation must be an integer", field="data.generation") from None
            name = payload.get("name")
            if not isinstance(name, str) or not name:
                raise ValidationFailed("data.name is required for a storage event", field="data.name")
            out = rt.dispatcher.dispatch_object(
                ObjectEvent(bucket=str(payload.get("bucket", "")), name=name, generation=generation, source="cli")
            )
        else:
            out = rt.dispatcher.dispatch_custom(
                CustomEvent(type=event_type, id=event_id or uuid.uuid4().hex, data=payload, source="cli")
            )
    finally:
        rt.shutdown()
    result = out.to_dict()
    if json_output:
        print_json(result)
    else:
        for rid in result["run_ids"]:
            console.print(f"started {rid}")
        for wf in result["not_implemented"]:
            console.print(f"[yellow]{wf} matched but is not implemented in this build[/yellow]")
        if not result["run_ids"] and not result["not_implemented"]:
            console.print("no workflow is triggered by this event")
    return 0 if result["run_ids"] or not result["not_implemented"] else 1


class _DispatchNow:
    """The client runtime as a scan source whose ``submit`` dispatches each object at once: a
    client has no worker loop to drain a submission queue before it shuts down."""

    def __init__(self, rt: Runtime) -> None:
        self.bucket: Bucket = rt.bucket
        self.triggers: TriggerMap = rt.triggers
        self.scan_lookback_seconds: float = rt.scan_lookback_seconds
        self._env: Mapping[str, str] = rt.env
        self._dispatch = rt.dispatcher.dispatch_object

    @property
    def env(self) -> Mapping[str, str]:
        return self._env

    @property
    def submit(self) -> Callable[[ObjectEvent], Any]:
        return self._dispatch


def scan_command(lookback: float | None, *, json_output: bool) -> int:
    from bpflow.core.events.scan import scan_once

    rt = Runtime().launch(role="client")
    try:
        n = scan_once(_DispatchNow(rt), lookback)
    finally:
        rt.shutdown()
    if json_output:
        print_json({"dispatched": n})
    else:
        console.print(f"reconciliation scan dispatched {n} trigger objects")
    return 0
