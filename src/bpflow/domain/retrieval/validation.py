"""Asset validation (reference §2.2): a deterministic score of how well an asset fits its object.

Six weighted checks; an asset passes at 0.70. A placeholder scores 0.7425 and passes, so
validation only ever rejects a real asset, and only when ``TEXT_ASSET_VALIDATION_ENABLED`` or
``TEXT_PIPELINE_V2_ENABLED`` asks for the soft repair (replace it by a placeholder).
"""

from __future__ import annotations

from typing import Any

from bpflow.domain.retrieval.tokenize import token_set

PASS_SCORE = 0.70
WEIGHTS = {
    "type_match": 0.30,
    "style_consistency": 0.15,
    "single_object": 0.15,
    "completeness": 0.15,
    "proportions": 0.15,
    "closed_state": 0.10,
}


def validate(
    category: str, name: str, source_path: str, room_type: str, dims: tuple[float, float, float], source_kind: str
) -> dict[str, Any]:
    placeholder = source_kind.startswith("placeholder")
    words = token_set(category, name)
    ratio = max(dims) / max(min(dims), 1e-6)
    checks = {
        "type_match": 1.0 if words & token_set(source_path) else 0.55,
        "style_consistency": 0.8 if room_type else 0.7,
        "single_object": 0.45 if ("+" in source_path or "," in source_path) else 0.95,
        "completeness": 0.6 if placeholder else 0.9,
        "proportions": 0.2 if ratio > 12 else 0.45 if ratio > 8 else 0.9,
        "closed_state": 0.9,
    }
    score = round(sum(WEIGHTS[k] * v for k, v in checks.items()), 4)
    passed = score >= PASS_SCORE
    return {
        "schema_version": "v1",
        "passed": passed,
        "status": "pass" if passed else "warn",
        "score": score,
        "checks": checks,
        "source_kind": source_kind,
        "source_path": source_path,
    }
