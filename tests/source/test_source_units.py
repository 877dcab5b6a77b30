"""Fast tests of the source orchestrator's helpers: fallback gating, the options snapshot, fan-out,
the Stage-1 output check, the image reconstructor selection and the trigger filter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.core.config import load_settings
from bpflow.core.storage.local import LocalBucket
from bpflow.workflows._orchestrator.errors import ImageReconstructionFailed, ImageReconstructionUnavailable
from bpflow.workflows._orchestrator.fanout import plan_children
from bpflow.workflows._orchestrator.image import (
    FixtureReconstructor,
    as_generation,
    image_scene_id,
    resolve_reconstructor,
)
from bpflow.workflows._orchestrator.intake import Intake, is_request_trigger
from bpflow.workflows._orchestrator.options import RECONSTRUCTOR_ENV, SourceOptions, load_options, retrieval_env
from bpflow.workflows._orchestrator.stage1_runtime import CLOUDRUN, LOCAL, RUNPOD, VM, _is_transient
from bpflow.workflows._orchestrator.verify import check_stage1_outputs
from bpflow.workflows.source_orchestrator import fallback_allowed
from tests.source.conftest import REPO_BUNDLE, tiny_png


def _opts(**env: str) -> SourceOptions:
    return load_options(load_settings(env), env, "bucket")


def _intake(mode: str = "text", allow: bool = True, image: bool = True, usable: bool = True) -> Intake:
    request = {"source_mode": mode, "fallback": {"allow_image_fallback": allow}, "seed_count": 1}
    img = (
        {"gcs_uri": "scenes/a/images/x.png", "object_name": "scenes/a/images/x.png", "usable": usable}
        if image
        else None
    )
    return Intake(digest="d", request=request, image=img, error=None)


@pytest.mark.parametrize("mode", ["text", "auto"])
@pytest.mark.parametrize("allow", [True, False])
@pytest.mark.parametrize("env_flag", ["true", "TRUE", "1", "false"])
@pytest.mark.parametrize(("image", "usable"), [(True, True), (True, False), (False, False)])
def test_image_fallback_needs_the_request_flag_the_env_switch_and_a_usable_image(
    mode: str, allow: bool, env_flag: str, image: bool, usable: bool
) -> None:
    opts = _opts(TEXT_GEN_ENABLE_IMAGE_FALLBACK=env_flag)
    expected = allow and env_flag.lower() == "true" and image and usable
    assert fallback_allowed(_intake(mode, allow, image, usable), opts) is expected


def test_options_snapshot_is_plain_data_and_forwards_retrieval_settings_without_secrets() -> None:
    env = {
        "TEXT_ASSET_ANN_TOP_K": "7",
        "TEXT_SAM3D_API_KEY": "sam-secret",
        "TEXT_GEN_RUNTIME": "VM",
        RECONSTRUCTOR_ENV: " fixture:/x ",
    }
    opts = _opts(**env)
    assert SourceOptions.from_dict(json.loads(json.dumps(opts.to_dict()))) == opts
    assert opts.text_gen_runtime == "vm" and opts.reconstructor == "fixture:/x"
    assert (
        opts.adapter_env["TEXT_ASSET_ANN_TOP_K"] == "7"
        and opts.adapter_env["TEXT_ASSET_RETRIEVAL_MODE"] == "ann_shadow"
    )
    assert "sam-secret" not in json.dumps(opts.to_dict())
    assert opts.gen_env["TEXT_GEN_USE_LLM"] == "true" and opts.gen_env["DEFAULT_SOURCE_MODE"] == "text"
    assert opts.gen_timeout_seconds == 1800 and opts.adapter_timeout_seconds == 1800
    assert opts.lock_ttl_seconds() > opts.lock_ttl_seconds(1) > 3600 and opts.runpod_key_set is False
    assert all(
        k.startswith(("TEXT_ASSET_", "VECTOR_STORE_", "VERTEX_", "TEXT_SAM3D_", "TEXT_HUNYUAN_"))
        for k in retrieval_env(load_settings({}))
    )


def test_fan_out_plans_children_in_seed_order() -> None:
    single = plan_children("k", 1, "scenes/k/prompts/scene_request.json")
    assert [(c.scene_id, c.request_object, c.generated) for c in single] == [
        ("k", "scenes/k/prompts/scene_request.json", False)
    ]
    three = plan_children("k", 3, "scenes/k/prompts/scene_request.json")
    assert [c.scene_id for c in three] == ["k-s001", "k-s002", "k-s003"]
    assert three[1].request_object == "scenes/k-s002/internal/scene_request.generated.json" and three[1].seed == 2
    assert plan_children("k", 100, "x")[-1].scene_id == "k-s100"


@pytest.mark.parametrize(
    ("runtime", "start_failed", "timed_out", "transient"),
    [
        (VM, True, False, True),
        (VM, False, True, True),
        (VM, False, False, False),
        (RUNPOD, False, False, True),
        (RUNPOD, True, False, True),
        (CLOUDRUN, True, False, False),
        (LOCAL, False, True, False),
    ],
)
def test_only_vm_launch_or_timeout_failures_and_any_runpod_failure_are_transient(
    runtime: str, start_failed: bool, timed_out: bool, transient: bool
) -> None:
    assert _is_transient(runtime, start_failed=start_failed, timed_out=timed_out) is transient


def _bundle_bucket(tmp_path: Path, scene: str) -> LocalBucket:
    bucket = LocalBucket(str(tmp_path / "bucket"))
    bucket.write(f"scenes/{scene}/images/a.png", tiny_png())
    FixtureReconstructor(REPO_BUNDLE).reconstruct(
        bucket, scene_id=scene, image_object=f"scenes/{scene}/images/a.png", image_generation=1
    )
    return bucket


def test_the_recorded_bundle_passes_the_stage1_check(tmp_path: Path) -> None:
    check = check_stage1_outputs(_bundle_bucket(tmp_path, "ok"), "ok", text=False)
    assert check["problems"] == [] and check["objects_count"] == 3 and check["provider"] == "fixture_reconstructor"


def test_the_stage1_check_names_every_broken_output(tmp_path: Path) -> None:
    bucket = _bundle_bucket(tmp_path, "bad")
    bucket.delete("scenes/bad/assets/obj_mug_0/model.usd")
    bucket.write("scenes/bad/seg/inventory.json", "{not json")
    layout = bucket.read_json("scenes/bad/layout/scene_layout_scaled.json")
    layout["objects"] = layout["objects"][:2]
    layout["objects"][0]["obb"]["extents"] = [-1, 0, 0]
    bucket.write_json("scenes/bad/layout/scene_layout_scaled.json", layout)
    problems = check_stage1_outputs(bucket, "bad", text=True)["problems"]
    fields = {p["field"] for p in problems}
    assert "seg/inventory.json" in fields and "textgen/package.json" in fields  # unreadable / missing
    assert any(f.startswith("layout/scene_layout_scaled.json:objects[0].obb.extents") for f in fields)
    assert any(p["code"] == "missing_asset" and "obj_mug_0" in p["message"] for p in problems)
    assert any(p["code"] == "layout_mismatch" and "mug_0" in p["message"] for p in problems)


def test_reconstructor_selection(tmp_path: Path) -> None:
    with pytest.raises(ImageReconstructionUnavailable) as none:
        resolve_reconstructor(None)
    assert none.value.field == RECONSTRUCTOR_ENV and none.value.code == "image_reconstruction_unavailable"
    for spec in ("fixture:/no/such/bundle", "no_such_module_xyz:factory", "json:no_such_attr", "json:dumps"):
        with pytest.raises(ImageReconstructionUnavailable):
            resolve_reconstructor(spec)
    assert isinstance(resolve_reconstructor(f"fixture:{REPO_BUNDLE}"), FixtureReconstructor)
    assert resolve_reconstructor("tests.source.test_source_units:_copy_factory").name == "fixture"


def _copy_factory() -> FixtureReconstructor:
    """A plug-in factory, as a deployment would name one in BPFLOW_IMAGE_RECONSTRUCTOR."""
    return FixtureReconstructor(REPO_BUNDLE)


def test_fixture_reconstructor_refuses_a_missing_or_fake_image(tmp_path: Path) -> None:
    bucket = LocalBucket(str(tmp_path / "bucket"))
    rec = FixtureReconstructor(shutil.copytree(REPO_BUNDLE, tmp_path / "bundle"))
    with pytest.raises(ImageReconstructionFailed) as missing:
        rec.reconstruct(bucket, scene_id="s", image_object="scenes/s/images/none.png", image_generation=1)
    assert missing.value.code == "image_missing"
    bucket.write("scenes/s/images/fake.jpg", b"GIF89a....")
    with pytest.raises(ImageReconstructionFailed) as fake:
        rec.reconstruct(bucket, scene_id="s", image_object="scenes/s/images/fake.jpg", image_generation=1)
    assert fake.value.code == "invalid_image"
    assert not list(bucket.list("scenes/s/assets/"))


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("scenes/k/prompts/scene_request.json", True),
        ("scenes/k/prompts/other.json", False),
        ("scenes/k/internal/scene_request.generated.json", False),
        ("scenes/k/prompts/scene_request.json.tmp", False),
        ("scenes/a/b/prompts/scene_request.json", False),
        ("xscenes/k/prompts/scene_request.json", False),
        ("", False),
    ],
)
def test_request_trigger_filter(name: str, ok: bool) -> None:
    assert is_request_trigger(name) is ok


@given(st.text())
def test_trigger_filter_and_image_paths_never_raise(text: str) -> None:
    assert is_request_trigger(text) is bool(is_request_trigger(text))
    sid = image_scene_id(text)
    assert sid is None or text == f"scenes/{sid}/images/{text.split('/')[-1]}"


@given(st.one_of(st.none(), st.integers(), st.text(), st.floats(allow_nan=True)))
def test_generations_parse_or_count_as_zero(value: Any) -> None:
    got = as_generation(value)
    assert isinstance(got, int)
    if isinstance(value, int):
        assert got == value
