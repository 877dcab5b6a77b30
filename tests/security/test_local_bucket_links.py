"""Item 1: a symlink in the bucket folder never leads a read, write, list, stat or delete out of it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.errors import ObjectOutsideBucket
from bpflow.core.storage.local import LocalBucket
from tests.api.conftest import Api

SECRET = "-----BEGIN PRIVATE KEY----- SENTINEL-outside-bucket"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "private"
    d.mkdir()
    (d / "id_rsa").write_text(SECRET)
    (d / "bpflow.sqlite").write_text(SECRET)
    return d


@pytest.fixture
def linked(tmp_path: Path, outside: Path) -> LocalBucket:
    bucket = LocalBucket(tmp_path / "bucket")
    (bucket.root / "scenes").mkdir()
    os.symlink(outside, bucket.root / "scenes" / "x")  # a symlinked folder
    (bucket.root / "scenes" / "y").mkdir()
    os.symlink(outside / "id_rsa", bucket.root / "scenes" / "y" / "key.json")  # a symlinked file
    bucket.write("scenes/y/inside.json", "{}")
    os.symlink(
        bucket.root / "scenes" / "y" / "inside.json", bucket.root / "scenes" / "y" / "alias.json"
    )  # stays inside
    return bucket


@pytest.mark.parametrize("key", ["scenes/x/id_rsa", "scenes/y/key.json"])
def test_reads_and_stats_through_a_link_out_are_refused(linked: LocalBucket, key: str) -> None:
    with pytest.raises(ObjectOutsideBucket) as err:
        linked.read(key)
    assert err.value.code == "object_outside_bucket" and not err.value.retryable
    with pytest.raises(ObjectOutsideBucket):
        linked.stat(key)


def test_writes_and_deletes_through_a_link_out_are_refused(linked: LocalBucket, outside: Path) -> None:
    for key in ("scenes/x/new.json", "scenes/x/deeper/new.json", "scenes/x/id_rsa", "scenes/y/key.json"):
        with pytest.raises(ObjectOutsideBucket):
            linked.write(key, "overwritten")
        with pytest.raises(ObjectOutsideBucket):
            linked.create(key, "overwritten")
        with pytest.raises(ObjectOutsideBucket):
            linked.delete(key)
    assert sorted(p.name for p in outside.iterdir()) == ["bpflow.sqlite", "id_rsa"]
    assert (outside / "id_rsa").read_text() == SECRET


def test_listing_does_not_follow_links_out(linked: LocalBucket) -> None:
    keys = [i.key for i in linked.list("scenes/")]
    assert keys == ["scenes/y/alias.json", "scenes/y/inside.json"]
    assert [i.key for i in linked.list("scenes/x/")] == []
    assert [i.key for i in linked.glob("scenes/**")] == keys
    # A link that stays inside the bucket is an object like any other.
    assert linked.read("scenes/y/alias.json") == b"{}"


def test_the_marker_endpoint_does_not_serve_files_outside_the_bucket(api: Api, outside: Path) -> None:
    root = Path(api.rt.bucket.root)
    (root / "scenes").mkdir(exist_ok=True)
    os.symlink(outside, root / "scenes" / "x")
    for url in ("/api/scenes/x/markers/id_rsa", "/api/scenes/x/markers/bpflow.sqlite", "/scenes/x/markers/id_rsa"):
        resp = api.client.get(url)
        assert resp.status_code == 400, (url, resp.status_code)
        assert "SENTINEL-outside-bucket" not in resp.text
        if url.startswith("/api/"):
            assert resp.json()["error"]["code"] == "object_outside_bucket"
    scene = api.client.get("/api/scenes/x")
    assert "SENTINEL-outside-bucket" not in scene.text


def _runs(rt: object, scene: str) -> list[str]:
    from dbos import DBOS

    return [w.workflow_id for w in DBOS.list_workflows(name="test-stage-a") if f"scenes/{scene}/" in w.workflow_id]


def test_the_scan_and_the_watcher_do_not_follow_links_out(make_runtime: Any, tmp_path: Path) -> None:
    from bpflow.core.events.scan import scan_once
    from tests.conftest import wait_until

    rt = make_runtime(watch=True)
    root = Path(rt.bucket.root)
    outside = tmp_path / "elsewhere"
    (outside / "test").mkdir(parents=True)
    (outside / "test" / "input.json").write_text("{}")
    (root / "scenes").mkdir(exist_ok=True)
    os.symlink(outside, root / "scenes" / "evil")  # the watcher sees the link appear
    (outside / "test" / "late.json").write_text("{}")
    os.replace(outside / "test" / "late.json", outside / "test" / "input.json")  # and a write behind it
    (root / "scenes" / "lnk" / "test").mkdir(parents=True)
    os.symlink(outside / "test" / "input.json", root / "scenes" / "lnk" / "test" / "input.json")  # a file link out
    # A real drop after those: once its run exists, the watcher has handled the events before it.
    control = root / "scenes" / "ok" / "test" / "input.json"
    control.parent.mkdir(parents=True)
    control.write_text("{}")
    wait_until(lambda: _runs(rt, "ok"), timeout=30)
    rt.dispatcher.drain()
    assert scan_once(rt, lookback_seconds=3600) == 1  # the control only
    rt.dispatcher.drain()
    assert _runs(rt, "evil") == [] and _runs(rt, "lnk") == []
