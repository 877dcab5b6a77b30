"""Typed failures of the source entry points (text Stage 1, image path, seed fan-out).

Each carries a stable ``code`` (what markers and dashboards show) and, where a setting or a
request field is to blame, that ``field``, so an operator reads what to fix instead of a
traceback. ``transient`` is the reference's runtime tag: only a transient Stage-1 failure on a
remote runtime may fall back to Cloud Run.
"""

from __future__ import annotations

from typing import Any

from bpflow.core.errors import BpflowError


class SourceError(BpflowError):
    """Base of the source orchestrator's own failures; ``stage`` is the reference's failed_stage."""

    code = "source_error"
    stage = "text_source_generation"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        stage: str | None = None,
        transient: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, field=field, details=details)
        if stage is not None:
            self.stage = stage
        self.transient = transient

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["stage"] = self.stage
        return out


class Stage1RuntimeUnavailable(SourceError):
    """The selected Stage-1 runtime cannot run here (no runner for it, a missing key)."""

    code = "stage1_runtime_unavailable"


class Stage1Failed(SourceError):
    """A Stage-1 job ran and failed, or its outputs broke their contracts."""

    code = "stage1_failed"


class StageFailedForSeed(SourceError):
    """A downstream stage (2-5) failed for one child scene."""

    code = "downstream_stage_failed"


class ImageReconstructionUnavailable(SourceError):
    """No image reconstructor is configured in this deployment."""

    code = "image_reconstruction_unavailable"
    stage = "reconstruction"


class ImageReconstructionFailed(SourceError):
    """The configured reconstructor ran and could not produce a valid bundle."""

    code = "image_reconstruction_failed"
    stage = "reconstruction"


def as_source_error(exc: BpflowError, *, stage: str | None = None) -> SourceError:
    """Any typed bpflow failure met on the way (a storage error, a bad runner setting) as a
    SourceError, so it ends in a failure marker like the failures the orchestrator expects."""
    if isinstance(exc, SourceError):
        return exc
    return SourceError(exc.message, code=exc.code, field=exc.field, stage=stage, transient=False, details=exc.details)
