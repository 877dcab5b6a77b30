"""The last runs the dispatcher started in this process, for ``GET /api/events``.

Events themselves are not stored (the trigger object, or the sender's retry, is the durable
record); an operator still wants to see "what just happened" without reading logs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

MAX_EVENTS = 500


class RecentDispatches:
    def __init__(self, size: int = MAX_EVENTS) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, run_id: str, payload: dict[str, Any]) -> None:
        """A ``Dispatcher.on_started`` callback."""
        data = raw_data if isinstance(raw_data := payload.get("data"), dict) else {}
        item = {
            "time": time.time(),
            "run_id": run_id,
            "workflow": run_id.split(":", 1)[0],
            "type": payload.get("type"),
            "source": payload.get("source"),
            "object": data.get("name"),
            "generation": data.get("generation"),
        }
        with self._lock:
            self._items.append(item)

    def latest(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._items)
        return items[::-1][:limit]
