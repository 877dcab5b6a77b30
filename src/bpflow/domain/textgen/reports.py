"""Derived views of a placed scene: support surfaces, placement graph, faithfulness, critic scores,
placement stages and quality metrics. Every number is computed from the scene itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bpflow.domain.scene.obb import footprint_overlap
from bpflow.domain.textgen.layout_check import LayoutReport, body_of, check_layout
from bpflow.domain.textgen.model import Placed
from bpflow.domain.textgen.packing import SURFACE_MARGIN, matches_any
from bpflow.domain.textgen.records import FLOOR_ID
from bpflow.domain.textgen.room_catalog import ARTICULATED_ROLES, MOVABLE_ROLES

ADJACENT_GAP_M = 0.3
ASCII_W, ASCII_H = 40, 20


def support_surfaces(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One top face per object that holds something or is a usable support (footprint ≥ 0.06 m²)."""
    holders = {r["parent_support_id"] for r in records}
    out = []
    for r in records:
        dims = r["dimensions_est"]
        if r["sim_role"] in MOVABLE_ROLES or (r["id"] not in holders and dims["width"] * dims["depth"] < 0.06):
            continue
        if r["id"] not in holders and r["placement_stage"] != "furniture":
            continue
        p = r["transform"]["position"]
        out.append(
            {
                "id": f"surface_{r['id']}_top",
                "owner_object_id": r["id"],
                "kind": "top_face",
                "center": {"x": p["x"], "y": round(p["y"] + dims["height"], 4), "z": p["z"]},
                "extents": {
                    "x": round(dims["width"] / 2 - SURFACE_MARGIN, 4),
                    "z": round(dims["depth"] / 2 - SURFACE_MARGIN, 4),
                },
                "yaw_rad": round(body_of(r).box.footprint.yaw, 6),
                "normal": [0.0, 1.0, 0.0],
                "supported_object_ids": [o["id"] for o in records if o["parent_support_id"] == r["id"]],
            }
        )
    return out


def placement_graph(
    records: Sequence[Mapping[str, Any]], placed: Sequence[Placed], ids: Mapping[int, str]
) -> dict[str, Any]:
    """Relations that hold in the placed scene: on / on_surface, against_wall, aligned (same
    wall), adjacent (footprints within 0.3 m), near (same surface), facing (a seat and its table)."""
    rel: list[dict[str, Any]] = []
    for r in records:
        if r["parent_support_id"] != FLOOR_ID:
            rel.append(
                {
                    "type": "on_surface",
                    "subject_id": r["id"],
                    "object_id": r["parent_support_id"],
                    "surface_name": f"surface_{r['parent_support_id']}_top",
                }
            )
        elif r["sim_role"] in MOVABLE_ROLES:
            rel.append({"type": "on", "subject_id": r["id"], "object_id": FLOOR_ID})
    by_wall: dict[str, list[str]] = {}
    for i, p in enumerate(placed):
        if p.anchor_wall:
            rel.append({"type": "against_wall", "subject_id": ids[i], "object_id": f"wall_{p.anchor_wall}"})
            by_wall.setdefault(p.anchor_wall, []).append(ids[i])
        if p.facing is not None:
            rel.append({"type": "facing", "subject_id": ids[i], "object_id": ids[p.facing]})
    for wall in sorted(by_wall):
        members = sorted(by_wall[wall])
        rel += [
            {"type": "aligned", "subject_id": a, "object_id": b, "wall": wall} for a, b in zip(members, members[1:])
        ]
    floor = [r for r in records if r["parent_support_id"] == FLOOR_ID]
    bodies = {r["id"]: body_of(r) for r in floor}
    for i, a in enumerate(floor):
        for b in floor[i + 1 :]:
            gap = -footprint_overlap(bodies[a["id"]].box.footprint, bodies[b["id"]].box.footprint)
            if 0 <= gap <= ADJACENT_GAP_M:
                rel.append({"type": "adjacent", "subject_id": a["id"], "object_id": b["id"], "gap_m": round(gap, 3)})
    on_same: dict[str, list[str]] = {}
    for r in records:
        if r["parent_support_id"] != FLOOR_ID:
            on_same.setdefault(r["parent_support_id"], []).append(r["id"])
    for support in sorted(on_same):
        items = on_same[support]
        rel += [{"type": "near", "subject_id": a, "object_id": b} for a, b in zip(items, items[1:])]
    return {"schema_version": "v1", "relations": rel}


def _tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9]+", text.lower()) if len(t) > 2}


def faithfulness_report(prompt: str, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Spec §1.3 o: lexical alignment of prompt and object words, category coverage, score;
    plus how many of the objects the prompt named were placed."""
    prompt_tokens = _tokens(prompt)
    object_tokens: set[str] = set()
    for r in records:
        object_tokens |= _tokens(str(r["name"]).replace("_", " ")) | _tokens(str(r["category"]).replace("_", " "))
    lexical = len(prompt_tokens & object_tokens) / len(prompt_tokens) if prompt_tokens else 0.0
    coverage = min(1.0, len(object_tokens) / max(10.0, 0.8 * len(records)))
    score = 0.65 * lexical + 0.35 * coverage
    return {
        "schema_version": "v1",
        "lexical_alignment": round(lexical, 4),
        "category_coverage": round(coverage, 4),
        "score": round(score, 4),
        "status": "pass" if score >= 0.8 else "warn",
        "requested_objects_placed": sum(1 for r in records if r.get("requested_in_prompt")),
    }


def _alignment(placed: Sequence[Placed], stage: str) -> float:
    """Furniture: share of wall-type furniture actually against a wall. Manipulands: share of
    objects on a support their category prefers."""
    if stage == "furniture":
        wall_types = [p for p in placed if p.stage == "furniture" and p.obj.spec.wall]
        return sum(p.anchor_wall is not None for p in wall_types) / len(wall_types) if wall_types else 1.0
    items = [p for p in placed if p.stage == "manipulands"]
    if not items:
        return 1.0
    good = sum(p.support is not None and matches_any(placed[p.support].obj, p.obj.spec.rests_on) for p in items)
    return good / len(items)


def critic_scores(placed: Sequence[Placed], metrics: Mapping[str, Any], faithfulness: float) -> list[dict[str, Any]]:
    """Per stage, on 0-10: semantic = 10·faithfulness, physics = 10·(1 - 2·collision rate)·stability,
    alignment as ``_alignment``; total = 0.45·semantic + 0.35·physics + 0.20·alignment."""
    collision = metrics["collision_rate_pct"] / 100.0
    physics = max(0.0, 10.0 * (1.0 - 2.0 * collision) * metrics["stability_pct"] / 100.0)
    out = []
    for stage in ("furniture", "manipulands"):
        semantic = 10.0 * faithfulness
        align = 10.0 * _alignment(placed, stage)
        out.append(
            {
                "stage": stage,
                "semantic_plausibility": round(semantic, 3),
                "physical_feasibility": round(physics, 3),
                "alignment": round(align, 3),
                "collision_rate": round(collision, 5),
                "total": round(0.45 * semantic + 0.35 * physics + 0.20 * align, 3),
            }
        )
    return out


def topdown_ascii(records: Sequence[Mapping[str, Any]], room_box: Mapping[str, Sequence[float]]) -> list[str]:
    """A 40×20 plan view: ``F`` furniture, ``m`` objects on surfaces or small floor items."""
    lo, hi = room_box["min"], room_box["max"]
    grid = [["." for _ in range(ASCII_W)] for _ in range(ASCII_H)]
    for r in sorted(records, key=lambda o: o["placement_stage"] == "manipulands"):
        fp = body_of(r).box.footprint
        mark = "F" if r["placement_stage"] == "furniture" else "m"
        for row in range(ASCII_H):
            for col in range(ASCII_W):
                x = lo[0] + (col + 0.5) * (hi[0] - lo[0]) / ASCII_W
                z = lo[2] + (row + 0.5) * (hi[2] - lo[2]) / ASCII_H
                u, v = fp.to_local(x, z)
                if abs(u) <= fp.hx and abs(v) <= fp.hz:
                    grid[row][col] = mark
    return ["".join(row) for row in grid]


def placement_stages(
    records: Sequence[Mapping[str, Any]],
    placed: Sequence[Placed],
    critic: Sequence[Mapping[str, Any]],
    dropped: int,
    room_box: Mapping[str, Sequence[float]],
    tries: Mapping[str, int],
) -> list[dict[str, Any]]:
    ascii_map = topdown_ascii(records, room_box)
    out = []
    for entry in critic:
        stage = entry["stage"]
        out.append(
            {
                "stage": stage,
                "accepted_iteration": 1,
                "iterations": [
                    {
                        "iteration": 1,
                        "critic": dict(entry),
                        "observation": {
                            "object_count": len(records),
                            "furniture_count": sum(p.stage == "furniture" for p in placed),
                            "manipuland_count": sum(p.stage == "manipulands" for p in placed),
                            "articulated_count": sum(p.obj.sim_role in ARTICULATED_ROLES for p in placed),
                            "dropped_count": dropped,
                            "candidates_tried": dict(tries),
                            "topdown_ascii": ascii_map,
                        },
                    }
                ],
            }
        )
    return out


def quality_metrics(
    records: Sequence[Mapping[str, Any]], room_box: Mapping[str, Sequence[float]], *, dropped: int
) -> tuple[dict[str, Any], LayoutReport]:
    """Spec §1.3 n, measured on the written records (stability and collisions are real checks)."""
    report = check_layout(records, room_box)
    n = len(records)
    metrics: dict[str, Any] = {"object_count": n}
    metrics.update(report.metrics())
    metrics["articulated_coverage_pct"] = (
        round(100.0 * sum(r["articulation"]["required"] for r in records) / n, 2) if n else 0.0
    )
    metrics["dropped_object_count"] = dropped
    return metrics, report
