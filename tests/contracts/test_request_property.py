"""Property tests: the request parser sees whatever anyone writes into ``prompts/``, so nothing
may escape it but :class:`RequestInvalid`, and what it accepts must be stable and canonical."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpflow.core.config import load_settings
from bpflow.core.contracts import validate
from bpflow.core.triggers import SCENE_ID_PATTERN
from bpflow.domain.request import RequestInvalid, build_request, child_request, parse_request, validate_request

SETTINGS = load_settings({})
FIELDS = (
    "schema_version",
    "scene_id",
    "source_mode",
    "text_backend",
    "prompt",
    "quality_tier",
    "seed_count",
    "image",
    "constraints",
    "provider_policy",
    "fallback",
)
QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scene_ids = st.from_regex(re.compile(SCENE_ID_PATTERN), fullmatch=True).filter(lambda s: len(s) <= 120)
json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20,
)
#: Also what Python's json writes but JSON forbids (NaN, Infinity), for the robustness tests.
wild_scalars = json_scalars | st.floats()
wild_values = st.recursive(
    wild_scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20,
)
prompts = st.text(min_size=1, max_size=300).filter(lambda s: s.strip() != "" and len(s) <= 4000)


def outcome(raw: bytes | str, path: str | None = "s") -> Any:
    """Parse, allowing only RequestInvalid to escape (any other exception fails the test)."""
    try:
        return parse_request(raw, scene_id_from_path=path, settings=SETTINGS)
    except RequestInvalid as exc:
        assert exc.field
        assert exc.problems and exc.problems[0].field == exc.field
        return exc


@QUICK
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_ever_raise_request_invalid(raw: bytes) -> None:
    outcome(raw)


@QUICK
@given(wild_values)
def test_arbitrary_json_only_ever_raises_request_invalid(doc: Any) -> None:
    outcome(json.dumps(doc).encode())


@st.composite
def mutated_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly-valid requests with random fields replaced by random values of any type."""
    doc: dict[str, Any] = {
        "schema_version": "v1",
        "scene_id": "s",
        "source_mode": draw(st.sampled_from(["text", "auto", "image", "TEXT", "Auto"])),
        "prompt": draw(st.text(max_size=20)),
        "seed_count": draw(st.integers(-3, 20)),
    }
    if draw(st.booleans()):
        doc["image"] = {
            "gcs_uri": draw(
                st.sampled_from(["scenes/s/images/a.png", "gs://bucket/scenes/x/images/b.JPG", "gs://x/y", ""])
            )
        }
    for key in draw(st.lists(st.sampled_from(FIELDS + ("extra",)), max_size=3)):
        doc[key] = draw(wild_values)
    return doc


@QUICK
@given(mutated_requests())
def test_mutated_requests_are_refused_or_canonical(doc: dict[str, Any]) -> None:
    result = outcome(json.dumps(doc).encode())
    if isinstance(result, RequestInvalid):
        assert validate_request(json.dumps(doc), scene_id_from_path="s", settings=SETTINGS)[0].field == result.field
        return
    normalized = result.to_dict()
    assert validate("scene_request_v1", normalized) == []
    again = parse_request(json.dumps(normalized).encode(), scene_id_from_path="s", settings=SETTINGS)
    assert again.to_dict() == normalized


@st.composite
def valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["text", "auto", "image"]))
    doc: dict[str, Any] = {"schema_version": "v1", "scene_id": draw(scene_ids), "source_mode": mode}
    if mode != "image" or draw(st.booleans()):
        doc["prompt"] = draw(prompts)
    if mode == "image" or draw(st.booleans()):
        scene = draw(scene_ids)
        ext = draw(st.sampled_from(["png", "jpg", "jpeg", "PNG", "Jpg"]))
        doc["image"] = {
            "gcs_uri": f"scenes/{scene}/images/{draw(st.from_regex(r'[a-z0-9_]{1,12}', fullmatch=True))}.{ext}"
        }
        if draw(st.booleans()):
            doc["image"]["generation"] = draw(st.integers(0, 2**62) | st.from_regex(r"[0-9]{1,19}", fullmatch=True))
    optional = {
        "text_backend": st.sampled_from(["internal", "scenesmith", "sage", "hybrid_serial"]),
        "quality_tier": st.sampled_from(["standard", "premium"]),
        "seed_count": st.integers(1, 16),
        "provider_policy": st.sampled_from(["openrouter_qwen_primary", "openai_primary"]),
        "constraints": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        "fallback": st.fixed_dictionaries({}, optional={"allow_image_fallback": st.booleans()}),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            doc[key] = draw(strategy)
    return doc


@QUICK
@given(valid_requests())
def test_valid_requests_are_accepted_and_round_trip(doc: dict[str, Any]) -> None:
    assert validate("scene_request_v1", doc) == []
    req = parse_request(json.dumps(doc).encode(), scene_id_from_path=doc["scene_id"], settings=SETTINGS)
    assert req.scene_id == doc["scene_id"]
    assert req.seed_count == doc.get("seed_count", 1)
    assert req.constraints == doc.get("constraints", {})
    assert req.fallback.allow_image_fallback == doc.get("fallback", {}).get("allow_image_fallback", True)
    normalized = req.to_dict()
    assert validate("scene_request_v1", normalized) == []
    assert (
        parse_request(
            json.dumps(normalized, ensure_ascii=False).encode(), scene_id_from_path=req.scene_id, settings=SETTINGS
        )
        == req
    )
    if req.seed_count > 1 and req.source_mode != "image":
        for i in (1, req.seed_count):
            child = child_request(req, i)
            parsed = parse_request(json.dumps(child).encode(), scene_id_from_path=child["scene_id"], settings=SETTINGS)
            assert parsed.constraints == req.constraints and parsed.seed_count == 1


@QUICK
@given(
    prompts, st.integers(1, 16), st.sampled_from(["standard", "premium"]), st.sampled_from([None, "internal", "sage"])
)
def test_build_request_always_yields_a_valid_request(prompt: str, seeds: int, tier: str, backend: str | None) -> None:
    req = build_request(prompt, seeds=seeds, tier=tier, backend=backend, settings=SETTINGS)
    assert re.fullmatch(SCENE_ID_PATTERN, req["scene_id"])
    assert validate("scene_request_v1", req) == []
    parsed = parse_request(json.dumps(req).encode(), scene_id_from_path=req["scene_id"], settings=SETTINGS)
    assert (parsed.prompt, parsed.seed_count, parsed.quality_tier) == (prompt, seeds, tier)
