"""The job-level quality gate (spec §1.5): thresholds, checks, and the standard tier's one retry.

Checks: object count ≥ MIN, collision rate ≤ MAX (missing counts as 100), stability ≥ MIN
(missing counts as 0), faithfulness ≥ MIN (``faithfulness_report.score``, else 1.0), and, beyond
the reference, no object outside the room (a placement can only drop objects, never push them
through a wall, so this only fails for a remote backend's layout). A standard-tier scene that
fails is regenerated once from a simplified prompt (intensifiers removed) if that changes the
prompt; premium is not retried. A scene that still fails raises ``QualityGateFailed`` naming
every failed check, and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bpflow.domain.textgen.errors import QualityGateFailed

_INTENSIFIERS = re.compile(r"\b(very|highly|extremely|cinematic|ultra|hyper)\b", re.IGNORECASE)


@dataclass(frozen=True)
class GateThresholds:
    min_object_count: int = 5
    max_collision_rate_pct: float = 6.0
    min_stability_pct: float = 85.0
    min_faithfulness_score: float = 0.0
    max_out_of_bounds: int = 0

    @classmethod
    def defaults(cls, v2: bool) -> GateThresholds:
        """TEXT_PIPELINE_V2_ENABLED tightens every threshold (spec §1.1)."""
        return cls(20, 5.0, 92.0, 0.8) if v2 else cls()


def simplify_prompt(prompt: str) -> str:
    """Drop intensifiers and collapse whitespace: the standard tier's retry prompt."""
    return " ".join(_INTENSIFIERS.sub(" ", prompt).split())


def _num(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def evaluate(package: Mapping[str, Any], t: GateThresholds) -> list[dict[str, Any]]:
    """Every check with its value, threshold and outcome."""
    report = package.get("quality_gate_report") or {}
    metrics = report.get("metrics") or {}
    faith = (package.get("faithfulness_report") or {}).get("score")
    if faith is None:
        faith = ((package.get("quality") or {}).get("faithfulness") or {}).get("score", 1.0)
    values = (
        ("object_count", _num(metrics.get("object_count"), 0), ">=", t.min_object_count),
        ("collision_rate_pct", _num(metrics.get("collision_rate_pct"), 100.0), "<=", t.max_collision_rate_pct),
        ("stability_pct", _num(metrics.get("stability_pct"), 0.0), ">=", t.min_stability_pct),
        ("faithfulness_score", _num(faith, 1.0), ">=", t.min_faithfulness_score),
        ("out_of_bounds_count", _num(metrics.get("out_of_bounds_count"), 0.0), "<=", t.max_out_of_bounds),
    )
    return [
        {
            "check": name,
            "value": value,
            "op": op,
            "threshold": limit,
            "passed": value >= limit if op == ">=" else value <= limit,
        }
        for name, value, op, limit in values
    ]


def apply_gate(package: dict[str, Any], t: GateThresholds) -> bool:
    """Record the checks and status in the package's report; True when every check passed."""
    checks = evaluate(package, t)
    passed = all(c["passed"] for c in checks)
    report = package.setdefault("quality_gate_report", {})
    report["checks"] = checks
    report["thresholds"] = {
        "min_object_count": t.min_object_count,
        "max_collision_rate_pct": t.max_collision_rate_pct,
        "min_stability_pct": t.min_stability_pct,
        "min_faithfulness_score": t.min_faithfulness_score,
        "max_out_of_bounds": t.max_out_of_bounds,
    }
    report["status"] = "passed" if passed else "failed"
    return passed


def generate_with_gate(
    generate: Callable[[str], dict[str, Any]], prompt: str, tier: str, t: GateThresholds
) -> dict[str, Any]:
    """Generate, gate, retry once (standard tier, simplified prompt), or raise."""
    package = generate(prompt)
    if apply_gate(package, t):
        return package
    first_failures = [c["check"] for c in package["quality_gate_report"]["checks"] if not c["passed"]]
    simplified = simplify_prompt(prompt)
    if tier == "standard" and simplified and simplified != prompt:
        package = generate(simplified)
        package["retry"] = {
            "used": True,
            "reason": "initial_quality_failed",
            "original_prompt": prompt,
            "simplified_prompt": simplified,
            "initial_failed_checks": first_failures,
        }
        if apply_gate(package, t):
            return package
    failed = [c for c in package["quality_gate_report"]["checks"] if not c["passed"]]
    summary = ", ".join(f"{c['check']}={c['value']:g} (needs {c['op']} {c['threshold']:g})" for c in failed)
    raise QualityGateFailed(
        f"text scene generation failed quality gate checks: {summary}",
        field=f"quality_gate.{failed[0]['check']}",
        details={"failed_checks": failed, "retry_used": "retry" in package},
    )
