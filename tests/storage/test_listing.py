"""Listings without generations (``list_keys``, ``glob_keys``, ``list_folders``) on every backend.

They must name exactly what ``list``/``glob`` name, in the same key order, with the same size and
update time, and page correctly from any cursor: the scan, the poller and the status pages rest
on them. The local backend's walk is pattern-guided and probes exact paths, so it gets a
property test against a plain regex filter as well.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpflow.core.storage.base import Bucket, glob_to_regex
from bpflow.core.storage.local import LocalBucket
from tests.support.services import MakeBucket

KEYS = [
    "a.b",
    "a/b",
    "a/b.c",
    "a-1/x",
    "a/c/d",
    "top.json",
    "scenes/s1/geniesim/job.json",
    "scenes/s1-x/geniesim/job.json",
    "scenes/s1/episodes/e1.bin",
    "scenes/s1/geniesim/.geniesim_import_complete",
    "scenes/s2/geniesim/sub/job.json",
    "scenes/s3/geniesim/.geniesim_import_complete",
    "scenes/s3/.source_orchestrator_failed",
    "z/é",
    "z/e",
]
PATTERNS = [
    ["scenes/*/geniesim/job.json", "scenes/*/geniesim/.geniesim_import_complete"],
    ["scenes/*/.source_orchestrator_failed", "scenes/*/geniesim/job.json"],
    ["**/job.json"],
    ["scenes/s1*/geniesim/*.json"],
    ["scenes/s1/**"],
    ["a/*", "z/?"],
    ["nothing/*/here"],
]


@pytest.fixture(params=["local", "s3", "gcs"])
def filled(request: pytest.FixtureRequest, make_bucket: MakeBucket) -> Bucket:
    b = make_bucket(request.param)
    for k in KEYS:
        b.write(k, k)
    return b


def test_list_keys_matches_list_in_order_size_and_time(filled: Bucket) -> None:
    full = list(filled.list())
    fast = list(filled.list_keys())
    assert [e.key for e in fast] == [i.key for i in full] == sorted(KEYS)
    for e, i in zip(fast, full):
        assert e.size == i.size and e.updated_s == pytest.approx(i.updated.timestamp(), abs=1e-3)
    assert [e.key for e in filled.list_keys("scenes/s1")] == [i.key for i in filled.list("scenes/s1")]


@pytest.mark.parametrize("after", ["", "a", "a/", "a/b", "a/c", "scenes/s1/", "scenes/s1-x/geniesim/job.json", "zz"])
def test_list_keys_pages_from_any_cursor(filled: Bucket, after: str) -> None:
    assert [e.key for e in filled.list_keys(start_after=after)] == [k for k in sorted(KEYS) if k > after]


@pytest.mark.parametrize("patterns", PATTERNS)
def test_glob_keys_is_the_union_of_globs(filled: Bucket, patterns: list[str]) -> None:
    want = sorted({i.key for p in patterns for i in filled.glob(p)})
    assert [e.key for e in filled.glob_keys(patterns)] == want
    cut = want[len(want) // 2] if want else ""
    assert [e.key for e in filled.glob_keys(patterns, start_after=cut)] == [k for k in want if k > cut]


def test_list_folders_pages_scene_ids(filled: Bucket) -> None:
    assert list(filled.list_folders("scenes/")) == ["s1-x", "s1", "s2", "s3"]  # key order of "id/"
    assert list(filled.list_folders("scenes/", start_after="s1")) == ["s2", "s3"]
    assert list(filled.list_folders("scenes/", start_after="s1-x")) == ["s1", "s2", "s3"]
    assert list(filled.list_folders("scenes/s1/")) == ["episodes", "geniesim"]
    assert list(filled.list_folders("nothing/")) == []


def test_local_folders_without_objects_and_links_are_not_listed(tmp_path: Path) -> None:
    b = LocalBucket(tmp_path / "b")
    b.write("scenes/real/x.json", "{}")
    (tmp_path / "b" / "scenes" / "empty" / "deeper").mkdir(parents=True)
    (tmp_path / "out" / "geniesim").mkdir(parents=True)
    (tmp_path / "out" / "geniesim" / "job.json").write_text("{}")
    os.symlink(tmp_path / "out", tmp_path / "b" / "scenes" / "evil")  # a folder link out
    (tmp_path / "b" / "scenes" / "half").mkdir()
    os.symlink(tmp_path / "out" / "geniesim", tmp_path / "b" / "scenes" / "half" / "geniesim")  # a link deeper down
    os.symlink(
        tmp_path / "out" / "geniesim" / "job.json", tmp_path / "b" / "scenes" / "real" / "job.json"
    )  # a file link out
    assert list(b.list_folders("scenes/")) == ["real"]
    assert [e.key for e in b.glob_keys(["scenes/*/geniesim/job.json", "scenes/*/job.json"])] == []
    assert [e.key for e in b.list_keys("scenes/")] == [i.key for i in b.list("scenes/")] == ["scenes/real/x.json"]


SEG = st.text(alphabet=string.ascii_lowercase[:3] + "-._", min_size=1, max_size=3).filter(
    lambda s: s not in (".", "..", ".bpflow")
)
KEY = st.lists(SEG, min_size=1, max_size=4).map("/".join)
PAT_SEG = st.one_of(SEG, st.sampled_from(["*", "**", "a*", "?", "*.b"]))
PATTERN = st.lists(PAT_SEG, min_size=1, max_size=4).map("/".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(KEY, min_size=1, max_size=25, unique=True),
    patterns=st.lists(PATTERN, min_size=1, max_size=3),
    cut=KEY,
)
def test_local_walk_agrees_with_a_plain_filter(
    tmp_path_factory: pytest.TempPathFactory, keys: list[str], patterns: list[str], cut: str
) -> None:
    b = LocalBucket(tmp_path_factory.mktemp("walk"))
    stored = []
    for k in keys:
        try:
            b.write(k, "x")
            stored.append(k)
        except Exception:  # noqa: BLE001 - a key that is another key's folder cannot be stored
            pass
    stored.sort()
    assert [e.key for e in b.list_keys()] == stored
    rxs = [glob_to_regex(p) for p in patterns]
    want = [k for k in stored if any(rx.match(k) for rx in rxs)]
    assert [e.key for e in b.glob_keys(patterns)] == want
    assert [e.key for e in b.glob_keys(patterns, start_after=cut)] == [k for k in want if k > cut]
    assert [e.key for e in b.list_keys(cut[:2], start_after=cut)] == [
        k for k in stored if k.startswith(cut[:2]) and k > cut
    ]
