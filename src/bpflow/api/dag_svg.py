"""Where each stage box and arrow of the scene page's DAG drawing goes.

Stages are placed left to right by their longest upstream path (``Dag.layers``) and centred in
their column; the template draws the SVG from these numbers, so the drawing needs no script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpflow.ops.dag import Dag
from bpflow.ops.scene_status import StageStatus

NODE_W, NODE_H = 150, 58
GAP_X, GAP_Y = 36, 18
PAD = 12


@dataclass
class Node:
    name: str
    title: str
    x: float
    y: float
    status: StageStatus | None

    @property
    def state(self) -> str:
        return self.status.state if self.status is not None else "pending"


@dataclass
class Edge:
    d: str
    state: str  # see edge_state


REACHED = ("succeeded", "running", "failed", "skipped")


def edge_state(upstream: str, downstream: str) -> str:
    """An arrow takes the colour of the stage it leads to once that stage was reached; before
    that it is red when the upstream failed (the stage is blocked), grey otherwise. (The
    orchestrator fails at the end of a scene: its own colour says nothing about its arrows.)"""
    if downstream in REACHED:
        return downstream
    return "failed" if upstream == "failed" else "pending"


def layout(dag: Dag, statuses: list[StageStatus] | None = None) -> dict[str, Any]:
    by_name = {s.name: s for s in statuses or []}
    layers = dag.layers()
    columns: dict[int, list[str]] = {}
    for stage in dag.stages:
        columns.setdefault(layers[stage.name], []).append(stage.name)
    rows = max(len(c) for c in columns.values())
    height = PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y
    nodes: dict[str, Node] = {}
    for col, names in columns.items():
        offset = (rows - len(names)) * (NODE_H + GAP_Y) / 2
        for i, name in enumerate(names):
            placed = dag.get(name)
            assert placed is not None
            nodes[name] = Node(
                name, placed.label, PAD + col * (NODE_W + GAP_X), PAD + offset + i * (NODE_H + GAP_Y), by_name.get(name)
            )
    edges = []
    for stage in dag.stages:
        dst = nodes[stage.name]
        for up in stage.upstream:
            src = nodes[up]
            x1, y1 = src.x + NODE_W, src.y + NODE_H / 2
            x2, y2 = dst.x - 4, dst.y + NODE_H / 2
            mid = (x1 + x2) / 2
            edges.append(
                Edge(
                    f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}",
                    edge_state(src.state, dst.state),
                )
            )
    width = PAD * 2 + len(columns) * NODE_W + (len(columns) - 1) * GAP_X
    return {
        "width": width,
        "height": height,
        "node_w": NODE_W,
        "node_h": NODE_H,
        "nodes": list(nodes.values()),
        "edges": edges,
    }
