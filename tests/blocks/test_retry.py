"""Retry policy, its YAML + env overrides, classification, call_with_retry, poll schedules."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.blocks.retry import (
    PollSchedule,
    RetryPolicy,
    backoff_delay,
    call_with_retry,
    is_retryable,
)
from bpflow.core.config import reset_settings_cache
from bpflow.core.errors import (
    BpflowError,
    ConfigError,
    JobFailed,
    JobStartError,
    ObjectNotFound,
    StorageError,
)
from bpflow.core.policy import POLICY_NAMES, load_policy
from tests.blocks import use_env

ENV_VARS = ("BPFLOW_POLICY_DIR", "PIPELINE_RETRY_MAX", "PIPELINE_RETRY_BASE_DELAY", "PIPELINE_RETRY_MAX_DELAY")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_env(monkeypatch, **dict.fromkeys(ENV_VARS))
    yield
    reset_settings_cache()


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "policy"
    folder.mkdir()
    use_env(monkeypatch, BPFLOW_POLICY_DIR=str(folder))
    return folder


# -- the packaged policy ---------------------------------------------------------------------
def test_every_policy_file_is_packaged_and_valid() -> None:
    for name in POLICY_NAMES:
        assert load_policy(name)


def test_unknown_policy_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_policy("nope")


def test_default_policy_waits_1_2_4_8_16_for_up_to_6_attempts() -> None:
    policy = RetryPolicy.from_policy()
    assert policy.delays() == [1, 2, 4, 8, 16]
    assert policy.max_attempts == 6
    assert policy == RetryPolicy()  # the dataclass defaults are the packaged numbers


def test_maintenance_policy_waits_2_4_8() -> None:
    policy = RetryPolicy.from_policy("maintenance")
    assert (policy.max_retries, policy.delays()) == (3, [2, 4, 8])


def test_queue_workflows_do_not_retry() -> None:
    assert RetryPolicy.from_policy("none").delays() == []


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown retry profile"):
        RetryPolicy.from_policy("aggressive")


def test_delays_are_capped() -> None:
    assert RetryPolicy(max_retries=9).delays()[-3:] == [60, 60, 60]


# -- overrides -------------------------------------------------------------------------------
def test_env_overrides_tune_the_default_profile_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # PIPELINE_RETRY_MAX counts attempts (as in the reference tool that reads it): 3 → 2 retries.
    use_env(monkeypatch, PIPELINE_RETRY_MAX="3", PIPELINE_RETRY_BASE_DELAY="0.5", PIPELINE_RETRY_MAX_DELAY="1")
    policy = RetryPolicy.from_policy()
    assert (policy.max_attempts, policy.delays()) == (3, [0.5, 1])
    assert RetryPolicy.from_policy("maintenance").delays() == [2, 4, 8]


def test_one_attempt_and_zero_delays_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, PIPELINE_RETRY_MAX="1")
    assert RetryPolicy.from_policy().delays() == []
    use_env(monkeypatch, PIPELINE_RETRY_MAX="4", PIPELINE_RETRY_BASE_DELAY="0")
    assert RetryPolicy.from_policy().delays() == [0, 0, 0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PIPELINE_RETRY_MAX", "three"),
        ("PIPELINE_RETRY_MAX", "0"),
        ("PIPELINE_RETRY_BASE_DELAY", "-1"),
        ("PIPELINE_RETRY_MAX_DELAY", "x"),
    ],
)
def test_invalid_env_override_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    use_env(monkeypatch, **{name: value})
    with pytest.raises(ConfigError, match=name):
        RetryPolicy.from_policy()


def test_blank_env_override_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, PIPELINE_RETRY_MAX="  ")
    assert RetryPolicy.from_policy().max_retries == 5


def test_policy_dir_is_deep_merged(policy_dir: Path) -> None:
    (policy_dir / "retry_policy.yaml").write_text("profiles:\n  maintenance:\n    max_retries: 4\n")
    assert RetryPolicy.from_policy("maintenance").delays() == [2, 4, 8, 16]
    assert RetryPolicy.from_policy().delays() == [1, 2, 4, 8, 16]  # untouched keys survive the merge
    assert load_policy("retry_policy")["profiles"]["maintenance"]["max_delay_seconds"] == 30


def test_policy_dir_can_add_a_profile(policy_dir: Path) -> None:
    (policy_dir / "retry_policy.yaml").write_text("profiles:\n  patient:\n    base_delay_seconds: 10\n")
    assert RetryPolicy.from_policy("patient").delays() == [10, 20, 40, 60, 60]  # inherits the rest


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("base_delay_seconds: -1\n", "retry_policy.base_delay_seconds"),
        ("max_retries: 2.5\n", "retry_policy.max_retries"),
        ("backoff_factor: 0.5\n", "retry_policy.backoff_factor"),
        ("max_delay_seconds: true\n", "retry_policy.max_delay_seconds"),
        ("profiles:\n  maintenance:\n    max_retries: -3\n", "retry_policy.profiles.maintenance.max_retries"),
        ("profiles:\n  maintenance:\n    max_retry: 3\n", "retry_policy.profiles.maintenance.max_retry"),
        ("retryable_http_status: [429, 'soon']\n", "retry_policy.retryable_http_status"),
    ],
)
def test_invalid_override_names_the_key(policy_dir: Path, yaml_text: str, key: str) -> None:
    (policy_dir / "retry_policy.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_policy("retry_policy")
    assert err.value.field == key
    assert key.rsplit(".", 1)[-1] in str(err.value)


def test_unparseable_override_is_a_config_error(policy_dir: Path) -> None:
    (policy_dir / "retry_policy.yaml").write_text("max_retries: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_policy("retry_policy")


def test_missing_policy_dir_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_env(monkeypatch, BPFLOW_POLICY_DIR=str(tmp_path / "absent"))
    with pytest.raises(ConfigError) as err:
        load_policy("retry_policy")
    assert err.value.field == "BPFLOW_POLICY_DIR"


def test_loaded_policy_is_a_private_copy() -> None:
    load_policy("retry_policy")["profiles"]["maintenance"]["max_retries"] = 99
    assert RetryPolicy.from_policy("maintenance").max_retries == 3


# -- classification --------------------------------------------------------------------------
class HttpError(Exception):
    def __init__(self, status: int, attr: str = "status_code") -> None:
        super().__init__(f"HTTP {status}")
        setattr(self, attr, status)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("attr", ["status", "status_code"])
def test_documented_http_statuses_are_retryable(status: int, attr: str) -> None:
    assert is_retryable(HttpError(status, attr))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_other_http_statuses_are_not(status: int) -> None:
    assert not is_retryable(HttpError(status))


def test_status_on_the_response_counts() -> None:
    exc = RuntimeError("boom")
    exc.response = SimpleNamespace(status_code=503)  # type: ignore[attr-defined]
    assert is_retryable(exc)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionError("reset"), True),
        (ConnectionRefusedError("refused"), True),
        (TimeoutError("slow"), True),
        (JobStartError("runner down"), True),
        (StorageError("flaky"), True),
        (JobFailed("exit 1"), False),
        (ObjectNotFound("gone"), False),
        (BpflowError("told so", retryable=True), True),
        (JobStartError("unknown job", retryable=False), False),
        (ValueError("bad"), False),
        (TypeError("bad"), False),
        (KeyError("bad"), False),
        (RuntimeError("a bug"), False),
        (KeyboardInterrupt(), False),
        (SystemExit(1), False),
    ],
)
def test_exception_classification(exc: BaseException, expected: bool) -> None:
    assert is_retryable(exc) is expected
    assert RetryPolicy().is_retryable(exc) is expected


def test_policy_statuses_come_from_the_file(policy_dir: Path) -> None:
    (policy_dir / "retry_policy.yaml").write_text("retryable_http_status: [503]\n")
    policy = RetryPolicy.from_policy()
    assert policy.is_retryable(HttpError(503)) and not policy.is_retryable(HttpError(429))


# -- call_with_retry -------------------------------------------------------------------------
class Flaky:
    def __init__(self, failures: int, exc: Exception | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.exc = exc or ConnectionError("reset")

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "ok"


def test_retries_until_success_with_the_policy_waits() -> None:
    sleeps: list[float] = []
    retries: list[tuple[int, Any, float]] = []
    fn = Flaky(2)
    result = call_with_retry(fn, RetryPolicy(), sleep=sleeps.append, on_retry=lambda *a: retries.append(a))
    assert (result, fn.calls, sleeps) == ("ok", 3, [1, 2])
    assert [(n, d) for n, _, d in retries] == [(1, 1), (2, 2)]


def test_reraises_the_last_error_after_exhausting() -> None:
    sleeps: list[float] = []
    exhausted: list[tuple[int, BaseException]] = []
    fn = Flaky(100)
    with pytest.raises(ConnectionError) as err:
        call_with_retry(fn, RetryPolicy(), sleep=sleeps.append, on_exhausted=lambda n, e: exhausted.append((n, e)))
    assert err.value is fn.exc
    assert fn.calls == 6 and sleeps == [1, 2, 4, 8, 16]
    assert exhausted == [(6, fn.exc)]


def test_non_retryable_error_fails_at_once() -> None:
    sleeps: list[float] = []
    exhausted: list[Any] = []
    fn = Flaky(1, JobFailed("exit 1"))
    with pytest.raises(JobFailed):
        call_with_retry(fn, RetryPolicy(), sleep=sleeps.append, on_exhausted=lambda *a: exhausted.append(a))
    assert (fn.calls, sleeps, exhausted) == (1, [], [])


def test_zero_retries_means_one_attempt() -> None:
    fn = Flaky(1)
    with pytest.raises(ConnectionError):
        call_with_retry(fn, RetryPolicy.from_policy("none"), sleep=lambda s: None)
    assert fn.calls == 1


def test_keyboard_interrupt_is_never_retried() -> None:
    calls = []

    def interrupted() -> None:
        calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call_with_retry(interrupted, RetryPolicy(), sleep=lambda s: None)
    assert calls == [1]


@given(
    retries=st.integers(min_value=0, max_value=30),
    base=st.floats(min_value=0.001, max_value=100),
    factor=st.floats(min_value=1, max_value=10),
    cap=st.floats(min_value=0.001, max_value=1000),
)
def test_delays_are_monotone_and_capped(retries: int, base: float, factor: float, cap: float) -> None:
    delays = RetryPolicy(
        max_retries=retries, base_delay_seconds=base, backoff_factor=factor, max_delay_seconds=cap
    ).delays()
    assert len(delays) == retries
    assert all(0 < d <= cap for d in delays)
    assert all(a <= b for a, b in itertools.pairwise(delays))
    if delays:
        assert delays[0] == min(base, cap)


def test_huge_step_does_not_overflow() -> None:
    assert backoff_delay(10_000, 1, 2, 60) == 60


# -- poll schedules --------------------------------------------------------------------------
def test_regen3d_marker_schedule() -> None:
    assert list(PollSchedule.from_policy("regen3d_marker").delays()) == [1, 2, 4, 8, 16, 30]


def test_simready_marker_schedule() -> None:
    delays = list(PollSchedule.from_policy("simready_marker").delays())
    assert delays[:5] == [5, 10, 20, 40, 60] and len(delays) == 12 and max(delays) == 60


def test_job_status_is_fixed_and_unbounded() -> None:
    schedule = PollSchedule.from_policy("job_status")
    assert schedule.max_attempts is None
    delays = schedule.delays()
    assert [next(delays) for _ in range(50)] == [10] * 50


def test_unknown_schedule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown polling schedule"):
        PollSchedule.from_policy("nope")


def test_schedule_max_attempts_truncates_delays(policy_dir: Path) -> None:
    (policy_dir / "polling.yaml").write_text("regen3d_marker:\n  max_attempts: 3\n")
    assert list(PollSchedule.from_policy("regen3d_marker").delays()) == [1, 2, 4]


def test_null_in_an_override_removes_a_key(policy_dir: Path) -> None:
    (policy_dir / "polling.yaml").write_text("regen3d_marker:\n  delays: null\n  interval_seconds: 3\n")
    assert list(PollSchedule.from_policy("regen3d_marker").delays()) == [3] * 6


def test_a_new_schedule_can_be_added(policy_dir: Path) -> None:
    (policy_dir / "polling.yaml").write_text("my_marker:\n  interval_seconds: 2\n  max_attempts: 3\n")
    assert list(PollSchedule.from_policy("my_marker").delays()) == [2, 2, 2]


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("regen3d_marker:\n  max_attempts: 0\n", "polling.regen3d_marker.max_attempts"),
        ("regen3d_marker:\n  max_attempts: 7\n", "polling.regen3d_marker.max_attempts"),
        ("regen3d_marker:\n  delays: [1, -2]\n", "polling.regen3d_marker.delays[1]"),
        ("regen3d_marker:\n  delays: []\n", "polling.regen3d_marker.delays"),
        ("regen3d_marker:\n  interval_seconds: 5\n", "polling.regen3d_marker"),
        ("job_status:\n  interval_seconds: 0\n", "polling.job_status.interval_seconds"),
        ("job_status:\n  every: 5\n", "polling.job_status.every"),
    ],
)
def test_invalid_schedule_override_names_the_key(policy_dir: Path, yaml_text: str, key: str) -> None:
    (policy_dir / "polling.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        PollSchedule.from_policy("job_status")
    assert err.value.field == key
