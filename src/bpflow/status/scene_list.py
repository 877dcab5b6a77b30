"""The scenes list: text search, state filter and keyset paging over ``scenes/*/``.

Scenes are ordered newest first by their last object update, ties by id; a page ends with a
cursor naming its last scene, and the next page starts strictly after it. A cursor survives
scenes being added (they appear on the first page) without skipping or repeating the rest, and
costs no count of the whole bucket. State filters judge scenes one by one, in order, until the
page is full, so a filtered page costs what it shows plus what it skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.errors import ValidationFailed
from bpflow.status.dag import Dag, load_dag
from bpflow.status.runs import RunReader
from bpflow.status.scene_status import SCENE_STATES, all_scene_runs, list_scene_ids, scene_prompt, scene_status

if TYPE_CHECKING:
    from bpflow.engine.runtime import Runtime

MAX_PAGE = 5000
_SEP = "~"


@dataclass
class ScenePage:
    scenes: list[dict[str, Any]]
    next_cursor: str | None
    matched_before: int
    """Scenes of the bucket the filters were checked against (the listing's size)."""

    def to_dict(self) -> dict[str, Any]:
        return {"scenes": self.scenes, "next": self.next_cursor, "scanned": self.matched_before}


def _key(updated: float, scene_id: str) -> tuple[float, str]:
    return (-round(updated, 6), scene_id)


def encode_cursor(updated: float, scene_id: str) -> str:
    return f"{round(updated, 6):.6f}{_SEP}{scene_id}"


def decode_cursor(cursor: str) -> tuple[float, str]:
    ts, sep, scene_id = cursor.partition(_SEP)
    try:
        value = float(ts)
    except ValueError:
        value = float("nan")
    if not sep or not scene_id or value != value:
        raise ValidationFailed(f"invalid cursor {cursor!r}: pass the 'next' value of the previous page", field="after")
    return value, scene_id


def check_state(state: str | None) -> str | None:
    if state is None or not state.strip():
        return None
    if state.strip() not in SCENE_STATES:
        raise ValidationFailed(f"unknown scene state {state!r}: use one of {', '.join(SCENE_STATES)}", field="state")
    return state.strip()


def scene_page(
    rt: "Runtime",
    *,
    reader: RunReader | None = None,
    with_runs: bool = True,
    q: str | None = None,
    state: str | None = None,
    after: str | None = None,
    limit: int = 50,
    dag: Dag | None = None,
    now: float | None = None,
) -> ScenePage:
    """One page of scene summaries. ``q`` matches the scene id or the prompt (case-insensitive),
    ``state`` a scene state, ``after`` is the previous page's ``next_cursor``."""
    if limit < 1 or limit > MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    state = check_state(state)
    needle = (q or "").strip().lower() or None
    dag = dag or load_dag(rt.env)
    ids = list_scene_ids(rt.bucket)
    start = None if after is None else _key(*decode_cursor(after))
    grouped = all_scene_runs(reader or RunReader(rt), dag) if with_runs else {}
    out: list[dict[str, Any]] = []
    last: tuple[float, str] | None = None
    more = False
    for scene_id, updated in ids.items():
        if start is not None and _key(updated, scene_id) <= start:
            continue
        prompt = None
        if needle is not None:
            prompt = scene_prompt(rt.bucket, scene_id, dag)
            if needle not in scene_id.lower() and needle not in (prompt or "").lower():
                continue
        if state is None and len(out) == limit:
            more = True
            break
        status = scene_status(rt, scene_id, dag=dag, reader=None, runs=grouped.get(scene_id, []), details=False, now=now, must_exist=False, seed_runs=grouped)
        if state is not None and status.state != state:
            continue
        if len(out) == limit:
            more = True
            break
        line = status.summary()
        line["updated"] = updated
        line["prompt"] = prompt if needle is not None else scene_prompt(rt.bucket, scene_id, dag)
        out.append(line)
        last = (updated, scene_id)
    return ScenePage(scenes=out, next_cursor=encode_cursor(*last) if more and last is not None else None, matched_before=len(ids))
