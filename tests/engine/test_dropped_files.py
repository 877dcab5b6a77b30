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
