"""Parse CloudEvents delivered over HTTP (what Eventarc or a Pub/Sub push would send).

Binary mode carries the attributes in ``ce-*`` headers and the data as the body; structured mode
sends one JSON envelope (``application/cloudevents+json``); batch mode a list of envelopes.
Storage "object finalized" events become ObjectEvents; any other type is a custom event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bpflow.errors import ValidationFailed
from bpflow.events.model import OBJECT_FINALIZED, CustomEvent, ObjectEvent

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


class InvalidCloudEvent(ValidationFailed):
    code = "invalid_cloudevent"


def parse_http(headers: Mapping[str, str], body: bytes) -> list[ObjectEvent | CustomEvent]:
    h = {k.lower(): v for k, v in headers.items()}
    ctype = h.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == BATCH:
            envelopes = _json(body)
            if not isinstance(envelopes, list):
                raise InvalidCloudEvent("a batch must be a JSON list of events", field="body")
            return [_from_envelope(e) for e in envelopes]
        if ctype == STRUCTURED:
            return [_from_envelope(_json(body))]
        if "ce-type" in h:
            attrs = {k[3:]: v for k, v in h.items() if k.startswith("ce-")}
            attrs["data"] = _json(body) if body.strip() else {}
            return [_from_envelope(attrs)]
    except InvalidCloudEvent:
        raise
    raise InvalidCloudEvent("not a CloudEvent: expected ce-* headers (binary mode) or content-type application/cloudevents+json", field="content-type")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidCloudEvent(f"body is not valid UTF-8 JSON: {exc}", field="body") from None


def _from_envelope(env: Any) -> ObjectEvent | CustomEvent:
    if not isinstance(env, dict):
        raise InvalidCloudEvent("event must be a JSON object", field="event")
    etype = env.get("type")
    if not isinstance(etype, str) or not etype:
        raise InvalidCloudEvent("missing event type", field="type")
    data = env.get("data") if env.get("data") is not None else {}
    if isinstance(data, str):
        data = _json(data.encode("utf-8"))
    if not isinstance(data, dict):
        raise InvalidCloudEvent("event data must be a JSON object", field="data")
    source = str(env.get("source") or "http")
    if etype == OBJECT_FINALIZED:
        return _object_event(env, data, source)
    event_id = env.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidCloudEvent("missing event id", field="id")
    return CustomEvent(type=etype, id=event_id, data=data, source="http")


def _object_event(env: dict[str, Any], data: dict[str, Any], source: str) -> ObjectEvent:
    name = data.get("name")
    subject = env.get("subject")
    if not name and isinstance(subject, str) and subject.startswith("objects/"):
        name = subject[len("objects/"):]
    if not isinstance(name, str) or not name:
        raise InvalidCloudEvent("storage event without an object name (data.name or subject)", field="data.name")
    gen_raw = data.get("generation")
    try:
        generation = int(str(gen_raw))
    except (TypeError, ValueError):
        raise InvalidCloudEvent(f"data.generation must be an integer, got {gen_raw!r}", field="data.generation") from None
    if generation < 0:
        raise InvalidCloudEvent("data.generation must not be negative", field="data.generation")
    bucket = data.get("bucket")
    if not bucket and "/buckets/" in source:
        bucket = source.rsplit("/buckets/", 1)[1]
    return ObjectEvent(bucket=str(bucket or ""), name=name, generation=generation, source="http")
