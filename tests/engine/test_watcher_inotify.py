"""The bucket watcher on a real directory and real inotify, without a runtime: what reaches the
dispatcher, and what the kernel is never asked about."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpflow.core.events.inotify import TreeWatch
from bpflow.core.events.model import ObjectEvent
from bpflow.core.events.watcher import QUIET_SECONDS, BucketWatcher, _Handler
from bpflow.core.storage.local import INTERNAL_DIR, LocalBucket
from tests.conftest import wait_until


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[LocalBucket, list[ObjectEvent]]]:
    bucket = LocalBucket(tmp_path / "bucket")
    seen: list[ObjectEvent] = []
    watcher = BucketWatcher(bucket, seen.append)
    watcher.start()
    try:
        yield bucket, seen
    finally:
        watcher.stop()


def test_the_bucket_folder_itself_is_never_watched(tmp_path: Path) -> None:
    root = tmp_path / "b"
    (root / INTERNAL_DIR / "generations" / "ab").mkdir(parents=True)
    (root / "scenes").mkdir()
    tree = TreeWatch(str(root), str(root / INTERNAL_DIR))
    try:
        list(tree.add_tree(str(root)))
        (root / INTERNAL_DIR / "generations" / "ab" / "entry").write_text("1 2 3 4 5")
        (root / INTERNAL_DIR / "write.lock").write_text("")
        assert tree.read(0.2) == []  # ledger and lock traffic: the kernel reports nothing
        (root / "scenes" / "x.json").write_text("{}")
        changes = tree.read(2.0)
        assert changes and {c.path for c in changes} == {str(root / "scenes" / "x.json")}
    finally:
        tree.close()


def test_a_foreign_write_is_dispatched_once_with_its_final_generation(
    watched: tuple[LocalBucket, list[ObjectEvent]], tmp_path: Path
) -> None:
    bucket, seen = watched
    src = tmp_path / "req.json"
    src.write_text('{"prompt": "a kitchen"}')
    os.utime(src, (1_000_000_000, 1_000_000_000))  # restored from a backup: an old mtime
    (bucket.root / "scenes" / "s1").mkdir(parents=True)
    target = bucket.root / "scenes" / "s1" / "req.json"
    shutil.copy2(src, target)  # cp -p: write, close, then set the times
    wait_until(lambda: seen, timeout=10)
    time.sleep(0.5)
    final = bucket.stat("scenes/s1/req.json")
    assert final is not None
    assert [e.generation for e in seen][-1] == final.generation  # the version with its times restored
    assert {e.name for e in seen} == {"scenes/s1/req.json"} and all(e.source == "watcher" for e in seen)


def test_a_file_already_in_a_new_folder_is_dispatched(
    watched: tuple[LocalBucket, list[ObjectEvent]], tmp_path: Path
) -> None:
    bucket, seen = watched
    staged = tmp_path / "staged" / "s2" / "deep"
    staged.mkdir(parents=True)
    (staged / "req.json").write_text("{}")
    (bucket.root / "scenes").mkdir()
    os.rename(tmp_path / "staged" / "s2", bucket.root / "scenes" / "s2")  # a whole folder moved in
    wait_until(lambda: [e for e in seen if e.name == "scenes/s2/deep/req.json"], timeout=10)


def test_our_own_write_is_left_alone_even_while_it_is_being_recorded(tmp_path: Path) -> None:
    """The Bucket renames a version into place before it can record it as announced; a watcher
    that looks in between must wait, not dispatch the runtime's own write a second time."""
    bucket = LocalBucket(tmp_path / "bucket")
    bucket.add_listener(lambda info: None)
    seen: list[ObjectEvent] = []
    handler = _Handler(bucket, seen.append)
    path = bucket.root / "scenes" / "s3" / "m.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")  # what the rename made visible
    bucket._writing["scenes/s3/m.json"] = 1  # ...while the write is still being recorded
    handler.changed(str(path), complete=True)
    time.sleep(QUIET_SECONDS * 2)
    handler.run_due()
    assert seen == [] and handler.next_due() is not None  # looked again later instead
    del bucket._writing["scenes/s3/m.json"]
    bucket._notified["scenes/s3/m.json"] = (lambda st: (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))(
        os.stat(path)
    )
    time.sleep(QUIET_SECONDS * 2)
    handler.run_due()
    assert seen == [] and handler.next_due() is None


def test_a_file_still_open_for_writing_waits_for_its_close(watched: tuple[LocalBucket, list[ObjectEvent]]) -> None:
    bucket, seen = watched
    path = bucket.root / "scenes" / "s4" / "big.json"
    path.parent.mkdir(parents=True)
    time.sleep(0.2)  # the folder is watched: the creation itself is reported
    with open(path, "w") as fh:
        fh.write("{")
        fh.flush()
        time.sleep(0.6)  # several settle periods with the file open for writing
        assert seen == []
        fh.write("}")
    wait_until(lambda: seen, timeout=10)
    assert bucket.read_text("scenes/s4/big.json") == "{}"


def test_a_burst_of_files_is_dispatched_once_each(watched: tuple[LocalBucket, list[ObjectEvent]]) -> None:
    """Many writers at once (a bulk copy into the bucket): every file once, none twice."""
    bucket, seen = watched
    folder = bucket.root / "scenes" / "bulk"
    folder.mkdir(parents=True)
    time.sleep(0.2)
    for i in range(400):
        (folder / f"f{i:03d}.json").write_text("{}")
    wait_until(lambda: len(seen) >= 400, timeout=30)
    time.sleep(0.5)
    names = [e.name for e in seen]
    assert len(names) == 400 and set(names) == {f"scenes/bulk/f{i:03d}.json" for i in range(400)}
