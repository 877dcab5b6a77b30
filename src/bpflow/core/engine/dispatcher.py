"""Event → run id → durable start. Nothing else decides what runs: the trigger map does.

Events arrive from several sources (writes through the Bucket, the file watcher, the
reconciliation scan, HTTP, the CLI) and may repeat or arrive out of order. The run id names the
input version, so a repeat attaches to the run already started; a small in-memory memo of recent
run ids spares the database those repeats on the hot path.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bpflow.core import observe
from bpflow.core.engine.registry import WorkflowDef, find_workflow
from bpflow.core.events.model import CustomEvent, ObjectEvent
from bpflow.core.ids import event_run_id, manual_run_id, object_run_id
from bpflow.core.storage import ObjectInfo

if TYPE_CHECKING:
    from bpflow.core.storage import Bucket
    from bpflow.core.triggers import TriggerMap


class DispatchHost(Protocol):
    """What the dispatcher reads of its process (the runtime passes itself): the bucket, the
    trigger map and the env its enable rules are judged under. Never the runtime's module."""

    bucket: Bucket
    triggers: TriggerMap

    @property
    def env(self) -> Mapping[str, str]: ...  # read only: a host may keep a dict


log = logging.getLogger("bpflow.dispatcher")


@dataclass
class Dispatched:
    """What one event led to: runs started or attached, and workflows that matched but were not run."""

    run_ids: list[str] = field(default_factory=list)
    not_implemented: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    """Objects named at a generation the bucket does not show (yet): nothing started, no run id
    used up; re-checked for a few seconds, then left to the watcher and the scan."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_ids": self.run_ids,
            "not_implemented": self.not_implemented,
            "rejected": self.rejected,
            "deferred": self.deferred,
        }


class _Memo:
    """Bounded set of run ids this process already enqueued."""

    def __init__(self, size: int = 50_000) -> None:
        self._d: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add_if_new(self, key: str) -> bool:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return False
            self._d[key] = None
            if len(self._d) > self._size:
                self._d.popitem(last=False)
            return True

    def discard(self, key: str) -> None:
        with self._lock:
            self._d.pop(key, None)


#: Sources whose event was read off the bucket a moment ago: the version is visible by construction.
_FROM_THE_BUCKET = frozenset({"bucket-write", "watcher", "scan"})
#: Pauses before re-checking an event whose object version is not visible yet (then it is dropped).
NOT_VISIBLE_RETRIES = (0.25, 0.5, 1.0, 2.0, 4.0)


class Dispatcher:
    def __init__(
        self, runtime: DispatchHost, enqueue: Callable[[WorkflowDef, str, dict[str, Any]], None] | None = None
    ) -> None:
        self.rt = runtime
        self._enqueue = enqueue or WorkflowDef.enqueue
        self._memo = _Memo()
        self._inbox: queue.Queue[ObjectEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._retries: dict[tuple[str, int], int] = {}
        self._retries_lock = threading.Lock()
        self.on_started: list[Any] = []  # callbacks (run_id, event) for benchmarks and the UI

    # -- sources hand events here -------------------------------------------------------------
    def on_write(self, info: ObjectInfo) -> None:
        """Bucket listener: never blocks the writer (which may be inside a workflow step)."""
        self.submit(
            ObjectEvent(
                bucket=info.bucket or self.rt.bucket.url,
                name=info.key,
                generation=info.generation,
                source="bucket-write",
            )
        )

    def submit(self, event: ObjectEvent) -> None:
        self._inbox.put(event)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="bpflow-dispatcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every submitted event has been handled (tests, benchmarks, the CLI)."""
        deadline = time.monotonic() + timeout
        while self._inbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.002)

    def _loop(self) -> None:
        while True:
            event = self._inbox.get()
            try:
                if event is None:
                    return
                self.dispatch_object(event)
            except Exception:  # one bad event must never stop the dispatcher
                log.exception("dispatch failed for %s", event)
            finally:
                self._inbox.task_done()

    # -- the decisions ----------------------------------------------------------------------------
    def dispatch_object(self, event: ObjectEvent) -> Dispatched:
        out = Dispatched()
        observe.EVENTS_RECEIVED.labels(event.source).inc()
        matches = self.rt.triggers.match_object(event.name, env=self.rt.env)
        if not matches:
            observe.EVENTS.labels(event.source, "ignored").inc()
            return out
        if event.source not in _FROM_THE_BUCKET and not self._visible(event):
            out.deferred.append(f"{event.name}@{event.generation}")
            return out
        for m in matches:
            run_id = object_run_id(m.workflow, event.name, event.generation)
            self._start(m.workflow, run_id, event.payload(), event.received_at, out, source=event.source)
        return out

    def _visible(self, event: ObjectEvent) -> bool:
        """Whether the bucket shows ``event``'s version (or a newer one, which the run records as
        superseded). An event that arrived before its object must not use up the run id: the
        run would find nothing and end, and the object landing later would attach to that
        finished run and never run. So it is re-checked for a few seconds, then dropped; the
        watcher or the scan dispatches the object once it is there."""
        info = self.rt.bucket.stat(event.name)
        if info is not None and info.generation >= event.generation:
            with self._retries_lock:
                self._retries.pop((event.name, event.generation), None)
            return True
        with self._retries_lock:
            attempt = self._retries.get((event.name, event.generation), 0)
            if attempt < len(NOT_VISIBLE_RETRIES):
                self._retries[(event.name, event.generation)] = attempt + 1
            else:
                self._retries.pop((event.name, event.generation), None)
        if attempt < len(NOT_VISIBLE_RETRIES):
            observe.EVENTS.labels(event.source, "deferred").inc()
            timer = threading.Timer(NOT_VISIBLE_RETRIES[attempt], self.submit, [event])
            timer.daemon = True
            timer.start()
        else:
            observe.EVENTS.labels(event.source, "not_visible").inc()
            log.info("dropped %s@%s: that version never appeared in the bucket", event.name, event.generation)
        return False

    def dispatch_custom(self, event: CustomEvent) -> Dispatched:
        out = Dispatched()
        observe.EVENTS_RECEIVED.labels(event.source).inc()
        rows = self.rt.triggers.match_event_type(event.type, env=self.rt.env)
        if not rows:
            observe.EVENTS.labels(event.source, "ignored").inc()
        for row in rows:
            run_id = event_run_id(row.workflow, event.type, event.id)
            self._start(row.workflow, run_id, event.payload(), event.received_at, out, source=event.source)
        return out

    def start_manual(self, workflow: str, payload: dict[str, Any], run_id: str | None = None) -> Dispatched:
        out = Dispatched()
        self._start(workflow, run_id or manual_run_id(workflow), payload, time.perf_counter(), out, source="manual")
        return out

    def start_run(self, workflow: str, run_id: str, payload: dict[str, Any]) -> Dispatched:
        """Start (or attach to) a run with a caller-computed id: the orchestrator and reruns use this."""
        out = Dispatched()
        self._start(workflow, run_id, payload, time.perf_counter(), out, source="direct")
        return out

    def _start(
        self, workflow: str, run_id: str, payload: dict[str, Any], received_at: float, out: Dispatched, *, source: str
    ) -> None:
        wf = find_workflow(workflow)
        if wf is None:
            out.not_implemented.append(workflow)
            observe.EVENTS.labels(source, "not_implemented").inc()
            # The reconciliation scan meets the same objects every pass: it sums them up itself.
            log.log(
                logging.DEBUG if source == "scan" else logging.INFO,
                "workflow %s matched (run %s) but has no implementation in this build; not started",
                workflow,
                run_id,
            )
            return
        out.run_ids.append(run_id)
        if not self._memo.add_if_new(run_id):
            observe.EVENTS.labels(source, "duplicate").inc()
            return
        try:
            self._enqueue(wf, run_id, payload)
        except Exception:
            self._memo.discard(run_id)
            raise
        observe.EVENTS.labels(source, "dispatched").inc()
        observe.DISPATCH_LATENCY.observe(max(0.0, time.perf_counter() - received_at))
        for cb in list(self.on_started):
            cb(run_id, payload)
