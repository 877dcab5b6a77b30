"""Reading and checking the request object, as one durable step with a plain-data result.

The request is decoded and validated inside the step, so a replay never needs the raw bytes
(up to 256 KiB, or garbage) and the workflow branches on recorded values only. A bad request
comes back as the first problem (code, field, stage, message) and never raises: whatever a user
writes into ``prompts/``, the run ends in a failure marker, not a crashed worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.core.engine.durable import step
from bpflow.core.errors import ObjectNotFound
from bpflow.core.stages import STAGES
from bpflow.domain.request.contract import RequestInvalid, parse_request

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

REQUEST_TRIGGER = STAGES["source-orchestrator"].trigger_re


def is_request_trigger(object_name: str | None) -> bool:
    """The in-workflow filter of §2.1: only a scene's own ``prompts/scene_request.json``."""
    return bool(object_name and REQUEST_TRIGGER.fullmatch(object_name))


@dataclass(frozen=True)
class Intake:
    """What the request step found: the normalized request, or the reason it is unusable."""

    digest: str
    request: dict[str, Any] | None
    image: dict[str, Any] | None
    error: dict[str, Any] | None
    missing: bool = False
    superseded_by: int | None = None

    @property
    def source_mode(self) -> str:
        """The request's mode, or the reference's placeholder before parsing succeeded."""
        return str((self.request or {}).get("source_mode") or "unknown")

    @property
    def text_backend(self) -> str:
        return str((self.request or {}).get("text_backend") or "scenesmith")

    @property
    def image_usable(self) -> bool:
        return bool(self.image and self.image.get("usable"))


def _read_and_check(run: Run) -> dict[str, Any]:

    key = run.object_name or ""
    try:
        raw, info = run.bucket.read_with_info(key)
    except ObjectNotFound:
        return {"digest": "", "request": None, "image": None, "error": None, "missing": True}
    if run.object_generation is not None and info.generation != run.object_generation:
        # Rewritten since the run started: these bytes are another version's, not this run's.
        return {
            "digest": "",
            "request": None,
            "image": None,
            "error": None,
            "missing": True,
            "superseded_by": info.generation,
        }
    digest = hashlib.sha256(raw).hexdigest()[:20]
    try:
        req = parse_request(
            raw, scene_id_from_path=run.scene_id, settings=run.settings, request_generation=run.generation
        )
    except RequestInvalid as exc:
        error = {
            "code": exc.code,
            "field": exc.field,
            "stage": exc.stage,
            "message": exc.message,
            "problems": exc.details.get("problems", []),
        }
        return {"digest": digest, "request": None, "image": None, "error": error}
    image = None
    if req.image is not None:
        image = {
            "gcs_uri": req.image.gcs_uri,
            "generation": req.image.generation,
            "object_name": req.image.object_name,
            "usable": req.image.usable,
        }
    return {"digest": digest, "request": req.to_dict(), "image": image, "error": None}


def read_request(run: Run) -> Intake:
    return Intake(**step(f"read and validate {run.object_name}", _read_and_check, run))
