"""What only the directory backend has: files dropped in by other programs, its internal folder,
and keys that must never escape the bucket's root on a real file system."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bpflow.core.errors import InvalidObjectKey, PreconditionFailed
from bpflow.core.storage import open_bucket
from bpflow.core.storage.local import INTERNAL_DIR, LocalBucket


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "bucket"
    path.mkdir()
    return path


@pytest.fixture
def bucket(root: Path) -> LocalBucket:
    return LocalBucket(root)


def _drop(root: Path, key: str, data: bytes) -> Path:
    """Write a file the way another program would: no bpflow involved."""
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_dropped_file_gets_generation_from_mtime(root: Path, bucket: LocalBucket) -> None:
    path = _drop(root, "prompts/scene_request.json", b'{"prompt": "a kitchen"}')
    info = bucket.stat("prompts/scene_request.json")
    assert info is not None
    assert info.generation == os.stat(path).st_mtime_ns
    assert info.size == path.stat().st_size
    assert bucket.read_json("prompts/scene_request.json") == {"prompt": "a kitchen"}
    assert [i.key for i in bucket.list("prompts/")] == ["prompts/scene_request.json"]


def test_rewrite_of_dropped_file_increases_generation_even_if_mtime_is_in_the_future(
    root: Path, bucket: LocalBucket
) -> None:
    path = _drop(root, "a.json", b"1")
    future = time.time_ns() + 3600 * 10**9  # another program (or a skewed clock) set mtime ahead
    os.utime(path, ns=(future, future))
    before = bucket.stat("a.json")
    assert before is not None and before.generation == future
    after = bucket.write("a.json", b"2")
    assert after.generation == future + 1


def test_create_only_fails_on_a_dropped_file(root: Path, bucket: LocalBucket) -> None:
    _drop(root, "locks/x.lock", b"foreign")
    with pytest.raises(PreconditionFailed):
        bucket.create("locks/x.lock", b"mine")
    assert bucket.read("locks/x.lock") == b"foreign"


def test_cas_with_dropped_files_generation(root: Path, bucket: LocalBucket) -> None:
    path = _drop(root, "state.json", b"{}")
    gen = os.stat(path).st_mtime_ns
    bucket.write("state.json", b'{"a": 1}', if_generation_match=gen)
    assert bucket.read("state.json") == b'{"a": 1}'


def test_internal_dir_hidden_from_listings(root: Path, bucket: LocalBucket) -> None:
    bucket.write("scenes/s1/a.json", b"{}")
    assert (root / INTERNAL_DIR).is_dir()
    _drop(root, f"{INTERNAL_DIR}/tmp/leftover", b"partial upload")
    assert [i.key for i in bucket.list()] == ["scenes/s1/a.json"]
    assert [i.key for i in bucket.list(".")] == []
    assert [i.key for i in bucket.glob("**")] == ["scenes/s1/a.json"]


def test_internal_dir_leaves_no_temp_files_behind(root: Path, bucket: LocalBucket) -> None:
    bucket.write("a", b"1")
    bucket.create("b", b"1")
    with pytest.raises(PreconditionFailed):
        bucket.create("b", b"2")
    assert list((root / INTERNAL_DIR / "tmp").iterdir()) == []


def test_directories_are_not_objects(root: Path, bucket: LocalBucket) -> None:
    (root / "scenes" / "empty").mkdir(parents=True)
    assert bucket.stat("scenes/empty") is None
    assert list(bucket.list("scenes/")) == []


def test_delete_prunes_empty_folders(root: Path, bucket: LocalBucket) -> None:
    bucket.write("scenes/s1/usd/.usd_complete", b"")
    bucket.write("scenes/s1/keep.json", b"{}")
    assert bucket.delete("scenes/s1/usd/.usd_complete")
    assert not (root / "scenes" / "s1" / "usd").exists()
    assert (root / "scenes" / "s1" / "keep.json").exists()


@pytest.mark.parametrize("key", ["../x", "../../etc/passwd", "/abs", "/etc/passwd", "a//b", "a/../../x", "a/./b"])
def test_escaping_keys_rejected_and_nothing_written_outside(
    tmp_path: Path, root: Path, bucket: LocalBucket, key: str
) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(InvalidObjectKey):
        bucket.write(key, b"escape")
    with pytest.raises(InvalidObjectKey):
        bucket.read(key)
    with pytest.raises(InvalidObjectKey):
        bucket.delete(key)
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before


def test_writing_under_an_object_key_is_a_clear_error(bucket: LocalBucket) -> None:
    """A file system cannot hold both ``a`` and ``a/b``; say so instead of crashing."""
    from bpflow.core.errors import StorageError

    bucket.write("a", b"file")
    with pytest.raises(StorageError):
        bucket.write("a/b", b"child")


def test_open_bucket_file_url_and_bare_path(root: Path) -> None:
    by_url = open_bucket(f"file://{root}")
    by_path = open_bucket(str(root))
    assert isinstance(by_url, LocalBucket) and isinstance(by_path, LocalBucket)
    by_url.write("x.txt", b"1")
    assert by_path.read("x.txt") == b"1"
    assert by_url.url == f"file://{root.resolve()}"


def test_creates_and_deletes_racing_in_one_folder_never_lose_a_write(tmp_path: Path) -> None:
    """A delete prunes empty folders; a create in the same folder must never find it gone."""
    import threading

    from bpflow.core.storage.local import LocalBucket

    bucket = LocalBucket(tmp_path / "bucket")
    errors: list[BaseException] = []

    def churn(i: int) -> None:
        try:
            for n in range(150):
                key = f"scenes/s/locks/w{i}-{n}.lock"
                bucket.create(key, b"{}")
                assert bucket.delete(key)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
