"""Adaptive timeout selection and the per-stage timeout table."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpflow.blocks.retry import RetryPolicy
from bpflow.core.config import reset_settings_cache
from bpflow.core.errors import ConfigError
from bpflow.core.policy import load_policy
from bpflow.core.policy.timeouts import (
    select_timeout,
    stage_job_name,
    stage_retry_profile,
    stage_timeout,
)
from tests.blocks import use_env

ENV_VARS = (
    "BPFLOW_POLICY_DIR",
    "ADAPTIVE_TIMEOUT_BUNDLE_TIER",
    "ADAPTIVE_TIMEOUT_SCENE_COMPLEXITY",
    "VARIATION_GEN_TIMEOUT_SECONDS",
    "SIMREADY_TIMEOUT_SECONDS",
    "ISAAC_LAB_TIMEOUT_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_env(monkeypatch, **dict.fromkeys(ENV_VARS))
    yield
    reset_settings_cache()


# -- adaptive selection ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tier", "complexity", "expected"),
    [
        (None, None, 3600),
        ("pro", None, 1800),
        ("standard", None, 900),
        ("pro", "high", 7200),
        ("enterprise", "low", 3600),
        ("enterprise", None, 2700),
        (None, "medium", 5400),
        ("bogus", None, 3600),
        ("bogus", "high", 7200),
        ("  PRO ", None, 1800),
        ("", "", 3600),
    ],
)
def test_reference_examples(tier: str | None, complexity: str | None, expected: int) -> None:
    assert select_timeout(tier, complexity) == expected


def test_unknown_names_are_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bpflow.timeouts"):
        assert select_timeout("platinum", "extreme") == 3600
    text = caplog.text
    assert "platinum" in text and "extreme" in text


@pytest.mark.parametrize(("override", "expected"), [(42, 42), ("42", 42), (42.2, 43), (" 90 ", 90)])
def test_override_wins(override: Any, expected: int) -> None:
    assert select_timeout("enterprise", "high", timeout_override_seconds=override) == expected


@pytest.mark.parametrize("override", [0, -5, "abc", "", True, float("nan"), float("inf"), [60]])
def test_invalid_override_is_an_error(override: Any) -> None:
    with pytest.raises(ConfigError) as err:
        select_timeout(timeout_override_seconds=override)
    assert err.value.field == "timeout_override_seconds"


def test_caller_default_applies_only_when_nothing_matched() -> None:
    assert select_timeout(default=1800) == 1800  # upsell's own default
    assert select_timeout("bogus", default=1800) == 1800
    assert select_timeout("enterprise", default=1800) == 2700


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, ADAPTIVE_TIMEOUT_BUNDLE_TIER="enterprise", ADAPTIVE_TIMEOUT_SCENE_COMPLEXITY="medium")
    assert select_timeout() == 5400
    assert select_timeout("pro", "low") == 3600  # explicit arguments beat the env


def test_adaptive_table_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "adaptive_timeouts.yaml").write_text("bundle_tier:\n  pro: 2000\n  ultra: 9000\n")
    use_env(monkeypatch, BPFLOW_POLICY_DIR=str(tmp_path))
    assert select_timeout("pro") == 2000
    assert select_timeout("ultra") == 9000
    assert select_timeout("standard") == 900


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("scene_complexity:\n  high: 0\n", "adaptive_timeouts.scene_complexity.high"),
        ("default_timeout_seconds: soon\n", "adaptive_timeouts.default_timeout_seconds"),
        ("bundle_tier: [900]\n", "adaptive_timeouts.bundle_tier"),
    ],
)
def test_invalid_adaptive_values_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, key: str
) -> None:
    (tmp_path / "adaptive_timeouts.yaml").write_text(yaml_text)
    use_env(monkeypatch, BPFLOW_POLICY_DIR=str(tmp_path))
    with pytest.raises(ConfigError) as err:
        select_timeout("pro")
    assert err.value.field == key


# -- per-stage table -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("workflow", "job", "seconds"),
    [
        ("usd-assembly-pipeline", "convert", 3600),
        ("usd-assembly-pipeline", "simready", 3600),
        ("usd-assembly-pipeline", "interactive", 1800),
        ("usd-assembly-pipeline", "usd", 3600),
        ("usd-assembly-pipeline", "replicator", 1800),
        ("usd-assembly-pipeline", "isaac-lab", 1800),
        ("retention-cleanup", "retention-cleanup-job", 3600),
        ("delivery-integrity-audit", None, 7200),
        ("variation-assets-pipeline", "variation-gen", 1800),
        ("variation-assets-pipeline", "simready", 3600),
        ("variation-assets-pipeline", "isaac-refresh", 1800),
        ("arena-export-pipeline", None, 1800),
        ("genie-sim-import-pipeline", None, 1800),
        ("genie-sim-export-pipeline", "genie-sim-export-job", 2700),
        ("genie-sim-export-pipeline", "genie-sim-gpu-job", 14400),
        ("episode-generation-pipeline", "episode-generation-job", 21600),
        ("episode-generation-pipeline", "quality-gate-job", 1800),
        ("training-pipeline", None, 21600),
        ("objects-pipeline", None, 3600),
        ("scale-pipeline", None, 3600),
        ("regen3d-pipeline", None, 3600),
        ("scene-generation-pipeline", None, 3600),
        ("source-orchestrator", "text-scene-gen-job", 1800),
        ("source-orchestrator", "text-scene-adapter-job", 1800),
        ("asset-embedding-pipeline", None, 3600),
        ("asset-replication-pipeline", None, 3600),
        ("upsell-features-pipeline", None, 1800),
    ],
)
def test_stage_timeouts(workflow: str, job: str | None, seconds: int) -> None:
    assert stage_timeout(workflow, job) == seconds


def test_workflow_names_work_without_the_pipeline_suffix() -> None:
    assert stage_timeout("usd-assembly", "convert") == 3600
    assert stage_timeout("arena-export") == 1800


def test_unknown_workflow_or_job_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no timeouts for workflow"):
        stage_timeout("nope-pipeline")
    with pytest.raises(ConfigError, match="known: convert"):
        stage_timeout("usd-assembly", "conver")
    with pytest.raises(ConfigError, match="several jobs"):
        stage_timeout("usd-assembly")


@pytest.mark.parametrize(
    ("workflow", "job", "profile", "delays"),
    [
        ("retention-cleanup", None, "maintenance", [2, 4, 8]),
        ("delivery-integrity-audit", None, "maintenance", [2, 4, 8]),
        ("asset-embedding-pipeline", None, "none", []),
        ("asset-replication-pipeline", None, "none", []),
        ("genie-sim-export-pipeline", "genie-sim-gpu-job", "gpu_submission", [2, 4, 8]),
        ("genie-sim-export-pipeline", "genie-sim-export-job", "default", [1, 2, 4, 8, 16]),
        ("usd-assembly-pipeline", "convert", "default", [1, 2, 4, 8, 16]),
    ],
)
def test_stage_retry_profiles(workflow: str, job: str | None, profile: str, delays: list[int]) -> None:
    assert stage_retry_profile(workflow, job) == profile
    assert RetryPolicy.from_policy(profile).delays() == delays


def test_every_profile_named_in_the_table_exists() -> None:
    for workflow, spec in load_policy("timeouts")["workflows"].items():
        for job in spec["jobs"]:
            RetryPolicy.from_policy(stage_retry_profile(workflow, job))


def test_step_job_names() -> None:
    assert stage_job_name("usd-assembly", "convert") == "usd-assembly-job"
    assert stage_job_name("usd-assembly", "usd") == "usd-assembly-job"
    assert stage_job_name("variation-assets", "isaac-refresh") == "isaac-lab-refresh-job"
    assert stage_job_name("arena-export") == "arena-export-job"


def test_step_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, VARIATION_GEN_TIMEOUT_SECONDS="900")
    assert stage_timeout("variation-assets", "variation-gen") == 900
    use_env(monkeypatch, VARIATION_GEN_TIMEOUT_SECONDS="-1")
    with pytest.raises(ConfigError) as err:
        stage_timeout("variation-assets", "variation-gen")
    assert err.value.field == "VARIATION_GEN_TIMEOUT_SECONDS"
    use_env(monkeypatch, VARIATION_GEN_TIMEOUT_SECONDS="later")
    with pytest.raises(ConfigError):
        stage_timeout("variation-assets", "variation-gen")


def test_stage_table_override_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, BPFLOW_POLICY_DIR=str(tmp_path))
    (tmp_path / "timeouts.yaml").write_text(
        "workflows:\n  arena-export-pipeline:\n    jobs:\n      arena-export-job: 600\n"
    )
    assert stage_timeout("arena-export") == 600
    assert stage_timeout("usd-assembly", "convert") == 3600
    (tmp_path / "timeouts.yaml").write_text(
        "workflows:\n  usd-assembly-pipeline:\n    jobs:\n      convert: {timeout_seconds: 3600, timout: 1}\n"
    )
    with pytest.raises(ConfigError) as err:
        stage_timeout("usd-assembly", "convert")
    assert err.value.field == "timeouts.workflows.usd-assembly-pipeline.jobs.convert.timout"
