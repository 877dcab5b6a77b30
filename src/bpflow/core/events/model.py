"""What the dispatcher consumes: an object was written, or a custom/manual event was emitted.

The payload handed to a workflow keeps the Eventarc shape (``{"data": {"bucket", "name",
"generation"}}`` plus extra top-level fields) so manual runs written for the reference deployment
work unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

OBJECT_FINALIZED = "google.cloud.storage.object.v1.finalized"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ObjectEvent:
    bucket: str
    name: str
    generation: int
    source: str = "bucket-write"
    time: str = field(default_factory=_now_iso)
    received_at: float = field(default_factory=perf_counter, compare=False)

    def payload(self) -> dict[str, Any]:
        return {
            "type": OBJECT_FINALIZED,
            "source": self.source,
            "time": self.time,
            "data": {"bucket": self.bucket, "name": self.name, "generation": str(self.generation)},
        }


@dataclass(frozen=True)
class CustomEvent:
    type: str
    id: str
    data: dict[str, Any]
    source: str = "cli"
    time: str = field(default_factory=_now_iso)
    received_at: float = field(default_factory=perf_counter, compare=False)

    def payload(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "source": self.source, "time": self.time, "data": self.data}
