"""Region router: primary → healthy secondary → primary, every outcome logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bpflow.core.config import reset_settings_cache
from bpflow.state.routing import RegionRouter, RouteDecision
from tests.blocks import use_env


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_env(monkeypatch, PRIMARY_WORKFLOW_REGION=None, SECONDARY_WORKFLOW_REGION=None)
    yield
    reset_settings_cache()


class Probe:
    """A health check with a fixed answer per region; records what it was asked."""

    def __init__(self, **health: bool | Exception) -> None:
        self.health = health
        self.asked: list[str] = []

    def __call__(self, region: str) -> bool:
        self.asked.append(region)
        answer = self.health[region.replace("-", "_")]
        if isinstance(answer, Exception):
            raise answer
        return answer


def records(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [r.bp_record for r in caplog.records if r.name == "bpflow.routing"]


def test_primary_healthy(caplog: pytest.LogCaptureFixture) -> None:
    probe = Probe(us_central1=True, us_east1=True)
    with caplog.at_level(logging.INFO, logger="bpflow.routing"):
        decision = RegionRouter(None, None, probe).choose()
    assert decision == RouteDecision("us-central1", "primary_healthy", {})
    assert probe.asked == ["us-central1"]  # no need to probe the secondary
    (record,) = records(caplog)
    assert record["event"] == "region_routing" and record["region"] == "us-central1"
    assert caplog.records[-1].levelno == logging.INFO


@pytest.mark.parametrize("primary_answer", [False, ConnectionError("regional outage")])
def test_fails_over_to_a_healthy_secondary(caplog: pytest.LogCaptureFixture, primary_answer: bool | Exception) -> None:
    probe = Probe(us_central1=primary_answer, us_east1=True)
    with caplog.at_level(logging.INFO, logger="bpflow.routing"):
        decision = RegionRouter("us-central1", "us-east1", probe).choose()
    assert (decision.region, decision.reason) == ("us-east1", "secondary_healthy")
    assert list(decision.failures) == ["us-central1"]
    if isinstance(primary_answer, Exception):
        assert decision.failures["us-central1"] == "ConnectionError: regional outage"
    assert caplog.records[-1].levelno == logging.WARNING
    assert json.loads(caplog.records[-1].getMessage())["reason"] == "secondary_healthy"


def test_both_down_uses_the_primary(caplog: pytest.LogCaptureFixture) -> None:
    probe = Probe(us_central1=RuntimeError("boom"), us_east1=False)
    with caplog.at_level(logging.INFO, logger="bpflow.routing"):
        decision = RegionRouter(None, None, probe).choose()
    assert (decision.region, decision.reason) == ("us-central1", "both_unhealthy")
    assert set(decision.failures) == {"us-central1", "us-east1"}
    assert caplog.records[-1].levelno == logging.ERROR
    assert records(caplog)[-1]["failures"]["us-east1"] == "health check returned false"


def test_regions_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, PRIMARY_WORKFLOW_REGION="europe-west1", SECONDARY_WORKFLOW_REGION="europe-west4")
    router = RegionRouter(None, None, lambda r: r == "europe-west4")
    assert (router.primary, router.secondary) == ("europe-west1", "europe-west4")
    assert router.choose().region == "europe-west4"


def test_explicit_places_beat_env_and_any_names_work(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, PRIMARY_WORKFLOW_REGION="europe-west1")
    router = RegionRouter("blueprint-cluster", "blueprint-cluster-secondary", lambda c: c.endswith("secondary"))
    assert router.choose() == RouteDecision(
        "blueprint-cluster-secondary", "secondary_healthy", {"blueprint-cluster": "health check returned false"}
    )


def test_custom_logger() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("test.routing.custom")
    logger.setLevel(logging.INFO)
    logger.addHandler(Keep())
    RegionRouter("a", "b", lambda r: True, log=logger).choose()
    assert seen and seen[0].bp_record["region"] == "a"
