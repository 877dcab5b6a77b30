"""``POST /events``: one CloudEvents delivery → dispatched runs, or a reason nothing started.

An event whose object (or type) no trigger matches is answered 202 with ``{"ignored": reason}``:
it is not an error Eventarc should retry, and it starts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpflow.core import observe
from bpflow.core.errors import BpflowError
from bpflow.core.events.cloudevents import UnsupportedMediaType, parse_http
from bpflow.core.events.model import ObjectEvent
from bpflow.domain.request.contract import bucket_names

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime


def deliver(rt: Runtime, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) of one delivery. Blocking (the dispatcher enqueues in the
    database): call it off the event loop."""
    try:
        parsed = parse_http(headers, body, buckets=bucket_names(rt.bucket.url))
    except BpflowError as exc:
        observe.EVENTS_RECEIVED.labels("http").inc()
        observe.EVENTS.labels("http", "rejected").inc()
        return (415 if isinstance(exc, UnsupportedMediaType) else 400), {"error": exc.to_dict()}
    results = []
    for ev in parsed:
        if isinstance(ev, ObjectEvent):
            entry: dict[str, Any] = {"type": "object", "name": ev.name}
            if not rt.triggers.match_object(ev.name, env=rt.env):
                entry["ignored"] = f"no trigger matches object {ev.name!r}"
            entry.update(rt.dispatcher.dispatch_object(ev).to_dict())
        else:
            entry = {"type": ev.type, "id": ev.id}
            if not rt.triggers.match_event_type(ev.type, env=rt.env):
                entry["ignored"] = f"no trigger handles event type {ev.type!r}"
            entry.update(rt.dispatcher.dispatch_custom(ev).to_dict())
        results.append(entry)
    answer: dict[str, Any] = {"events": results}
    if results and all("ignored" in r for r in results):
        answer["ignored"] = "; ".join(r["ignored"] for r in results)
    return 202, answer
