"""The one scene-prefix check (``bpflow.core.jobkit.scene_prefix``) and the Stage 4/5 jobs that
take prefixes from env: a prefix outside the scene's own is refused with a structured error
naming the variable and the reason, and the job writes nothing at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.core.errors import ConfigError
from bpflow.core.jobkit import scene_prefix
from bpflow.core.storage.local import LocalBucket
from tests.stage2.jobrun import job_error, run

SCENE = "guard-s1"
REASONS = {"invalid_path", "outside_scene", "scene_root"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("scenes/s1/usd", "scenes/s1/usd"),
        ("/scenes/s1/episodes/lerobot/ ", "scenes/s1/episodes/lerobot"),
        ("scenes/s1/geniesim/job.json", "scenes/s1/geniesim/job.json"),
    ],
)
def test_a_path_inside_the_scene_is_kept_without_its_slashes(value: str, expected: str) -> None:
    assert scene_prefix("s1", "X_PREFIX", value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("scenes/other/usd", "outside_scene"),
        ("scenes/s10/usd", "outside_scene"),
        ("scenes/s1/../other/usd", "invalid_path"),
        ("scenes/s1//usd", "invalid_path"),
        ("scenes/s1/./usd", "invalid_path"),
        ("scenes/s1/a\\b", "invalid_path"),
        ("", "invalid_path"),
        ("scenes/s1", "scene_root"),
        ("scenes/s1/", "scene_root"),
        ("usd", "outside_scene"),
    ],
)
def test_a_path_leaving_the_scene_is_refused_naming_the_variable_and_reason(value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        scene_prefix("s1", "X_PREFIX", value)
    err = caught.value.to_dict()
    assert err["code"] == "invalid_config" and err["field"] == "X_PREFIX"
    assert err["details"] == {"variable": "X_PREFIX", "reason": reason, "scene_prefix": "scenes/s1/"}
    assert err["message"].startswith("X_PREFIX=")


def test_the_scene_folder_itself_only_when_asked_and_a_job_code_is_kept() -> None:
    assert scene_prefix("s1", "SCENE_PATH", "scenes/s1/", root_ok=True) == "scenes/s1"
    with pytest.raises(ConfigError) as caught:
        scene_prefix("s1", "MODEL_PATH", "scenes/s2/m", code="model_path_outside_scene")
    assert caught.value.code == "model_path_outside_scene" and caught.value.field == "MODEL_PATH"
    with pytest.raises(ConfigError) as caught:
        scene_prefix("../s1", "X_PREFIX", "scenes/../s1/x")
    assert caught.value.field == "SCENE_ID"


@given(
    st.one_of(
        st.text(alphabet="s1o/.\\ x_-", max_size=30),
        st.text(alphabet="s1o/.\\ x_-", max_size=30).map(lambda t: "scenes/s1/" + t),
    )
)
def test_whatever_is_passed_the_result_stays_inside_the_scene(value: str) -> None:
    try:
        out = scene_prefix("s1", "X_PREFIX", value)
    except ConfigError as exc:
        assert exc.field == "X_PREFIX" and exc.details["reason"] in REASONS
        return
    parts = out.split("/")
    assert parts[:2] == ["scenes", "s1"] and len(parts) >= 3
    assert not any(p in ("", ".", "..") or "\\" in p for p in parts)


# (job, variable, value, extra env, code): one or more per Stage 4/5 job family.
CASES = [
    ("episode-generation-job", "EPISODES_PREFIX", "scenes/other/episodes", {}, "invalid_config"),
    ("episode-generation-job", "USD_PREFIX", f"scenes/{SCENE}/../other/usd", {}, "invalid_config"),
    ("quality-gate-job", "EPISODES_PREFIX", "scenes/other/episodes", {}, "invalid_config"),
    ("genie-sim-export-job", "GENIESIM_PREFIX", f"scenes/{SCENE}/../other/geniesim", {}, "invalid_config"),
    ("genie-sim-gpu-job", "JOB_OUTPUT_PATH", "scenes/other/geniesim/job.json", {}, "invalid_config"),
    ("genie-sim-gpu-job", "OUTPUT_PREFIX", f"scenes/{SCENE}", {}, "invalid_config"),
    (
        "genie-sim-import-job",
        "OUTPUT_PREFIX",
        "gs://b/scenes/other/episodes",
        {"GENIE_SIM_JOB_ID": "j1"},
        "invalid_config",
    ),
    ("genie-sim-import-job", "GENIE_SIM_JOB_ID", "../../other", {}, "invalid_config"),
    ("arena-export-job", "ARENA_PREFIX", "scenes/other/arena", {}, "invalid_config"),
    ("training-job", "OUTPUT_PATH", f"gs://b/scenes/{SCENE}/../other/episodes", {}, "output_path_outside_scene"),
    ("policy-evaluation-job", "MODEL_PATH", "scenes/other/training/model", {}, "model_path_outside_scene"),
    ("upsell-features-job", "SCENE_PATH", "scenes/other", {}, "invalid_config"),
]


@pytest.mark.parametrize(("job", "variable", "value", "extra", "code"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_stage4_5_jobs_refuse_a_prefix_outside_the_scene_and_write_nothing(
    tmp_path: Path, job: str, variable: str, value: str, extra: dict[str, str], code: str
) -> None:
    bucket = LocalBucket(tmp_path / "bucket")
    bucket.write_json(f"scenes/{SCENE}/usd/.usd_complete", {"status": "ok"})
    bucket.write_json("scenes/other/keep.json", {"status": "ok"})
    before = {i.key: i.generation for i in bucket.list("")}
    result = run(bucket, SCENE, job, **{**extra, variable: value})
    assert result.exit_code == 2, result.stderr_tail[-2000:]
    assert "Traceback" not in result.stderr_tail
    err = job_error(result)
    assert err["field"] == variable and err["details"]["variable"] == variable
    assert err["details"]["reason"] in REASONS and err["details"]["scene_prefix"] == f"scenes/{SCENE}/"
    assert err["code"] == code
    assert {i.key: i.generation for i in bucket.list("")} == before
