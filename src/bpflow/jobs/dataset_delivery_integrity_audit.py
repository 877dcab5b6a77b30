"""dataset-delivery-integrity-audit-job: re-hash every delivered bundle (maintenance spec §1.2).

Env: ``DELIVERY_PREFIX`` (``deliveries/``), ``CHECKSUMS_FILENAME`` (``checksums.json``),
``MAX_BUNDLES`` (100, 0 = all), ``MAX_FILES_PER_BUNDLE`` (0 = all), ``MAX_FAILURE_DETAILS`` (200),
``AUDIT_REPORT_BUCKET`` (a bucket URL; default the delivery bucket), ``AUDIT_REPORT_PREFIX``
(``audit-reports/delivery-integrity``), ``CHECKSUMS_HMAC_KEY`` and ``REQUIRE_CHECKSUM_SIGNATURE``.
Exit 1 when a bundle failed; the report is written either way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import env_bool, env_int, env_str, job_bucket, log_json, run_main
from bpflow.core.storage import open_bucket
from bpflow.domain.delivery.audit import AuditOptions, audit_bundle, find_manifests


def _count(name: str, default: int) -> int:
    value = env_int(name, default)  # a non-integer is an error here, as in the reference
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}", field=name)
    return value


def _main() -> int:
    started = datetime.now(UTC)
    key = env_str("CHECKSUMS_HMAC_KEY")
    opts = AuditOptions(
        prefix=(env_str("DELIVERY_PREFIX") or "deliveries/").strip("/") + "/",
        checksums_filename=env_str("CHECKSUMS_FILENAME") or "checksums.json",
        max_bundles=_count("MAX_BUNDLES", 100),
        max_files_per_bundle=_count("MAX_FILES_PER_BUNDLE", 0),
        max_failure_details=_count("MAX_FAILURE_DETAILS", 200),
        hmac_key=key.encode("utf-8") if key else None,
        require_signature=env_bool("REQUIRE_CHECKSUM_SIGNATURE", False),
    )
    bucket = job_bucket()
    report_url = env_str("AUDIT_REPORT_BUCKET")
    report_bucket = open_bucket(report_url) if report_url and "://" in report_url else bucket
    report_prefix = (env_str("AUDIT_REPORT_PREFIX") or "audit-reports/delivery-integrity").strip("/")
    log_json(bp_metric="delivery_integrity_audit", event="start", prefix=opts.prefix, max_bundles=opts.max_bundles)
    bundles = []
    for manifest in find_manifests(bucket, opts):
        result = audit_bundle(bucket, manifest, opts)
        bundles.append(result)
        if not result["success"]:
            log_json(
                bp_metric="delivery_integrity_audit",
                event="bundle_failed",
                bundle=result["bundle_prefix"],
                missing=len(result["missing_files"]),
                mismatches=len(result["checksum_mismatches"]),
            )
    passed = sum(1 for b in bundles if b["success"])
    ended = datetime.now(UTC)
    report_key = f"{report_prefix}/{started.strftime('%Y%m%dT%H%M%SZ')}_integrity_audit.json"
    report_bucket.write_json(
        report_key,
        {
            "job": "dataset-delivery-integrity-audit-job",
            "bucket": env_str("BUCKET") or bucket.url,
            "prefix": opts.prefix,
            "max_bundles": opts.max_bundles,
            "max_files_per_bundle": opts.max_files_per_bundle,
            "checksums_filename": opts.checksums_filename,
            "start_time": started.isoformat(),
            "end_time": ended.isoformat(),
            "pass_count": passed,
            "fail_count": len(bundles) - passed,
            "bundle_count": len(bundles),
            "errors": [],
            "bundles": bundles,
        },
    )
    log_json(
        bp_metric="delivery_integrity_audit",
        event="complete",
        report=report_key,
        pass_count=passed,
        fail_count=len(bundles) - passed,
    )
    return 0 if passed == len(bundles) else 1


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
