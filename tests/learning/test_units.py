"""Units of the learning loop that need no runtime: the seed's knobs → LeRobot options, the
loss curve read from LeRobot's log, the quality-gate verdicts, the training event's payload."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.blocks.quality_preflight import judge_certificate, judge_report
from bpflow.domain.training.loss_curve import parse_log, svg
from bpflow.domain.training.settings import TrainingConfigError, TrainSettings, lerobot_argv, plan_steps
from bpflow.workflows.training import payload_error


def test_epochs_become_steps_and_the_cap_wins() -> None:
    s = TrainSettings(epochs=100, batch_size=32, checkpoint_interval=10)
    p = plan_steps(s, frames=1000)  # 32 steps per epoch
    assert (p.steps_per_epoch, p.steps, p.save_freq, p.log_freq) == (32, 3200, 320, 32)
    capped = plan_steps(TrainSettings(epochs=100, batch_size=32, checkpoint_interval=10, max_steps=50), frames=1000)
    assert (capped.steps, capped.save_freq) == (50, 50)  # a checkpoint at the end at least


def test_lerobot_options_are_offline_cpu_and_cpu_sized() -> None:
    s = TrainSettings(learning_rate=3e-4, batch_size=8)
    argv = lerobot_argv(s, plan_steps(s, 100), dataset_root=Path("/d"), output_dir=Path("/o"), job_name="sc")
    for needed in (
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        "--policy.pretrained_backbone_weights=null",
        "--wandb.enable=false",
        "--dataset.root=/d",
        "--policy.type=act",
        "--policy.dim_model=256",
        "--policy.chunk_size=20",
        "--policy.optimizer_lr=0.0003",
        "--batch_size=8",
    ):
        assert needed in argv
    full = lerobot_argv(
        TrainSettings(policy_size="full", architecture="diffusion"),
        plan_steps(s, 100),
        dataset_root=Path("/d"),
        output_dir=Path("/o"),
        job_name="sc",
    )
    assert "--policy.type=diffusion" in full and not any(a.startswith("--policy.down_dims") for a in full)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"architecture": "pi0"}, "MODEL_ARCHITECTURE"),
        ({"epochs": 0}, "TRAINING_EPOCHS"),
        ({"learning_rate": 2.0}, "LEARNING_RATE"),
        ({"policy_size": "huge"}, "POLICY_SIZE"),
    ],
)
def test_bad_knobs_name_their_field(kw: dict, field: str) -> None:
    with pytest.raises(TrainingConfigError) as err:
        TrainSettings(**kw).validate()
    assert err.value.field == field


def test_the_loss_curve_is_read_from_lerobots_log() -> None:
    log = "INFO Creating policy\nINFO 2026 ot_train.py:435 step:200 smpl:1K ep:3 epch:0.45 loss:3.712 grdn:41 lr:1.0e-04 updt_s:0.390 data_s:0.01\nstep:2K smpl:16K ep:9 epch:2 loss:0.5 grdn:1 lr:1e-4 updt_s:0.4 data_s:0\n"
    assert parse_log(log) == [
        {"step": 200, "loss": 3.712, "update_s": 0.39},
        {"step": 2000, "loss": 0.5, "update_s": 0.4},
    ]
    chart = svg(parse_log(log))
    assert chart.startswith("<svg") and "<path" in chart and "step" in chart


@given(
    st.lists(st.tuples(st.integers(1, 10**6), st.floats(1e-4, 1e4, allow_nan=False)), max_size=30),
    st.text(max_size=200),
)
def test_any_log_parses_to_its_step_lines_and_always_charts(points: list, noise: str) -> None:
    text = "\n".join([noise.replace("step:", "")] + [f"INFO step:{s} smpl:1 loss:{v!r} grdn:1" for s, v in points])
    got = parse_log(text)
    assert [p["step"] for p in got] == [s for s, _ in points]
    assert svg(got).endswith("</svg>")


def test_quality_gate_verdicts() -> None:
    assert judge_report({"summary": {"can_proceed": True, "blocking_failures": 0}})[0]
    assert not judge_report({"summary": {"can_proceed": True, "blocking_failures": 1}})[0]
    assert not judge_report({"summary": {"can_proceed": "true", "blocking_failures": 0}})[0]
    assert not judge_report({})[0]
    assert judge_certificate({"validation_passed": True, "recommended_use": "fine_tuning"})[0]
    assert not judge_certificate({"validation_passed": True, "recommended_use": "testing"})[0]
    assert not judge_certificate({"validation_passed": False})[0]


@given(
    st.dictionaries(
        st.sampled_from(["job_id", "output_path", "data", "scene_id"]),
        st.one_of(
            st.none(),
            st.text(max_size=5),
            st.dictionaries(st.sampled_from(["job_id", "output_path"]), st.one_of(st.none(), st.text(max_size=5))),
        ),
    )
)
def test_payload_errors_follow_the_reference_order(payload: dict) -> None:
    err = payload_error(payload)
    fields = payload if "job_id" in payload else payload.get("data") if isinstance(payload.get("data"), dict) else None
    if fields is None:
        assert err is not None and err["code"] == "invalid_event_payload"
    elif fields.get("job_id") in (None, ""):
        assert err is not None and err["code"] == "missing_job_id"
    elif fields.get("output_path") in (None, ""):
        assert err is not None and err["code"] == "missing_output_path"
    else:
        assert err is None


def test_the_training_venv_is_ready_and_bpflow_config_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bpflow.cli.config_cmd import config_command
    from bpflow.domain.training.venv import readiness

    probed = readiness(probe=True)
    assert probed["ready"] is True and probed["lerobot"] == "0.4.4", probed  # make venv-train (CI too)
    assert config_command(json_output=True) == 0
    assert json.loads(capsys.readouterr().out)["training_venv"]["ready"] is True


def test_llm_affordance_answers_are_parsed_strictly() -> None:
    from bpflow.domain.arena.affordances import refine_with_llm

    objects = {
        "mug": {"category": "mug", "size_m": [0.08, 0.08, 0.1], "kind": "dynamic"},
        "table": {"category": "table", "size_m": [1, 1, 0.75], "kind": "static"},
    }
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return '{"mug": ["grasp", "fly"], "table": ["place_on"], "ghost": ["grasp"]}'

    assert refine_with_llm(objects, ask) == {"mug": ["grasp"], "table": ["place_on"]}
    assert '"category": "mug"' in asked[0]
    assert refine_with_llm(objects, lambda _p: "sure! here you go") == {}
    assert refine_with_llm(objects, lambda _p: '["grasp"]') == {}


@pytest.mark.parametrize("doc", ["[]", "null", "3", '"v3.0"'])
def test_a_dataset_info_that_is_not_an_object_is_a_typed_error(tmp_path: Path, doc: str) -> None:
    """Valid JSON that is not an object is a bad dataset (named field), not an AttributeError."""
    from bpflow.domain.training.run import DatasetInvalid, dataset_info

    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text(doc)
    with pytest.raises(DatasetInvalid) as err:
        dataset_info(tmp_path)
    assert err.value.field == "meta/info.json"
    assert "not a JSON object" in str(err.value)
