"""Where a scene is: its stage table, built from the markers in the bucket and the engine's runs.

Markers are the pipeline's ground truth (they are what starts the next stage), runs add what
markers cannot say: that a stage is queued or running, how long it took, how often it ran, why it
errored. The rules, per stage:

* while its latest run is queued or running, the stage is ``running``;
* otherwise a completion or failure marker written since that run started decides (the newer of
  the two wins, so a successful rerun clears an old failure); older markers belong to an
  earlier input version and are ignored while a newer run exists;
* otherwise the latest run's own outcome decides (``SUCCESS`` / ``SKIPPED`` / ``FAILED``; an
  engine error or cancellation is a failure);
* with no run and no marker, the stage is ``pending``, or ``not_implemented`` when this build
  has no workflow (or job) for it.

A stage that is one job inside another stage's run (Stage 1's text jobs inside the source
orchestrator) is ``running`` while that run is active and its upstream stages are done.

A pending stage keeps the scene ``running`` only while something can still start it: an upstream
stage runs, or its upstream finished within :data:`START_GRACE_SECONDS` (the event may be in
flight). A stage nothing started after that is "not started", and the scene is judged on the
stages that ran, so ``bpflow submit --wait`` ends.

Multi-seed requests (:mod:`bpflow.ops.lineage`): a seed scene takes its first stage from the
parent's run (done once the parent wrote the seed's request); a parent shows each later stage as
the aggregate of its seeds, and its state aggregates theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpflow.core.contracts.json_limits import JsonTooDeep, loads_bounded
from bpflow.core.engine.registry import registered
from bpflow.core.errors import BpflowError
from bpflow.core.storage import Bucket, ObjectInfo
from bpflow.core.storage.base import Listed
from bpflow.core.triggers import validate_scene_id
from bpflow.ops.dag import Dag, Stage, load_dag
from bpflow.ops.lineage import Lineage
from bpflow.ops.lineage import lineage as scene_lineage
from bpflow.ops.runs import RunInfo, RunReader, StepInfo
from bpflow.workflows._orchestrator.fanout import CHILD_REQUEST

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, NOT_IMPLEMENTED = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "skipped",
    "not_implemented",
)
STATES = (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, NOT_IMPLEMENTED)

#: Scene-level states: ``stalled`` means nothing runs and nothing can start (e.g. the first
#: stage is not implemented in this build), so waiting longer cannot help.
SCENE_STATES = ("pending", "running", "succeeded", "failed", "stalled")
TERMINAL_SCENE_STATES = ("succeeded", "failed", "stalled")

#: Marker bodies larger than this are listed, not read (markers are small JSON documents).
MAX_MARKER_BYTES = 256 * 1024

#: The engine's timestamps may be truncated to the second; a marker written in the same second
#: as its run started must still count as fresh.
_CLOCK_SLACK = 1.0

#: How long after its upstream finished a stage that has not started yet still counts as about
#: to start (a watcher dispatches within a second; a remote bucket waits for the reconciliation
#: scan, see :func:`start_grace`).
START_GRACE_SECONDS = 120.0


class SceneNotFound(BpflowError):
    code = "scene_not_found"


@dataclass
class MarkerInfo:
    key: str
    kind: str  # "complete" | "failed"
    updated: float
    generation: int
    size: int
    body: Any = None

    def to_dict(self, *, with_body: bool = True) -> dict[str, Any]:
        out = {
            "key": self.key,
            "kind": self.kind,
            "updated": self.updated,
            "generation": self.generation,
            "size": self.size,
        }
        if with_body:
            out["body"] = self.body
        return out


@dataclass
class StageStatus:
    name: str
    title: str
    workflow: str
    job: str | None
    state: str
    implemented: bool
    upstream: list[str]
    detail: str = ""
    started_at: float | None = None
    duration_seconds: float | None = None
    attempts: int = 0
    marker: MarkerInfo | None = None
    markers: list[MarkerInfo] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "workflow": self.workflow,
            "job": self.job,
            "state": self.state,
            "implemented": self.implemented,
            "upstream": self.upstream,
            "detail": self.detail,
            "started_at": self.started_at,
            "duration_seconds": None if self.duration_seconds is None else round(self.duration_seconds, 3),
            "attempts": self.attempts,
            "marker": None if self.marker is None else self.marker.to_dict(),
            "markers": [m.to_dict(with_body=False) for m in self.markers],
            "error_code": self.error_code,
            "error_message": self.error_message,
            "runs": self.runs,
        }


@dataclass
class SceneStatus:
    scene_id: str
    dag: str
    state: str
    stages: list[StageStatus]
    updated: float | None
    request: dict[str, Any] | None = None
    generated_at: float = field(default_factory=time.time)
    lineage: Lineage | None = None
    children: list[dict[str, Any]] = field(default_factory=list)
    """One summary per seed scene of a multi-seed parent: scene_id, seed, state, done, total."""

    @property
    def parent(self) -> str | None:
        return self.lineage.parent if self.lineage else None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_SCENE_STATES

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for st in self.stages:
            out[st.state] += 1
        return out

    def current(self) -> list[str]:
        return [st.name for st in self.stages if st.state == RUNNING]

    def failures(self) -> list[StageStatus]:
        return [st for st in self.stages if st.state == FAILED]

    def summary(self) -> dict[str, Any]:
        """The one-line view (``bpflow status`` without a scene, the dashboard's scenes list)."""
        implemented = [st for st in self.stages if st.state != NOT_IMPLEMENTED]
        done = [st for st in implemented if st.state in (SUCCEEDED, SKIPPED)]
        failed = self.failures()
        return {
            "scene_id": self.scene_id,
            "state": self.state,
            "done": len(done),
            "total": len(implemented),
            "running": self.current(),
            "failed": [{"stage": st.name, "error_code": st.error_code} for st in failed],
            "stages": {st.name: st.state for st in self.stages},
            "updated": self.updated,
            "parent": self.parent,
            "seed": self.lineage.seed if self.lineage else None,
            "children": self.children,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "scene_id": self.scene_id,
            "dag": self.dag,
            "state": self.state,
            "updated": self.updated,
            "request": self.request,
            "counts": self.counts(),
            "stages": [st.to_dict() for st in self.stages],
            "parent": self.parent,
            "seed": self.lineage.seed if self.lineage else None,
            "children": self.children,
        }


# -- reading the bucket -------------------------------------------------------------------------


def _read_body(bucket: Bucket, info: ObjectInfo | Listed) -> Any:
    if info.size > MAX_MARKER_BYTES:
        return None
    try:
        raw = bucket.read(info.key)
    except BpflowError:
        return None
    try:
        return loads_bounded(raw)
    except (ValueError, JsonTooDeep):  # not JSON, or nested past any real marker: shown as text
        return raw.decode("utf-8", "replace")


def _marker(
    bucket: Bucket, scene_id: str, rel: str, kind: str, with_body: bool, listing: dict[str, Listed] | None = None
) -> MarkerInfo | None:
    if listing is not None:  # a page of summaries: the page's listing says what exists
        entry = listing.get(rel)
        if entry is None:
            return None
        # A summary shows no generation: none looked up (a HEAD each on S3); bodies by one GET.
        return MarkerInfo(
            key=entry.key,
            kind=kind,
            updated=entry.updated_s,
            generation=0,
            size=entry.size,
            body=_read_body(bucket, entry) if with_body else None,
        )
    info = bucket.stat(f"scenes/{scene_id}/{rel}")
    if info is None:
        return None
    return MarkerInfo(
        key=info.key,
        kind=kind,
        updated=info.updated.timestamp(),
        generation=info.generation,
        size=info.size,
        body=_read_body(bucket, info) if with_body else None,
    )


def failure_code(body: Any) -> tuple[str | None, str | None]:
    """(code, message) of a failure marker: the standard body nests them under ``error``."""
    if not isinstance(body, dict):
        return None, None
    err = body.get("error")
    if isinstance(err, dict):
        code, msg = err.get("code"), err.get("message")
    else:
        code, msg = body.get("error_code") or body.get("code"), err if isinstance(err, str) else body.get("message")
    return (str(code) if code else None), (str(msg) if msg else None)


def scene_page(bucket: Bucket, *, limit: int, after: str | None = None) -> tuple[list[str], str | None]:
    """One page of scene ids, in id order, after the cursor ``after``; and the next page's cursor
    (None on the last page). Invalid ids are skipped.

    Id order, not newest first: newest first needs every object of every scene listed before the
    first line can be shown (100,000 scenes: hundreds of thousands of objects), while a page in id
    order is one folder listing (one request on S3), whatever the bucket holds."""
    ids: list[str] = []
    for name in bucket.list_folders("scenes/", start_after=after or ""):
        try:
            validate_scene_id(name)
        except BpflowError:
            continue
        ids.append(name)
        if len(ids) > limit:
            break
    return ids[:limit], (ids[limit - 1] if len(ids) > limit else None)


def page_markers(bucket: Bucket, dag: Dag, ids: list[str]) -> dict[str, dict[str, Listed]]:
    """Scene → {marker path: listing entry} for a page of scenes (contiguous in id order): one
    listing of the DAG's marker names over the page, instead of a stat per stage per scene."""
    if not ids:
        return {}
    rels = {rel for st in dag.stages for rel in (*st.complete, *st.failed)}
    if dag.stages and dag.stages[0].trigger:
        rels.add(dag.stages[0].trigger)
    rels.add(CHILD_REQUEST)  # a seed scene's first stage
    wanted = set(ids)
    last = f"scenes/{ids[-1]}/"
    out: dict[str, dict[str, Listed]] = {scene: {} for scene in ids}
    for entry in bucket.glob_keys([f"scenes/*/{rel}" for rel in rels], start_after=f"scenes/{ids[0]}/"):
        if entry.key > last and not entry.key.startswith(last):
            break
        _, scene, rel = entry.key.split("/", 2)
        if scene in wanted:
            out[scene][rel] = entry
    return out


# -- runs ---------------------------------------------------------------------------------------


def _event_workflows(rt: Runtime, dag: Dag) -> list[str]:
    """Workflows of the DAG not started by an object (their run ids do not name the scene)."""
    out = []
    for wf in dag.workflows():
        if wf in rt.triggers and rt.triggers.get(wf).kind != "object":
            out.append(wf)
    return out


def scene_runs(rt: Runtime, reader: RunReader, dag: Dag, scene_id: str, *, parent: str | None = None) -> list[RunInfo]:
    """The scene's runs; a seed scene also gets its parent's runs of the first stage's workflow
    (the parent's run writes the seed's request and carries its first jobs)."""
    prefixes = [f"{wf}:scenes/{scene_id}/" for wf in dag.workflows()]
    if parent is not None and dag.stages:
        prefixes.append(f"{dag.stages[0].workflow}:scenes/{parent}/")
    runs = reader.list(prefixes=prefixes, limit=500)
    event_wfs = _event_workflows(rt, dag)
    if event_wfs:
        runs += [
            r
            for r in reader.list(workflows=event_wfs, limit=500)
            if r.scene_id == scene_id and ":scenes/" not in r.run_id
        ]
    return runs


def all_scene_runs(reader: RunReader, dag: Dag, limit: int = 5000) -> dict[str, list[RunInfo]]:
    """Recent runs of the DAG's workflows grouped by scene, in one query (scenes list)."""
    grouped: dict[str, list[RunInfo]] = {}
    for r in reader.list(prefixes=[f"{wf}:scenes/" for wf in dag.workflows()], limit=limit, load_input=False):
        if r.scene_id:
            grouped.setdefault(r.scene_id, []).append(r)
    return grouped


# -- evaluation ---------------------------------------------------------------------------------


def implemented_in_this_build(stage: Stage) -> bool:
    """A stage runs here if its workflow is registered and, for a job stage, its job resolves."""
    if stage.workflow not in registered():
        return False
    if stage.job:
        from bpflow.jobs import job_module

        try:
            job_module(stage.job)
        except BpflowError:
            return False
    return True


Implemented = Callable[[Stage], bool]


class _Ctx:
    def __init__(
        self,
        rt: Runtime,
        reader: RunReader | None,
        dag: Dag,
        scene_id: str,
        runs: list[RunInfo],
        details: bool,
        now: float,
        implemented: Implemented,
        seed_of: str | None = None,
    ) -> None:
        self.rt, self.reader, self.dag, self.scene_id, self.details, self.now = rt, reader, dag, scene_id, details, now
        self.seed_of = seed_of
        """The parent's id when this scene is a seed of a multi-seed request."""
        self.is_implemented = implemented
        self.by_workflow: dict[str, list[RunInfo]] = {}
        for r in sorted(runs, key=lambda r: (r.created_at or 0.0, r.run_id)):
            self.by_workflow.setdefault(r.workflow, []).append(r)
        self._steps: dict[str, list[StepInfo]] = {}
        self.listing: dict[str, Listed] | None = None  # set for a page of summaries

    def steps(self, run_id: str) -> list[StepInfo]:
        if self.reader is None or not self.details:
            return []
        if run_id not in self._steps:
            try:
                self._steps[run_id] = self.reader.steps(run_id)
            except Exception:  # noqa: BLE001 - a run pruned meanwhile just has no steps
                self._steps[run_id] = []
        return self._steps[run_id]


def _fresh(m: MarkerInfo | None, since: float | None) -> MarkerInfo | None:
    if m is None or since is None or m.updated >= since - _CLOCK_SLACK:
        return m
    return None


def _run_summary(r: RunInfo, now: float) -> dict[str, Any]:
    d = r.duration(now)
    return {
        "run_id": r.run_id,
        "state": r.state,
        "status": r.status,
        "created_at": r.created_at,
        "duration_seconds": None if d is None else round(d, 3),
        "error_code": r.error_code,
        "message": r.message,
    }


def _timing_from_steps(steps: list[StepInfo], run: RunInfo, now: float) -> tuple[float | None, float | None]:
    start = run.started_at or run.created_at
    if steps:
        first = min((s.started_at for s in steps if s.started_at is not None), default=None)
        if first is not None and (start is None or first >= start - _CLOCK_SLACK):
            start = first
    if start is None:
        return None, None
    if run.active:
        return start, max(0.0, now - start)
    last = max((s.completed_at for s in steps if s.completed_at is not None), default=None)
    end = last if last is not None else (run.ended_at or run.updated_at)
    return start, None if end is None else max(0.0, end - start)


def _newer_wins(primary: MarkerInfo | None, fail: MarkerInfo | None) -> MarkerInfo | None:
    if fail is not None and (primary is None or fail.updated > primary.updated):
        return fail
    return primary


def _evaluate_seed_root(ctx: _Ctx, stage: Stage) -> StageStatus:
    """A seed scene's first stage is the parent's run up to writing the seed's request: done
    once that request exists, else waiting for the parent (or failed with it)."""
    runs = ctx.by_workflow.get(stage.workflow, [])
    latest = runs[-1] if runs else None
    st = StageStatus(
        name=stage.name,
        title=stage.label,
        workflow=stage.workflow,
        job=stage.job,
        state=PENDING,
        implemented=ctx.is_implemented(stage),
        upstream=list(stage.upstream),
    )
    st.runs = [_run_summary(r, ctx.now) for r in reversed(runs)]
    req = _marker(ctx.rt.bucket, ctx.scene_id, CHILD_REQUEST, "complete", ctx.details, ctx.listing)
    if req is not None:
        st.state, st.marker, st.markers = SUCCEEDED, req, [req]
        st.detail = f"seed of {ctx.seed_of}"
        st.started_at = req.updated
    elif latest is not None and latest.active:
        st.detail = f"waiting for {ctx.seed_of}"
    elif latest is not None and latest.state in ("failed", "cancelled"):
        st.state = FAILED
        st.error_code = latest.error_code or ("cancelled" if latest.state == "cancelled" else "run_failed")
        st.error_message = latest.message or None
    if st.state == PENDING and not st.implemented:
        st.state = NOT_IMPLEMENTED
    return st


def _evaluate(ctx: _Ctx, stage: Stage, done: dict[str, StageStatus]) -> StageStatus:
    if ctx.seed_of is not None and not stage.upstream and stage is ctx.dag.stages[0]:
        return _evaluate_seed_root(ctx, stage)
    runs = ctx.by_workflow.get(stage.workflow, [])
    latest = runs[-1] if runs else None
    active = next((r for r in reversed(runs) if r.active), None)
    since = latest.created_at if latest is not None else None
    comp = [_marker(ctx.rt.bucket, ctx.scene_id, rel, "complete", ctx.details, ctx.listing) for rel in stage.complete]
    fails = [_marker(ctx.rt.bucket, ctx.scene_id, rel, "failed", True, ctx.listing) for rel in stage.failed]
    newest_fail = max((m for m in fails if m is not None), key=lambda m: m.updated, default=None)
    any_marker = _newer_wins(comp[0] if comp else None, newest_fail)
    fresh_marker = _newer_wins(_fresh(comp[0] if comp else None, since), _fresh(newest_fail, since))
    st = StageStatus(
        name=stage.name,
        title=stage.label,
        workflow=stage.workflow,
        job=stage.job,
        state=PENDING,
        implemented=ctx.is_implemented(stage),
        upstream=list(stage.upstream),
        markers=[m for m in (*comp, *fails) if m is not None],
    )
    st.runs = [_run_summary(r, ctx.now) for r in reversed(runs)]
    # A job stage may start while the stage whose run carries it (same workflow, no job) runs.
    upstream_ok = all(
        done[u].state == SUCCEEDED
        or (done[u].workflow == stage.workflow and done[u].job is None and done[u].state == RUNNING)
        for u in stage.upstream
    )

    def from_marker(m: MarkerInfo) -> None:
        st.marker = m
        if m.kind == "complete":
            st.state = SUCCEEDED
            return
        st.state = FAILED
        code, msg = failure_code(m.body)
        st.error_code, st.error_message = code or "failed", msg

    def from_run(r: RunInfo) -> None:
        if r.state == "succeeded":
            st.state = SUCCEEDED
            outcome = str(r.outcome.get("status") or "SUCCESS")
            if outcome != "SUCCESS":  # e.g. the orchestrator's INCOMPLETE: done, as far as this build goes
                st.detail = f"{outcome.lower()}: {r.message}" if r.message else outcome.lower()
        elif r.state == "skipped":
            st.state, st.detail = SKIPPED, r.message
        else:
            st.state = FAILED
            st.error_code = r.error_code or ("cancelled" if r.state == "cancelled" else "run_failed")
            st.error_message = r.message or None

    if stage.job:
        # A job inside another stage's run: its own markers, then the parent run.
        if fresh_marker is not None:
            from_marker(fresh_marker)
        elif latest is not None and upstream_ok:
            if latest.active:
                st.state = RUNNING
            elif latest.state in ("failed", "cancelled"):
                from_run(latest)
        elif latest is None and any_marker is not None:
            from_marker(any_marker)
    elif active is not None:
        st.state, st.detail = RUNNING, ("queued" if active.state == "queued" else "")
    elif fresh_marker is not None:
        from_marker(fresh_marker)
    elif latest is not None:
        from_run(latest)
        if st.state == SKIPPED and any_marker is not None and any_marker.kind == "complete":
            # Skipped because the work was already done (an earlier input version's marker).
            st.detail = st.detail or "already complete"
            from_marker(any_marker)
    elif any_marker is not None:
        from_marker(any_marker)
    if st.state == PENDING and not st.implemented:
        st.state = NOT_IMPLEMENTED
    elif st.state == PENDING and not _requested(ctx, stage):
        # Its trigger row is off here (e.g. BPFLOW_LAST_STAGE stops the pipeline before it):
        # nothing will start it, so the scene must not wait for it.
        st.state, st.detail = NOT_IMPLEMENTED, "not requested"
    _timing(ctx, stage, st, runs, latest, done)
    return st


def _timing(
    ctx: _Ctx, stage: Stage, st: StageStatus, runs: list[RunInfo], latest: RunInfo | None, done: dict[str, StageStatus]
) -> None:
    """Started, duration and attempts: from the runs for a workflow stage, from the job's launch
    steps inside the parent runs for a job stage."""
    if latest is None or st.state in (PENDING, NOT_IMPLEMENTED):
        return
    if not stage.job:
        st.attempts = len(runs)
        st.started_at, st.duration_seconds = _timing_from_steps(ctx.steps(latest.run_id), latest, ctx.now)
        return
    launches = [(r, s) for r in runs for s in ctx.steps(r.run_id) if s.job_attempt and s.job_attempt[0] == stage.job]
    st.attempts = len(launches)
    current = [s for r, s in launches if r.run_id == latest.run_id]
    if current:
        st.started_at = current[0].started_at
        end = current[-1].completed_at
        if st.started_at is not None:
            st.duration_seconds = max(0.0, (end if end is not None else ctx.now) - st.started_at)
    elif st.state == RUNNING:
        # The job's step is recorded when it ends; until then it started when its upstream did.
        ups = [m.updated for u in stage.upstream if (m := done[u].marker) is not None]
        st.started_at = max(ups) if ups else (latest.started_at or latest.created_at)
        if st.started_at is not None:
            st.duration_seconds = max(0.0, ctx.now - st.started_at)


def _requested(ctx: _Ctx, stage: Stage) -> bool:
    """Whether the trigger map lets the stage's workflow run under the runtime's settings."""
    triggers, env = getattr(ctx.rt, "triggers", None), getattr(ctx.rt, "env", None)
    if triggers is None or stage.workflow not in triggers:
        return True
    return bool(triggers.get(stage.workflow).is_enabled(env))


def start_grace(rt: Runtime) -> float:
    """:data:`START_GRACE_SECONDS`, or two reconciliation scans when those are further apart."""
    interval = getattr(getattr(rt, "settings", None), "bpflow_scan_interval_seconds", 0.0) or 0.0
    return max(START_GRACE_SECONDS, 2.0 * float(interval))


def _finished_at(st: StageStatus) -> float | None:
    """When a finished stage finished: its decisive marker, else its newest run's end."""
    if st.marker is not None:
        return st.marker.updated
    if st.runs:
        newest = st.runs[0]
        if newest.get("created_at") is not None and newest.get("duration_seconds") is not None:
            return float(newest["created_at"]) + float(newest["duration_seconds"])
    return None


def _waiting(rt: Runtime, dag: Dag, done: dict[str, StageStatus], now: float, grace: float) -> dict[str, bool]:
    """Per pending stage: can something still start it? An upstream runs (or waits itself), or
    every upstream finished well and the last one within ``grace``. A stage nothing will start
    gets the detail "not started" so the views say why it stays pending (a stage whose trigger is
    off here is already "not requested", see :func:`_requested`)."""
    waiting: dict[str, bool] = {}
    for stage in dag.stages:
        st = done[stage.name]
        if st.state != PENDING:
            waiting[stage.name] = False
            continue
        ups = [done[u] for u in stage.upstream]
        if not ups:
            # A first stage waits while nothing else happened yet (the request is there, its run
            # comes); once later stages have their own markers, nothing will start it any more.
            waiting[stage.name] = all(done[o.name].state in (PENDING, NOT_IMPLEMENTED) for o in dag.stages)
            continue
        if any(u.state not in (SUCCEEDED, RUNNING, PENDING) for u in ups) or any(
            u.state == PENDING and not waiting[u.name] for u in ups
        ):
            waiting[stage.name] = False  # an upstream failed, was skipped, cannot run or will not start
            continue
        if any(u.state in (RUNNING, PENDING) for u in ups):
            waiting[stage.name] = True
            continue
        ends = [_finished_at(u) for u in ups]
        last = max((e for e in ends if e is not None), default=None)
        waiting[stage.name] = last is not None and now - last <= grace
        if not waiting[stage.name]:
            st.detail = st.detail or "not started"
    return waiting


def _scene_state(rt: Runtime, dag: Dag, done: dict[str, StageStatus], now: float) -> str:
    states = [st.state for st in done.values()]
    if RUNNING in states:
        return "running"
    if FAILED in states:
        return "failed"
    waiting = _waiting(rt, dag, done, now, start_grace(rt))
    if any(waiting.values()):
        return "running" if SUCCEEDED in states or SKIPPED in states else "pending"
    return "succeeded" if SUCCEEDED in states else "stalled"


_AGGREGATE_ORDER = (RUNNING, FAILED, PENDING, SUCCEEDED, SKIPPED, NOT_IMPLEMENTED)


def _aggregate_stage(stage: StageStatus, seeds: list[SceneStatus]) -> None:
    """A parent's stage carried by its seeds: running if any seed runs it, failed if any failed,
    done when every seed is done."""
    states = [next((x.state for x in child.stages if x.name == stage.name), PENDING) for child in seeds]
    if not states:
        return
    if all(s in (SUCCEEDED, SKIPPED) for s in states):
        stage.state = SUCCEEDED if SUCCEEDED in states else SKIPPED
    else:
        stage.state = next(s for s in _AGGREGATE_ORDER if s in states and s not in (SUCCEEDED, SKIPPED))
    ok = sum(1 for s in states if s in (SUCCEEDED, SKIPPED))
    stage.detail = f"{ok}/{len(states)} seeds done"
    failed = [x for child in seeds for x in child.stages if x.name == stage.name and x.state == FAILED]
    if failed:
        stage.error_code, stage.error_message = failed[0].error_code, failed[0].error_message
    stage.marker, stage.markers = None, []


def _parent_state(root: StageStatus, seeds: list[SceneStatus]) -> str:
    """A multi-seed request is running while its own run or any seed runs (or is still to
    come), failed when it or a seed failed, done when every seed is."""
    states = [c.state for c in seeds]
    if root.state == RUNNING or "running" in states:
        return "running"
    if root.state == PENDING and all(s == "pending" for s in states):
        return "pending"
    if root.state == FAILED or "failed" in states:
        return "failed"
    if "pending" in states:
        return "running"
    if "stalled" in states or root.state != SUCCEEDED:
        return "stalled"
    return "succeeded"


def _request(bucket: Bucket, scene_id: str, dag: Dag) -> dict[str, Any] | None:
    root = dag.stages[0].trigger if dag.stages else None
    if not root:
        return None
    info = bucket.stat(f"scenes/{scene_id}/{root}")
    if info is None:
        return None
    body = _read_body(bucket, info)
    return {"key": info.key, "generation": info.generation, "updated": info.updated.timestamp(), "body": body}


def scene_status(
    rt: Runtime,
    scene_id: str,
    *,
    dag: Dag | None = None,
    reader: RunReader | None = None,
    runs: list[RunInfo] | None = None,
    details: bool = True,
    now: float | None = None,
    must_exist: bool = True,
    implemented: Implemented = implemented_in_this_build,
    listing: dict[str, Listed] | None = None,
    seed_runs: Mapping[str, list[RunInfo]] | None = None,
) -> SceneStatus:
    """The stage table of one scene. ``runs=None`` reads them; pass a list (possibly empty, when no
    database is reachable) to skip the query. ``details`` adds steps-based timings and bodies."""
    validate_scene_id(scene_id)
    dag = dag or load_dag(rt.env)
    now = time.time() if now is None else now
    lin = scene_lineage(rt.bucket, scene_id, listing=listing, root=dag.stages[0].trigger if dag.stages else None)
    if runs is None:
        reader = reader or RunReader(rt)
        runs = scene_runs(rt, reader, dag, scene_id, parent=lin.parent)
    updated = None
    if details or must_exist:
        updated = max((i.updated.timestamp() for i in rt.bucket.list(f"scenes/{scene_id}/")), default=None)
    if must_exist and updated is None and not runs:
        raise SceneNotFound(
            f"no scene {scene_id!r}: no objects under scenes/{scene_id}/ and no runs",
            field="scene_id",
            details={"scene_id": scene_id},
        )
    if lin.parent is not None and seed_runs is not None and dag.stages:
        runs = list(runs) + [r for r in seed_runs.get(lin.parent, []) if r.workflow == dag.stages[0].workflow]
    ctx = _Ctx(rt, reader, dag, scene_id, runs, details, now, implemented, seed_of=lin.parent)
    ctx.listing = listing
    done: dict[str, StageStatus] = {}
    for stage in dag.stages:
        done[stage.name] = _evaluate(ctx, stage, done)
    state = _scene_state(rt, dag, done, now)
    children: list[dict[str, Any]] = []
    if lin.is_parent and dag.stages:
        seeds = _seed_statuses(rt, dag, lin, reader=reader, seed_runs=seed_runs, now=now, implemented=implemented)
        root = done[dag.stages[0].name]
        for stage in dag.stages[1:]:
            _aggregate_stage(done[stage.name], seeds)
        state = _parent_state(root, seeds)
        for i, child in enumerate(seeds, 1):
            line = child.summary()
            children.append(
                {
                    "scene_id": child.scene_id,
                    "seed": i,
                    "state": child.state,
                    "done": line["done"],
                    "total": line["total"],
                }
            )
    return SceneStatus(
        scene_id=scene_id,
        dag=dag.name,
        state=state,
        stages=list(done.values()),
        updated=updated,
        request=_request(rt.bucket, scene_id, dag) if details else None,
        generated_at=now,
        lineage=lin,
        children=children,
    )


def _seed_statuses(
    rt: Runtime,
    dag: Dag,
    lin: Lineage,
    *,
    reader: RunReader | None,
    seed_runs: Mapping[str, list[RunInfo]] | None,
    now: float,
    implemented: Implemented,
) -> list[SceneStatus]:
    """The seeds of a parent, judged without details (their own pages have those)."""
    out = []
    for child in lin.children:
        runs = None if seed_runs is None else list(seed_runs.get(child, []))
        if runs is None and reader is None:
            runs = []
        out.append(
            scene_status(
                rt,
                child,
                dag=dag,
                reader=reader,
                runs=runs,
                details=False,
                now=now,
                must_exist=False,
                implemented=implemented,
                seed_runs=seed_runs,
            )
        )
    return out


def scene_summaries(
    rt: Runtime,
    *,
    reader: RunReader | None = None,
    with_runs: bool = True,
    limit: int = 200,
    dag: Dag | None = None,
    now: float | None = None,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """One line per scene under ``scenes/*/``, a page in id order (at most ``limit`` scenes after
    the cursor ``after``). ``with_runs=False`` judges from markers alone (no database reachable)."""
    return scene_summaries_page(rt, reader=reader, with_runs=with_runs, limit=limit, dag=dag, now=now, after=after)[0]


def scene_summaries_page(
    rt: Runtime,
    *,
    reader: RunReader | None = None,
    with_runs: bool = True,
    limit: int = 200,
    dag: Dag | None = None,
    now: float | None = None,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """``scene_summaries`` and the cursor of the next page (None on the last)."""
    dag = dag or load_dag(rt.env)
    ids, next_after = scene_page(rt.bucket, limit=limit, after=after)
    markers = page_markers(rt.bucket, dag, ids)
    grouped = all_scene_runs(reader or RunReader(rt), dag) if with_runs and ids else {}
    out = []
    for scene_id in ids:
        listing = markers.get(scene_id, {})
        status = listed_status(rt, scene_id, dag=dag, grouped=grouped, listing=listing, now=now)
        out.append(list_line(status, listing, scene_prompt(rt.bucket, scene_id, dag, listing)))
    return out, next_after


def listed_status(
    rt: Runtime,
    scene_id: str,
    *,
    dag: Dag,
    grouped: Mapping[str, list[RunInfo]],
    listing: dict[str, Listed],
    now: float | None,
) -> SceneStatus:
    """One scene of a list page, judged from the page's own marker listing and the runs read once
    for the page (``grouped``, by scene): no query and no listing per scene, and no details."""
    return scene_status(
        rt,
        scene_id,
        dag=dag,
        reader=None,
        runs=grouped.get(scene_id, []),
        details=False,
        now=now,
        must_exist=False,
        listing=listing,
        seed_runs=grouped,
    )


def list_line(status: SceneStatus, listing: dict[str, Listed], prompt: str | None) -> dict[str, Any]:
    """A list page's line of one scene: its summary, when its markers last changed, its prompt."""
    line = status.summary()
    line["updated"] = max((e.updated_s for e in listing.values()), default=None)
    line["prompt"] = prompt
    return line


def scene_prompt(bucket: Bucket, scene_id: str, dag: Dag, listing: dict[str, Listed] | None = None) -> str | None:
    """The request's prompt, so a list of scenes reads as what was asked for (a seed scene's is
    in its generated request)."""
    root = dag.stages[0].trigger if dag.stages else None
    if listing is not None:  # the page's listing says whether there is a request: no stat
        entry = listing.get(root) if root else None
        entry = entry if entry is not None else listing.get(CHILD_REQUEST)  # a seed's generated request
        body = _read_body(bucket, entry) if entry is not None else None
    else:
        request = _request(bucket, scene_id, dag)
        if request is None:
            info = bucket.stat(f"scenes/{scene_id}/{CHILD_REQUEST}")
            request = {"body": _read_body(bucket, info)} if info is not None else None
        body = request["body"] if request else None
    prompt = body.get("prompt") if isinstance(body, dict) else None
    return prompt[:160] if isinstance(prompt, str) else None
