"""Copy one queue item's asset files to the replication target, checksums verified.

Verification is real (the reference only checked that the upload call returned): the SHA-256
of the bytes read from the primary bucket is compared with the SHA-256 of the object read back
from the target, and the sizes must agree. Every path is checked before anything is copied,
so an item naming a file outside a scene's ``assets/`` copies nothing at all.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bpflow.core.errors import ObjectNotFound
from bpflow.core.storage import Bucket
from bpflow.domain.assets_queue.paths import asset_path_error, target_key_error


def _files(body: dict[str, Any]) -> tuple[list[tuple[str, str]], int, list[str]]:
    """(path, target key) pairs to copy, entries skipped, and refusals (bad paths)."""
    assets = body.get("assets")
    if not isinstance(assets, list):
        return [], 0, ["invalid_assets_payload"]
    pairs: list[tuple[str, str]] = []
    skipped = 0
    errors: list[str] = []
    for asset in assets:
        if not isinstance(asset, dict):
            errors.append("invalid_asset_entry")
            continue
        files = asset.get("files")
        if not isinstance(files, list):
            continue
        for entry in files:
            if not isinstance(entry, dict):
                continue
            path = str(entry.get("path") or "").strip()
            target = str(entry.get("target_key") or "").strip() or path
            if not path or not target:
                skipped += 1
                continue
            bad = asset_path_error(path) or target_key_error(target)
            if bad:
                errors.append(f"{bad}:{path}")
                continue
            pairs.append((path, target))
    return pairs, skipped, errors


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def replicate_item(
    body: dict[str, Any], *, source: Bucket, target: Bucket, target_url: str, dry_run: bool
) -> dict[str, Any]:
    """Process one queue item; the ``result`` of the reference's result object, plus checksums."""
    pairs, skipped, errors = _files(body)
    uploaded = 0
    verified: list[dict[str, Any]] = []
    if errors:  # refuse the whole item: a malformed item must not half-copy
        return {"uploaded": 0, "verified": 0, "skipped": skipped, "errors": errors, "files": []}
    for path, key in pairs:
        try:
            data = source.read(path)
        except ObjectNotFound:
            errors.append(f"missing_file:{path}")
            continue
        digest = sha256(data)
        if dry_run:
            uploaded += 1
            continue
        try:
            target.write(key, data)
            back = target.read(key)
        except Exception as exc:  # noqa: BLE001 - one failed upload must not stop the others
            errors.append(f"upload_failed:{path}:{exc}")
            continue
        uploaded += 1
        if len(back) != len(data) or sha256(back) != digest:
            errors.append(f"checksum_mismatch:{path}")
            continue
        verified.append({"path": path, "target_key": key, "sha256": digest, "size_bytes": len(data)})
    return {
        "uploaded": uploaded,
        "verified": len(verified),
        "skipped": skipped,
        "errors": errors,
        "files": verified,
        "target": target_url,
    }
