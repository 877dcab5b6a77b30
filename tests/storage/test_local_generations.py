"""Local-bucket generations strictly increase per key whatever a writer does to timestamps:
``cp -p`` restores, backups, foreign overwrites with old or future mtimes, delete-then-restore."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpflow.core.storage.local import LocalBucket, _Superseded

KEY = "scenes/s1/prompts/scene_request.json"


def test_cp_p_restore_after_delete_is_a_new_generation(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    bucket = LocalBucket(root)
    first = bucket.write_json(KEY, {"v": 1})
    backup = tmp_path / "backup.json"
    shutil.copy2(root / KEY, backup)  # keeps the mtime, as `cp -p` does
    assert bucket.delete(KEY)
    (root / KEY).parent.mkdir(parents=True)
    shutil.copy2(backup, root / KEY)  # restored with the old timestamp
    restored = bucket.stat(KEY)
    assert restored is not None and restored.generation > first.generation
    assert os.stat(root / KEY).st_mtime_ns == first.generation  # the timestamp really is the old one


def test_foreign_overwrite_with_an_older_mtime_is_a_new_generation(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    bucket = LocalBucket(root)
    first = bucket.write_json(KEY, {"v": 1})
    path = root / KEY
    path.write_bytes(b'{"v": 2}')
    old = first.generation - 10**12
    os.utime(path, ns=(old, old))
    second = bucket.stat(KEY)
    assert second is not None and second.generation > first.generation
    assert bucket.read_with_info(KEY)[1].generation == second.generation  # stable across reads


def test_every_process_sees_the_same_generation(tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    (root / "scenes").mkdir(parents=True)
    (root / KEY).parent.mkdir(parents=True)
    (root / KEY).write_bytes(b"{}")
    ours, theirs = LocalBucket(root), LocalBucket(root)
    seen = {ours.stat(KEY).generation, theirs.stat(KEY).generation, next(iter(theirs.list("scenes/"))).generation}  # type: ignore[union-attr]
    assert len(seen) == 1
    assert seen == {os.stat(root / KEY).st_mtime_ns}  # a key seen first keeps its mtime (pre-ledger buckets)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["write", "foreign", "foreign_old_mtime", "foreign_future_mtime", "delete", "rm", "restore"]),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_generations_strictly_increase_per_version(tmp_path: Path, ops: list[tuple[str, int]]) -> None:
    root = tmp_path / f"b{time.monotonic_ns()}"
    bucket = LocalBucket(root)
    path = root / KEY
    backup = root.parent / f"{root.name}.bak"
    last = 0
    for op, n in ops:
        if op in ("foreign", "foreign_old_mtime", "foreign_future_mtime", "restore"):
            # The kernel stamps ctime from a coarse clock (a few ms): two same-size foreign writes
            # within one tick are indistinguishable, a limit no real writer comes near.
            time.sleep(0.02)
        if op == "write":
            bucket.write(KEY, f"w{n}".encode())
        elif op.startswith("foreign"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"f{n}".encode())
            if op != "foreign":
                shift = -(10**12) if op == "foreign_old_mtime" else 10**12
                stamp = time.time_ns() + shift
                os.utime(path, ns=(stamp, stamp))
        elif op == "delete":
            bucket.delete(KEY)
        elif op == "rm":
            path.unlink(missing_ok=True)
        elif op == "restore" and backup.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup, path)
        info = bucket.stat(KEY)
        if info is None:
            continue
        if op in ("delete", "rm"):
            assert info.generation == last  # nothing changed
        elif op != "restore" or backup.exists():
            assert info.generation > last, (op, info.generation, last)
        last = info.generation
        shutil.copy2(path, backup)


def test_a_reader_holding_a_replaced_version_never_changes_the_live_generation(tmp_path: Path) -> None:
    """The unlink inside a replace changes the old file's ctime: a reader still holding it must not
    record that dead file in the ledger, or the live version's generation moves under its writer."""
    root = tmp_path / "bucket"
    writer = LocalBucket(root)
    writer.write_json(KEY, {"v": 1})
    with open(root / KEY, "rb") as held:  # a reader in the middle of reading version 1
        live = writer.write_json(KEY, {"v": 2})
        stale = os.fstat(held.fileno())
        assert stale.st_nlink == 0
        reader = LocalBucket(root)  # another process: nothing cached
        with pytest.raises(_Superseded):  # what a read holding version 1 learns: read again
            reader._info(KEY, stale, follow=False)
        assert reader._info(KEY, stale).generation == live.generation  # a stat follows to the live one
        data, info = reader.read_with_info(KEY)
        assert (json.loads(data), info.generation) == ({"v": 2}, live.generation)
    assert writer.delete(KEY, if_generation_match=live.generation)


def test_compare_and_swap_holds_while_other_processes_read(tmp_path: Path) -> None:
    """A writer chaining compare-and-swaps never loses to readers: a read changes no generation."""
    import threading

    root = tmp_path / "bucket"
    writer = LocalBucket(root)
    info = writer.write_json(KEY, {"v": 0})
    stop = threading.Event()

    def read_forever() -> None:
        reader = LocalBucket(root)
        while not stop.is_set():
            reader.read_with_info(KEY)
            reader.stat(KEY)

    readers = [threading.Thread(target=read_forever) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for v in range(1, 100):
            info = writer.write_json(KEY, {"v": v}, if_generation_match=info.generation)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert writer.read_json(KEY) == {"v": 99}
