"""Structured events (the reference's ``bp_metric`` log lines) and Prometheus metrics, in one place.

Every structured event is one JSON log line on the ``bpflow.metrics`` logger, so operators can
grep or ship them, and the counters behind ``/metrics`` move from the same call.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

log = logging.getLogger("bpflow.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS = Counter("bpflow_runs_total", "Workflow runs finished, by workflow and status", ["workflow", "status"], registry=REGISTRY)
JOB_DURATION = Histogram(
    "bpflow_job_duration_seconds",
    "Job invocation duration",
    ["workflow", "job", "status"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600),
    registry=REGISTRY,
)
JOB_TIMEOUT_RATIO = Histogram(
    "bpflow_job_timeout_usage_ratio",
    "Job duration divided by its timeout",
    ["workflow", "job"],
    buckets=(0.1, 0.25, 0.5, 0.8, 0.95, 1.0, 1.5),
    registry=REGISTRY,
)
RETRIES_EXHAUSTED = Counter("bpflow_job_retry_exhausted_total", "Job launches that exhausted their retries", ["workflow", "job"], registry=REGISTRY)
EVENTS = Counter("bpflow_events_total", "Events seen by the dispatcher, by source and outcome", ["source", "outcome"], registry=REGISTRY)
DISPATCH_LATENCY = Histogram(
    "bpflow_dispatch_latency_seconds",
    "From event receipt to durable enqueue of its run",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
    registry=REGISTRY,
)


def emit(bp_metric: str, **fields: Any) -> dict[str, Any]:
    """Log one structured event; returns the record so callers can also store it."""
    record = {"bp_metric": bp_metric, **fields}
    level = logging.ERROR if fields.get("status") == "FAILED" or bp_metric == "job_retry_exhausted" else logging.INFO
    log.log(level, json.dumps(record, sort_keys=True, default=str), extra={"bp_record": record})
    return record
