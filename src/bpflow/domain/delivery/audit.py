"""Checksum audit of delivered bundles (maintenance spec §1.2).

A bundle is the folder of a ``checksums.json`` under the delivery prefix (a trailing ``meta/``
folder is not part of the bundle). Its manifest maps each file (relative to the bundle) to
``{sha256, size_bytes?}`` or a bare sha; every file is re-read and re-hashed. An optional
``signature`` ``{alg: HMAC-SHA256, value}`` covers the manifest without the signature, as
compact sorted-key JSON; with ``require_signature`` a missing signature fails the bundle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import posixpath
from dataclasses import dataclass
from typing import Any

from bpflow.core.errors import ObjectNotFound
from bpflow.core.storage import Bucket
from bpflow.core.storage.base import check_key


@dataclass(frozen=True)
class AuditOptions:
    prefix: str = "deliveries/"
    checksums_filename: str = "checksums.json"
    max_bundles: int = 100
    max_files_per_bundle: int = 0
    max_failure_details: int = 200
    hmac_key: bytes | None = None
    require_signature: bool = False


def find_manifests(bucket: Bucket, opts: AuditOptions) -> list[str]:
    out: list[str] = []
    for info in bucket.list(opts.prefix):
        if posixpath.basename(info.key) == opts.checksums_filename:
            out.append(info.key)
            if opts.max_bundles and len(out) >= opts.max_bundles:
                break
    return sorted(out)


def bundle_prefix_of(manifest_key: str) -> str:
    folder = posixpath.dirname(manifest_key)
    return posixpath.dirname(folder) if posixpath.basename(folder) == "meta" else folder


def signed_payload(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(manifest: dict[str, Any], key: bytes) -> dict[str, Any]:
    """``manifest`` with its signature (what a delivery job writes)."""
    value = hmac.new(key, signed_payload(manifest), hashlib.sha256).hexdigest()
    return {**manifest, "signature": {"alg": "HMAC-SHA256", "value": value}}


def _signature(manifest: dict[str, Any], opts: AuditOptions) -> dict[str, Any]:
    sig = manifest.get("signature")
    out: dict[str, Any] = {
        "success": True,
        "errors": [],
        "expected": None,
        "actual": None,
        "required": opts.require_signature,
    }
    if not isinstance(sig, dict):
        if opts.require_signature:
            out.update(success=False, errors=["missing_signature"])
        return out
    if sig.get("alg") != "HMAC-SHA256":
        out.update(success=False, errors=[f"unsupported_signature_alg:{sig.get('alg')}"])
        return out
    if opts.hmac_key is None:
        out.update(
            success=not opts.require_signature, errors=["no_hmac_key_to_verify"] if opts.require_signature else []
        )
        return out
    expected = hmac.new(opts.hmac_key, signed_payload(manifest), hashlib.sha256).hexdigest()
    out.update(expected=expected, actual=sig.get("value"))
    if not hmac.compare_digest(expected, str(sig.get("value") or "")):
        out.update(success=False, errors=["signature_mismatch"])
    return out


def audit_bundle(bucket: Bucket, manifest_key: str, opts: AuditOptions) -> dict[str, Any]:
    prefix = bundle_prefix_of(manifest_key)
    report: dict[str, Any] = {
        "bundle_prefix": prefix,
        "bundle_id": prefix.removeprefix(opts.prefix.rstrip("/")).strip("/"),
        "checksums_object": manifest_key,
        "checked_files": 0,
        "skipped_files": 0,
        "missing_files": [],
        "checksum_mismatches": [],
        "size_mismatches": [],
        "invalid_entries": [],
        "errors": [],
    }
    try:
        manifest = json.loads(bucket.read(manifest_key))
    except (ObjectNotFound, UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.update(
            success=False,
            errors=[f"unreadable_manifest:{exc}"],
            signature={"success": False, "errors": ["unreadable_manifest"]},
        )
        return report
    files = manifest.get("bundle_files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        report.update(success=False, errors=["manifest_has_no_file_map"], signature={"success": False, "errors": []})
        return report
    cap = opts.max_failure_details
    for n, (rel, entry) in enumerate(sorted(files.items())):
        if opts.max_files_per_bundle and n >= opts.max_files_per_bundle:
            report["skipped_files"] += 1
            continue
        sha = entry.get("sha256") if isinstance(entry, dict) else entry if isinstance(entry, str) else None
        size = entry.get("size_bytes") if isinstance(entry, dict) else None
        key = f"{prefix}/{rel}"
        try:
            check_key(key)
            bad_path = ".." in rel.split("/") or rel.startswith("/")
        except Exception:  # noqa: BLE001 - a malformed path is an invalid entry, not a crash
            bad_path = True
        if not sha or bad_path:
            if len(report["invalid_entries"]) < cap:
                report["invalid_entries"].append(rel)
            continue
        try:
            data = bucket.read(key)
        except ObjectNotFound:
            if len(report["missing_files"]) < cap:
                report["missing_files"].append(rel)
            continue
        report["checked_files"] += 1
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha and len(report["checksum_mismatches"]) < cap:
            report["checksum_mismatches"].append({"path": rel, "expected": sha, "actual": actual})
        if size is not None and size != len(data) and len(report["size_mismatches"]) < cap:
            report["size_mismatches"].append({"path": rel, "expected": size, "actual": len(data)})
    report["signature"] = _signature(manifest, opts)
    report["success"] = not (
        report["missing_files"]
        or report["checksum_mismatches"]
        or report["size_mismatches"]
        or report["invalid_entries"]
        or not report["signature"]["success"]
    )
    return report
