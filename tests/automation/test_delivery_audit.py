"""delivery-integrity-audit on the real runtime: every delivered file is re-hashed against its
bundle's checksums.json (and its HMAC signature); the report lands under the audit prefix."""

from __future__ import annotations

import hashlib
from typing import Any

from dbos import DBOS

from bpflow.domain.delivery.audit import sign
from tests.conftest import wait_until

WF = "delivery-integrity-audit"
KEY = "audit-key-SENTINEL"


def deliver(b: Any, bundle: str, files: dict[str, bytes], *, signed: bool = False, meta: bool = False) -> None:
    for rel, data in files.items():
        b.write(f"deliveries/{bundle}/{rel}", data)
    manifest: dict[str, Any] = {
        "bundle_files": {
            rel: {"sha256": hashlib.sha256(d).hexdigest(), "size_bytes": len(d)} for rel, d in files.items()
        }
    }
    if signed:
        manifest = sign(manifest, KEY.encode())
    b.write_json(f"deliveries/{bundle}/{'meta/' if meta else ''}checksums.json", manifest)


def run_audit(rt: Any, payload: dict[str, Any] | None = None) -> tuple[str, Any]:
    run_id = rt.dispatcher.start_manual(WF, payload or {}).run_ids[0]
    status = wait_until(
        lambda: (s := DBOS.get_workflow_status(run_id)) and s.status in ("SUCCESS", "ERROR") and s, timeout=120
    )
    return status.status, (DBOS.retrieve_workflow(run_id).get_result() if status.status == "SUCCESS" else status.error)


def reports(rt: Any) -> list[dict[str, Any]]:
    return [
        rt.bucket.read_json(i.key)
        for i in sorted(rt.bucket.list("audit-reports/delivery-integrity/"), key=lambda i: i.key)
    ]


def test_tampered_and_missing_files_fail_the_audit_and_are_reported(make_runtime: Any) -> None:
    rt = make_runtime(CHECKSUMS_HMAC_KEY=KEY)
    b = rt.bucket
    deliver(b, "acme/2026-01", {"episodes/ep0.json": b'{"t": 0}', "usd/scene.usda": b"#usda 1.0\n"}, signed=True)
    deliver(b, "acme/2026-02", {"data.bin": b"\x00" * 100}, meta=True)
    deliver(b, "zeta/2026-01", {"a.json": b"{}", "b.json": b"[]"}, signed=True)
    b.write("deliveries/zeta/2026-01/a.json", b'{"tampered": true}')
    b.delete("deliveries/zeta/2026-01/b.json")

    status, error = run_audit(rt)
    assert status == "ERROR" and "Delivery integrity audit execution failed" in str(error)
    report = reports(rt)[-1]
    assert report["bundle_count"] == 3 and report["pass_count"] == 2 and report["fail_count"] == 1
    by = {x["bundle_id"]: x for x in report["bundles"]}
    assert (
        by["acme/2026-02"]["success"] and by["acme/2026-02"]["checked_files"] == 1
    )  # meta/ is not part of the bundle name
    bad = by["zeta/2026-01"]
    assert bad["missing_files"] == ["b.json"] and bad["checksum_mismatches"][0]["path"] == "a.json"
    assert bad["signature"]["success"] is True  # the manifest itself was not touched

    deliver(b, "zeta/2026-01", {"a.json": b"{}", "b.json": b"[]"}, signed=True)
    status, result = run_audit(rt)
    assert status == "SUCCESS" and result["message"].startswith("Delivery integrity audit triggered for bucket")
    assert reports(rt)[-1]["fail_count"] == 0


def test_a_forged_signature_fails_the_bundle(make_runtime: Any) -> None:
    rt = make_runtime(CHECKSUMS_HMAC_KEY=KEY)
    deliver(rt.bucket, "x/1", {"f.txt": b"hello"}, signed=True)
    manifest = rt.bucket.read_json("deliveries/x/1/checksums.json")
    manifest["bundle_files"]["f.txt"]["size_bytes"] = 5  # same value, re-signed with the wrong key below
    rt.bucket.write_json(
        "deliveries/x/1/checksums.json", sign({k: v for k, v in manifest.items() if k != "signature"}, b"wrong")
    )
    status, _ = run_audit(rt)
    assert status == "ERROR"
    assert reports(rt)[-1]["bundles"][0]["signature"]["errors"] == ["signature_mismatch"]


def test_bad_options_are_clear_errors_and_the_schedule_is_off_by_default(make_runtime: Any) -> None:
    rt = make_runtime()
    assert DBOS.get_schedule("bpflow:delivery-integrity-audit") is None
    status, error = run_audit(rt, {"max_bundles": "lots"})
    assert status == "ERROR" and "Invalid value for MAX_BUNDLES: lots" in str(error)
    assert list(rt.bucket.list("")) == []


def test_the_weekly_schedule_is_installed_when_enabled(make_runtime: Any) -> None:
    make_runtime(ENABLE_DELIVERY_INTEGRITY_AUDIT="true")
    sched = DBOS.get_schedule("bpflow:delivery-integrity-audit")
    assert sched is not None and sched["schedule"] == "0 3 * * 1" and sched["cron_timezone"] == "Etc/UTC"
