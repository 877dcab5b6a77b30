"""Runs as an operator sees them, read from the engine's database.

The same code serves ``bpflow up`` (DBOS launched in this process) and CLI commands (a
``client``-role runtime holding a ``DBOSClient``): both expose the same listing calls, so
:class:`RunReader` only picks one. A run's scene comes from its id (object runs are
``<workflow>:scenes/<id>/...@<generation>``) or, for event and manual runs, from its payload.
"""

from __future__ import annotations

import builtins  # RunReader.list shadows the builtin in the class body
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bpflow.core.errors import BpflowError, ValidationFailed
from bpflow.core.triggers import validate_scene_id

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

ACTIVE = ("ENQUEUED", "PENDING", "DELAYED")
FAILED_STATUSES = ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")

#: Operator-facing run states (``bpflow runs --status``), derived from the engine status and the
#: workflow's own outcome (a run can end SUCCESS in the engine with a FAILED outcome).
RUN_STATES = ("queued", "running", "succeeded", "skipped", "failed", "cancelled")


class RunNotFound(BpflowError):
    code = "run_not_found"


class AmbiguousRunId(BpflowError):
    code = "ambiguous_run_id"


#: Run ids name the object version that started them (``<workflow>:scenes/<id>/...@<generation>``)
#: and run to 100+ characters; a run is also known by a hash of its id, shown with this many hex
#: digits, of which any unique prefix of at least SHORT_ID_MIN is accepted wherever a run id is.
SHORT_ID_LEN = 8
SHORT_ID_MIN = 4
_HEX_PREFIX = re.compile(rf"[0-9a-f]{{{SHORT_ID_MIN},40}}")


def short_run_id(run_id: str) -> str:
    """A stable short name for a run: the same id gives the same hash on every machine."""
    return hashlib.sha1(run_id.encode("utf-8")).hexdigest()[:SHORT_ID_LEN]


def _ms_to_s(value: int | None) -> float | None:
    return None if value is None else value / 1000.0


def scene_of_run_id(run_id: str) -> str | None:
    """``usd-assembly-pipeline:scenes/k1/assets/.regen3d_complete@7`` → ``k1``."""
    _, sep, rest = run_id.partition(":scenes/")
    if not sep:
        return None
    scene = rest.split("/", 1)[0]
    return scene or None


def _payload(raw_input: Any) -> dict[str, Any]:
    """DBOS keeps ``{"args": (payload,), "kwargs": {}}``; the payload is the first argument."""
    if isinstance(raw_input, dict):
        args = raw_input.get("args")
        if isinstance(args, (list, tuple)) and args and isinstance(args[0], dict):
            return args[0]
    return {}


def _scene_of_payload(payload: dict[str, Any]) -> str | None:
    data = raw_data if isinstance(raw_data := payload.get("data"), dict) else {}
    for value in (payload.get("scene_id"), data.get("scene_id")):
        if isinstance(value, str) and value:
            return value
    name = data.get("name")
    if isinstance(name, str) and name.startswith("scenes/"):
        return name.split("/")[1] or None
    return None


def error_code_of(error: Any) -> str | None:
    """A stable code for a run's exception: bpflow errors carry one, others get their type."""
    if error is None:
        return None
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        return code
    return type(error).__name__


@dataclass
class RunInfo:
    run_id: str
    workflow: str
    status: str
    state: str
    created_at: float | None
    updated_at: float | None
    started_at: float | None
    ended_at: float | None
    scene_id: str | None
    trigger: str | None
    generation: str | None
    outcome: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_code: str | None = None
    executor: str | None = None
    attempts: int = 1
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    """The workflow's input (what a retry starts it with again)."""

    @property
    def short_id(self) -> str:
        return short_run_id(self.run_id)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def message(self) -> str:
        msg = self.outcome.get("message")
        return str(msg) if msg else (self.error or "")

    def duration(self, now: float | None = None) -> float | None:
        """Seconds from dequeue (or creation) to completion, to now while active. The engine's
        clock may have whole-second resolution (SQLite); step timings are finer."""
        start = self.started_at if self.started_at is not None else self.created_at
        if start is None:
            return None
        end = (now or time.time()) if self.active else (self.ended_at or self.updated_at)
        return None if end is None else max(0.0, end - start)

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        dur = self.duration(now)
        return {
            "run_id": self.run_id,
            "short_id": self.short_id,
            "workflow": self.workflow,
            "status": self.status,
            "state": self.state,
            "scene_id": self.scene_id,
            "trigger": self.trigger,
            "generation": self.generation,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_seconds": None if dur is None else round(dur, 3),
            "outcome": self.outcome,
            "message": self.message,
            "error": self.error,
            "error_code": self.error_code,
            "executor": self.executor,
            "recovery_attempts": self.attempts,
        }


def run_state(status: str, outcome: dict[str, Any]) -> str:
    if status in ("ENQUEUED", "DELAYED"):
        return "queued"
    if status == "PENDING":
        return "running"
    if status == "CANCELLED":
        return "cancelled"
    if status == "SUCCESS":
        # Any other outcome (SUCCESS, the orchestrator's INCOMPLETE) ended well as far as it went.
        return {"SKIPPED": "skipped", "FAILED": "failed"}.get(str(outcome.get("status", "SUCCESS")), "succeeded")
    return "failed"


def to_run_info(st: Any) -> RunInfo:
    """Normalise a DBOS ``WorkflowStatus``."""
    payload = _payload(getattr(st, "input", None))
    data = raw_data if isinstance(raw_data := payload.get("data"), dict) else {}
    output = getattr(st, "output", None)
    outcome = output if isinstance(output, dict) else ({} if output is None else {"result": output})
    error = getattr(st, "error", None)
    outcome_code = None
    if outcome.get("status") == "FAILED":
        outcome_code = outcome.get("code") or outcome.get("error_code")
    trigger = data.get("name") if isinstance(data.get("name"), str) else None
    if trigger is None and ":scenes/" in st.workflow_id:
        trigger = st.workflow_id.split(":", 1)[1].rsplit("@", 1)[0]
    return RunInfo(
        run_id=st.workflow_id,
        workflow=st.name,
        status=st.status,
        state=run_state(st.status, outcome),
        created_at=_ms_to_s(st.created_at),
        updated_at=_ms_to_s(st.updated_at),
        started_at=_ms_to_s(getattr(st, "dequeued_at", None)),
        ended_at=_ms_to_s(getattr(st, "completed_at", None)),
        scene_id=scene_of_run_id(st.workflow_id) or _scene_of_payload(payload),
        trigger=trigger,
        generation=str(data["generation"]) if data.get("generation") is not None else None,
        outcome=outcome,
        error=None if error is None else str(error),
        error_code=error_code_of(error) if error is not None else (str(outcome_code) if outcome_code else None),
        executor=getattr(st, "executor_id", None),
        attempts=int(getattr(st, "recovery_attempts", None) or 1),
        payload=payload,
    )


@dataclass
class StepInfo:
    step_id: int
    name: str
    started_at: float | None
    completed_at: float | None
    output: Any
    error: str | None

    @property
    def job_attempt(self) -> tuple[str, int] | None:
        """``job text-scene-gen-job attempt 2`` → (``text-scene-gen-job``, 2): run_job's step name."""
        parts = self.name.split(" ")
        if len(parts) == 4 and parts[0] == "job" and parts[2] == "attempt" and parts[3].isdigit():
            return parts[1], int(parts[3])
        return None

    def duration(self, now: float | None = None) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at if self.completed_at is not None else (now or time.time())
        return max(0.0, end - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        dur = self.duration()
        return {
            "step_id": self.step_id,
            "name": self.name,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "duration_seconds": None if dur is None else round(dur, 3),
            "output": self.output,
            "error": self.error,
        }


class RunReader:
    """Read (and cancel) runs through whichever DBOS handle this process has."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        client = getattr(rt, "client", None)
        if client is None:
            from dbos import DBOS

            self._api: Any = DBOS
        else:
            self._api = client

    def list(
        self,
        *,
        workflows: list[str] | None = None,
        prefixes: list[str] | None = None,
        statuses: list[str] | None = None,
        run_ids: list[str] | None = None,
        limit: int | None = 200,
        load_input: bool = True,
        created_until_ms: int | None = None,
        created_from_ms: int | None = None,
    ) -> list[RunInfo]:
        """Newest first; ``created_from_ms`` / ``created_until_ms`` keep runs created in that
        closed interval (epoch milliseconds)."""
        kwargs: dict[str, Any] = {"sort_desc": True, "limit": limit, "load_input": load_input, "load_output": True}
        if created_until_ms is not None:
            kwargs["end_time"] = datetime.fromtimestamp(created_until_ms / 1000.0, tz=UTC).isoformat()
        if created_from_ms is not None:
            kwargs["start_time"] = datetime.fromtimestamp(created_from_ms / 1000.0, tz=UTC).isoformat()
        if workflows:
            kwargs["name"] = workflows
        if prefixes:
            kwargs["workflow_id_prefix"] = prefixes
        if statuses:
            kwargs["status"] = statuses
        if run_ids:
            kwargs["workflow_ids"] = run_ids
        return [to_run_info(st) for st in self._api.list_workflows(**kwargs)]

    def get(self, run_id: str) -> RunInfo:
        found = self.list(run_ids=[run_id], limit=1)
        if not found:
            raise RunNotFound(f"no run {run_id!r}", field="run_id", details={"run_id": run_id})
        return found[0]

    def resolve(self, ref: str) -> str:
        """A run id from a full id or a unique prefix of its short id (:func:`short_run_id`)."""
        ref = ref.strip()
        if self.find(ref) is not None or not _HEX_PREFIX.fullmatch(ref):
            return ref  # an exact id, or something only an exact id could be (a miss says so)
        matches: builtins.list[str] = [
            st.workflow_id
            for st in self._api.list_workflows(load_input=False, load_output=False)
            if short_run_id(st.workflow_id).startswith(ref[:SHORT_ID_LEN])
            and (len(ref) <= SHORT_ID_LEN or hashlib.sha1(st.workflow_id.encode("utf-8")).hexdigest().startswith(ref))
        ]
        if not matches:
            raise RunNotFound(
                f"no run {ref!r} (neither a run id nor the start of a short id)",
                field="run_id",
                details={"run_id": ref},
            )
        if len(matches) > 1:
            shown = ", ".join(f"{short_run_id(m)} {m}" for m in sorted(matches)[:5])
            raise AmbiguousRunId(
                f"{ref!r} is the start of {len(matches)} runs' short ids ({shown}{', ...' if len(matches) > 5 else ''}): give more characters",
                field="run_id",
                details={"run_id": ref, "matches": sorted(matches)[:20]},
            )
        return matches[0]

    def find(self, run_id: str) -> RunInfo | None:
        found = self.list(run_ids=[run_id], limit=1)
        return found[0] if found else None

    def steps(self, run_id: str) -> builtins.list[StepInfo]:
        out: builtins.list[StepInfo] = []
        for s in self._api.list_workflow_steps(run_id):
            err = s.get("error")
            out.append(
                StepInfo(
                    step_id=int(s["function_id"]),
                    name=str(s["function_name"]),
                    started_at=_ms_to_s(s.get("started_at_epoch_ms")),
                    completed_at=_ms_to_s(s.get("completed_at_epoch_ms")),
                    output=s.get("output"),
                    error=None if err is None else str(err),
                )
            )
        return out

    def refine_timings(self, runs: builtins.list[RunInfo]) -> builtins.list[RunInfo]:
        """Replace whole-second engine timestamps (SQLite keeps seconds) by the run's first step
        start and last step end, so a 40 ms run does not read as 0 s or 1 s."""
        for r in runs:
            stamps = [t for t in (r.started_at, r.ended_at) if t is not None]
            if not stamps or any(t != int(t) for t in stamps):
                continue
            steps = self.steps(r.run_id)
            starts = [s.started_at for s in steps if s.started_at is not None]
            ends = [s.completed_at for s in steps if s.completed_at is not None]
            if starts and (r.started_at is None or min(starts) >= r.started_at):
                r.started_at = min(starts)
            if ends and not r.active:
                r.ended_at = max(ends)
        return runs

    def cancel(self, run_id: str) -> RunInfo:
        info = self.get(run_id)
        if info.active:
            self._api.cancel_workflow(run_id)
            info = self.get(run_id)
        return info

    def queue_health(self) -> builtins.list[Any]:
        """Per run queue: queued and running counts and the oldest queued run's age."""
        from bpflow.core.engine.consumers import live_consumers, system_engine
        from bpflow.core.engine.queues import all_queues, queue_health

        queues = all_queues()
        rows = self._api.list_workflows(
            status=["ENQUEUED", "PENDING"], queue_name=queues, load_input=False, load_output=False
        )
        consumers = live_consumers(system_engine(self.rt.client))
        return queue_health(
            [(st.queue_name, st.status, (st.created_at or 0) / 1000.0) for st in rows], time.time(), consumers, queues
        )

    def count_active(self) -> dict[tuple[str, str], int]:
        """(workflow, status) → number of queued or running runs, for the metrics gauge."""
        counts: dict[tuple[str, str], int] = {}
        for st in self._api.list_workflows(status=list(ACTIVE), load_input=False, load_output=False):
            key = (st.name, st.status)
            counts[key] = counts.get(key, 0) + 1
        return counts


#: Engine statuses accepted by --status besides the operator states of RUN_STATES.
_ENGINE_STATUSES = ("ENQUEUED", "PENDING", "DELAYED", "SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


def parse_status(value: str | None) -> tuple[str | None, str | None]:
    """(operator state, engine status) to filter on; at most one is set."""
    if value is None or not value.strip():
        return None, None
    v = value.strip()
    if v.lower() in RUN_STATES:
        return v.lower(), None
    if v.upper() in _ENGINE_STATUSES:
        return None, v.upper()
    raise ValidationFailed(
        f"unknown status {value!r}: use one of {', '.join(RUN_STATES)} or an engine status ({', '.join(_ENGINE_STATUSES)})",
        field="status",
    )


def query_runs(
    reader: RunReader, *, workflow: str | None, status: str | None, scene: str | None, limit: int
) -> list[RunInfo]:
    """Filters shared by the CLI, the API and the runs page."""
    return runs_page(reader, workflow=workflow, status=status, scene=scene, limit=limit).runs


@dataclass
class RunsPage:
    runs: list[RunInfo]
    next_cursor: str | None


def _created_ms(r: RunInfo) -> int:
    return int(round((r.created_at or 0.0) * 1000))


def encode_run_cursor(r: RunInfo) -> str:
    return f"{_created_ms(r)}~{r.run_id}"


def decode_run_cursor(cursor: str) -> tuple[int, str]:
    ms, sep, run_id = cursor.partition("~")
    if not sep or not run_id or not ms.isdigit():
        raise ValidationFailed(f"invalid cursor {cursor!r}: pass the 'next' value of the previous page", field="before")
    return int(ms), run_id


def runs_page(
    reader: RunReader,
    *,
    workflow: str | None,
    status: str | None,
    scene: str | None,
    limit: int,
    before: str | None = None,
) -> RunsPage:
    """Keyset paging, newest first (creation time, then run id): ``before`` is the previous
    page's ``next_cursor``. Filters the engine cannot apply (operator state, scene of event
    runs) are applied batch by batch until the page is full or the runs run out."""
    if limit < 1 or limit > 10_000:
        raise ValidationFailed("limit must be between 1 and 10000", field="limit")
    state, engine_status = parse_status(status)
    if scene is not None:
        validate_scene_id(scene)
    statuses = [engine_status] if engine_status else (list(ACTIVE) if state in ("queued", "running") else None)
    prefixes = [f"{workflow}:scenes/{scene}/"] if scene is not None and workflow else None
    filtered = state is not None or scene is not None
    batch = min(max(limit * 5, 500), 20_000) if filtered else limit + 1
    cursor = None if before is None else decode_run_cursor(before)
    query: dict[str, Any] = {"workflows": [workflow] if workflow else None, "prefixes": prefixes, "statuses": statuses}

    def fetch(until_ms: int | None) -> tuple[list[RunInfo], int | None]:
        """Runs created at or before ``until_ms``, newest first, always with *every* run of the
        oldest instant fetched (the engine orders by time only, and SQLite keeps whole seconds):
        so the next batch can start strictly before that instant. None when nothing is older."""
        rows = reader.list(**query, limit=batch, created_until_ms=until_ms)
        if len(rows) < batch:
            return rows, None
        boundary = min(_created_ms(r) for r in rows)
        ties = reader.list(**query, limit=None, created_from_ms=boundary, created_until_ms=boundary)
        merged = {r.run_id: r for r in (*rows, *ties)}
        return list(merged.values()), boundary - 1

    out: list[RunInfo] = []
    until = None if cursor is None else cursor[0]
    while True:
        rows, until = fetch(until)
        rows.sort(key=lambda r: (_created_ms(r), r.run_id), reverse=True)
        for r in rows:
            if cursor is not None and (_created_ms(r), r.run_id) >= cursor:
                continue
            if (state is None or r.state == state) and (scene is None or r.scene_id == scene):
                out.append(r)
                if len(out) > limit:
                    page = out[:limit]
                    return RunsPage(page, encode_run_cursor(page[-1]))
        if until is None or until < 0:
            return RunsPage(out, None)
