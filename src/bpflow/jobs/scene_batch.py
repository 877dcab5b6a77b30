"""scene-batch-job: read and check a batch manifest, write the batch plan (spec §7.4).

Env: ``MANIFEST_OBJECT`` (required), ``BATCH_PREFIX`` (``batches/<id>``, where the plan goes).
A manifest that is not JSON, not a list or empty fails the job with one clear error line; an
invalid entry is only marked INVALID in the plan (with every problem), the rest still run.
"""

from __future__ import annotations

from bpflow.core.errors import ConfigError, ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import job_bucket, job_settings, log_json, require_env, run_main
from bpflow.core.storage import check_key
from bpflow.domain.automation.batch import INVALID, QUEUED, SCHEMA_VERSION, parse_manifest, plan_batch


def _main() -> int:
    manifest = require_env("MANIFEST_OBJECT")
    prefix = require_env("BATCH_PREFIX").strip("/")
    for name, value in (("MANIFEST_OBJECT", manifest), ("BATCH_PREFIX", prefix)):
        try:
            check_key(value)
        except Exception:  # noqa: BLE001 - a malformed key is the caller's mistake
            raise ConfigError(f"{name}={value!r} is not a valid object key", field=name) from None
    if not prefix.startswith("batches/"):
        raise ConfigError(f"BATCH_PREFIX must be under batches/, got {prefix!r}", field="BATCH_PREFIX")
    bucket = job_bucket()
    try:
        raw = bucket.read(manifest)
    except ObjectNotFound:
        raise ValidationFailed(
            f"manifest object {manifest} does not exist", code="manifest_missing", field="manifest_object"
        ) from None
    rows = plan_batch(parse_manifest(raw), job_settings())
    bucket.write_json(f"{prefix}/plan.json", {"schema_version": SCHEMA_VERSION, "manifest": manifest, "scenes": rows})
    log_json(
        action="planned",
        manifest=manifest,
        total=len(rows),
        queued=sum(r["status"] == QUEUED for r in rows),
        invalid=sum(r["status"] == INVALID for r in rows),
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
