"""Run ids derived from what started a run (DESIGN principle 2).

Whoever starts a stage for the same input version computes the same id, so the engine starts it
once and every other starter attaches to that run.
"""

from __future__ import annotations

import uuid


def object_run_id(workflow: str, object_name: str, generation: int | str) -> str:
    return f"{workflow}:{object_name}@{generation}"


def schedule_run_id(workflow: str, schedule: str, fire_time_iso: str) -> str:
    return f"{workflow}:{schedule}@{fire_time_iso}"


def event_run_id(workflow: str, event_type: str, event_id: str) -> str:
    return f"{workflow}:{event_type}:{event_id}"


def manual_run_id(workflow: str, key: str | None = None) -> str:
    return f"{workflow}:manual:{key or uuid.uuid4().hex}"
