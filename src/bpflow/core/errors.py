"""Typed errors. Every error carries a stable ``code`` so markers, logs and the API can name it.

``retryable`` tells the retry policy whether trying again can help (a flaky launcher) or not
(bad parameters, a job's own logic error).
"""

from __future__ import annotations

from typing import Any


class BpflowError(Exception):
    code: str = "bpflow_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        retryable: bool | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


class ConfigError(BpflowError):
    code = "invalid_config"


class StorageError(BpflowError):
    code = "storage_error"
    retryable = True


class ObjectNotFound(StorageError):
    code = "object_not_found"
    retryable = False


class PreconditionFailed(StorageError):
    """A create-only or compare-and-swap write lost: the object exists / changed meanwhile."""

    code = "precondition_failed"
    retryable = False


class InvalidObjectKey(StorageError):
    code = "invalid_object_key"
    retryable = False


class ObjectOutsideBucket(StorageError):
    """A key of a directory bucket resolves (through a symlink) outside the bucket's root."""

    code = "object_outside_bucket"
    retryable = False


class InvalidSceneId(BpflowError):
    code = "invalid_scene_id"


class ValidationFailed(BpflowError):
    code = "validation_failed"


class JobError(BpflowError):
    code = "job_error"


class JobStartError(JobError):
    """The job could not be launched (runner down, unknown job). Retryable unless told otherwise."""

    code = "job_start_failed"
    retryable = True


class JobFailed(JobError):
    """The job ran and exited non-zero: never re-launched by the retry policy."""

    code = "job_failed"


class JobTimeout(JobError):
    code = "job_timeout"


class MarkerTimeout(BpflowError):
    code = "marker_timeout"


class LockHeld(BpflowError):
    code = "lock_held"


class StageFailed(BpflowError):
    code = "stage_failed"


class WorkflowNotFound(BpflowError):
    code = "workflow_not_found"
