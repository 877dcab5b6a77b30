"""Parse CloudEvents delivered over HTTP (what Eventarc or a Pub/Sub push would send).

The envelope is the CloudEvents SDK's business (``cloudevents`` on PyPI): binary mode carries the
attributes in ``ce-*`` headers and the data as the body; structured mode sends one JSON envelope
(``application/cloudevents+json``); batch mode (``application/cloudevents-batch+json``) a list of
envelopes, each read by the SDK's JSON format. On top of it bpflow checks what the SDK cannot
know: a storage "object finalized" event needs an object name, a generation of ASCII digits and,
when it names one, this service's bucket. Any other type is a custom event.

The limits an attacker would probe are refused with a typed error naming the field: a body that
is not JSON (415), JSON nested past :data:`MAX_JSON_DEPTH` (400), a generation such as
``"1_000"``, ``" 7 "``, ``"١٢"`` or 4,300 digits that ``int()`` would accept (400).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_binary, from_structured
from cloudevents.core.exceptions import BaseCloudEventException, CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat

from bpflow.core.contracts.json_limits import MAX_JSON_DEPTH, JsonTooDeep, json_depth, loads_bounded
from bpflow.core.errors import ValidationFailed
from bpflow.core.events.model import OBJECT_FINALIZED, CustomEvent, ObjectEvent

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
JSON = "application/json"

#: A generation is a GCS int64 written as a string: ASCII digits only, at most 20 of them.
GENERATION = re.compile(r"[0-9]{1,20}")

_FORMAT = JSONFormat()


class InvalidCloudEvent(ValidationFailed):
    code = "invalid_cloudevent"


class UnsupportedMediaType(ValidationFailed):
    """The body is not JSON: the service only takes JSON events (HTTP 415)."""

    code = "unsupported_media_type"


def media_type(headers: Mapping[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "").split(";")[0].strip().lower()


def is_json_type(ctype: str) -> bool:
    return ctype in (JSON, STRUCTURED, BATCH) or (ctype.startswith("application/") and ctype.endswith("+json"))


def parse_http(
    headers: Mapping[str, str], body: bytes, *, buckets: Collection[str] | None = None
) -> list[ObjectEvent | CustomEvent]:
    """The events of one delivery. ``buckets``: the names this service's bucket answers to; a
    storage event naming another bucket is refused (None: any)."""
    h = {k.lower(): v for k, v in headers.items()}
    ctype = media_type(h)
    if not is_json_type(ctype):
        raise UnsupportedMediaType(
            f"content-type must be JSON ({STRUCTURED}, {BATCH} or {JSON} with ce-* headers), got {ctype or 'none'!r}",
            field="content-type",
        )
    binary = any(k.startswith("ce-") for k in h)
    if ctype == BATCH:
        envelopes = _json(body)
        if not isinstance(envelopes, list):
            raise InvalidCloudEvent("a batch must be a JSON list of events", field="body")
        for e in envelopes:
            _require(e)
        return [_from_sdk(lambda e=e: _FORMAT.read(None, json.dumps(e).encode()), buckets) for e in envelopes]
    if ctype == STRUCTURED:
        _require(_json(body))  # syntax, depth and required attributes first, with bpflow's errors
        return [_from_sdk(lambda: from_structured(HTTPMessage(headers=h, body=body), _FORMAT), buckets)]
    if binary:
        _require({k[3:]: v for k, v in h.items() if k.startswith("ce-")})
        if body.strip():
            _json(body)
        else:
            body = b"{}"
        return [_from_sdk(lambda: from_binary(HTTPMessage(headers=h, body=body), _FORMAT), buckets)]
    raise InvalidCloudEvent(
        "not a CloudEvent: expected ce-* headers (binary mode) or content-type application/cloudevents+json",
        field="content-type",
    )


#: The attributes every CloudEvent carries; the SDK would invent an ``id`` and a ``specversion``
#: for an envelope without them, which would make a retried delivery look like a new event.
REQUIRED = ("type", "id", "source", "specversion")


def _require(envelope: Any) -> None:
    if not isinstance(envelope, dict):
        raise InvalidCloudEvent("event must be a JSON object", field="event")
    for name in REQUIRED:
        value = envelope.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidCloudEvent(f"missing CloudEvent attribute {name!r}", field=name)


def _json(body: bytes) -> Any:
    try:
        return loads_bounded(body.decode("utf-8"), field="body")
    except JsonTooDeep:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidCloudEvent(f"body is not valid UTF-8 JSON: {exc}", field="body") from None


def _from_sdk(read: Any, buckets: Collection[str] | None) -> ObjectEvent | CustomEvent:
    try:
        event = read()
    except CloudEventValidationError as exc:
        field = next(iter(exc.errors), "event")
        reasons = "; ".join(str(e) for e in exc.errors.get(field, []))
        raise InvalidCloudEvent(f"invalid CloudEvent attribute {field!r}: {reasons}", field=field) from None
    except BaseCloudEventException as exc:
        raise InvalidCloudEvent(
            f"invalid CloudEvent: {exc}", field=str(getattr(exc, "attribute_name", "event"))
        ) from None
    except RecursionError:
        raise JsonTooDeep(f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)", field="body") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidCloudEvent(f"invalid CloudEvent: {exc}", field="event") from None
    attrs = event.get_attributes()
    return _to_bpflow(attrs, event.get_data(), buckets)


def _to_bpflow(attrs: Mapping[str, Any], data: Any, buckets: Collection[str] | None) -> ObjectEvent | CustomEvent:
    if data is None:
        data = {}
    if isinstance(data, (bytes, str)):
        data = _json(data.encode("utf-8") if isinstance(data, str) else data)
    if not isinstance(data, dict):
        raise InvalidCloudEvent("event data must be a JSON object", field="data")
    if json_depth(data) > MAX_JSON_DEPTH:
        raise JsonTooDeep(f"event data nested too deeply (more than {MAX_JSON_DEPTH} levels)", field="data")
    etype = str(attrs.get("type") or "")
    if etype == OBJECT_FINALIZED:
        return _object_event(attrs, data, buckets)
    return CustomEvent(type=etype, id=str(attrs["id"]), data=data, source="http")


def parse_generation(raw: Any) -> int:
    """A storage generation: an int, or a string of 1-20 ASCII digits (nothing ``int()`` alone
    would also take: signs, spaces, underscores, other scripts' digits, thousands of digits)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 10**20:
        return raw
    if isinstance(raw, str) and GENERATION.fullmatch(raw):
        return int(raw)
    shown = raw if not isinstance(raw, str) or len(raw) <= 40 else raw[:40] + "…"
    raise InvalidCloudEvent(f"data.generation must be 1 to 20 ASCII digits, got {shown!r}", field="data.generation")


def _object_event(attrs: Mapping[str, Any], data: dict[str, Any], buckets: Collection[str] | None) -> ObjectEvent:
    name = data.get("name")
    subject = attrs.get("subject")
    if not name and isinstance(subject, str) and subject.startswith("objects/"):
        name = subject[len("objects/") :]
    if not isinstance(name, str) or not name:
        raise InvalidCloudEvent("storage event without an object name (data.name or subject)", field="data.name")
    generation = parse_generation(data.get("generation"))
    source = str(attrs.get("source") or "")
    bucket = data.get("bucket")
    field = "data.bucket"
    if not bucket and "/buckets/" in source:
        bucket, field = source.rsplit("/buckets/", 1)[1], "source"
    if bucket is not None and not isinstance(bucket, str):
        raise InvalidCloudEvent("data.bucket must be a string", field="data.bucket")
    if bucket and buckets is not None and bucket not in buckets:
        raise InvalidCloudEvent(
            f"event for bucket {bucket!r}, but this service serves {', '.join(sorted(buckets))}", field=field
        )
    return ObjectEvent(bucket=str(bucket or ""), name=name, generation=generation, source="http")
