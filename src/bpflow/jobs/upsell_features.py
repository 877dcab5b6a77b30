"""upsell-features-job: premium analytics of the scene's recorded episodes.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``BUNDLE_TIER`` (``pro`` | ``enterprise`` | …;
``standard`` has no upsell features), ``SCENE_PATH`` (``scenes/{scene}``).

Reads ``{SCENE_PATH}/episodes/lerobot/`` (the LeRobot dataset) and ``episodes_summary.json``;
writes under ``{SCENE_PATH}/episodes/upsell_outputs/``: ``analytics.json`` (per-task success and
duration statistics, failure reasons, action/state distributions, end-effector workspace; camera
coverage from ``enterprise`` up) and the charts (``*.svg``) it names. A dataset that is missing
or does not open ends the job with a typed error and its own ``upsell_outputs/.failed``.
"""

from __future__ import annotations

from pathlib import Path

from bpflow.core.errors import BpflowError, ValidationFailed
from bpflow.core.jobkit import env_str, job_bucket, log_json, require_env, run_main, scene_prefix
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now


def _main() -> int:
    from bpflow.domain.evaluation.scene_tasks import read_summary
    from bpflow.domain.upsell.analytics import analyse

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    tier = (env_str("BUNDLE_TIER", "pro") or "pro").lower()
    scene_path = scene_prefix(scene, "SCENE_PATH", env_str("SCENE_PATH", f"scenes/{scene}"), root_ok=True)
    if scene_path != f"scenes/{scene}":  # inside the scene, but the dataset is read from the scene's own folder
        raise ValidationFailed(f"SCENE_PATH={scene_path!r} is not scenes/{scene}", field="SCENE_PATH")
    if tier == "standard":
        raise ValidationFailed(
            "BUNDLE_TIER standard has no upsell features", code="tier_without_upsell", field="BUNDLE_TIER"
        )
    out = f"{scene_path}/episodes/upsell_outputs"
    try:
        with Workspace(bucket) as ws:
            dataset = f"{scene_path}/episodes/lerobot"
            got = [
                k for sub in ("meta", "data", "videos") for k in ws.fetch_prefix(f"{dataset}/{sub}")
            ]  # not training/ checkpoints
            if not got:
                raise ValidationFailed(
                    f"no dataset under {dataset}/", code="upsell_dataset_missing", field="episodes/lerobot"
                )
            doc, svgs = analyse(Path(ws.root / dataset), read_summary(bucket, scene), tier)
    except BpflowError as exc:
        bucket.write_json(
            f"{out}/.failed",
            {
                "scene_id": scene,
                "job_name": "upsell-features-job",
                "status": "failed",
                "timestamp": iso_z(utc_now()),
                "bundle_tier": tier,
                "error": {"code": exc.code, "message": exc.message, "type": "job_failure", "field": exc.field},
            },
        )
        raise
    for name, svg in svgs.items():
        bucket.write(f"{out}/{name}", svg.encode(), content_type="image/svg+xml")
    doc.update(scene_id=scene, generated_at=iso_z(utc_now()), charts=[f"{out}/{n}" for n in sorted(svgs)])
    bucket.write_json(f"{out}/analytics.json", doc)
    log_json(action="upsell_complete", scene_id=scene, bundle_tier=tier, tasks=len(doc["tasks"]), charts=len(svgs))
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
