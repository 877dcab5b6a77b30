"""The Bucket contract, run unchanged against every backend on a real server.

Markers are objects, so these guarantees are what the rest of bpflow relies on: create-only has
exactly one winner, compare-and-swap is exact, generations strictly increase per key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import TypeVar

import pytest

from bpflow.core.errors import InvalidObjectKey, ObjectNotFound, PreconditionFailed
from bpflow.core.storage.base import Bucket, ObjectInfo
from tests.support.services import MakeBucket

KINDS = ["local", "s3", "gcs"]
T = TypeVar("T")


@pytest.fixture(params=KINDS)
def bucket(request: pytest.FixtureRequest, make_bucket: MakeBucket) -> Bucket:
    return make_bucket(request.param)


def _all(b: Bucket, prefix: str = "") -> list[str]:
    return [info.key for info in b.list(prefix)]


# -- read / write ------------------------------------------------------------------------------
def test_round_trip_bytes_and_str(bucket: Bucket) -> None:
    payload = bytes(range(256)) * 3
    bucket.write("scenes/s1/blob.bin", payload)
    assert bucket.read("scenes/s1/blob.bin") == payload

    bucket.write("scenes/s1/note.txt", "héllo wörld ✓")
    assert bucket.read("scenes/s1/note.txt") == "héllo wörld ✓".encode()
    assert bucket.read_text("scenes/s1/note.txt") == "héllo wörld ✓"

    bucket.write_json("scenes/s1/x.json", {"b": 1, "a": [1, 2]})
    assert bucket.read_json("scenes/s1/x.json") == {"a": [1, 2], "b": 1}


def test_empty_object(bucket: Bucket) -> None:
    info = bucket.write("scenes/s1/.usd_complete", b"")
    assert info.size == 0
    assert bucket.read("scenes/s1/.usd_complete") == b""
    assert bucket.exists("scenes/s1/.usd_complete")


def test_read_missing_raises_object_not_found(bucket: Bucket) -> None:
    with pytest.raises(ObjectNotFound):
        bucket.read("scenes/nope/missing.json")
    assert bucket.read_json_or_none("scenes/nope/missing.json") is None
    assert bucket.stat("scenes/nope/missing.json") is None
    assert not bucket.exists("scenes/nope/missing.json")


def test_stat_fields(bucket: Bucket) -> None:
    written = bucket.write("scenes/s1/a.txt", b"12345")
    info = bucket.stat("scenes/s1/a.txt")
    assert info is not None
    assert info.key == "scenes/s1/a.txt"
    assert info.size == 5
    assert isinstance(info.generation, int) and info.generation > 0
    assert info.generation == written.generation
    assert info.updated.tzinfo is not None
    assert info.updated.utcoffset() == timedelta(0)
    assert info.updated.tzinfo == UTC


def test_read_with_info_matches_stat(bucket: Bucket) -> None:
    written = bucket.write("k/v.txt", b"abc")
    data, info = bucket.read_with_info("k/v.txt")
    assert data == b"abc"
    assert info.generation == written.generation
    assert info.size == 3


def test_generation_strictly_increases(bucket: Bucket) -> None:
    generations = [bucket.write("scenes/s1/state.json", f"v{i}").generation for i in range(5)]
    assert all(b > a for a, b in zip(generations, generations[1:])), generations
    info = bucket.stat("scenes/s1/state.json")
    assert info is not None and info.generation == generations[-1]


def test_generation_increases_for_identical_content(bucket: Bucket) -> None:
    """A rewrite with the same bytes is still a new version (a new event)."""
    g1 = bucket.write("m/.marker", b"same").generation
    g2 = bucket.write("m/.marker", b"same").generation
    assert g2 > g1


# -- create-only and compare-and-swap ----------------------------------------------------------
def test_create_only_once(bucket: Bucket) -> None:
    first = bucket.create("locks/scene.lock", b"owner-a")
    with pytest.raises(PreconditionFailed):
        bucket.create("locks/scene.lock", b"owner-b")
    assert bucket.read("locks/scene.lock") == b"owner-a"
    info = bucket.stat("locks/scene.lock")
    assert info is not None and info.generation == first.generation


def test_create_json_once(bucket: Bucket) -> None:
    bucket.create_json("locks/j.json", {"owner": "a"})
    with pytest.raises(PreconditionFailed):
        bucket.create_json("locks/j.json", {"owner": "b"})
    assert bucket.read_json("locks/j.json") == {"owner": "a"}


def test_cas_with_current_generation_succeeds_and_stale_fails(bucket: Bucket) -> None:
    g1 = bucket.write("state.json", b"1").generation
    g2 = bucket.write("state.json", b"2", if_generation_match=g1).generation
    assert g2 > g1
    with pytest.raises(PreconditionFailed):
        bucket.write("state.json", b"stale", if_generation_match=g1)
    assert bucket.read("state.json") == b"2"
    bucket.write("state.json", b"3", if_generation_match=g2)
    assert bucket.read("state.json") == b"3"


def test_cas_zero_on_existing_fails(bucket: Bucket) -> None:
    bucket.write("state.json", b"1")
    with pytest.raises(PreconditionFailed):
        bucket.write("state.json", b"2", if_generation_match=0)
    assert bucket.read("state.json") == b"1"


def test_cas_on_missing_object_fails(bucket: Bucket) -> None:
    with pytest.raises(PreconditionFailed):
        bucket.write("state.json", b"x", if_generation_match=12345)
    assert not bucket.exists("state.json")


def test_create_after_delete(bucket: Bucket) -> None:
    bucket.create("locks/l", b"a")
    assert bucket.delete("locks/l")
    bucket.create("locks/l", b"b")
    assert bucket.read("locks/l") == b"b"


# -- delete ------------------------------------------------------------------------------------
def test_delete_true_then_false(bucket: Bucket) -> None:
    bucket.write("a/b.txt", b"x")
    assert bucket.delete("a/b.txt") is True
    assert bucket.delete("a/b.txt") is False
    assert not bucket.exists("a/b.txt")
    with pytest.raises(ObjectNotFound):
        bucket.read("a/b.txt")


def test_conditional_delete(bucket: Bucket) -> None:
    g1 = bucket.write("locks/l.json", b"1").generation
    g2 = bucket.write("locks/l.json", b"2").generation
    with pytest.raises(PreconditionFailed):
        bucket.delete("locks/l.json", if_generation_match=g1)
    assert bucket.exists("locks/l.json")
    with pytest.raises(PreconditionFailed):
        bucket.delete("locks/l.json", if_generation_match=0)
    assert bucket.delete("locks/l.json", if_generation_match=g2) is True
    assert not bucket.exists("locks/l.json")
    with pytest.raises(PreconditionFailed):
        bucket.delete("locks/l.json", if_generation_match=g2)


# -- list / glob -------------------------------------------------------------------------------
def test_list_by_prefix_sorted(bucket: Bucket) -> None:
    keys = [
        "scenes/ab/x.json",
        "scenes/a/usd/scene.usda",
        "scenes/a/assets/.assets_ready",
        "scenes/a/b.json",
        "scenes/b/c.json",
        "other/z.json",
    ]
    for k in keys:
        bucket.write(k, k)
    assert _all(bucket, "scenes/a/") == ["scenes/a/assets/.assets_ready", "scenes/a/b.json", "scenes/a/usd/scene.usda"]
    assert _all(bucket, "scenes/ab/") == ["scenes/ab/x.json"]
    assert _all(bucket, "scenes/a") == [
        "scenes/a/assets/.assets_ready",
        "scenes/a/b.json",
        "scenes/a/usd/scene.usda",
        "scenes/ab/x.json",
    ]
    assert _all(bucket) == sorted(keys)
    assert _all(bucket, "nothing/") == []


def test_list_returns_full_object_info(bucket: Bucket) -> None:
    written = bucket.write("scenes/a/b.json", b"12")
    (info,) = list(bucket.list("scenes/a/"))
    assert info.key == "scenes/a/b.json"
    assert info.size == 2
    assert info.generation == written.generation
    assert info.updated.utcoffset() == timedelta(0)


def test_glob_one_segment(bucket: Bucket) -> None:
    for k in [
        "scenes/s1/usd/.usd_complete",
        "scenes/s2/usd/.usd_complete",
        "scenes/s1/deep/usd/.usd_complete",
        "scenes/s3/usd/.usd_complete.bak",
        "scenes/s4/usd/scene.usda",
    ]:
        bucket.write(k, b"")
    assert [i.key for i in bucket.glob("scenes/*/usd/.usd_complete")] == [
        "scenes/s1/usd/.usd_complete",
        "scenes/s2/usd/.usd_complete",
    ]
    assert [i.key for i in bucket.glob("scenes/**/.usd_complete")] == [
        "scenes/s1/deep/usd/.usd_complete",
        "scenes/s1/usd/.usd_complete",
        "scenes/s2/usd/.usd_complete",
    ]


# -- listeners ---------------------------------------------------------------------------------
def test_write_listeners_get_object_info(bucket: Bucket) -> None:
    seen: list[ObjectInfo] = []
    bucket.add_listener(seen.append)
    info = bucket.write("scenes/s1/usd/.usd_complete", b"{}")
    created = bucket.create("locks/x", b"1")
    with pytest.raises(PreconditionFailed):
        bucket.create("locks/x", b"2")  # a failed write is not an event
    assert seen == [info, created]
    assert seen[0].key == "scenes/s1/usd/.usd_complete" and seen[0].generation == info.generation
    bucket.remove_listener(seen.append)
    bucket.write("after/removal", b"")
    assert len(seen) == 2


# -- keys --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["", "/abs", "../x", "a/../b", "a//b", "a/./b", "a/", "back\\slash", "nul\x00"])
def test_invalid_keys_rejected(bucket: Bucket, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        bucket.write(key, b"x")
    with pytest.raises(InvalidObjectKey):
        bucket.read(key)
    with pytest.raises(InvalidObjectKey):
        bucket.delete(key)
    with pytest.raises(InvalidObjectKey):
        bucket.exists(key)
    assert _all(bucket) == []


def test_key_with_spaces_and_unicode(bucket: Bucket) -> None:
    key = "scenes/küche 1/plan (v2).json"
    bucket.write(key, b"{}")
    assert bucket.read(key) == b"{}"
    assert _all(bucket, "scenes/küche 1/") == [key]


# -- THE RACE ----------------------------------------------------------------------------------
def _race(n: int, fn: Callable[[int], T]) -> tuple[dict[int, T], dict[int, BaseException]]:
    """Run ``fn(i)`` on n threads released at the same instant."""
    barrier = threading.Barrier(n)
    results: dict[int, T] = {}
    errors: dict[int, BaseException] = {}

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            errors[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "race threads hung"
    return results, errors


def test_race_create_only_exactly_one_winner(bucket: Bucket) -> None:
    n = 20
    results, errors = _race(n, lambda i: bucket.create("locks/race.lock", f"owner-{i}"))
    assert len(results) == 1, f"winners: {sorted(results)}"
    assert len(errors) == n - 1
    assert all(isinstance(e, PreconditionFailed) for e in errors.values()), {type(e) for e in errors.values()}
    ((winner, info),) = results.items()
    assert bucket.read("locks/race.lock") == f"owner-{winner}".encode()
    stat = bucket.stat("locks/race.lock")
    assert stat is not None and stat.generation == info.generation


def test_race_compare_and_swap_exactly_one_winner(bucket: Bucket) -> None:
    g0 = bucket.write("state.json", b"start").generation
    n = 20
    results, errors = _race(n, lambda i: bucket.write("state.json", f"writer-{i}", if_generation_match=g0))
    assert len(results) == 1, f"winners: {sorted(results)}"
    assert all(isinstance(e, PreconditionFailed) for e in errors.values()), {type(e) for e in errors.values()}
    ((winner, info),) = results.items()
    assert bucket.read("state.json") == f"writer-{winner}".encode()
    assert info.generation > g0


def test_race_unconditional_writes_all_land_with_distinct_generations(bucket: Bucket) -> None:
    n = 10
    results, errors = _race(n, lambda i: bucket.write("shared.json", f"w-{i}"))
    assert not errors, errors
    generations = [info.generation for info in results.values()]
    assert len(set(generations)) == n
    final = bucket.stat("shared.json")
    assert final is not None and final.generation == max(generations)
