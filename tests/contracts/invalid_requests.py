"""A corpus of invalid scene requests: ``(name, raw bytes, field the rejection must name)``.

Data, not tests: the contract tests check each entry against ``parse_request`` directly, and the
source-orchestrator end-to-end test drops the same bytes into a bucket and expects a
``.source_orchestrator_failed`` marker naming the same field. Every entry is valid except for the
one thing its name says, so the named field is also the *first* problem in check order; each is
built for a given path scene id (``invalid_requests(scene_id)``) so the request's own
``scene_id`` matches the path unless the entry is about that.

Settings assumed: the defaults (``TEXT_BACKEND_ALLOWLIST`` all four backends, ``TEXT_GEN_MAX_SEEDS``
16, ``DEFAULT_SOURCE_MODE`` text) and a bucket not named ``other-bucket``.
"""

from __future__ import annotations

import json
from typing import Any

CORPUS_SCENE_ID = "corpus-scene"

_DROP = object()


def _request(path_scene_id: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema_version": "v1",
        "scene_id": path_scene_id,
        "source_mode": "text",
        "prompt": "a small kitchen with a fridge, a table and two mugs",
        "quality_tier": "standard",
        "seed_count": 1,
    }
    for key, value in changes.items():
        if value is _DROP:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def _bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode("utf-8")


def _image_request(path_scene_id: str, image: Any) -> dict[str, Any]:
    return _request(path_scene_id, source_mode="image", prompt=_DROP, image=image)


def invalid_requests(scene_id: str = CORPUS_SCENE_ID) -> list[tuple[str, bytes, str]]:
    """The corpus for requests stored at ``scenes/<scene_id>/prompts/scene_request.json``."""
    sid = scene_id
    r = lambda **kw: _bytes(_request(sid, **kw))  # noqa: E731 - a local shorthand for data rows
    img = lambda image: _bytes(_image_request(sid, image))  # noqa: E731
    good = _bytes(_request(sid))
    nested: Any = {"leaf": 1}
    for _ in range(40):
        nested = {"a": nested}
    nested_field = "constraints" + ".a" * 32
    pad = "x" * (300 * 1024)
    entries: list[tuple[str, bytes, str]] = [
        # -- bytes and JSON syntax -------------------------------------------------------------
        ("empty file", b"", "$"),
        ("whitespace only", b"  \n\t ", "$"),
        ("truncated JSON", good[:-10], "$"),
        ("trailing garbage", good + b" extra", "$"),
        ("single-quoted JSON", good.replace(b'"', b"'"), "$"),
        ("trailing comma", good[:-1] + b",}", "$"),
        ("JSON with a comment", b"// a request\n" + good, "$"),
        ("non-UTF-8 byte in prompt", good.replace(b"kitchen", b"k\xe9tchen"), "$"),
        ("invalid UTF-8 continuation", good.replace(b"kitchen", b"\xc3\x28kitchen"), "$"),
        ("UTF-16 encoded", json.dumps(_request(sid)).encode("utf-16"), "$"),
        ("UTF-8 byte-order mark", b"\xef\xbb\xbf" + good, "$"),
        ("NaN literal", r(seed_count=1).replace(b'"seed_count": 1', b'"seed_count": NaN'), "$"),
        ("Infinity literal", r(seed_count=1).replace(b'"seed_count": 1', b'"seed_count": Infinity'), "$"),
        ("integer with 5000 digits", r(seed_count=1).replace(b'"seed_count": 1', b'"seed_count": ' + b"9" * 5000), "$"),
        ("100000 nested arrays", b"[" * 100_000 + b"]" * 100_000, "$"),
        ("request over 256 KiB (no object)", b"[" + b'"' + pad.encode() + b'"]', "$"),
        ("top-level array", _bytes([_request(sid)]), "$"),
        ("top-level string", _bytes("a kitchen"), "$"),
        ("top-level null", b"null", "$"),
        ("top-level number", b"42", "$"),
        ("top-level boolean", b"true", "$"),
        ("duplicate scene_id key", good[:-1] + b', "scene_id": "' + sid.encode() + b'"}', "scene_id"),
        # -- schema_version ------------------------------------------------------------------------
        ("schema_version missing", r(schema_version=_DROP), "schema_version"),
        ("schema_version v2", r(schema_version="v2"), "schema_version"),
        ("schema_version upper case", r(schema_version="V1"), "schema_version"),
        ("schema_version padded", r(schema_version=" v1"), "schema_version"),
        ("schema_version number", r(schema_version=1), "schema_version"),
        ("schema_version null", r(schema_version=None), "schema_version"),
        # -- scene_id ----------------------------------------------------------------------------------
        ("scene_id missing", r(scene_id=_DROP), "scene_id"),
        ("scene_id empty", r(scene_id=""), "scene_id"),
        ("scene_id number", r(scene_id=123), "scene_id"),
        ("scene_id null", r(scene_id=None), "scene_id"),
        ("scene_id object", r(scene_id={"id": sid}), "scene_id"),
        ("scene_id ../x", r(scene_id="../x"), "scene_id"),
        ("scene_id a/b", r(scene_id="a/b"), "scene_id"),
        ("scene_id ..", r(scene_id=".."), "scene_id"),
        ("scene_id hidden", r(scene_id=".hidden"), "scene_id"),
        ("scene_id 129 characters", r(scene_id="s" * 129), "scene_id"),
        ("scene_id with a space", r(scene_id=sid + " x"), "scene_id"),
        ("scene_id with NUL", r(scene_id=sid + "\u0000"), "scene_id"),
        ("scene_id non-ASCII", r(scene_id="küche"), "scene_id"),
        ("scene_id differs from path", r(scene_id=sid + "-other"), "scene_id"),
        ("scene_id too long to fan out", r(scene_id="k" * 125, seed_count=2), "scene_id"),
        # -- source_mode ---------------------------------------------------------------------------------
        ("source_mode video", r(source_mode="video"), "source_mode"),
        ("source_mode empty", r(source_mode=""), "source_mode"),
        ("source_mode number", r(source_mode=1), "source_mode"),
        ("source_mode null", r(source_mode=None), "source_mode"),
        ("source_mode array", r(source_mode=["text"]), "source_mode"),
        # -- text_backend ---------------------------------------------------------------------------------
        ("text_backend unknown", r(text_backend="unknown_backend"), "text_backend"),
        ("text_backend trailing space", r(text_backend="sage "), "text_backend"),
        ("text_backend number", r(text_backend=5), "text_backend"),
        ("text_backend null", r(text_backend=None), "text_backend"),
        ("text_backend unknown in auto mode", r(source_mode="auto", text_backend="gpt"), "text_backend"),
        # -- quality_tier ------------------------------------------------------------------------------------
        ("quality_tier ultra", r(quality_tier="ultra"), "quality_tier"),
        ("quality_tier boolean", r(quality_tier=True), "quality_tier"),
        ("quality_tier null", r(quality_tier=None), "quality_tier"),
        # -- provider_policy ---------------------------------------------------------------------------------
        ("provider_policy empty", r(provider_policy=""), "provider_policy"),
        ("provider_policy upper case", r(provider_policy="OPENAI_PRIMARY"), "provider_policy"),
        ("provider_policy unknown", r(provider_policy="anthropic_primary"), "provider_policy"),
        ("provider_policy number", r(provider_policy=0), "provider_policy"),
        # -- prompt --------------------------------------------------------------------------------------------
        ("prompt missing", r(prompt=_DROP), "prompt"),
        ("prompt empty", r(prompt=""), "prompt"),
        ("prompt blank", r(prompt="  \n\t "), "prompt"),
        ("prompt missing in auto mode", r(source_mode="auto", prompt=_DROP), "prompt"),
        ("prompt null", r(prompt=None), "prompt"),
        ("prompt number", r(prompt=42), "prompt"),
        ("prompt array", r(prompt=["a kitchen"]), "prompt"),
        ("prompt object", r(prompt={"text": "a kitchen"}), "prompt"),
        ("prompt 4001 characters", r(prompt="k" * 4001), "prompt"),
        ("prompt 1 MB", r(prompt="k" * 1_000_000), "prompt"),
        ("prompt unpaired surrogate", r(prompt="kitchen").replace(b"kitchen", b"kitchen \\ud800"), "prompt"),
        # -- seed_count ----------------------------------------------------------------------------------------
        ("seed_count 0", r(seed_count=0), "seed_count"),
        ("seed_count -1", r(seed_count=-1), "seed_count"),
        ("seed_count 17", r(seed_count=17), "seed_count"),
        ("seed_count 10**9", r(seed_count=10**9), "seed_count"),
        ("seed_count 10**30", r(seed_count=10**30), "seed_count"),
        ("seed_count numeric string", r(seed_count="3"), "seed_count"),
        ("seed_count 2.5", r(seed_count=2.5), "seed_count"),
        ("seed_count true", r(seed_count=True), "seed_count"),
        ("seed_count null", r(seed_count=None), "seed_count"),
        ("seed_count array", r(seed_count=[3]), "seed_count"),
        ("seed_count 1e400", r(seed_count=1).replace(b'"seed_count": 1', b'"seed_count": 1e400'), "seed_count"),
        # -- image -----------------------------------------------------------------------------------------------
        ("image mode without image", _bytes(_request(sid, source_mode="image", prompt=_DROP)), "image"),
        ("image mode with image null", img(None), "image"),
        ("image is a string", img(f"gs://bucket/scenes/{sid}/images/a.png"), "image"),
        ("image is an array", img([f"scenes/{sid}/images/a.png"]), "image"),
        ("image without gcs_uri", img({}), "image.gcs_uri"),
        ("image gcs_uri empty", img({"gcs_uri": ""}), "image.gcs_uri"),
        ("image gcs_uri number", img({"gcs_uri": 5}), "image.gcs_uri"),
        ("image gcs_uri 2000 characters", img({"gcs_uri": "scenes/x/images/" + "a" * 2000 + ".png"}), "image.gcs_uri"),
        ("image unknown key", img({"gcs_uri": f"scenes/{sid}/images/a.png", "url": "x"}), "image.url"),
        (
            "image generation letters",
            img({"gcs_uri": f"scenes/{sid}/images/a.png", "generation": "abc"}),
            "image.generation",
        ),
        (
            "image generation negative",
            img({"gcs_uri": f"scenes/{sid}/images/a.png", "generation": -1}),
            "image.generation",
        ),
        (
            "image generation 10**25",
            img({"gcs_uri": f"scenes/{sid}/images/a.png", "generation": 10**25}),
            "image.generation",
        ),
        (
            "image generation fraction",
            img({"gcs_uri": f"scenes/{sid}/images/a.png", "generation": 1.5}),
            "image.generation",
        ),
        ("image in another bucket", img({"gcs_uri": f"gs://other-bucket/scenes/{sid}/images/a.png"}), "image.gcs_uri"),
        ("image gif", img({"gcs_uri": f"scenes/{sid}/images/a.gif"}), "image.gcs_uri"),
        ("image outside images/", img({"gcs_uri": f"scenes/{sid}/prompts/a.png"}), "image.gcs_uri"),
        ("image in a sub-folder", img({"gcs_uri": f"scenes/{sid}/images/sub/a.png"}), "image.gcs_uri"),
        ("image path traversal", img({"gcs_uri": "scenes/../images/a.png"}), "image.gcs_uri"),
        ("image https URL", img({"gcs_uri": "https://example.com/scenes/x/images/a.png"}), "image.gcs_uri"),
        ("image empty gcs_uri in text mode", r(image={"gcs_uri": ""}), "image.gcs_uri"),
        # -- constraints -------------------------------------------------------------------------------------------
        ("constraints string", r(constraints="kitchen"), "constraints"),
        ("constraints array", r(constraints=["kitchen"]), "constraints"),
        ("constraints null", r(constraints=None), "constraints"),
        ("constraints nested 40 deep", r(constraints=nested), nested_field),
        ("constraints over 256 KiB", r(constraints={"notes": pad}), "constraints"),
        # -- fallback ------------------------------------------------------------------------------------------------
        ("fallback string", r(fallback="yes"), "fallback"),
        ("fallback null", r(fallback=None), "fallback"),
        ("fallback array", r(fallback=[True]), "fallback"),
        ("fallback flag string n", r(fallback={"allow_image_fallback": "n"}), "fallback.allow_image_fallback"),
        ("fallback flag number", r(fallback={"allow_image_fallback": 0}), "fallback.allow_image_fallback"),
        ("fallback flag null", r(fallback={"allow_image_fallback": None}), "fallback.allow_image_fallback"),
        ("fallback unknown key", r(fallback={"allow": True}), "fallback.allow"),
        # -- unknown top-level fields ----------------------------------------------------------------------------------
        ("misspelled prompt", r(prompt=_DROP, promt="a kitchen"), "promt"),
        ("unknown field", r(priority=1), "priority"),
        ("field in wrong case", r(Scene_Id=sid), "Scene_Id"),
        ("empty field name", r(**{"": 1}), '[""]'),
    ]
    return entries


INVALID_REQUESTS: list[tuple[str, bytes, str]] = invalid_requests()
