"""The reconciliation scan's incremental passes: after a full first pass, a pass hands over only
objects updated since the previous pass began (less the overlap), an object written behind the
listing while a pass runs is picked up by the next pass, and every ``full_every`` passes the whole
look-back is scanned again. Files are dropped directly (no bucket API, no watcher): their events
are "lost", so the scan alone must find them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bpflow.core.events.model import ObjectEvent
from bpflow.core.events.scan import Scanner, scan_once


def _drop(rt: Any, scene: str, age_s: float = 0.0) -> Path:
    path = Path(rt.bucket.root) / "scenes" / scene / "test" / "input.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    if age_s:
        ts = time.time() - age_s
        os.utime(path, (ts, ts))
    return path


def test_incremental_passes_lose_no_write_made_during_a_pass(make_runtime: Any) -> None:
    rt = make_runtime()
    for scene in ("s1", "s2", "s3", "s4", "s5"):
        _drop(rt, scene, age_s=120)  # inside the 24 h look-back, before any pass
    _drop(rt, "old", age_s=3 * 86400)  # outside it: never handed over
    handed: list[ObjectEvent] = []

    def submit(event: ObjectEvent) -> None:
        handed.append(event)
        if event.name == "scenes/s5/test/input.json" and not (Path(rt.bucket.root) / "scenes/s0").exists():
            _drop(rt, "s0")  # written mid-pass, at a key the listing has already passed

    rt.dispatcher.submit = submit
    scanner = Scanner(rt, 3600, overlap_seconds=0.5, full_every=3)

    assert scanner.pass_once() == 5
    assert sorted(e.name.split("/")[1] for e in handed) == ["s1", "s2", "s3", "s4", "s5"]
    assert all(e.source == "scan" and e.generation == rt.bucket.stat(e.name).generation for e in handed)

    handed.clear()
    time.sleep(0.6)
    assert scanner.pass_once() == 1  # the next pass: only the write it missed
    assert [e.name for e in handed] == ["scenes/s0/test/input.json"]

    handed.clear()
    time.sleep(0.6)
    assert scanner.pass_once() == 0  # nothing changed since

    handed.clear()
    assert scanner.pass_once() == 6  # the periodic full pass: the whole window again
    assert "scenes/old/test/input.json" not in {e.name for e in handed}


def test_scan_once_narrowed_by_since_and_blind_to_non_trigger_objects(make_runtime: Any) -> None:
    rt = make_runtime()
    handed: list[ObjectEvent] = []
    rt.dispatcher.submit = handed.append
    _drop(rt, "a", age_s=600)
    _drop(rt, "b")
    big = Path(rt.bucket.root) / "scenes" / "b" / "episodes" / "data.bin"
    big.parent.mkdir(parents=True)
    big.write_bytes(b"x")  # not a trigger object: listed by no pattern
    assert scan_once(rt) == 2
    handed.clear()
    assert scan_once(rt, since_s=time.time() - 60) == 1
    assert [e.name for e in handed] == ["scenes/b/test/input.json"]
