"""Canary releases of the Genie Sim image: who gets the canary, and the rollback switch.

A scene is assigned by tag, by an explicit allowlist, or by a percentage of a *stable* hash of
its id (SHA-256, mod 100), so the same scene lands in the same group on every run and every
machine, and raising the percentage only ever adds scenes. The reasons are reported even when
canaries are disabled, so an operator can see what enabling them would do.

A rollback marker (written when a canary run fails, or by an operator) stops every further
export of that scene, canary or not, until someone deletes it: a scene that broke on the new
image should not be retried blindly on either image.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bpflow.core.config import Settings, get_settings
from bpflow.core.errors import ConfigError, InvalidObjectKey, StorageError
from bpflow.core.storage.base import Bucket
from bpflow.state.cas_json import scene_key

log = logging.getLogger("bpflow.canary")

DEFAULT_RELEASE_CHANNEL = "stable"
DEFAULT_CANARY_IMAGE_TAG = "isaacsim-canary"
DEFAULT_STABLE_IMAGE_TAG = "isaacsim"

TagSource = str | Iterable[Any] | None


def canary_bucket(scene_id: str) -> int:
    """0..99, the same for a scene id everywhere and forever."""
    return int(hashlib.sha256(scene_id.encode("utf-8")).hexdigest(), 16) % 100


def _items(source: TagSource) -> list[str]:
    """A comma string or a list (manifests use both), items trimmed, blanks dropped."""
    if source is None:
        return []
    raw = source.split(",") if isinstance(source, str) else source
    return [s for s in (str(item).strip() for item in raw) if s]


def normalize_tags(*sources: TagSource) -> list[str]:
    """Sorted, de-duplicated union of tag lists or comma strings."""
    tags: set[str] = set()
    for source in sources:
        tags.update(_items(source))
    return sorted(tags)


def _check_percent(percent: int) -> int:
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ConfigError(f"canary percent must be an integer 0..100, got {percent!r}", field="canary_percent")
    return percent


def assign(
    scene_id: str,
    *,
    enabled: bool,
    percent: int,
    tags: TagSource = (),
    scene_tags: TagSource = (),
    scene_ids: TagSource = (),
) -> dict[str, Any]:
    """The assignment record (as stored in job.json ``canary``): reasons in a fixed order,
    ``tag_match``, ``scene_id_allowlist``, ``percentage_rollout``."""
    percent = _check_percent(percent)
    normalized_scene_tags = normalize_tags(scene_tags)
    matched = sorted(set(normalized_scene_tags) & set(_items(tags)))
    reasons: list[str] = []
    if matched:
        reasons.append("tag_match")
    if scene_id in _items(scene_ids):
        reasons.append("scene_id_allowlist")
    if percent > 0 and canary_bucket(scene_id) < percent:
        reasons.append("percentage_rollout")
    return {
        "enabled": bool(enabled),
        "is_canary": bool(enabled) and bool(reasons),
        "matched_tags": matched,
        "match_reasons": reasons,
        "assignment_percent": percent,
        "scene_tags": normalized_scene_tags,
        "scene_id": scene_id,
    }


def rollback_marker_key(scene_id: str) -> str:
    return scene_key(scene_id, "geniesim", ".canary_rollback")


@dataclass(frozen=True)
class CanaryConfig:
    """The canary settings: given, or from the process settings."""

    enabled: bool = False
    percent: int = 0
    tags: tuple[str, ...] = ()
    scene_ids: tuple[str, ...] = ()
    release_channel: str = DEFAULT_RELEASE_CHANNEL
    canary_image_tag: str = DEFAULT_CANARY_IMAGE_TAG
    stable_image_tag: str = DEFAULT_STABLE_IMAGE_TAG

    def __post_init__(self) -> None:
        _check_percent(self.percent)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CanaryConfig:
        """From ``CANARY_*`` and ``GENIESIM_*IMAGE_TAG`` (parsed by ``bpflow.core.config``)."""
        s = settings or get_settings()
        return cls(
            enabled=s.canary_enabled,
            percent=s.canary_percent,
            tags=tuple(s.canary_tags),
            scene_ids=tuple(s.canary_scene_ids),
            release_channel=s.canary_release_channel,
            canary_image_tag=s.geniesim_canary_image_tag,
            stable_image_tag=s.geniesim_image_tag,
        )

    def assign(self, scene_id: str, scene_tags: TagSource = ()) -> dict[str, Any]:
        return assign(
            scene_id,
            enabled=self.enabled,
            percent=self.percent,
            tags=self.tags,
            scene_tags=scene_tags,
            scene_ids=self.scene_ids,
        )


@dataclass(frozen=True)
class CanaryRoute:
    """What the export workflow does: ``skip`` (rollback marker present) or run ``image_tag``."""

    skip: bool
    canary_enabled: bool
    image_tag: str
    release_channel: str
    rollback_marker: str
    message: str


def route(
    bucket: Bucket,
    scene_id: str,
    *,
    canary_enabled: bool,
    rollback_marker: str | None = None,
    config: CanaryConfig | None = None,
) -> CanaryRoute:
    """Pick the image from ``canary_enabled`` (decided upstream, e.g. by the canary pipeline)
    and honour the rollback marker. A marker that cannot be checked (storage trouble) does not
    block: the check is a brake for known-bad scenes, not a gate every run must pass."""
    config = config or CanaryConfig.from_settings()
    marker = rollback_marker or rollback_marker_key(scene_id)
    image_tag = config.canary_image_tag if canary_enabled else config.stable_image_tag
    # The staging validation greps these key=value pairs from the logs.
    log.info(
        "Genie Sim routing for scene %s: canary_enabled=%s image_tag=%s canary_percent=%s rollback_marker=%s",
        scene_id,
        str(bool(canary_enabled)).lower(),
        image_tag,
        config.percent,
        marker,
    )
    present = _marker_present(bucket, marker)
    message = f"Rollback marker present at {marker}. Skipping Genie Sim export." if present else ""
    if present:
        log.warning(message)
    return CanaryRoute(present, bool(canary_enabled), image_tag, config.release_channel, marker, message)


def _marker_present(bucket: Bucket, key: str) -> bool:
    try:
        return bucket.exists(key)
    except InvalidObjectKey:
        raise
    except StorageError as exc:
        log.warning("cannot check rollback marker %s (%s); continuing", key, exc)
        return False
