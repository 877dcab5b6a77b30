"""The downstream quality-gate preflight shared by Genie Sim import, training and upsell.

Reads Stage 4's ``episode-generation-job/quality_gate_report.json`` (pass iff ``summary`` has
``can_proceed`` true and ``blocking_failures`` 0); when the report does not exist, the first
``*quality_certificate.json`` under the scene's ``episodes/`` (pass iff ``validation_passed`` and
``recommended_use`` is not ``testing``); with neither, the gate fails. A failing gate writes the
block marker and raises ``QualityGateBlocked``.

Reference: spec-geniesim-episodes-arena-training.md §1.8. Deliberate divergence: the
reference's workflows raise "Failed to read quality gate report" whenever the report *exists*
(a fall-through bug); this is the intended algorithm, so a good report passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.blocks.markers import utc_iso
from bpflow.core.engine.durable import step
from bpflow.core.errors import BpflowError, ObjectNotFound, StorageError

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

REPORT = "episode-generation-job/quality_gate_report.json"


class QualityGateBlocked(BpflowError):
    code = "quality_gate_failed"


class QualityGateUnreadable(BpflowError):
    code = "quality_gate_unreadable"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    source: str
    reason: str


def judge_report(report: Any) -> tuple[bool, str]:
    summary = report.get("summary") if isinstance(report, dict) else None
    if not isinstance(summary, dict):
        return False, "report has no summary"
    if summary.get("can_proceed") is not True:
        return False, "summary.can_proceed is not true"
    if summary.get("blocking_failures") != 0:
        return False, f"summary.blocking_failures is {summary.get('blocking_failures')!r}"
    return True, "report passed"


def judge_certificate(cert: Any) -> tuple[bool, str]:
    if not isinstance(cert, dict) or cert.get("validation_passed") is not True:
        return False, "certificate validation_passed is not true"
    if cert.get("recommended_use") == "testing":
        return False, "certificate recommends testing use only"
    return True, "certificate passed"


def _evaluate(run: Run, scene: str) -> dict[str, Any]:
    bucket = run.bucket
    report_key = f"scenes/{scene}/{REPORT}"
    try:
        raw = bucket.read(report_key)
    except ObjectNotFound:
        raw = None
    except StorageError as exc:
        return {"error": f"Failed to read quality gate report at {bucket.url}/{report_key}: {exc}"}
    if raw is not None:
        try:
            ok, why = judge_report(json.loads(raw))
        except ValueError:
            ok, why = False, "report is not JSON"
        return {"passed": ok, "source": report_key, "reason": why}
    for info in bucket.list(f"scenes/{scene}/episodes/"):
        if info.key.endswith("quality_certificate.json"):
            try:
                ok, why = judge_certificate(json.loads(bucket.read(info.key)))
            except (ValueError, ObjectNotFound):
                ok, why = False, "certificate unreadable"
            return {"passed": ok, "source": info.key, "reason": why}
    return {
        "passed": False,
        "source": "",
        "reason": f"Missing quality gate report and quality certificates for scene {scene}",
    }


def preflight(run: Run, scene: str, *, blocked: str, marker: str) -> Verdict:
    """Run the gate for ``scene``; on failure write ``marker`` and raise QualityGateBlocked.

    ``blocked`` names what is blocked (``import`` | ``training`` | ``upsell``)."""
    got = step(f"quality-gate preflight {scene}", _evaluate, run, scene)
    if "error" in got:
        raise QualityGateUnreadable(got["error"])
    verdict = Verdict(bool(got["passed"]), got["source"], got["reason"])
    if verdict.passed:
        return verdict
    report_path = f"{run.bucket_name.rstrip('/')}/scenes/{scene}/{REPORT}"
    body = {
        "scene_id": scene,
        "status": "failed",
        "timestamp": utc_iso(),
        "error": {
            "code": "quality_gate_failed",
            "message": f"Downstream quality gate preflight blocked {blocked}",
            "report_path": report_path,
            "reason": verdict.reason,
            "source": verdict.source,
        },
    }
    step(f"write {marker}", lambda: run.bucket.write_json(marker, body).generation)
    raise QualityGateBlocked(
        f"Quality gate failed; report: {report_path} ({verdict.reason})", details={"marker": marker}
    )
