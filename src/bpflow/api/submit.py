"""Submitting a scene request over HTTP (``POST /api/scenes``) or the dashboard's form.

The request is checked exactly as the source orchestrator will check it
(:func:`bpflow.domain.request.contract.validate_request`, with this deployment's settings) before anything is
written, so a bad request is refused on the spot with every problem and its field, and writes
nothing. A valid one is written create-only to ``scenes/<id>/prompts/scene_request.json``: an
existing scene is never overwritten by a submit (a rerun is the way to run it again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpflow.core.errors import BpflowError, PreconditionFailed, ValidationFailed
from bpflow.core.stages import STAGES
from bpflow.domain.request.contract import CODE_INVALID_REQUEST, SCHEMA_VERSION, new_scene_id, validate_request

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime


class RequestRejected(ValidationFailed):
    """Every problem of a request; ``field`` is the first one's."""

    code = CODE_INVALID_REQUEST

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{first['field']}: {first['message']}{more}",
            code=first.get("code") or CODE_INVALID_REQUEST,
            field=first["field"],
            details={"problems": problems},
        )
        self.problems = problems


class SceneExists(BpflowError):
    code = "scene_exists"


@dataclass
class Submitted:
    scene_id: str
    key: str
    generation: int
    request: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"scene_id": self.scene_id, "object": self.key, "generation": self.generation, "request": self.request}


def check_request(rt: Runtime, doc: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The document to write (a missing ``scene_id`` generated from the prompt) and its problems."""
    if not isinstance(doc, dict):
        return {}, [{"field": "$", "message": "the request must be a JSON object", "code": CODE_INVALID_REQUEST}]
    doc = dict(doc)
    if not doc.get("scene_id") and isinstance(doc.get("prompt"), str) and doc["prompt"].strip():
        doc["scene_id"] = new_scene_id(doc["prompt"])
    raw = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    scene_id = doc.get("scene_id")
    problems = validate_request(
        raw, scene_id_from_path=scene_id if isinstance(scene_id, str) else None, settings=rt.settings
    )
    return doc, [p.to_dict() for p in problems]


def submit_request(rt: Runtime, doc: Any, *, form_problems: list[dict[str, str]] | None = None) -> Submitted:
    """Validate and write one request document; raises :class:`RequestRejected` with every
    problem (``form_problems`` first) and writes nothing when there is any."""
    doc, problems = check_request(rt, doc)
    problems = [*(form_problems or []), *problems]
    if problems:
        raise RequestRejected(problems)
    scene_id = str(doc["scene_id"])
    key = STAGES["source-orchestrator"].trigger_key(scene_id)
    try:
        info = rt.bucket.create(
            key, json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", content_type="application/json"
        )
    except PreconditionFailed:
        raise SceneExists(
            f"scene {scene_id} already has a request; rerun its stages instead",
            field="scene_id",
            details={"scene_id": scene_id},
        ) from None
    return Submitted(scene_id=scene_id, key=key, generation=info.generation, request=doc)


#: Form fields of the dashboard's submit page, in display order.
FORM_FIELDS = (
    "scene_id",
    "prompt",
    "source_mode",
    "quality_tier",
    "seed_count",
    "text_backend",
    "provider_policy",
    "image_uri",
    "allow_image_fallback",
)


def request_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The request a form describes, plus problems the form itself makes (a seed count that is
    not a number); blank optional fields are left out so the orchestrator's defaults apply."""
    problems: list[dict[str, str]] = []
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for name in ("scene_id", "prompt", "source_mode", "quality_tier", "text_backend", "provider_policy"):
        value = (form.get(name) or "").strip()
        if value:
            doc[name] = value
    seeds = (form.get("seed_count") or "").strip()
    if seeds:
        try:
            doc["seed_count"] = int(seeds)
        except ValueError:
            problems.append(
                {
                    "field": "seed_count",
                    "message": f"must be a whole number, got {seeds[:40]!r}",
                    "code": CODE_INVALID_REQUEST,
                }
            )
    image = (form.get("image_uri") or "").strip()
    if image:
        doc["image"] = {"gcs_uri": image}
    doc["fallback"] = {"allow_image_fallback": form.get("allow_image_fallback") in ("on", "true", "1")}
    return doc, problems
