"""The scenes list with text search and a state filter, on top of the id-ordered pages of
:func:`bpflow.ops.scene_status.scene_summaries_page` (keyset: the cursor is the last id shown).

Without a filter a page is exactly the summaries page. With one, pages of the bucket are read in
id order and each scene is checked (the id or the prompt contains ``q``; its state is ``state``)
until the page holds ``limit`` matches, so a filtered page costs what it shows plus what it
skipped, never a listing of the whole bucket up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpflow.core.errors import ValidationFailed
from bpflow.ops.dag import Dag, load_dag
from bpflow.ops.runs import RunReader
from bpflow.ops.scene_status import (
    SCENE_STATES,
    all_scene_runs,
    list_line,
    listed_status,
    page_markers,
    scene_page,
    scene_prompt,
    scene_summaries_page,
)

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime

MAX_PAGE = 5000
#: Scenes read from the bucket at a time while a filter looks for matches.
_BATCH = 200


@dataclass
class ScenePage:
    scenes: list[dict[str, Any]]
    next_after: str | None
    """The last scene id of this page when there are more (the next page's ``after``)."""


def check_state(state: str | None) -> str | None:
    if state is None or not state.strip():
        return None
    if state.strip() not in SCENE_STATES:
        raise ValidationFailed(f"unknown scene state {state!r}: use one of {', '.join(SCENE_STATES)}", field="state")
    return state.strip()


def find_scenes(
    rt: Runtime,
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
    """One page of scene summaries in id order. ``q`` matches the scene id or the prompt
    (case-insensitive), ``state`` a scene state, ``after`` is the previous page's ``next_after``."""
    if limit < 1 or limit > MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if after is not None and (not after or len(after) > 200):
        raise ValidationFailed("invalid cursor: pass the 'next_after' of the previous page", field="after")
    state = check_state(state)
    needle = (q or "").strip().lower() or None
    dag = dag or load_dag(rt.env)
    if needle is None and state is None:
        lines, next_after = scene_summaries_page(
            rt, reader=reader, with_runs=with_runs, limit=limit, dag=dag, now=now, after=after
        )
        return ScenePage(lines, next_after)
    grouped = all_scene_runs(reader or RunReader(rt), dag) if with_runs else {}
    out: list[dict[str, Any]] = []
    cursor = after
    while True:
        ids, more = scene_page(rt.bucket, limit=_BATCH, after=cursor)
        markers = page_markers(rt.bucket, dag, ids)
        for scene_id in ids:
            listing = markers.get(scene_id, {})
            prompt = scene_prompt(rt.bucket, scene_id, dag, listing) if needle is not None else None
            if needle is not None and needle not in scene_id.lower() and needle not in (prompt or "").lower():
                continue
            status = listed_status(rt, scene_id, dag=dag, grouped=grouped, listing=listing, now=now)
            if state is not None and status.state != state:
                continue
            if len(out) == limit:
                return ScenePage(out, out[-1]["scene_id"])
            if needle is None:
                prompt = scene_prompt(rt.bucket, scene_id, dag, listing)
            out.append(list_line(status, listing, prompt))
        if more is None:
            return ScenePage(out, None)
        cursor = more
