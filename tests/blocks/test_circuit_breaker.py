"""Per-scene circuit breaker (DESIGN.md semantics) against a real local bucket."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bpflow.core.config import reset_settings_cache
from bpflow.core.errors import ConfigError
from bpflow.core.storage.local import LocalBucket
from bpflow.state.circuit_breaker import BreakerDecision, CircuitBreaker, breaker_key
from tests.blocks import use_env

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
KEY = "scenes/scene_123/geniesim/.circuit_breaker.json"
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
FIELDS = {
    "scene_id",
    "failure_count",
    "threshold",
    "status",
    "opened_at",
    "last_probe_at",
    "updated_at",
    "last_failure_at",
    "last_failure_reason",
    "last_success_at",
}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_env(monkeypatch, GENIESIM_CIRCUIT_BREAKER_THRESHOLD=None, GENIESIM_CIRCUIT_BREAKER_RECOVERY_SECONDS=None)
    yield
    reset_settings_cache()


@pytest.fixture
def bucket(tmp_path: Path) -> LocalBucket:
    return LocalBucket(tmp_path / "bucket")


@pytest.fixture
def breaker(bucket: LocalBucket) -> CircuitBreaker:
    return CircuitBreaker(bucket, "scene_123", now_fn=lambda: T0)


def open_breaker(breaker: CircuitBreaker, when: datetime = T0) -> None:
    for _ in range(breaker.threshold):
        breaker.record_failure("geniesim_export_failed", now=when)


def test_defaults_from_env(bucket: LocalBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    default = CircuitBreaker(bucket, "scene_123")
    assert (default.threshold, default.recovery_seconds) == (3, 600)
    use_env(monkeypatch, GENIESIM_CIRCUIT_BREAKER_THRESHOLD="5", GENIESIM_CIRCUIT_BREAKER_RECOVERY_SECONDS="60")
    tuned = CircuitBreaker(bucket, "scene_123")
    assert (tuned.threshold, tuned.recovery_seconds) == (5, 60)
    use_env(monkeypatch, GENIESIM_CIRCUIT_BREAKER_THRESHOLD="0")
    with pytest.raises(ConfigError, match="GENIESIM_CIRCUIT_BREAKER_THRESHOLD"):
        CircuitBreaker(bucket, "scene_123")


def test_key() -> None:
    assert breaker_key("scene_123") == KEY


def test_fresh_scene_is_closed_and_allowed_without_writing(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    decision = breaker.check()
    assert decision == BreakerDecision(True, False, decision.state, "")
    assert decision.state["status"] == "closed" and decision.state["failure_count"] == 0
    assert not bucket.exists(KEY)


def test_below_threshold_stays_closed_and_allowed(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    breaker.record_failure("geniesim_export_failed", now=at(0))
    state = breaker.record_failure("geniesim_gpu_start_failed", now=at(1))
    assert (state["status"], state["failure_count"], state["opened_at"]) == ("closed", 2, None)
    assert state["last_failure_reason"] == "geniesim_gpu_start_failed"
    assert set(bucket.read_json(KEY)) == FIELDS
    assert breaker.check(now=at(2)).allowed


def test_reaching_threshold_opens_and_blocks(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    open_breaker(breaker)
    stored = bucket.read_json(KEY)
    assert stored["status"] == "open" and stored["failure_count"] == 3 and stored["threshold"] == 3
    assert stored["opened_at"] == stored["last_failure_at"] == "2024-05-01T12:00:00.000000Z"
    assert all(STAMP.match(stored[f]) for f in ("opened_at", "updated_at", "last_failure_at"))
    decision = breaker.check(now=at(599))
    assert not decision.allowed and not decision.trial
    assert decision.message == "Circuit breaker open for scene scene_123. Skipping Genie Sim export."
    assert decision.state["status"] == "open"


def test_stage_name_goes_into_the_message(bucket: LocalBucket) -> None:
    importer = CircuitBreaker(bucket, "scene_123", stage="Genie Sim import")
    open_breaker(importer)
    assert importer.check(now=at(1)).message == "Circuit breaker open for scene scene_123. Skipping Genie Sim import."


def test_blocked_state_is_logged(breaker: CircuitBreaker, caplog: pytest.LogCaptureFixture) -> None:
    open_breaker(breaker)
    with caplog.at_level(logging.WARNING, logger="bpflow.circuit_breaker"):
        breaker.check(now=at(10))
    assert '"failure_count": 3' in caplog.text and "Circuit breaker open" in caplog.text


def test_after_recovery_one_trial_is_claimed(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    open_breaker(breaker)
    trial = breaker.check(now=at(600))
    assert trial.allowed and trial.trial
    stored = bucket.read_json(KEY)
    assert stored["status"] == "half_open"
    assert stored["last_probe_at"] == "2024-05-01T12:10:00.000000Z"
    assert stored["opened_at"] == "2024-05-01T12:00:00.000000Z"
    follower = breaker.check(now=at(601))
    assert not follower.allowed and follower.message.startswith("Circuit breaker open for scene scene_123")


def test_exactly_one_of_five_concurrent_callers_gets_the_trial(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    open_breaker(CircuitBreaker(LocalBucket(root), "scene_123"))
    barrier = threading.Barrier(5)
    decisions: list[BreakerDecision] = []
    lock = threading.Lock()

    def worker() -> None:
        breaker = CircuitBreaker(LocalBucket(root), "scene_123")  # separate clients, one object
        barrier.wait()
        decision = breaker.check(now=at(700))
        with lock:
            decisions.append(decision)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(decisions) == 5
    assert sum(d.trial for d in decisions) == 1
    assert sum(d.allowed for d in decisions) == 1


def test_trial_success_resets(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    open_breaker(breaker)
    assert breaker.check(now=at(600)).trial
    state = breaker.record_success(now=at(650))
    assert state["status"] == "closed" and state["failure_count"] == 0
    assert state["opened_at"] is None and state["last_failure_reason"] is None
    assert state["last_success_at"] == "2024-05-01T12:10:50.000000Z"
    assert state["last_failure_at"] == "2024-05-01T12:00:00.000000Z"  # history is kept
    assert bucket.read_json(KEY) == state
    again = breaker.check(now=at(651))
    assert again.allowed and not again.trial


def test_trial_failure_reopens_for_a_full_recovery(breaker: CircuitBreaker) -> None:
    open_breaker(breaker)
    assert breaker.check(now=at(600)).trial
    state = breaker.record_failure("geniesim_export_failed", now=at(650))
    assert state["status"] == "open" and state["failure_count"] == 4
    assert state["opened_at"] == "2024-05-01T12:10:50.000000Z"
    assert not breaker.check(now=at(650 + 599)).allowed
    assert breaker.check(now=at(650 + 600)).trial


def test_abandoned_trial_is_offered_again_after_recovery(breaker: CircuitBreaker) -> None:
    open_breaker(breaker)
    assert breaker.check(now=at(600)).trial  # this run dies without reporting
    assert not breaker.check(now=at(1199)).allowed
    assert breaker.check(now=at(1200)).trial


def test_success_from_any_run_closes(breaker: CircuitBreaker) -> None:
    breaker.record_failure("geniesim_export_failed", now=at(0))
    breaker.record_failure("geniesim_export_failed", now=at(1))
    state = breaker.record_success(now=at(2))
    assert (state["status"], state["failure_count"]) == ("closed", 0)
    # The count starts over: two more failures do not open it.
    breaker.record_failure("geniesim_export_failed", now=at(3))
    assert breaker.record_failure("geniesim_export_failed", now=at(4))["status"] == "closed"


def test_unknown_keys_survive_every_write(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    bucket.write_json(KEY, {"failure_count": 2, "status": "closed", "owner": "ops", "notes": {"ticket": 42}})
    breaker.record_failure("geniesim_export_failed", now=at(0))
    breaker.check(now=at(600))
    breaker.record_success(now=at(601))
    stored = bucket.read_json(KEY)
    assert stored["owner"] == "ops" and stored["notes"] == {"ticket": 42}
    assert stored["status"] == "closed"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b"\xff\xfe"])
def test_corrupt_object_counts_as_closed_and_is_replaced(
    breaker: CircuitBreaker, bucket: LocalBucket, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    bucket.write(KEY, body)
    with caplog.at_level(logging.WARNING, logger="bpflow.blocks"):
        decision = breaker.check(now=at(0))
    assert decision.allowed and decision.state["failure_count"] == 0 and decision.state["status"] == "closed"
    assert KEY in caplog.text
    assert bucket.read(KEY) == body  # a check never writes a closed breaker
    state = breaker.record_failure("geniesim_export_failed", now=at(1))
    assert bucket.read_json(KEY) == state and state["failure_count"] == 1


def test_reference_object_without_status_is_read_by_count(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    bucket.write_json(KEY, {"scene_id": "scene_123", "failure_count": 5, "last_failure_at": "2024-05-01T11:59:00Z"})
    assert not breaker.check(now=at(0)).allowed  # opened_at defaults to last_failure_at
    assert breaker.check(now=at(540)).trial


def test_open_breaker_without_any_timestamp_offers_a_trial(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    """Nothing proves it opened recently, so it must not block the scene forever."""
    bucket.write_json(KEY, {"failure_count": 3, "status": "closed"})
    assert breaker.check(now=at(0)).trial


def test_stored_open_status_is_honoured_below_threshold(breaker: CircuitBreaker, bucket: LocalBucket) -> None:
    bucket.write_json(KEY, {"failure_count": 1, "status": "open", "opened_at": "2024-05-01T12:00:00+00:00"})
    assert not breaker.check(now=at(10)).allowed
    assert breaker.check(now=at(600)).trial


def test_concurrent_failures_are_all_counted(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    barrier = threading.Barrier(5)

    def worker(i: int) -> None:
        breaker = CircuitBreaker(LocalBucket(root), "scene_123", threshold=10)
        barrier.wait()
        breaker.record_failure(f"reason_{i}", now=at(i))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert LocalBucket(root).read_json(KEY)["failure_count"] == 5


def test_naive_now_is_taken_as_utc(bucket: LocalBucket) -> None:
    breaker = CircuitBreaker(bucket, "scene_123", threshold=1, now_fn=lambda: datetime(2024, 5, 1, 12, 0, 0))
    assert breaker.record_failure("x")["opened_at"] == "2024-05-01T12:00:00.000000Z"
    assert not breaker.check().allowed
