"""Property tests for the trigger matcher: it sees every key written to the bucket, so it must
never raise, never hand out an unsafe scene id, and always route well-formed markers."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpflow.core.triggers import SCENE_ID_PATTERN, TriggerMap, validate_scene_id

TMAP = TriggerMap.load()
USD = "scenes/*/usd/.usd_complete"

valid_scene_ids = st.from_regex(re.compile(SCENE_ID_PATTERN), fullmatch=True)

# Segments chosen to land near real patterns (so matches actually happen) plus hostile ones.
interesting_segments = st.sampled_from(
    [
        "scenes",
        "automation",
        "asset_embedding",
        "asset_replication",
        "queue",
        "processed",
        "usd",
        "assets",
        "images",
        "layout",
        "prompts",
        "geniesim",
        "isaac_lab",
        "replicator",
        "variation_assets",
        ".usd_complete",
        ".regen3d_complete",
        ".assets_ready",
        ".geniesim_complete",
        ".isaac_lab_complete",
        ".replicator_complete",
        ".variation_pipeline_complete",
        "scene_request.json",
        "scene_layout.json",
        "scene_assets.json",
        "x.json",
        "a.PNG",
        "b.jpeg",
        "..",
        ".",
        "",
        ".hidden",
        "-x",
        "a" * 129,
        "s1",
        "Kitchen.v2",
    ]
)
structured_keys = st.lists(st.one_of(interesting_segments, st.text(max_size=8)), min_size=0, max_size=7).map("/".join)
any_keys = st.one_of(st.text(max_size=200), structured_keys)

PATTERNS = sorted({p for row in TMAP.rows for p in row.patterns})
_segment_text = st.text(st.characters(blacklist_characters="/"), max_size=12)


@st.composite
def _key_from_pattern(draw: st.DrawFn, pattern: str) -> str:
    """A key built from one trigger pattern: the scene segment a valid id most of the time (so the
    matcher's scene-id path is reached), other ``*`` any text, ``{a,b}`` one alternative."""
    out = []
    for i, seg in enumerate(pattern.split("/")):
        if seg == "*" and i == 1 and pattern.startswith("scenes/"):
            out.append(draw(st.one_of(valid_scene_ids, valid_scene_ids, _segment_text)))
            continue
        seg = re.sub(r"\{([^}]*)\}", lambda m: draw(st.sampled_from(m.group(1).split(","))), seg)
        out.append("".join(part if j == 0 else draw(_segment_text) + part for j, part in enumerate(seg.split("*"))))
    return "/".join(out)


pattern_keys = st.sampled_from(PATTERNS).flatmap(_key_from_pattern)

flag_values = st.sampled_from(["true", "TRUE", "false", "1", "", "legacy_chain", "orchestrator", "yes"])
envs = st.dictionaries(
    st.sampled_from(
        [
            "ENABLE_DWM",
            "ENABLE_DREAM2FLOW",
            "ENABLE_EXPERIMENTAL",
            "ENABLE_ASSET_EMBEDDING",
            "ENABLE_ASSET_REPLICATION",
            "IMAGE_PATH_MODE",
        ]
    ),
    flag_values,
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(key=any_keys, env=envs)
def test_random_keys_never_raise(key: str, env: dict[str, str]) -> None:
    matches = TMAP.match_object(key, env)
    out = TMAP.explain(key, env)
    assert out["object"] == key
    started = {m["workflow"] for m in out["matches"] if m["started"]}
    assert started == {m.workflow for m in matches}


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.one_of(pattern_keys, any_keys), env=envs)
def test_every_match_has_a_valid_scene_id(key: str, env: dict[str, str]) -> None:
    for m in TMAP.match_object(key, env):
        if key.startswith("scenes/"):
            assert m.scene_id == key.split("/")[1]
            assert validate_scene_id(m.scene_id) == m.scene_id
        else:
            assert m.scene_id is None
        # The key really is one segment per '*': no empty segments, no leading slash.
        assert not key.startswith("/") and "//" not in key


@given(scene_id=valid_scene_ids)
def test_usd_marker_always_routes(scene_id: str) -> None:
    key = f"scenes/{scene_id}/usd/.usd_complete"
    got = {(m.workflow, m.pattern, m.scene_id) for m in TMAP.match_object(key, {})}
    assert ("episode-generation-pipeline", USD, scene_id) in got
    assert ("arena-export-pipeline", USD, scene_id) in got
    assert TMAP.explain(key, {})["scene_id"] == scene_id


@given(scene_id=valid_scene_ids, extra=st.sampled_from([".tmp", "~", "/x", ".bak"]))
def test_usd_marker_suffixes_never_route(scene_id: str, extra: str) -> None:
    assert TMAP.match_object(f"scenes/{scene_id}/usd/.usd_complete{extra}", {}) == []


@given(
    scene_id=valid_scene_ids,
    name=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    ext=st.sampled_from(["png", "jpg", "jpeg"]).flatmap(
        lambda e: st.lists(st.booleans(), min_size=len(e), max_size=len(e)).map(
            lambda flips: "".join(c.upper() if f else c for c, f in zip(e, flips))
        )
    ),
)
def test_image_upload_routes_to_exactly_one_image_workflow(scene_id: str, name: str, ext: str) -> None:
    key = f"scenes/{scene_id}/images/{name}.{ext}"
    assert [m.workflow for m in TMAP.match_object(key, {})] == ["image-to-scene-orchestrator"]
    assert [m.workflow for m in TMAP.match_object(key, {"IMAGE_PATH_MODE": "legacy_chain"})] == [
        "image-to-scene-pipeline"
    ]


@given(
    bad=st.one_of(
        st.just(".."),
        st.from_regex(r"[._-][A-Za-z0-9_.-]{0,20}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{128,140}", fullmatch=True),
    )
)
def test_invalid_scene_segment_never_starts_anything(bad: str) -> None:
    key = f"scenes/{bad}/usd/.usd_complete"
    assert TMAP.match_object(key, {}) == []
    reasons = {m["reason"] for m in TMAP.explain(key, {})["matches"]}
    assert reasons == {"invalid_scene_id"}


def test_pattern_keys_reach_the_matcher() -> None:
    """The generator above really produces matching keys (0 of 1,500 random keys used to match)."""
    matched = 0

    @settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(key=pattern_keys)
    def count(key: str) -> None:
        nonlocal matched
        matched += bool(TMAP.match_object(key, {}))

    count()
    assert matched >= 50, f"only {matched} of 200 pattern-built keys matched a trigger"
