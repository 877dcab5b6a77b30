"""Where the arm stands in a scene, chosen by the tasks it can really do from there.

Geometry alone (``placement.mount_candidates``: the surface with the most graspable objects,
its best edge) does not say whether the arm can work there: a wall behind the objects may catch
the elbow, a shelf above may block the fingers' descent, the home pose itself may touch a wall.
So the candidates are tried in their geometric order: each is compiled with the arm, settled,
and its tasks derived with their plans checked (``tasks.derive_tasks``: IK for every waypoint,
every link clear). The candidate with the most feasible tasks wins (ties: the earlier one); the
search stops at the first candidate where every object it was mounted for got a task, and after
``MAX_CANDIDATES``. Deterministic: the export job and the runtime make the same choice on the
same USD, so the runtime finds the very tasks the bundle promised.

A scene where no candidate offers a task comes back with no task and, per object, why the
best candidate refused it: the callers turn that into their structured error (the export's
``no_tasks``, episode generation's ``no_pickable_objects``), never into a silent success.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpflow.domain.sim.scene import SimScene, load_scene
from bpflow.domain.sim.tasks import DEFAULT_KINDS, Task, derive_tasks
from bpflow.domain.sim.usd_read import manifest_roles, read_scene

MAX_CANDIDATES = 6
SETTLE_S = 1.0


def candidate_targets(
    usd: str | Path, manifest: dict[str, Any] | None, kinds: tuple[str, ...] = DEFAULT_KINDS
) -> list[list[str]]:
    """Object ids of each mount candidate, best first (geometry only)."""
    from bpflow.domain.sim import placement

    scene = read_scene(usd)
    roles = manifest_roles(manifest)
    for o in scene.objects:  # the manifest's roles decide what moves, as in load_scene
        m = roles.get(o.id)
        if m:
            o.sim_role = str(m.get("sim_role") or o.sim_role)
            o.category = str(m.get("category") or o.category)
    return [list(c["target_ids"]) for c in placement.mount_candidates(scene, kinds)]


def load_workcell(
    usd: str | Path,
    manifest: dict[str, Any] | None,
    *,
    seed: int = 0,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    max_tasks: int | None = None,
) -> tuple[SimScene, list[Task], dict[str, str]]:
    """The scene with the arm where it has the most feasible tasks, settled, with those tasks
    and why the other objects got none. ``sim.mount["target_ids"]`` reloads the same mount.

    ``max_tasks`` stops the search at the first candidate with that many (cheaper, for a run
    that wants no more); two callers that must agree on the mount pass the same value."""
    best: tuple[int, SimScene, list[Task], dict[str, str]] | None = None
    tried = 0
    for ids in candidate_targets(usd, manifest, kinds):
        if tried >= MAX_CANDIDATES:
            break
        tried += 1
        sim = load_scene(usd, manifest, robot=True, target_ids=ids)
        sim.reset()
        sim.settle(SETTLE_S)  # judge objects where they come to rest, not where the layout put them
        tasks, skipped = derive_tasks(sim, seed=seed, kinds=kinds, max_tasks=max_tasks)
        if best is None or len(tasks) > best[0]:
            best = (len(tasks), sim, tasks, skipped)
        if tasks and ({t.object_id for t in tasks} >= set(ids) or (max_tasks is not None and len(tasks) >= max_tasks)):
            break
    if best is None:  # no geometric candidate at all: the loader's own error says why
        sim = load_scene(usd, manifest, robot=True)
        sim.reset()
        sim.settle(SETTLE_S)
        tasks, skipped = derive_tasks(sim, seed=seed, kinds=kinds, max_tasks=max_tasks)
        return sim, tasks, skipped
    _, sim, tasks, skipped = best
    return sim, tasks, skipped
