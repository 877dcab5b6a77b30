"""scene_request.json v1: the reference's accept/reject cases, its check order, bpflow's recorded
deviations, the derived requests (children, variants index) and ``bpflow validate``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bpflow.cli.validate_cmd import scene_id_from_path, validate_command
from bpflow.core.config import load_settings
from bpflow.core.contracts import load_schema, validate
from bpflow.core.triggers import SCENE_ID_PATTERN
from bpflow.domain.request import (
    STAGE,
    RequestInvalid,
    SceneRequest,
    build_request,
    child_request,
    parse_request,
    validate_request,
    variants_index,
)
from tests.conftest import runtime_env

DEFAULTS = load_settings({})
BUCKET = "gs://scene-bucket"


def raw(**fields: Any) -> bytes:
    base: dict[str, Any] = {"schema_version": "v1", "scene_id": "kitchen", "prompt": "a kitchen"}
    for key, value in fields.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return json.dumps(base).encode()


def parse(data: bytes, path: str | None = "kitchen", settings: Any = DEFAULTS, **kw: Any) -> SceneRequest:
    return parse_request(data, scene_id_from_path=path, settings=settings, bucket=kw.pop("bucket", BUCKET), **kw)


def rejection(data: bytes, path: str | None = "kitchen", settings: Any = DEFAULTS, **kw: Any) -> RequestInvalid:
    with pytest.raises(RequestInvalid) as info:
        parse(data, path, settings, **kw)
    return info.value


# ------------------------------------------------------------------------------------------------
# The reference's contract tests (spec-source §1.1)
# ------------------------------------------------------------------------------------------------


def test_accepts_full_text_request_with_two_seeds_and_openai_primary() -> None:
    req = parse(
        raw(
            source_mode="text",
            text_backend="internal",
            quality_tier="premium",
            seed_count=2,
            provider_policy="openai_primary",
            constraints={"room_type": "kitchen"},
            fallback={"allow_image_fallback": False},
        )
    )
    assert (req.source_mode, req.text_backend, req.quality_tier, req.seed_count) == ("text", "internal", "premium", 2)
    assert req.provider_policy == "openai_primary"
    assert req.constraints == {"room_type": "kitchen"}
    assert req.fallback.allow_image_fallback is False
    assert req.child_scene_ids == ["kitchen-s001", "kitchen-s002"]


def test_accepts_openrouter_qwen_primary_and_applies_defaults() -> None:
    req = parse(raw(provider_policy="openrouter_qwen_primary"))
    assert req.to_dict() == {
        "schema_version": "v1",
        "scene_id": "kitchen",
        "source_mode": "text",
        "text_backend": "sage",
        "prompt": "a kitchen",
        "quality_tier": "standard",
        "seed_count": 1,
        "image": None,
        "constraints": {},
        "provider_policy": "openrouter_qwen_primary",
        "fallback": {"allow_image_fallback": True},
    }


def test_accepts_image_only_request() -> None:
    req = parse(
        raw(prompt=None, source_mode="image", image={"gcs_uri": "gs://scene-bucket/scenes/kitchen/images/photo.png"})
    )
    assert req.source_mode == "image" and req.primary_source_mode == "image"
    assert req.image is not None
    assert (req.image.object_name, req.image.usable) == ("scenes/kitchen/images/photo.png", True)


def test_accepts_auto_with_hybrid_serial_and_image() -> None:
    req = parse(raw(source_mode="auto", text_backend="hybrid_serial", image={"gcs_uri": "scenes/kitchen/images/a.jpg"}))
    assert req.primary_source_mode == "text"
    assert req.image is not None and req.image.usable


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (raw(source_mode="video"), "source_mode"),
        (raw(scene_id=None), "scene_id"),
        (raw(text_backend="unknown_backend"), "text_backend"),
    ],
)
def test_reference_rejections(data: bytes, field: str) -> None:
    exc = rejection(data)
    assert (exc.code, exc.stage, exc.field) == ("invalid_scene_request", STAGE, field)
    assert exc.message.startswith("scene_request.json validation failed for scene kitchen: ")
    assert field in exc.message


def test_schema_declares_additional_properties_false() -> None:
    schema = load_schema("scene_request_v1")
    assert schema["additionalProperties"] is False
    assert schema["properties"]["image"]["additionalProperties"] is False
    assert schema["properties"]["fallback"]["additionalProperties"] is False


# ------------------------------------------------------------------------------------------------
# The validation summary table (spec-source §1.4), with bpflow's choices
# ------------------------------------------------------------------------------------------------


def test_summary_table_rows() -> None:
    assert rejection(raw(extra=1)).field == "extra"  # schema: reject
    assert parse(raw(source_mode="TEXT")).source_mode == "text"  # orchestrator: lower-cased
    assert rejection(raw(prompt="  ")).field == "prompt"  # normalizer: blank is missing
    assert rejection(raw(provider_policy="")).field == "provider_policy"
    assert parse(raw(seed_count=16)).seed_count == 16
    assert rejection(raw(seed_count=17)).field == "seed_count"
    assert rejection(raw(seed_count="2")).field == "seed_count"  # no coercion
    sage_only = load_settings({"TEXT_BACKEND_ALLOWLIST": "sage"})
    assert rejection(raw(text_backend="internal"), settings=sage_only).field == "text_backend"
    other = rejection(
        raw(prompt=None, source_mode="image", image={"gcs_uri": "gs://other-bucket/scenes/kitchen/images/a.png"})
    )
    gif = rejection(raw(prompt=None, source_mode="image", image={"gcs_uri": "scenes/kitchen/images/a.gif"}))
    for exc in (other, gif):
        assert (exc.code, exc.stage, exc.field) == ("invalid_image_uri", STAGE, "image.gcs_uri")
        assert exc.message.startswith("Image source_mode requested but image.gcs_uri is invalid or not in this bucket")
    assert "another bucket" in other.message
    assert rejection(raw(scene_id="other"), path="kitchen").field == "scene_id"
    assert rejection(raw(fallback={"allow_image_fallback": "n"})).field == "fallback.allow_image_fallback"


# ------------------------------------------------------------------------------------------------
# Check order (spec-source §1.2): decoding, typed extraction, checks 1-11, then the image path
# ------------------------------------------------------------------------------------------------


def test_checks_run_in_the_reference_order() -> None:
    """Break every checked field, then repair them one at a time: the reported field follows the
    reference's order."""
    broken: dict[str, Any] = {
        "schema_version": "v2",
        "scene_id": "elsewhere",
        "source_mode": "text",
        "text_backend": "gpt",
        "quality_tier": "ultra",
        "provider_policy": "",
        "prompt": " ",
        "seed_count": 0,
    }
    fixes = [
        ("schema_version", "v1"),
        ("scene_id", "kitchen"),
        ("text_backend", "sage"),
        ("quality_tier", "standard"),
        ("provider_policy", "openai_primary"),
        ("prompt", "a kitchen"),
        ("seed_count", 99),
        ("seed_count", 2),
    ]
    order = []
    for key, value in fixes:
        order.append(rejection(json.dumps(broken).encode()).field)
        broken[key] = value
    parse(json.dumps(broken).encode())
    assert order == [
        "schema_version",
        "scene_id",
        "text_backend",
        "quality_tier",
        "provider_policy",
        "prompt",
        "seed_count",
        "seed_count",
    ]


def test_source_mode_before_backend_and_enum_before_allowlist() -> None:
    assert rejection(raw(source_mode="video", text_backend="gpt")).field == "source_mode"
    sage_only = load_settings({"TEXT_BACKEND_ALLOWLIST": "sage"})
    assert "must be one of" in rejection(raw(text_backend="gpt"), settings=sage_only).message
    assert "TEXT_BACKEND_ALLOWLIST" in rejection(raw(text_backend="internal"), settings=sage_only).message


def test_seed_lower_bound_before_upper_bound_and_fan_out() -> None:
    assert "at least 1" in rejection(raw(seed_count=0)).message
    assert "at most 16 (TEXT_GEN_MAX_SEEDS)" in rejection(raw(seed_count=17)).message
    long_id = "k" * 124
    assert rejection(raw(scene_id=long_id, seed_count=2), path=long_id).field == "scene_id"
    assert parse(raw(scene_id=long_id, seed_count=1), path=long_id).seed_count == 1


def test_type_errors_come_before_value_checks() -> None:
    """The reference's typed extraction (a parse failure) precedes its validation checks."""
    exc = rejection(raw(schema_version="v2", seed_count="3"))
    assert exc.field == "seed_count"
    assert [p.field for p in exc.problems] == ["seed_count", "schema_version"]


def test_unknown_fields_are_reported_before_the_missing_field_they_misspell() -> None:
    exc = rejection(raw(prompt=None, promt="a kitchen"))
    assert exc.field == "promt"
    assert "did you mean 'prompt'" in exc.message
    assert [p.field for p in exc.problems] == ["promt", "prompt"]


def test_image_path_is_checked_last_and_only_in_image_mode() -> None:
    bad_image = {"gcs_uri": "gs://other-bucket/scenes/kitchen/images/a.png"}
    assert rejection(raw(prompt=None, source_mode="image", image=bad_image, seed_count=0)).field == "seed_count"
    for mode in ("text", "auto"):
        req = parse(raw(source_mode=mode, image=bad_image))
        assert req.image is not None and req.image.usable is False and req.image.object_name == ""


def test_collect_all_mode_returns_every_problem_in_order() -> None:
    data = json.dumps(
        {
            "schema_version": 1,
            "scene_id": "../x",
            "source_mode": "video",
            "quality_tier": "ultra",
            "seed_count": -1,
            "extra": True,
        }
    ).encode()
    problems = validate_request(data, scene_id_from_path="kitchen", settings=DEFAULTS)
    assert [p.field for p in problems] == [
        "schema_version",
        "extra",
        "scene_id",
        "source_mode",
        "quality_tier",
        "seed_count",
    ]
    assert rejection(data).field == problems[0].field
    assert rejection(data).problems == problems


# ------------------------------------------------------------------------------------------------
# Settings that affect validation (spec-source §2.2)
# ------------------------------------------------------------------------------------------------


def test_default_source_mode_and_backend_come_from_settings() -> None:
    settings = load_settings({"DEFAULT_SOURCE_MODE": "auto", "TEXT_BACKEND_DEFAULT": "internal"})
    req = parse(raw(), settings=settings)
    assert (req.source_mode, req.text_backend) == ("auto", "internal")
    assert parse(raw(text_backend=""), settings=settings).text_backend == "internal"
    image_default = load_settings({"DEFAULT_SOURCE_MODE": "image"})
    assert rejection(raw(), settings=image_default).field == "image"


def test_default_backend_outside_the_allowlist_is_named_as_the_default() -> None:
    settings = load_settings({"TEXT_BACKEND_ALLOWLIST": "internal,scenesmith"})
    exc = rejection(raw(), settings=settings)
    assert exc.field == "text_backend"
    assert "TEXT_BACKEND_DEFAULT" in exc.message


def test_max_seeds_follows_settings() -> None:
    three = load_settings({"TEXT_GEN_MAX_SEEDS": "3"})
    assert parse(raw(seed_count=3), settings=three).seed_count == 3
    assert "at most 3" in rejection(raw(seed_count=4), settings=three).message


def test_image_mode_ignores_the_text_backend() -> None:
    image = {"gcs_uri": "scenes/kitchen/images/a.png"}
    settings = load_settings({"TEXT_BACKEND_ALLOWLIST": "sage"})
    req = parse(raw(prompt=None, source_mode="image", image=image, text_backend="bogus"), settings=settings)
    assert req.text_backend == "sage"
    assert validate("scene_request_v1", req.to_dict()) == []


# ------------------------------------------------------------------------------------------------
# Image URIs (spec-source §1.2 step 2 and 4)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "bucket", "object_name"),
    [
        ("scenes/k/images/a.png", BUCKET, "scenes/k/images/a.png"),
        ("gs://scene-bucket/scenes/k/images/a.JPG", "scene-bucket", "scenes/k/images/a.JPG"),
        ("gs://scene-bucket/scenes/k/images/a.JpEg", "gs://scene-bucket", "scenes/k/images/a.JpEg"),
        ("gs://b2/scenes/other-scene/images/a.jpg", "s3://b2", "scenes/other-scene/images/a.jpg"),
        ("gs://bucket/scenes/k/images/a.png", "file:///srv/data/bucket", "scenes/k/images/a.png"),
    ],
)
def test_valid_image_uris(uri: str, bucket: str, object_name: str) -> None:
    req = parse(raw(prompt=None, source_mode="image", image={"gcs_uri": uri}), bucket=bucket)
    assert req.image is not None
    assert (req.image.object_name, req.image.usable) == (object_name, True)


@pytest.mark.parametrize(
    "uri",
    [
        "scenes/k/images/a.gif",
        "scenes/k/images/a.png.txt",
        "SCENES/k/images/a.png",
        "scenes/k/Images/a.png",
        "scenes/k/images/",
        "scenes/../images/a.png",
        "scenes/.k/images/a.png",
        "/scenes/k/images/a.png",
        "gs://other/scenes/k/images/a.png",
        "gs://scene-bucket",
        "s3://scene-bucket/scenes/k/images/a.png",
    ],
)
def test_invalid_image_uris(uri: str) -> None:
    exc = rejection(raw(prompt=None, source_mode="image", image={"gcs_uri": uri}))
    assert (exc.code, exc.field) == ("invalid_image_uri", "image.gcs_uri")


def test_image_generation_defaults_to_the_request_generation() -> None:
    image = {"gcs_uri": "scenes/kitchen/images/a.png"}
    assert parse(raw(image=image), request_generation=1234).image.generation == "1234"  # type: ignore[union-attr]
    assert parse(raw(image=image)).image.generation is None  # type: ignore[union-attr]
    assert parse(raw(image=image | {"generation": 77}), request_generation=1).image.generation == "77"  # type: ignore[union-attr]
    assert parse(raw(image=image | {"generation": "78"})).image.to_dict() == image | {"generation": "78"}  # type: ignore[union-attr]


def test_image_null_means_no_image() -> None:
    assert parse(raw(image=None)).image is None
    assert (
        parse(json.dumps({"schema_version": "v1", "scene_id": "kitchen", "prompt": "p", "image": None}).encode()).image
        is None
    )


# ------------------------------------------------------------------------------------------------
# The error object
# ------------------------------------------------------------------------------------------------


def test_request_invalid_carries_code_field_stage_and_problems() -> None:
    exc = rejection(raw(seed_count=0, quality_tier="ultra"))
    assert exc.to_dict()["field"] == "quality_tier"
    assert exc.to_dict()["code"] == "invalid_scene_request"
    assert exc.details["stage"] == STAGE
    assert [p["field"] for p in exc.details["problems"]] == ["quality_tier", "seed_count"]
    assert "(+1 more)" in exc.message
    assert str(exc) == exc.message


def test_bad_bytes_have_clear_messages() -> None:
    assert "not valid JSON" in rejection(b'{"schema_version": "v1",').message
    assert "byte-order mark" in rejection(b"\xef\xbb\xbf" + raw()).message
    assert "not UTF-8" in rejection(raw().replace(b'kitchen"}', b'k\xff"}')).message
    assert "more than once" in rejection(b'{"scene_id": "kitchen", "scene_id": "kitchen"}').message
    assert rejection(b'{"schema_version": "v1", "scene_id": "kitchen", "prompt": "p", "seed_count": NaN}').field == "$"
    assert rejection(b"[1]").message.endswith("must be a JSON object, got array")


def test_str_input_is_accepted() -> None:
    assert parse(raw().decode()).scene_id == "kitchen"


# ------------------------------------------------------------------------------------------------
# Derived requests
# ------------------------------------------------------------------------------------------------


def test_child_request_keeps_constraints_and_runs_as_text() -> None:
    parent = parse(
        raw(
            source_mode="auto",
            seed_count=3,
            quality_tier="premium",
            constraints={"room_type": "kitchen"},
            image={"gcs_uri": "scenes/kitchen/images/a.png"},
            fallback={"allow_image_fallback": False},
        )
    )
    child = child_request(parent, 2)
    assert child == {
        "schema_version": "v1",
        "scene_id": "kitchen-s002",
        "source_mode": "text",
        "text_backend": "sage",
        "prompt": "a kitchen",
        "quality_tier": "premium",
        "seed_count": 1,
        "provider_policy": "openrouter_qwen_primary",
        "constraints": {"room_type": "kitchen"},
    }
    assert child_request(parent.to_dict(), 2, settings=DEFAULTS) == child
    reparsed = parse(json.dumps(child).encode(), path="kitchen-s002")
    assert reparsed.constraints == {"room_type": "kitchen"} and reparsed.seed_count == 1
    with pytest.raises(ValueError):
        child_request(parent, 4)
    with pytest.raises(ValueError):
        child_request(parent, 0)
    with pytest.raises(ValueError):
        child_request(parse(raw()), 1)


def test_variants_index_has_the_reference_shape() -> None:
    parent = parse(raw(source_mode="auto", seed_count=3))
    index = variants_index(parent)
    assert index == {
        "schema_version": "v1",
        "scene_id": "kitchen",
        "source_mode": "auto",
        "text_backend": "sage",
        "quality_tier": "standard",
        "provider_policy": "openrouter_qwen_primary",
        "seed_count": 3,
        "variants": [{"scene_id": f"kitchen-s00{i}", "seed": i} for i in (1, 2, 3)],
    }
    assert validate("variants_index", index) == []


def test_build_request_makes_valid_requests_with_readable_ids() -> None:
    req = build_request("A kitchen with a fridge, a table and two mugs!", seeds=3, tier="premium", settings=DEFAULTS)
    assert re.fullmatch(r"a-kitchen-with-a-fridge-a-table-and-two-[0-9a-f]{6}", req["scene_id"])
    assert re.fullmatch(SCENE_ID_PATTERN, req["scene_id"])
    assert validate("scene_request_v1", req) == []
    assert parse(json.dumps(req).encode(), path=req["scene_id"]).seed_count == 3
    again = build_request("A kitchen with a fridge, a table and two mugs!", settings=DEFAULTS)
    assert again["scene_id"] != req["scene_id"]
    assert build_request("кухня", settings=DEFAULTS)["scene_id"].startswith("scene-")
    assert build_request("Küche", settings=DEFAULTS)["scene_id"].startswith("kuche-")
    assert build_request("x" * 200, settings=DEFAULTS)["scene_id"].startswith("x" * 40 + "-")
    fixed = build_request(
        "p", scene_id="my-scene", backend="internal", constraints={"room_type": "office"}, settings=DEFAULTS
    )
    assert (fixed["scene_id"], fixed["text_backend"], fixed["constraints"]) == (
        "my-scene",
        "internal",
        {"room_type": "office"},
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seeds": 0}, "seed_count"),
        ({"seeds": 17}, "seed_count"),
        ({"tier": "gold"}, "quality_tier"),
        ({"backend": "gpt"}, "text_backend"),
        ({"scene_id": "../x"}, "scene_id"),
        ({"source_mode": "image"}, "image"),
    ],
)
def test_build_request_refuses_what_the_orchestrator_would(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        build_request("a kitchen", settings=DEFAULTS, **kwargs)
    assert info.value.field == field
    with pytest.raises(RequestInvalid) as info:
        build_request("   ", settings=DEFAULTS)
    assert info.value.field == "prompt"


# ------------------------------------------------------------------------------------------------
# bpflow validate
# ------------------------------------------------------------------------------------------------


def _write(tmp_path: Path, rel: str, data: bytes) -> str:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_validate_command_prints_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bpflow.cli.validate_cmd.get_settings", lambda: DEFAULTS)
    bad = _write(
        tmp_path,
        "scenes/kitchen/prompts/scene_request.json",
        raw(scene_id="kitchn", seed_count="3", promt="x", prompt=None),
    )
    assert validate_command(bad, json_output=True) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is False and out["scene_id_from_path"] == "kitchen"
    assert [p["field"] for p in out["problems"]] == ["seed_count", "promt", "scene_id", "prompt"]
    assert validate_command(bad, json_output=False) == 1
    text = capsys.readouterr().out
    for field in ("seed_count", "promt", "scene_id", "prompt"):
        assert field in text
    good = _write(tmp_path, "req.json", raw(seed_count=2))
    assert validate_command(good, json_output=True) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["problems"] == [] and out["request"]["seed_count"] == 2
    assert validate_command(good, json_output=False) == 0
    assert "valid" in capsys.readouterr().out
    assert validate_command(str(tmp_path / "missing.json"), json_output=True) == 2
    assert json.loads(capsys.readouterr().out)["problems"][0]["code"] == "unreadable"
    assert validate_command(str(tmp_path), json_output=False) == 2


def test_validate_command_survives_markup_and_huge_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bpflow.cli.validate_cmd.get_settings", lambda: DEFAULTS)
    markup = _write(tmp_path, "m.json", raw(quality_tier="[bold red]x[/]"))
    assert validate_command(markup, json_output=False) == 1
    assert "[bold red]x[/]" in capsys.readouterr().out
    huge = _write(tmp_path, "h.json", raw(prompt="p" * 20_000_000))
    assert validate_command(huge, json_output=True) == 1
    assert json.loads(capsys.readouterr().out)["problems"][0]["field"] == "$"


def test_scene_id_from_path() -> None:
    assert scene_id_from_path("/data/bucket/scenes/kitchen/prompts/scene_request.json") == "kitchen"
    assert scene_id_from_path("scenes/kitchen/prompts/scene_request.json") == "kitchen"
    assert scene_id_from_path("request.json") is None
    assert scene_id_from_path("scenes/kitchen/internal/scene_request.generated.json") is None
    assert scene_id_from_path("-") is None


def test_bpflow_validate_cli(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    good = _write(tmp_path, "scenes/kitchen/prompts/scene_request.json", raw())
    bad = _write(tmp_path, "bad.json", b'{"schema_version": "v1", "scene_id": "kitchen", "seed_count": 0}')

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bpflow.cli", "validate", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run(good).returncode == 0
    proc = run("--json", bad)
    assert proc.returncode == 1, proc.stderr
    assert [p["field"] for p in json.loads(proc.stdout)["problems"]] == ["prompt", "seed_count"]
    assert run(str(tmp_path / "nope.json")).returncode == 2
