"""One process's runtime: bucket, trigger map, DBOS, dispatcher and event sources.

``bpflow up`` launches everything in one process (the embedded default); ``bpflow worker`` only
executes queued runs against a shared PostgreSQL database. Either way the same workflow code runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig
from sqlalchemy import event as sa_event

from bpflow import __version__
from bpflow.core.config import Settings, load_settings
from bpflow.core.engine import context as run_context
from bpflow.core.engine import queue_polling
from bpflow.core.engine.context import RunContext
from bpflow.core.engine.dispatcher import Dispatcher
from bpflow.core.engine.queues import STAGE_WORK, QueueTier, queues_of, split_by_class
from bpflow.core.engine.registry import import_workflow_modules, registered
from bpflow.core.errors import BpflowError, ConfigError, StorageError
from bpflow.core.job_classes import CLASSES, parse_classes
from bpflow.core.storage import Bucket, open_bucket
from bpflow.core.triggers import TriggerMap

log = logging.getLogger("bpflow.runtime")

_CURRENT: Runtime | None = None


def current_runtime() -> Runtime:
    if _CURRENT is None:
        raise BpflowError("the bpflow runtime is not launched in this process", code="runtime_not_launched")
    return _CURRENT


@dataclass(frozen=True)
class EngineOptions:
    database_url: str
    sqlite_path: str | None
    executor_id: str | None
    app_version: str
    worker_concurrency: int
    orchestrator_concurrency: int
    queue_poll_seconds: float
    orchestrator_queue_poll_seconds: float
    scan_interval_seconds: float
    scan_lookback_seconds: float
    watch: bool
    workflow_modules: tuple[str, ...]
    log_level: str
    worker_classes: tuple[str, ...] = ()


def engine_options(settings: Settings) -> EngineOptions:
    mods = tuple(m.strip() for m in (settings.bpflow_workflow_modules or "").split(",") if m.strip())
    return EngineOptions(
        database_url=settings.database_url,
        sqlite_path=str(settings.sqlite_path) if settings.sqlite_path else None,
        executor_id=settings.bpflow_executor_id or None,
        app_version=settings.bpflow_app_version or __version__,
        worker_concurrency=settings.bpflow_worker_concurrency,
        orchestrator_concurrency=settings.bpflow_orchestrator_concurrency or settings.bpflow_worker_concurrency,
        queue_poll_seconds=settings.bpflow_queue_poll_seconds,
        orchestrator_queue_poll_seconds=settings.bpflow_orchestrator_queue_poll_seconds,
        scan_interval_seconds=settings.bpflow_scan_interval_seconds,
        scan_lookback_seconds=settings.bpflow_scan_lookback_seconds,
        watch=settings.bpflow_watch,
        workflow_modules=mods,
        log_level=settings.bpflow_log_level,
        worker_classes=parse_classes(settings.bpflow_worker_classes),
    )


def _wait_for_queue_worker(queue: str, timeout: float = 3.0) -> None:
    """DBOS notices a newly registered queue on its next check (up to 1 s later); launch returns
    only once this process is really taking runs, so a freshly started runtime is ready."""
    name = f"queue-worker-{queue}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(t.name == name and t.is_alive() for t in threading.enumerate()):
            return
        time.sleep(0.01)
    log.warning("queue worker for %s not started after %.1fs", queue, timeout)


def _move_runs_to_their_tier() -> None:
    """Runs queued before the queue tiers existed sit in ``bpflow-runs`` whatever they are: an
    orchestrator there would take a stage slot again after an upgrade, and a database stuck that
    way would stay stuck. Move every queued or running run to its workflow's tier. DBOS has no
    API to change a run's queue, so this writes its system table (guarded: a DBOS that changed its
    tables only loses this repair, never the launch)."""
    from bpflow.core.engine.registry import find_workflow, registered

    moves = {}
    for name in registered():
        wf = find_workflow(name)
        if wf is not None and wf.queue is not STAGE_WORK:
            moves[name] = wf.queue.name
    if not moves:
        return
    try:
        from dbos._dbos import _get_dbos_instance
        from dbos._schemas.system_database import SystemSchema

        sys_db = _get_dbos_instance()._sys_db
        table = SystemSchema.workflow_status
        with sys_db.engine.begin() as conn:
            for name, queue in moves.items():
                done = conn.execute(
                    table.update()
                    .where(
                        table.c.name == name,
                        table.c.queue_name == STAGE_WORK.name,
                        table.c.status.in_(("ENQUEUED", "PENDING")),
                    )
                    .values(queue_name=queue)
                )
                if done.rowcount:
                    log.warning("moved %d queued %s run(s) from %s to %s", done.rowcount, name, STAGE_WORK.name, queue)
    except Exception:  # noqa: BLE001 - a repair of old data must never stop the runtime
        log.warning("could not move runs queued before the queue tiers to their tier", exc_info=True)


def api_token(settings: Settings) -> str | None:
    secret = settings.bpflow_api_token
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def _sqlite_engine(url: str) -> sa.Engine:
    """WAL + synchronous=NORMAL: survives a killed process (what durability here is about) and
    doubles SQLite's commit rate over the default rollback journal."""
    engine = sa.create_engine(url, pool_size=20, max_overflow=10)

    @sa_event.listens_for(engine, "connect")
    def _on_connect(conn: Any, _record: Any) -> None:
        conn.isolation_level = "IMMEDIATE"
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

    return engine


class Runtime:
    def __init__(self, settings: Settings | None = None, *, env: Mapping[str, str] | None = None) -> None:
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self.settings = settings or load_settings(self.env)
        self.options = engine_options(self.settings)
        self.bucket: Bucket = open_bucket(self.settings.bucket_url)
        self.triggers = TriggerMap.default(env=self.env)
        self.dispatcher = Dispatcher(self)
        self.scan_lookback_seconds = self.options.scan_lookback_seconds
        self._client: Any = None
        self._watcher: Any = None
        self._scanner: Any = None
        self._heartbeat: Any = None
        self._wake_listener: queue_polling.Listener | None = None
        self.launched_at: datetime | None = None

    def submit(self, event: Any) -> Any:
        """Hand an object event to this process's dispatcher (what the watcher and scan are given)."""
        return self.dispatcher.submit(event)

    @property
    def client(self) -> Any:
        """The ``DBOSClient`` of a ``client``-role runtime (CLI commands read runs through it); None otherwise."""
        return self._client

    def run_context(self) -> RunContext:
        """What every ``Run`` of this process is given (the dispatcher is looked up per call: a
        ``client`` runtime replaces it with one that enqueues)."""
        return RunContext(
            bucket=self.bucket,
            settings=self.settings,
            env=self.env,
            start_run=lambda workflow, run_id, payload: self.dispatcher.start_run(workflow, run_id, payload),
            dispatch_custom=lambda event: self.dispatcher.dispatch_custom(event),
            triggered_by=self.triggers.triggered_by,
        )

    # -- lifecycle ---------------------------------------------------------------------------------
    def launch(self, *, role: str = "all", watch: bool | None = None, scan: bool | None = None) -> Runtime:
        """role ``all`` (bpflow up), ``worker`` (executes runs, no watcher/scan), or ``client``
        (CLI commands: enqueue runs for the workers, execute nothing)."""
        global _CURRENT
        if _CURRENT is not None and _CURRENT is not self:
            raise BpflowError("another bpflow runtime is already launched in this process", code="runtime_busy")
        if self.options.worker_concurrency == 0 and (self.options.sqlite_path or role == "worker"):
            raise ConfigError(
                "BPFLOW_WORKER_CONCURRENCY=0 makes a `bpflow up` on PostgreSQL a front that executes no run "
                "(its `bpflow worker`s do); a worker, or a runtime on the embedded SQLite, needs at least 1",
                field="BPFLOW_WORKER_CONCURRENCY",
            )
        if role == "worker" and self.options.sqlite_path:
            raise ConfigError(
                "bpflow worker needs a shared PostgreSQL database (BPFLOW_DATABASE_URL=postgresql://...); "
                "with the embedded SQLite default run everything in one process with `bpflow up`",
                field="BPFLOW_DATABASE_URL",
            )
        _CURRENT = self
        run_context.install(self.run_context())
        split_by_class(not self.options.sqlite_path)  # one SQLite process takes every class: no split
        import_workflow_modules(self.options.workflow_modules)
        if role == "client":
            self._connect_client()
            return self
        self._launch_dbos(role)
        self.bucket.add_listener(self.dispatcher.on_write)
        self.dispatcher.start()
        from bpflow.core.engine.schedules import apply_schedules

        apply_schedules(self)
        if role == "all":
            self._start_sources(
                watch=self.options.watch if watch is None else watch, scan=True if scan is None else scan
            )
        self.launched_at = datetime.now().astimezone()
        log.info("bpflow runtime launched (role=%s, workflows=%s)", role, ",".join(registered()))
        return self

    def _launch_dbos(self, role: str) -> None:
        opts = self.options
        if opts.sqlite_path:
            os.makedirs(os.path.dirname(opts.sqlite_path), exist_ok=True)
        cfg: DBOSConfig = {
            "name": "bpflow",
            "system_database_url": opts.database_url,
            "application_version": opts.app_version,
            "log_level": opts.log_level if opts.log_level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING",
            "console_log_level": "WARNING",
            "scheduler_polling_interval_sec": 5.0,
            "notification_listener_polling_interval_sec": 0.05,
        }
        if opts.sqlite_path:
            cfg["system_database_engine"] = _sqlite_engine(opts.database_url)
        executor_id = opts.executor_id or ("local" if opts.sqlite_path else socket.gethostname())
        cfg["executor_id"] = executor_id
        dbos = DBOS(config=cfg)
        classes = opts.worker_classes if opts.sqlite_path is None else CLASSES  # SQLite: one process takes all
        mine = queues_of(classes) if opts.worker_concurrency > 0 else []  # 0: a front that executes nothing
        queue_polling.install(dbos, {name: self._slots(tier) for tier, name in queues_of(CLASSES)})
        if set(classes) != set(CLASSES) or not mine:
            DBOS.listen_queues([name for _, name in mine])  # DBOS dequeues only these here
        DBOS.launch()
        _move_runs_to_their_tier()
        for tier, name in queues_of(CLASSES):  # every queue exists, whoever listens to it
            DBOS.register_queue(
                name,
                worker_concurrency=max(1, self._slots(tier)),  # the row's; each process applies its own
                polling_interval_sec=opts.queue_poll_seconds
                if tier is STAGE_WORK
                else opts.orchestrator_queue_poll_seconds,
                on_conflict="always_update",
            )
        for _, name in mine:
            _wait_for_queue_worker(name)
        from bpflow.core.engine.consumers import Heartbeat, system_engine

        self._heartbeat = Heartbeat(system_engine(), executor_id, classes, [name for _, name in mine])
        self._heartbeat.start()
        if not opts.sqlite_path:  # other processes enqueue here too: hear the database's announcements
            if queue_polling.database_announces(system_engine(), dbos._sys_db.schema or "dbos"):
                self._wake_listener = queue_polling.Listener(system_engine(), [name for _, name in mine])
                self._wake_listener.start()

    def _slots(self, tier: QueueTier) -> int:
        """Runs of ``tier`` this process executes at once (a per-process setting)."""
        opts = self.options
        return opts.worker_concurrency if tier is STAGE_WORK else opts.orchestrator_concurrency

    def _connect_client(self) -> None:
        from dbos import DBOSClient

        opts = self.options
        if opts.sqlite_path and not os.path.exists(opts.sqlite_path):
            raise BpflowError(
                f"no bpflow database at {opts.sqlite_path}: start the runtime once with `bpflow up`",
                code="runtime_not_initialised",
            )
        engine = _sqlite_engine(opts.database_url) if opts.sqlite_path else None
        self._client = DBOSClient(
            system_database_url=opts.database_url, system_database_engine=engine, application_name="bpflow"
        )

        def enqueue(wf: Any, run_id: str, payload: dict[str, Any]) -> None:
            options: dict[str, Any] = {
                "workflow_name": wf.name,
                "queue_name": wf.queue_name,
                "workflow_id": run_id,
                "app_version": opts.app_version,
            }
            if wf.timeout_seconds:
                options["workflow_timeout"] = wf.timeout_seconds
            self._client.enqueue(options, payload)

        self.dispatcher = Dispatcher(self, enqueue=enqueue)

    def _start_sources(self, *, watch: bool, scan: bool) -> None:
        from bpflow.core.storage.local import LocalBucket

        if watch and isinstance(self.bucket, LocalBucket):
            from bpflow.core.events.watcher import BucketWatcher

            try:
                self._watcher = BucketWatcher(self.bucket, self.submit)
                self._watcher.start()
            except StorageError as exc:  # e.g. not Linux, or no inotify watches left
                self._watcher = None
                log.warning("%s; dropped files are found by the reconciliation scan only", exc)
        if scan and self.options.scan_interval_seconds > 0:
            from bpflow.core.events.scan import Scanner

            self._scanner = Scanner(self, self.options.scan_interval_seconds)
            self._scanner.start()

    def shutdown(self) -> None:
        global _CURRENT
        for src in (self._watcher, self._scanner):
            if src is not None:
                src.stop()
        self._watcher = self._scanner = None
        self.dispatcher.stop()
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self._wake_listener is not None:
            self._wake_listener.stop()
            self._wake_listener = None
        self.bucket.remove_listener(self.dispatcher.on_write)
        try:
            if self._client is not None:
                self._client.destroy()
                self._client = None
            else:
                DBOS.destroy(destroy_registry=False)
        finally:
            if _CURRENT is self:
                _CURRENT = None
                run_context.install(None)
            self.bucket.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
