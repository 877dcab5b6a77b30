"""Structured events (the reference's ``bp_metric`` log lines) and Prometheus metrics, in one place.

Every structured event is one JSON log line on the ``bpflow.metrics`` logger, so operators can
grep or ship them, and the counters behind ``/metrics`` move from the same call: the reference
derived its ``blueprint_job_*`` log-based metrics from exactly these records, so :func:`emit`
feeds the matching counters here (invocations, timeout events, failure events).

Counters count what happened in this process since it started (Prometheus computes rates);
``bpflow_runs_active`` is read from the engine's database at scrape time, so it is the
deployment-wide number of queued and running runs whichever worker holds them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("bpflow.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS = Counter(
    "bpflow_runs_total", "Workflow runs finished, by workflow and status", ["workflow", "status"], registry=REGISTRY
)
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
RETRIES_EXHAUSTED = Counter(
    "bpflow_job_retry_exhausted_total",
    "Job launches that exhausted their retries",
    ["workflow", "job"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "bpflow_events_total",
    "Dispatch decisions by event source and outcome: dispatched / duplicate / not_implemented per matched workflow, ignored / rejected per event",
    ["source", "outcome"],
    registry=REGISTRY,
)
EVENTS_RECEIVED = Counter(
    "bpflow_events_received_total", "Events handed to the dispatcher, by source", ["source"], registry=REGISTRY
)
JOB_INVOCATIONS = Counter(
    "bpflow_job_invocations_total",
    "job_invocation records (event start|complete, status STARTED|SUCCEEDED|FAILED)",
    ["workflow", "job", "event", "status"],
    registry=REGISTRY,
)
JOB_TIMEOUT_EVENTS = Counter(
    "bpflow_job_timeout_events_total",
    "Job completions that used their whole timeout",
    ["workflow", "job"],
    registry=REGISTRY,
)
JOB_FAILURE_EVENTS = Counter(
    "bpflow_job_failure_events_total", "Job completions with status FAILED", ["workflow", "job"], registry=REGISTRY
)
DISPATCH_LATENCY = Histogram(
    "bpflow_dispatch_latency_seconds",
    "From event receipt to durable enqueue of its run",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
    registry=REGISTRY,
)


def _count(bp_metric: str, fields: dict[str, Any]) -> None:
    if bp_metric != "job_invocation":
        return
    workflow, job = str(fields.get("workflow", "")), str(fields.get("job", ""))
    JOB_INVOCATIONS.labels(workflow, job, str(fields.get("event", "")), str(fields.get("status", ""))).inc()
    if fields.get("event") == "complete":
        if fields.get("timed_out"):
            JOB_TIMEOUT_EVENTS.labels(workflow, job).inc()
        if fields.get("status") == "FAILED":
            JOB_FAILURE_EVENTS.labels(workflow, job).inc()


def emit(bp_metric: str, **fields: Any) -> dict[str, Any]:
    """Log one structured event and move its counters; returns the record so callers can store it."""
    record = {"bp_metric": bp_metric, **fields}
    level = logging.ERROR if fields.get("status") == "FAILED" or bp_metric == "job_retry_exhausted" else logging.INFO
    log.log(level, json.dumps(record, sort_keys=True, default=str), extra={"bp_record": record})
    _count(bp_metric, fields)
    return record


ActiveRuns = Callable[[], dict[tuple[str, str], int]]


class _ActiveRunsCollector(Collector):
    """``bpflow_runs_active{workflow,status}``, asked of the engine at scrape time."""

    def __init__(self) -> None:
        self.source: ActiveRuns | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "bpflow_runs_active",
            "Queued (ENQUEUED) and running (PENDING) runs in the engine, by workflow",
            labels=["workflow", "status"],
        )
        source = self.source
        if source is not None:
            try:
                counts = source()
            except Exception:  # noqa: BLE001 - a scrape must not fail because the database blinked
                log.warning("could not count active runs for /metrics", exc_info=True)
                counts = {}
            for (workflow, status), n in sorted(counts.items()):
                gauge.add_metric([workflow, status], n)
        yield gauge


_ACTIVE_RUNS = _ActiveRunsCollector()
REGISTRY.register(_ACTIVE_RUNS)


QueueSource = Callable[[], list[Any]]


class _QueueCollector(Collector):
    """``bpflow_queue_runs{queue,status}``, ``bpflow_queue_oldest_queued_age_seconds{queue}`` and
    ``bpflow_queue_stalled{queue}``, asked of the engine at scrape time: a stalled runtime shows."""

    def __init__(self) -> None:
        self.source: QueueSource | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily(
            "bpflow_queue_runs",
            "Runs queued (waiting for a slot) and running, by run queue",
            labels=["queue", "status"],
        )
        age = GaugeMetricFamily(
            "bpflow_queue_oldest_queued_age_seconds",
            "How long the oldest queued run of a queue has waited (0 when none waits)",
            labels=["queue"],
        )
        stalled = GaugeMetricFamily(
            "bpflow_queue_stalled",
            "1 when a queue's oldest queued run has waited past the stall threshold",
            labels=["queue"],
        )
        consumers = GaugeMetricFamily(
            "bpflow_queue_consumers", "Live workers listening to a queue (BPFLOW_WORKER_CLASSES)", labels=["queue"]
        )
        no_consumer = GaugeMetricFamily(
            "bpflow_queue_no_consumer", "1 when a queue has queued runs and no live worker takes it", labels=["queue"]
        )
        source = self.source
        health: list[Any] = []
        if source is not None:
            try:
                health = source()
            except Exception:  # noqa: BLE001 - a scrape must not fail because the database blinked
                log.warning("could not read queue health for /metrics", exc_info=True)
        for q in health:
            runs.add_metric([q.queue, "queued"], q.queued)
            runs.add_metric([q.queue, "running"], q.running)
            age.add_metric([q.queue], q.oldest_queued_age_seconds or 0.0)
            stalled.add_metric([q.queue], 1.0 if q.stalled else 0.0)
            if q.consumers is not None:
                consumers.add_metric([q.queue], q.consumers)
            no_consumer.add_metric([q.queue], 1.0 if q.no_consumer else 0.0)
        yield runs
        yield age
        yield stalled
        yield consumers
        yield no_consumer


_QUEUES = _QueueCollector()
REGISTRY.register(_QUEUES)


def set_queue_health_source(source: QueueSource | None) -> None:
    _QUEUES.source = source


def set_active_runs_source(source: ActiveRuns | None) -> None:
    """Where ``bpflow_runs_active`` comes from (the HTTP service sets it once the engine runs)."""
    _ACTIVE_RUNS.source = source
