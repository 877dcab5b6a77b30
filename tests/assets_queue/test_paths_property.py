"""Property tests of the two validators that guard what a queue item or a batch manifest may do."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.assets_queue.paths import asset_path_error
from bpflow.domain.automation.batch import ManifestError, parse_manifest

segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=0, max_size=12
)


@settings(max_examples=400, deadline=None)
@given(st.lists(segment, min_size=1, max_size=7))
def test_an_accepted_path_is_always_inside_a_scenes_assets_folder(parts: list[str]) -> None:
    path = "/".join(parts)
    if asset_path_error(path) is None:
        segs = path.split("/")
        assert segs[0] == "scenes" and segs[2] == "assets" and len(segs) >= 4
        assert not any(s in ("", ".", "..") for s in segs)


@given(st.sampled_from(["..", ".", ""]), st.integers(min_value=0, max_value=3))
def test_dot_segments_are_refused_wherever_they_are(bad: str, where: int) -> None:
    parts = ["scenes", "s1", "assets", "obj", "model.usd"]
    parts.insert(where + 1, bad)
    assert asset_path_error("/".join(parts)) is not None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_scene_list_or_a_manifest_error(raw: bytes) -> None:
    try:
        scenes = parse_manifest(raw)
    except ManifestError as exc:
        assert exc.field in ("manifest_object", "scenes")
    else:
        assert isinstance(scenes, list) and scenes


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers()), min_size=1, max_size=5))
def test_both_manifest_shapes_give_the_same_list(entries: list[dict[str, int]]) -> None:
    assert parse_manifest(json.dumps(entries).encode()) == parse_manifest(json.dumps({"scenes": entries}).encode())
