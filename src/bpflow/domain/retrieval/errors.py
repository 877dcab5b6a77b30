"""The adapter's typed errors: each names the input field at fault and a stable code."""

from __future__ import annotations

from bpflow.core.errors import BpflowError, ValidationFailed


class InvalidTextPackage(ValidationFailed):
    """``textgen/package.json`` (or the request beside it) is not something Stage 1 can adapt."""

    code = "invalid_text_package"


class MissingStageInput(BpflowError):
    """An input object the adapter must read does not exist (Stage 1 planning did not run)."""

    code = "missing_stage1_input"


class EmbedderUnavailable(BpflowError):
    """The configured embedding backend cannot run here; ANN attempts record this as their error."""

    code = "embedding_backend_unavailable"


class AssetUnusable(BpflowError):
    """A retrieved asset does not compose into geometry (dangling reference, empty stage)."""

    code = "retrieved_asset_unusable"
