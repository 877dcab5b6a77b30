"""Files written into the local bucket by other programs, as people really write them: slowly,
and restored from backups with their old timestamps."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from dbos import DBOS

from tests.conftest import wait_until

STAGE_A = "test-stage-a"
SETTLE_WAIT = 1.0


def _runs(scene: str) -> list[Any]:
    return [r for r in DBOS.list_workflows(name=STAGE_A) if f"scenes/{scene}/" in r.workflow_id]


def _ended(scene: str, count: int) -> Any:
    def check() -> list[Any]:
        rows = [r for r in _runs(scene) if r.status not in ("PENDING", "ENQUEUED")]
        return rows if len(rows) >= count else []

    return check


def test_a_slow_writer_gives_one_successful_run(make_runtime: Any) -> None:
    rt = make_runtime(watch=True)
    path = rt.bucket.path_for("scenes/slow1/test/input.json")
    path.parent.mkdir(parents=True)
    with open(path, "w") as fh:  # created empty, and held open while the writer works
        fh.flush()
        time.sleep(0.5)
        fh.write('{"written": "slowly"}')
    wait_until(lambda: rt.bucket.exists("scenes/slow1/test/a/.a_complete"), timeout=60)
    time.sleep(1.0)  # anything else the watcher might have dispatched has had time to start
    rows = wait_until(_ended("slow1", 1))
    assert len(_runs("slow1")) == 1 and rows[0].status == "SUCCESS"
    assert not rt.bucket.exists("scenes/slow1/test/a/.failed")


def test_a_cp_p_restore_runs_again(make_runtime: Any, tmp_path: Path) -> None:
    rt = make_runtime(watch=True)
    path = rt.bucket.path_for("scenes/restore1/test/input.json")
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1}')
    wait_until(lambda: rt.bucket.exists("scenes/restore1/test/a/.a_complete"), timeout=60)
    first = wait_until(_ended("restore1", 1))
    done = rt.bucket.stat("scenes/restore1/test/a/.a_complete")

    backup = tmp_path / "input.json"
    shutil.copy2(path, backup)  # `cp -p`: the copy keeps the original's mtime
    path.unlink()
    time.sleep(0.2)
    shutil.copy2(backup, path)  # restored, old timestamp and all
    rows = wait_until(_ended("restore1", 2), timeout=60)
    assert {r.status for r in rows} == {"SUCCESS"} and len(rows) == 2
    assert first[0].workflow_id in {r.workflow_id for r in rows}
    again = rt.bucket.stat("scenes/restore1/test/a/.a_complete")
    assert again is not None and done is not None and again.generation > done.generation


def test_the_watcher_leaves_the_runtimes_own_writes_to_the_bucket_listener(make_runtime: Any, tmp_path: Path) -> None:
    """A write through the runtime's Bucket was dispatched when it was made; the watcher must not
    dispatch it again. Writes by any other writer (another Bucket, e.g. a job's; a `cp -p` over
    our own file) still reach the dispatcher through the watcher."""
    from bpflow.core.storage.local import LocalBucket

    rt = make_runtime(watch=True)
    seen: list[tuple[str, str]] = []
    submit = rt.dispatcher.submit

    def record(event: Any) -> None:
        seen.append((event.source, event.name))
        submit(event)

    rt.dispatcher.submit = record  # type: ignore[method-assign]
    rt.bucket.write("scenes/own1/notes/replaced.json", "{}")  # tmp file renamed into place
    rt.bucket.create("scenes/own1/notes/linked.json", "{}")  # create-only: a hard link
    LocalBucket(rt.bucket.root).write("scenes/own1/notes/foreign.json", "{}")  # another writer's Bucket
    backup = tmp_path / "replaced.json"
    shutil.copy2(rt.bucket.path_for("scenes/own1/notes/replaced.json"), backup)
    time.sleep(0.1)
    rt.bucket.write("scenes/own1/notes/restored.json", "{}")
    shutil.copy2(backup, rt.bucket.path_for("scenes/own1/notes/restored.json"))  # same bytes, same mtime: a new version
    wait_until(lambda: ("watcher", "scenes/own1/notes/restored.json") in seen, timeout=30)
    time.sleep(SETTLE_WAIT)  # a created-without-close event settles after 0.1 s
    watched = {name for source, name in seen if source == "watcher"}
    assert watched == {"scenes/own1/notes/foreign.json", "scenes/own1/notes/restored.json"}
    api = [name for source, name in seen if source == "bucket-write"]
    assert sorted(api) == [
        "scenes/own1/notes/linked.json",
        "scenes/own1/notes/replaced.json",
        "scenes/own1/notes/restored.json",
    ]
