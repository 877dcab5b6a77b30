"""Typed failures of Stage 1 text generation, each with a stable ``code`` for markers and logs."""

from __future__ import annotations

from bpflow.core.errors import BpflowError


class TextgenInputError(BpflowError):
    """The request (or a job parameter derived from it) cannot be planned: the caller's mistake."""

    code = "invalid_scene_request"


class RequestNotFound(BpflowError):
    code = "scene_request_not_found"


class QualityGateFailed(BpflowError):
    """The generated scene missed a quality threshold, after the one retry the tier allows."""

    code = "text_quality_gate_failed"


class PlacementFailed(BpflowError):
    """Not even the room's first object fits (a room smaller than anything in it)."""

    code = "text_placement_failed"
