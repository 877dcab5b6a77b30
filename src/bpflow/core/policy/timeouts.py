"""How long a job may run: adaptive (by bundle tier and scene complexity) or per stage.

A timeout that is too short kills good work and one that is too long hides a hung job, so the
policy picks the largest timeout any known attribute of the request asks for. Unknown tier or
complexity names are logged and ignored (a new product tier must not break old workflows),
but an explicit ``timeout_override_seconds`` that is not a positive number is an error: it
is an operator's instruction, and silently running with some other timeout would hide the
mistake. (An override of 0 does not mean "no timeout": every bpflow wait has a deadline.)
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

from bpflow.core.errors import ConfigError
from bpflow.core.policy import require_positive, shared_policy

log = logging.getLogger("bpflow.timeouts")

BUNDLE_TIER_ENV = "ADAPTIVE_TIMEOUT_BUNDLE_TIER"
SCENE_COMPLEXITY_ENV = "ADAPTIVE_TIMEOUT_SCENE_COMPLEXITY"


def _seconds(value: float) -> int:
    """Whole seconds, rounded up so a fractional timeout never cuts a job short."""
    return math.ceil(value)


def positive_seconds(value: Any, field: str) -> int:
    """A positive number of seconds; numeric strings count, since event payloads and env vars
    carry numbers as strings. Anything else is a ConfigError naming ``field``."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"{field} must be a number > 0, got {value!r}", field=field) from None
    return _seconds(require_positive(value, field))


def parse_override(value: Any) -> int | None:
    """``timeout_override_seconds`` from an event: None when absent, else positive seconds."""
    return None if value is None else positive_seconds(value, "timeout_override_seconds")


def _pick(table: dict[str, Any], name: str | None, env_name: str, what: str) -> int | None:
    """The table's value for ``name`` (or the env fallback); unknown names only warn."""
    if name is None:
        name = os.environ.get(env_name)
    key = (name or "").strip().lower()
    if not key:
        return None
    if key not in table:
        log.warning("unknown %s %r ignored for timeout selection; known: %s", what, name, ", ".join(sorted(table)))
        return None
    return _seconds(table[key])


def select_timeout(
    bundle_tier: str | None = None,
    scene_complexity: str | None = None,
    timeout_override_seconds: Any = None,
    default: int | None = None,
) -> int:
    """The adaptive timeout in seconds.

    Order: a valid override; else the max of the matched tier and complexity values; else
    ``default`` when given (upsell uses 1800), else the policy's ``default_timeout_seconds``.
    Tier and complexity fall back to ``ADAPTIVE_TIMEOUT_BUNDLE_TIER`` /
    ``ADAPTIVE_TIMEOUT_SCENE_COMPLEXITY``; names are matched case-insensitively.
    """
    override = parse_override(timeout_override_seconds)
    if override is not None:
        return override
    policy = shared_policy("adaptive_timeouts")
    matched = [
        v
        for v in (
            _pick(policy.get("bundle_tier", {}), bundle_tier, BUNDLE_TIER_ENV, "bundle_tier"),
            _pick(policy.get("scene_complexity", {}), scene_complexity, SCENE_COMPLEXITY_ENV, "scene_complexity"),
        )
        if v is not None
    ]
    if matched:
        return max(matched)
    if default is not None:
        return positive_seconds(default, "default")
    return _seconds(policy["default_timeout_seconds"])


# -- per-stage timeouts (timeouts.yaml) ------------------------------------------------------
def _workflow_spec(policy: dict[str, Any], workflow: str) -> tuple[str, dict[str, Any]]:
    """Find a workflow by its trigger-map name, with or without the ``-pipeline`` suffix."""
    workflows = policy.get("workflows", {})
    for candidate in (workflow, f"{workflow}-pipeline", workflow.removesuffix("-pipeline")):
        if candidate in workflows:
            return candidate, workflows[candidate]
    raise ConfigError(f"no timeouts for workflow {workflow!r} in timeouts.yaml", field="timeouts.workflows")


def _job_spec(workflow: str, job: str | None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(workflow name, workflow spec, job spec as a mapping). ``job`` may be omitted when the
    workflow has exactly one, and unknown jobs are errors: a typo must not pick a default."""
    name, spec = _workflow_spec(shared_policy("timeouts"), workflow)
    jobs = spec["jobs"]
    if job is None:
        if len(jobs) != 1:
            raise ConfigError(f"workflow {name} has several jobs ({', '.join(jobs)}); name one", field="job")
        job = next(iter(jobs))
    if job not in jobs:
        raise ConfigError(f"no timeout for job {job!r} of workflow {name}; known: {', '.join(jobs)}", field="job")
    job_spec = jobs[job]
    return name, spec, job_spec if isinstance(job_spec, dict) else {"timeout_seconds": job_spec}


def stage_timeout(workflow: str, job: str | None = None) -> int:
    """The timeout of one job (step) of a workflow, honouring the step's env override if any."""
    _, _, job_spec = _job_spec(workflow, job)
    env_name = str(job_spec.get("env") or "")
    raw = os.environ.get(env_name, "").strip() if env_name else ""
    return positive_seconds(raw, env_name) if raw else _seconds(job_spec["timeout_seconds"])


def stage_retry_profile(workflow: str, job: str | None = None) -> str:
    """The retry_policy.yaml profile for launching that job: the job's own, else the workflow's."""
    _, spec, job_spec = _job_spec(workflow, job)
    return str(job_spec.get("retry") or spec.get("retry") or "default")


def stage_job_name(workflow: str, job: str | None = None) -> str:
    """The container job a step runs (``convert`` → ``usd-assembly-job``); the step name itself
    when the table does not say otherwise."""
    _, spec, job_spec = _job_spec(workflow, job)
    return str(job_spec.get("job") or job or next(iter(spec["jobs"])))


def workflow_jobs(workflow: str) -> tuple[str, ...]:
    """The container jobs a workflow runs by the table (none for a workflow it does not list).
    Asked at every enqueue (the job class picks the queue): kept per policy object."""
    policy = shared_policy("timeouts")
    kept = _WORKFLOW_JOBS.get(workflow)
    if kept is not None and kept[0] is policy:
        return kept[1]
    try:
        name, spec = _workflow_spec(policy, workflow)
        jobs = tuple(stage_job_name(name, step) for step in spec["jobs"])
    except ConfigError:
        jobs = ()
    _WORKFLOW_JOBS[workflow] = (policy, jobs)
    return jobs


_WORKFLOW_JOBS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}
