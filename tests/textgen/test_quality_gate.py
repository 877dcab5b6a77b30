"""The quality gate's checks, the standard tier's one retry, and the failure it raises."""

from __future__ import annotations

from typing import Any

import pytest

from bpflow.domain.textgen.backends import BackendConfig, run_backend
from bpflow.domain.textgen.errors import QualityGateFailed
from bpflow.domain.textgen.generate import GenerationRequest, LLMOptions
from bpflow.domain.textgen.quality_gate import GateThresholds, apply_gate, evaluate, generate_with_gate, simplify_prompt

PROMPT = "a very CINEMATIC kitchen   with a fridge"


def generator(tier: str, calls: list[str]) -> Any:
    def generate(prompt: str) -> dict[str, Any]:
        calls.append(prompt)
        return run_backend(
            "internal",
            GenerationRequest("qg", prompt, {}, tier, 1, "openrouter_qwen_primary"),
            LLMOptions(),
            BackendConfig(),
        )

    return generate


def test_simplify_prompt() -> None:
    assert simplify_prompt(PROMPT) == "a kitchen with a fridge"
    assert simplify_prompt("Hyper-realistic ultra kitchen") == "-realistic kitchen"
    assert simplify_prompt("a kitchen") == "a kitchen"


def test_missing_metrics_fail_safe() -> None:
    checks = {c["check"]: c for c in evaluate({}, GateThresholds())}
    assert checks["object_count"]["passed"] is False
    assert checks["collision_rate_pct"]["value"] == 100.0 and checks["collision_rate_pct"]["passed"] is False
    assert checks["stability_pct"]["value"] == 0.0 and checks["stability_pct"]["passed"] is False
    assert checks["faithfulness_score"]["value"] == 1.0


def test_v2_thresholds_are_tighter() -> None:
    assert GateThresholds.defaults(True) == GateThresholds(20, 5.0, 92.0, 0.8)


def test_a_generated_scene_passes_the_default_gate() -> None:
    pkg = generator("standard", [])(PROMPT)
    assert apply_gate(pkg, GateThresholds())
    assert pkg["quality_gate_report"]["status"] == "passed"
    assert {c["check"] for c in pkg["quality_gate_report"]["checks"]} >= {"object_count", "out_of_bounds_count"}


def _scores() -> tuple[float, float]:
    calls: list[str] = []
    gen = generator("standard", calls)
    return gen(PROMPT)["faithfulness_report"]["score"], gen(simplify_prompt(PROMPT))["faithfulness_report"]["score"]


def test_standard_tier_retries_once_with_the_simplified_prompt() -> None:
    first, simplified = _scores()
    assert simplified > first  # fewer words the scene cannot show
    calls: list[str] = []
    pkg = generate_with_gate(
        generator("standard", calls),
        PROMPT,
        "standard",
        GateThresholds(min_faithfulness_score=(first + simplified) / 2),
    )
    assert calls == [PROMPT, "a kitchen with a fridge"]
    assert pkg["retry"]["used"] is True and pkg["retry"]["initial_failed_checks"] == ["faithfulness_score"]
    assert pkg["quality_gate_report"]["status"] == "passed"


def test_premium_is_not_retried_and_the_failure_names_the_check() -> None:
    calls: list[str] = []
    with pytest.raises(QualityGateFailed) as err:
        generate_with_gate(generator("premium", calls), PROMPT, "premium", GateThresholds(min_object_count=500))
    assert calls == [PROMPT]
    assert err.value.code == "text_quality_gate_failed" and err.value.field == "quality_gate.object_count"
    assert err.value.details["failed_checks"][0]["threshold"] == 500


def test_standard_failing_twice_raises_after_the_retry() -> None:
    calls: list[str] = []
    with pytest.raises(QualityGateFailed) as err:
        generate_with_gate(generator("standard", calls), PROMPT, "standard", GateThresholds(min_object_count=500))
    assert len(calls) == 2 and err.value.details["retry_used"] is True


def test_no_retry_when_simplifying_changes_nothing() -> None:
    calls: list[str] = []
    with pytest.raises(QualityGateFailed):
        generate_with_gate(generator("standard", calls), "a kitchen", "standard", GateThresholds(min_object_count=500))
    assert calls == ["a kitchen"]
