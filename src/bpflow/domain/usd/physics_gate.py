"""The usd-assembly physics gate: run the acceptance test on the composed scene and decide.

``PHYSICS_ACCEPTANCE`` picks the policy: ``strict`` (default) fails the stage when the scene does
not pass, ``warn`` records the report and goes on, ``off`` skips the test. The report
(``usd/physics_report.json``) carries the simulation's verdicts plus the simready mass checks,
so one file says whether a simulator user would accept the scene and, if not, why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpflow.core.errors import ValidationFailed

POLICIES = ("strict", "warn", "off")
REPORT_NAME = "physics_report.json"


class PhysicsAcceptanceFailed(ValidationFailed):
    code = "physics_acceptance_failed"


def mass_findings(simready_physics: Any) -> list[dict[str, Any]]:
    """Objects whose simready mass is outside their category's plausible range."""
    objects = simready_physics.get("objects") if isinstance(simready_physics, dict) else None
    out = []
    for o in objects if isinstance(objects, list) else []:
        if isinstance(o, dict) and o.get("mass_check") not in (None, "ok"):
            out.append(
                {
                    "id": o.get("id"),
                    "mass_kg": o.get("mass_kg"),
                    "range_kg": o.get("mass_range_kg"),
                    "verdict": o.get("mass_check"),
                }
            )
    return out


def run_gate(scene_path: Path, manifest: dict[str, Any] | None, simready_physics: Any, scene_id: str) -> dict[str, Any]:
    """The report body; ``passed`` is False when the simulation or a mass check fails."""
    from bpflow.domain.sim.acceptance import run_acceptance

    report = run_acceptance(scene_path, manifest).to_dict()
    masses = mass_findings(simready_physics)
    report["masses_out_of_range"] = masses
    report["failures"] = report["failures"] + [
        f"{m['id']} weighs {m['mass_kg']} kg, outside {m['range_kg']}" for m in masses
    ]
    report["passed"] = bool(report["passed"]) and not masses
    report["scene_id"] = scene_id
    return report


def decide(policy: str, report: dict[str, Any]) -> None:
    """Raise :class:`PhysicsAcceptanceFailed` when ``strict`` and the scene did not pass."""
    if policy == "strict" and not report.get("passed"):
        first = "; ".join(report.get("failures", [])[:3])
        raise PhysicsAcceptanceFailed(
            f"the scene fails the physics acceptance test: {first}", field=f"usd/{REPORT_NAME}"
        )
