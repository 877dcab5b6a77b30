"""Which scenes belong together: a multi-seed request (the parent) and its seed scenes.

A request with ``seed_count > 1`` runs as child scenes ``<parent>-s001`` ... (``source.fanout``).
Nothing in a child's own objects names its parent except its id, so the link is read from the
bucket both ways: the parent's request says how many seeds it has, and a child's id names the
parent whose request must exist and reach that seed. Every view (status, API, CLI, dashboard)
asks this module, so they agree on who is whose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bpflow.core.contracts.json_limits import JsonTooDeep, loads_bounded
from bpflow.core.errors import BpflowError
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket, ObjectInfo
from bpflow.core.storage.base import Listed
from bpflow.domain.request.contract import child_scene_id
from bpflow.workflows._orchestrator.fanout import CHILD_REQUEST

#: A scene's own request (the orchestrator's trigger), scene-relative, from the stage model.
REQUEST_REL = STAGES["source-orchestrator"].trigger_object
_CHILD_ID = re.compile(r"^(?P<parent>.+)-s(?P<seed>\d{3})$")
#: Requests are small JSON documents; a bigger object is not read to learn its seed count.
_MAX_REQUEST_BYTES = 256 * 1024


@dataclass(frozen=True)
class Lineage:
    """A scene's place in a multi-seed request: its parent (a seed scene) or its seeds (a parent)."""

    scene_id: str
    parent: str | None = None
    seed: int | None = None
    children: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_parent(self) -> bool:
        return bool(self.children)

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "seed": self.seed, "children": list(self.children)}


def seed_count(
    bucket: Bucket, scene_id: str, *, listed: Listed | None = None, known_missing: bool = False
) -> int | None:
    """The ``seed_count`` of ``scenes/<id>/prompts/scene_request.json``, None when it cannot say.
    A page of summaries passes what its listing says (the entry, or that there is none): no stat."""
    if known_missing:
        return None
    try:
        info: ObjectInfo | Listed | None = (
            listed if listed is not None else bucket.stat(STAGES["source-orchestrator"].trigger_key(scene_id))
        )
        if info is None or info.size > _MAX_REQUEST_BYTES:
            return None
        doc = loads_bounded(bucket.read(info.key))
    except (BpflowError, ValueError, JsonTooDeep):
        return None
    value = doc.get("seed_count") if isinstance(doc, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def parent_of(bucket: Bucket, scene_id: str) -> tuple[str, int] | None:
    """(parent id, seed) when ``scene_id`` is a seed of a multi-seed request in this bucket."""
    m = _CHILD_ID.match(scene_id)
    if m is None:
        return None
    parent, seed = m.group("parent"), int(m.group("seed"))
    count = seed_count(bucket, parent)
    if count is not None and count > 1 and 1 <= seed <= count:
        return parent, seed
    # The parent's request may be gone (retention) while the child's generated request remains.
    if seed >= 1 and bucket.stat(f"scenes/{scene_id}/{CHILD_REQUEST}") is not None:
        return parent, seed
    return None


def lineage(
    bucket: Bucket, scene_id: str, *, listing: Mapping[str, Listed] | None = None, root: str | None = None
) -> Lineage:
    """``listing``: the scene's markers as a page of summaries listed them (keyed by the
    scene-relative path, ``root`` being the request's), so a scene without a request costs nothing."""
    rel = root or REQUEST_REL
    if listing is not None:
        count = seed_count(bucket, scene_id, listed=listing.get(rel), known_missing=rel not in listing)
    else:
        count = seed_count(bucket, scene_id)
    if count is not None and count > 1:
        return Lineage(scene_id, children=tuple(child_scene_id(scene_id, i) for i in range(1, count + 1)))
    found = parent_of(bucket, scene_id)
    if found is not None:
        return Lineage(scene_id, parent=found[0], seed=found[1])
    return Lineage(scene_id)
