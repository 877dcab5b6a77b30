"""Which object paths a queue item may name: only files under a scene's ``assets/`` folder.

A queue object is data anyone who can write the bucket can drop, so the consumer never trusts
the paths in it: a replication item naming ``scenes/x/usd/scene.usda`` or ``../secrets`` would
otherwise copy (or record) something that is not a library asset.
"""

from __future__ import annotations

from bpflow.core.errors import InvalidObjectKey, InvalidSceneId
from bpflow.core.storage.base import check_key
from bpflow.core.triggers import validate_scene_id


def asset_path_error(path: object) -> str | None:
    """None when ``path`` is ``scenes/<valid id>/assets/<...>``; else the reason it is refused."""
    if not isinstance(path, str) or not path.strip():
        return "empty_path"
    try:
        check_key(path)
    except InvalidObjectKey:
        return "invalid_path"
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != "scenes" or parts[2] != "assets":
        return "path_outside_assets"
    try:
        validate_scene_id(parts[1])
    except InvalidSceneId:
        return "invalid_scene_id"
    return None


def target_key_error(key: object) -> str | None:
    """A replication target key only has to be a well-formed object key (no ``..``, no ``/``)."""
    if not isinstance(key, str) or not key.strip():
        return "empty_target_key"
    try:
        check_key(key)
    except InvalidObjectKey:
        return "invalid_target_key"
    return None
