"""Policy files (retries, timeouts, polling) and the env settings that tune them.

The numbers live in YAML beside this module so operators can read and diff them, and so a
deployment can change them without a code change: a folder named by ``BPFLOW_POLICY_DIR``
may hold same-named YAML files whose keys are deep-merged over the packaged ones (``null``
removes a key). A policy is
validated after merging and env overrides, so a typo fails the first load with the key named,
not a workflow hours later.
"""

from __future__ import annotations

import copy
import math
import threading
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bpflow.core.config import get_settings
from bpflow.core.errors import ConfigError

POLICY_NAMES = ("retry_policy", "adaptive_timeouts", "timeouts", "polling")
POLICY_DIR_ENV = "BPFLOW_POLICY_DIR"

#: The env overrides (read through ``bpflow.core.config``, which parses and range-checks them).
#: ``PIPELINE_RETRY_MAX`` counts total attempts, as in the reference tool that reads it, so
#: it sets ``max_retries`` to one less. They tune the top level (the "default" profile) only.
RETRY_ENV_OVERRIDES = ("PIPELINE_RETRY_MAX", "PIPELINE_RETRY_BASE_DELAY", "PIPELINE_RETRY_MAX_DELAY")


# -- loading ---------------------------------------------------------------------------------
def load_policy(name: str) -> dict[str, Any]:
    """The named policy: packaged YAML, deep-merged user override, env overrides, validated.

    The override file is re-read when it changes (its stat is checked), so editing it takes
    effect without a restart; env values come from the process settings (``bpflow.core.config``).
    The caller gets its own copy to keep; bpflow's own readers use :func:`shared_policy`.
    """
    return copy.deepcopy(shared_policy(name))


def shared_policy(name: str) -> dict[str, Any]:
    """The same policy as :func:`load_policy`, not copied: the object cached for every reader
    in the process, so it must not be changed. Every dispatch and job launch reads a policy, and
    a deep copy of it cost as much as the rest of the launch."""
    if name not in POLICY_NAMES:
        raise ConfigError(f"unknown policy {name!r}; known: {', '.join(POLICY_NAMES)}", field="policy")
    settings = get_settings()
    source = (settings, _override_signature(name))
    with _LOADED_LOCK:
        loaded = _LOADED.get(name)
    if loaded is None or loaded[0][0] is not source[0] or loaded[0][1] != source[1]:
        policy = deep_merge(copy.deepcopy(_packaged(name)), _user_override(name))
        if name == "retry_policy":
            _apply_retry_env(policy)
        _VALIDATORS[name](policy)
        loaded = (source, policy)
        with _LOADED_LOCK:
            _LOADED[name] = loaded
    return loaded[1]


#: name -> ((settings it was built under, override file signature), validated policy). Every
#: dispatch and job launch reads a policy: parsing, merging and validating YAML each time cost
#: more than the run's own bookkeeping. A changed override file (or reloaded settings) is
#: noticed by its stat, so an edit still takes effect without a restart.
_LOADED: dict[str, tuple[tuple[Any, Any], dict[str, Any]]] = {}
_LOADED_LOCK = threading.Lock()


def _override_signature(name: str) -> tuple[int, int, int] | None:
    root = get_settings().bpflow_policy_dir
    if root is None:
        return None
    try:
        st = (root / f"{name}.yaml").stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (numbers, lists) in ``override`` replaces, and
    ``null`` removes the key (e.g. to turn a ``delays`` schedule into an ``interval_seconds`` one)."""
    for key, value in override.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


@cache
def _packaged(name: str) -> dict[str, Any]:
    text = (resources.files(__package__) / f"{name}.yaml").read_text(encoding="utf-8")
    return _parse(text, f"packaged {name}.yaml")


def _user_override(name: str) -> dict[str, Any]:
    root = get_settings().bpflow_policy_dir
    if root is None:
        return {}
    if not root.is_dir():
        raise ConfigError(f"{POLICY_DIR_ENV} is not a folder: {root}", field=POLICY_DIR_ENV)
    path = root / f"{name}.yaml"
    if not path.is_file():
        return {}
    return _parse(path.read_text(encoding="utf-8"), str(path))


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse {origin}: {exc}", field=origin) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin} must hold a mapping at the top level", field=origin)
    return data


def _apply_retry_env(policy: dict[str, Any]) -> None:
    settings = get_settings()
    if settings.pipeline_retry_max is not None:
        policy["max_retries"] = settings.pipeline_retry_max - 1
    if settings.pipeline_retry_base_delay is not None:
        policy["base_delay_seconds"] = settings.pipeline_retry_base_delay
    if settings.pipeline_retry_max_delay is not None:
        policy["max_delay_seconds"] = settings.pipeline_retry_max_delay


# -- validation ------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require_positive(value: Any, key: str) -> float:
    if not _is_number(value) or value <= 0:
        raise ConfigError(f"{key} must be a number > 0, got {value!r}", field=key)
    return float(value)


def _require_at_least(value: Any, key: str, minimum: float, *, integer: bool = False) -> None:
    ok = (isinstance(value, int) and not isinstance(value, bool)) if integer else _is_number(value)
    if not ok or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{key} must be {kind} >= {minimum}, got {value!r}", field=key)


def _require_mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping, got {type(value).__name__}", field=key)
    return value


def _require_keys(mapping: dict[str, Any], allowed: set[str], key: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConfigError(f"{key} has unknown keys {unknown}; allowed: {sorted(allowed)}", field=f"{key}.{unknown[0]}")


def _validate_backoff(values: dict[str, Any], key: str, *, retries_key: str) -> None:
    """Zero delays are allowed (retry at once: handy locally and in tests), negatives are not."""
    _require_at_least(values.get(retries_key), f"{key}.{retries_key}", 0, integer=True)
    _require_at_least(values.get("base_delay_seconds"), f"{key}.base_delay_seconds", 0)
    _require_at_least(values.get("max_delay_seconds"), f"{key}.max_delay_seconds", 0)
    _require_at_least(values.get("backoff_factor"), f"{key}.backoff_factor", 1)


RETRY_KEYS = ("max_retries", "base_delay_seconds", "max_delay_seconds", "backoff_factor")


def retry_profile_values(policy: dict[str, Any], profile: str) -> dict[str, Any]:
    """A profile's four numbers, inheriting unset ones from the top level."""
    base = {k: policy.get(k) for k in RETRY_KEYS}
    if profile == "default":
        return base
    profiles = policy.get("profiles") or {}
    if profile not in profiles:
        known = ", ".join(["default", *sorted(profiles)])
        raise ConfigError(f"unknown retry profile {profile!r}; known: {known}", field="retry_policy.profiles")
    return {**base, **{k: v for k, v in profiles[profile].items() if k in RETRY_KEYS}}


def _validate_retry(policy: dict[str, Any]) -> None:
    _validate_backoff(policy, "retry_policy", retries_key="max_retries")
    for list_key in ("retryable_http_status", "non_retryable_http_status"):
        statuses = policy.get(list_key, [])
        if not isinstance(statuses, list) or not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
            raise ConfigError(
                f"retry_policy.{list_key} must be a list of HTTP status codes", field=f"retry_policy.{list_key}"
            )
    profiles = _require_mapping(policy.get("profiles", {}), "retry_policy.profiles")
    for profile, values in profiles.items():
        key = f"retry_policy.profiles.{profile}"
        _require_keys(_require_mapping(values, key), set(RETRY_KEYS), key)
        _validate_backoff(retry_profile_values(policy, profile), key, retries_key="max_retries")


def _validate_adaptive(policy: dict[str, Any]) -> None:
    for table in ("bundle_tier", "scene_complexity"):
        for name, seconds in _require_mapping(policy.get(table, {}), f"adaptive_timeouts.{table}").items():
            require_positive(seconds, f"adaptive_timeouts.{table}.{name}")
    require_positive(policy.get("default_timeout_seconds"), "adaptive_timeouts.default_timeout_seconds")


_JOB_KEYS = {"timeout_seconds", "job", "retry", "env"}


def _validate_timeouts(policy: dict[str, Any]) -> None:
    require_positive(policy.get("default_timeout_seconds"), "timeouts.default_timeout_seconds")
    for workflow, spec in _require_mapping(policy.get("workflows", {}), "timeouts.workflows").items():
        key = f"timeouts.workflows.{workflow}"
        _require_keys(_require_mapping(spec, key), {"retry", "jobs"}, key)
        if not isinstance(spec.get("retry", "default"), str):
            raise ConfigError(f"{key}.retry must be a profile name", field=f"{key}.retry")
        jobs = _require_mapping(spec.get("jobs"), f"{key}.jobs")
        if not jobs:
            raise ConfigError(f"{key}.jobs must name at least one job", field=f"{key}.jobs")
        for job, job_spec in jobs.items():
            _validate_job_timeout(job_spec, f"{key}.jobs.{job}")


def _validate_job_timeout(spec: Any, key: str) -> None:
    if not isinstance(spec, dict):
        require_positive(spec, key)
        return
    _require_keys(spec, _JOB_KEYS, key)
    require_positive(spec.get("timeout_seconds"), f"{key}.timeout_seconds")
    for text_key in ("job", "retry", "env"):
        if text_key in spec and not isinstance(spec[text_key], str):
            raise ConfigError(f"{key}.{text_key} must be a string", field=f"{key}.{text_key}")


def _validate_polling(policy: dict[str, Any]) -> None:
    for name, spec in policy.items():
        key = f"polling.{name}"
        _require_keys(_require_mapping(spec, key), {"delays", "interval_seconds", "max_attempts"}, key)
        if ("delays" in spec) == ("interval_seconds" in spec):
            raise ConfigError(f"{key} needs exactly one of delays or interval_seconds", field=key)
        attempts = spec.get("max_attempts")
        if attempts is not None:
            _require_at_least(attempts, f"{key}.max_attempts", 1, integer=True)
        if "interval_seconds" in spec:
            require_positive(spec["interval_seconds"], f"{key}.interval_seconds")
            continue
        delays = spec["delays"]
        if not isinstance(delays, list) or not delays:
            raise ConfigError(f"{key}.delays must be a non-empty list of seconds", field=f"{key}.delays")
        for i, delay in enumerate(delays):
            _require_at_least(delay, f"{key}.delays[{i}]", 0)
        if attempts is not None and attempts > len(delays):
            message = f"{key}.max_attempts is {attempts} but only {len(delays)} delays are given"
            raise ConfigError(message, field=f"{key}.max_attempts")


_VALIDATORS = {
    "retry_policy": _validate_retry,
    "adaptive_timeouts": _validate_adaptive,
    "timeouts": _validate_timeouts,
    "polling": _validate_polling,
}
