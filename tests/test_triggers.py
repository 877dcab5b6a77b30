"""Trigger map: the data matches the seed's table, and the matcher matches exactly what it should.

The expected table below is written out by hand from the seed (and reference specs) rather than read
back from triggers.yaml, so an accidental edit of the data file fails here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from bpflow.core.errors import ConfigError, InvalidSceneId, WorkflowNotFound
from bpflow.core.triggers import ObjectMatch, Trigger, TriggerMap, compile_pattern, validate_scene_id
from tests.support.seed_workflows import SEED_TABLE_WORKFLOWS

EXTRA_WORKFLOWS = {
    "asset-replication-pipeline",
    "delivery-integrity-audit",
    "image-to-scene-orchestrator",
    "image-to-scene-pipeline",
}
BEYOND_SEED = {"policy-evaluation-pipeline"}  # issue 13: the learning loop's closed-loop evaluation

IMAGE = "scenes/*/images/*.{png,jpg,jpeg}"
REGEN = "scenes/*/assets/.regen3d_complete"
USD = "scenes/*/usd/.usd_complete"

# workflow -> (kind, patterns | schedule | event_type, also_manual)
EXPECTED: dict[str, tuple[str, Any, bool]] = {
    "asset-embedding-pipeline": ("object", ("automation/asset_embedding/queue/*.json",), False),
    "arena-export-pipeline": (
        "object",
        (USD, "scenes/*/isaac_lab/.isaac_lab_complete", "scenes/*/geniesim/.geniesim_complete"),
        False,
    ),
    "dream2flow-preparation-pipeline": ("object", (REGEN,), False),
    "dwm-preparation-pipeline": ("object", (REGEN,), False),
    "episode-generation-pipeline": ("object", (USD,), False),
    "genie-sim-export-pipeline": ("object", ("scenes/*/variation_assets/.variation_pipeline_complete",), False),
    "genie-sim-import-pipeline": ("event", "manual.geniesim.job.completed", True),
    "genie-sim-import-poller": ("schedule", ("*/10 * * * *", "UTC"), False),
    "interactive-pipeline": ("object", ("scenes/*/assets/scene_assets.json",), False),
    "objects-pipeline": ("object", ("scenes/*/layout/scene_layout.json",), False),
    "regen3d-pipeline": ("object", ("scenes/*/assets/.assets_ready",), False),
    "retention-cleanup": ("schedule", ("0 3 * * *", "Etc/UTC"), False),
    "scale-pipeline": ("object", ("scenes/*/layout/scene_layout.json",), False),
    "scene-batch": ("manual", None, False),
    "scene-generation-pipeline": ("schedule", ("0 8 * * *", "America/Los_Angeles"), True),
    "source-orchestrator": ("object", ("scenes/*/prompts/scene_request.json",), False),
    "text-autonomy-daily": ("schedule", ("0 9 * * *", "America/New_York"), True),
    "training-pipeline": ("event", "blueprintpipeline.episodes.imported", False),
    "upsell-features-pipeline": ("manual", None, False),
    "usd-assembly-pipeline": ("object", (REGEN,), False),
    "variation-assets-pipeline": ("object", ("scenes/*/replicator/.replicator_complete",), False),
    "asset-replication-pipeline": ("object", ("automation/asset_replication/queue/*.json",), False),
    "image-to-scene-orchestrator": ("object", (IMAGE,), False),
    "image-to-scene-pipeline": ("object", (IMAGE,), False),
}

# Flag-gated rows: workflow -> the env that turns it on (it is off with an empty env).
FLAG_ON: dict[str, dict[str, str]] = {
    "asset-embedding-pipeline": {"ENABLE_ASSET_EMBEDDING": "true"},
    "asset-replication-pipeline": {"ENABLE_ASSET_REPLICATION": "true"},
    "dream2flow-preparation-pipeline": {"ENABLE_DREAM2FLOW": "true"},
    "dwm-preparation-pipeline": {"ENABLE_DWM": "true"},
    "scene-generation-pipeline": {"ENABLE_SCENE_GENERATION_SCHEDULER": "true"},
    "text-autonomy-daily": {"ENABLE_TEXT_AUTONOMY_DAILY": "true"},
    "delivery-integrity-audit": {"ENABLE_DELIVERY_INTEGRITY_AUDIT": "true"},
    "image-to-scene-pipeline": {"IMAGE_PATH_MODE": "legacy_chain"},
}

# Every flag at once, so every pattern can be exercised on an enabled row.
ALL_ON: dict[str, str] = {k: v for env in FLAG_ON.values() for k, v in env.items() if k != "IMAGE_PATH_MODE"}


@pytest.fixture(scope="module")
def tmap() -> TriggerMap:
    return TriggerMap.load()


def names(matches: list[ObjectMatch]) -> set[str]:
    return {m.workflow for m in matches}


# --------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------


def test_every_seed_row_and_the_three_extras_are_present(tmap: TriggerMap) -> None:
    got = set(tmap.names())
    assert SEED_TABLE_WORKFLOWS <= got
    assert got == SEED_TABLE_WORKFLOWS | EXTRA_WORKFLOWS | BEYOND_SEED
    assert len(SEED_TABLE_WORKFLOWS) == 21
    assert len(tmap.rows) == 25 + len(BEYOND_SEED)  # one row per workflow, no duplicates


@pytest.mark.parametrize("workflow", sorted(EXPECTED))
def test_row_matches_the_seed(tmap: TriggerMap, workflow: str) -> None:
    kind, what, also_manual = EXPECTED[workflow]
    row = tmap.get(workflow)
    assert row.kind == kind
    assert row.also_manual is also_manual
    assert row.description and "\n" not in row.description
    if kind == "object":
        assert row.patterns == what
        assert (row.schedule, row.timezone, row.event_type) == (None, None, None)
    elif kind == "schedule":
        assert (row.schedule, row.timezone) == what
        assert row.patterns == () and row.event_type is None
    elif kind == "event":
        assert row.event_type == what
        assert row.patterns == () and row.schedule is None
    else:
        assert row.patterns == () and row.schedule is None and row.event_type is None
        assert row.accepts_manual


def test_rows_without_flags_are_enabled_by_default(tmap: TriggerMap) -> None:
    for row in tmap.rows:
        assert row.is_enabled({}) is (row.workflow not in FLAG_ON), row.workflow


def test_to_dict_has_the_documented_keys(tmap: TriggerMap) -> None:
    d = tmap.get("text-autonomy-daily").to_dict({})
    for key in (
        "workflow",
        "kind",
        "patterns",
        "schedule",
        "timezone",
        "event_type",
        "enabled",
        "also_manual",
        "description",
    ):
        assert key in d
    assert d["enabled"] is False and d["schedule"] == "0 9 * * *"
    assert tmap.get("arena-export-pipeline").to_dict({})["patterns"] == list(EXPECTED["arena-export-pipeline"][1])
    assert len(tmap.to_list({})) == len(tmap.rows)


def test_get_unknown_workflow(tmap: TriggerMap) -> None:
    with pytest.raises(WorkflowNotFound) as info:
        tmap.get("no-such-workflow")
    assert info.value.code == "workflow_not_found"
    assert "usd-assembly-pipeline" in tmap and "nope" not in tmap


def test_is_enabled_defaults_to_process_environment(monkeypatch: pytest.MonkeyPatch, tmap: TriggerMap) -> None:
    row = tmap.get("dwm-preparation-pipeline")
    monkeypatch.delenv("ENABLE_DWM", raising=False)
    monkeypatch.delenv("ENABLE_EXPERIMENTAL", raising=False)
    assert row.is_enabled() is False
    monkeypatch.setenv("ENABLE_DWM", "true")
    assert row.is_enabled() is True
    assert names(tmap.match_object("scenes/s1/assets/.regen3d_complete")) >= {"dwm-preparation-pipeline"}


# --------------------------------------------------------------------------------------------
# Patterns: one positive and several negatives for every pattern of every row
# --------------------------------------------------------------------------------------------


def instantiate(pattern: str, scene: str = "scene_1", fill: str = "item-7", alt: int = 0) -> str:
    """A concrete key for a pattern: scene segment -> scene, other '*' -> fill, {a,b} -> one alternative."""
    segments = pattern.split("/")
    out = []
    for i, seg in enumerate(segments):
        if i == 1 and segments[0] == "scenes" and seg == "*":
            out.append(scene)
            continue
        seg = re.sub(r"\{([^}]*)\}", lambda m: m.group(1).split(",")[alt % len(m.group(1).split(","))], seg)
        out.append(seg.replace("*", fill))
    return "/".join(out)


def negatives(pattern: str) -> list[str]:
    """Near-miss keys that must not match."""
    key = instantiate(pattern)
    segs = key.split("/")
    last = segs[-1]
    out = [
        key + ".tmp",
        key + "/",
        "/" + key,
        key[:-1],
        "x" + key,
        "bucket/" + key,
        "/".join(segs[:1] + ["extra"] + segs[1:]),  # nested extra segment after the first one
        "/".join(segs[:-1] + ["extra", last]),  # extra segment before the last one
        "/".join(segs[:-1]),  # parent "directory"
    ]
    if segs[0] == "scenes":
        out.append("/".join(["scenes", ""] + segs[2:]))  # missing scene segment
        out.append("/".join(["scenes"] + segs[2:]))  # scene segment dropped altogether
        out.append("/".join(["Scenes"] + segs[1:]))
    if "*" not in pattern.rsplit("/", 1)[-1] and "{" not in pattern.rsplit("/", 1)[-1]:
        swapped = last.swapcase()
        if swapped != last:
            out.append("/".join(segs[:-1] + [swapped]))  # marker in the wrong case
    return out


OBJECT_CASES = [(wf, p) for wf, (kind, pats, _) in EXPECTED.items() if kind == "object" for p in pats]


def env_enabling(workflow: str) -> dict[str, str]:
    return dict(FLAG_ON.get(workflow, {}))


@pytest.mark.parametrize(("workflow", "pattern"), OBJECT_CASES, ids=[f"{w}:{p}" for w, p in OBJECT_CASES])
def test_pattern_positive(tmap: TriggerMap, workflow: str, pattern: str) -> None:
    key = instantiate(pattern)
    matches = tmap.match_object(key, env_enabling(workflow))
    hit = [m for m in matches if m.workflow == workflow]
    assert hit == [ObjectMatch(workflow, pattern, "scene_1" if key.startswith("scenes/") else None)]


@pytest.mark.parametrize(("workflow", "pattern"), OBJECT_CASES, ids=[f"{w}:{p}" for w, p in OBJECT_CASES])
def test_pattern_negatives(tmap: TriggerMap, workflow: str, pattern: str) -> None:
    env = env_enabling(workflow)
    for bad in negatives(pattern):
        assert workflow not in names(tmap.match_object(bad, env)), bad
        assert workflow not in {m["workflow"] for m in tmap.explain(bad, env)["matches"]}, bad


@pytest.mark.parametrize(
    "key",
    [
        "scenes/a/b/usd/.usd_complete",  # the reference's ".+" would match; we do not
        "scenes//usd/.usd_complete",
        "scenes/a/usd/.usd_complete.tmp",
        "scenes/a/usd/.usd_completeX",
        "scenes/a/usd/.USD_COMPLETE",
        "scenes/a/usd/xusd_complete",  # the dot is literal
        "scenes/a/usd_complete",
        "/scenes/a/usd/.usd_complete",
        "scenes/a/usd//.usd_complete",
        "scenes/a/USD/.usd_complete",
        "",
        "/",
        "scenes",
        "scenes/",
        "scenes/a",
    ],
)
def test_usd_marker_near_misses(tmap: TriggerMap, key: str) -> None:
    assert tmap.match_object(key, ALL_ON) == []
    assert tmap.explain(key, ALL_ON)["matches"] == []


def test_usd_marker_starts_episode_generation_and_arena_export(tmap: TriggerMap) -> None:
    assert tmap.match_object("scenes/kitchen_01/usd/.usd_complete", {}) == [
        ObjectMatch("arena-export-pipeline", USD, "kitchen_01"),
        ObjectMatch("episode-generation-pipeline", USD, "kitchen_01"),
    ]


def test_layout_starts_objects_and_scale(tmap: TriggerMap) -> None:
    assert names(tmap.match_object("scenes/s/layout/scene_layout.json", {})) == {"objects-pipeline", "scale-pipeline"}


def test_geniesim_submitted_never_triggers_arena(tmap: TriggerMap) -> None:
    assert tmap.match_object("scenes/s/geniesim/.geniesim_submitted", ALL_ON) == []


def test_orchestrator_outputs_and_child_requests_do_not_trigger(tmap: TriggerMap) -> None:
    """The reference relies on these paths being non-triggering to avoid recursion."""
    for key in (
        "scenes/s-s001/internal/scene_request.generated.json",
        "scenes/s/locks/source-orchestrator-12.lock",
        "scenes/s/.source_orchestrator_complete",
        "scenes/s/episodes/.episodes_complete",  # upsell is manual only
        "scenes/s/geniesim/job.json",  # scanned by the poller, not an event trigger
        "scenes/s/assets/.regen3d_failed",
        "automation/asset_embedding/processed/x.json",
        "automation/asset_embedding/failed/x.json",
        "automation/asset_replication/processed/x.json",
    ):
        assert tmap.match_object(key, ALL_ON) == [], key


@pytest.mark.parametrize("name", ["a.png", "a.PNG", "a.Jpg", "b.jpeg", "b.JPEG", "c.d.png", "-.jpg"])
def test_image_extension_case_insensitive(tmap: TriggerMap, name: str) -> None:
    assert names(tmap.match_object(f"scenes/s/images/{name}", {})) == {"image-to-scene-orchestrator"}


@pytest.mark.parametrize("name", ["a.gif", "a.png.tmp", "a.pngx", ".png", "a_png", "a.jp", "a.jpgg", "png"])
def test_image_non_images(tmap: TriggerMap, name: str) -> None:
    assert tmap.match_object(f"scenes/s/images/{name}", {}) == []


def test_queue_objects_have_no_scene_id(tmap: TriggerMap) -> None:
    key = "automation/asset_replication/queue/20240101T000000Z_scene_abcd1234.json"
    assert tmap.match_object(key, ALL_ON) == [
        ObjectMatch("asset-replication-pipeline", "automation/asset_replication/queue/*.json", None)
    ]
    # A queue file in a sub-folder, or without a name before ".json", is not a queue object.
    assert tmap.match_object("automation/asset_replication/queue/sub/x.json", ALL_ON) == []
    assert tmap.match_object("automation/asset_replication/queue/.json", ALL_ON) == []
    assert tmap.explain(key, ALL_ON)["scene_id"] is None


# --------------------------------------------------------------------------------------------
# Enable flags
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow", sorted(FLAG_ON))
def test_flag_turns_workflow_on(tmap: TriggerMap, workflow: str) -> None:
    row = tmap.get(workflow)
    assert row.is_enabled({}) is False
    assert row.is_enabled(FLAG_ON[workflow]) is True


@pytest.mark.parametrize("value", ["1", "yes", "on", "y", "false", "", " true", "true ", "tru"])
@pytest.mark.parametrize(
    "flag",
    [
        "ENABLE_DWM",
        "ENABLE_DREAM2FLOW",
        "ENABLE_ASSET_EMBEDDING",
        "ENABLE_ASSET_REPLICATION",
        "ENABLE_TEXT_AUTONOMY_DAILY",
        "ENABLE_SCENE_GENERATION_SCHEDULER",
    ],
)
def test_only_exact_true_counts(tmap: TriggerMap, flag: str, value: str) -> None:
    gated = [r for r in tmap.rows if flag in r.enabled_when]
    assert gated
    for row in gated:
        assert row.is_enabled({flag: value}) is False
        assert row.is_enabled({flag: "TRUE"}) is True  # lower-cased before comparing
        assert row.is_enabled({flag: "True"}) is True


def test_shared_experimental_flag_enables_both(tmap: TriggerMap) -> None:
    key = "scenes/s/assets/.regen3d_complete"
    assert names(tmap.match_object(key, {})) == {"usd-assembly-pipeline"}
    assert names(tmap.match_object(key, {"ENABLE_DWM": "true"})) == {
        "usd-assembly-pipeline",
        "dwm-preparation-pipeline",
    }
    assert names(tmap.match_object(key, {"ENABLE_DREAM2FLOW": "true"})) == {
        "usd-assembly-pipeline",
        "dream2flow-preparation-pipeline",
    }
    assert names(tmap.match_object(key, {"ENABLE_EXPERIMENTAL": "true"})) == {
        "usd-assembly-pipeline",
        "dream2flow-preparation-pipeline",
        "dwm-preparation-pipeline",
    }


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (None, "image-to-scene-orchestrator"),
        ("", "image-to-scene-orchestrator"),  # empty = unset, as the shell's ${VAR:-default}
        ("orchestrator", "image-to-scene-orchestrator"),
        ("Orchestrator", "image-to-scene-orchestrator"),
        ("legacy_chain", "image-to-scene-pipeline"),
        ("something-else", "image-to-scene-pipeline"),  # anything but orchestrator is the legacy chain
    ],
)
def test_image_path_mode_selects_exactly_one_image_workflow(tmap: TriggerMap, mode: str | None, expected: str) -> None:
    env = {} if mode is None else {"IMAGE_PATH_MODE": mode}
    assert tmap.match_object("scenes/s/images/photo.jpg", env) == [ObjectMatch(expected, IMAGE, "s")]


def test_text_autonomy_pause_flag(tmap: TriggerMap) -> None:
    row = tmap.get("text-autonomy-daily")
    assert row.is_enabled({"ENABLE_TEXT_AUTONOMY_DAILY": "true"})
    # Paused is installed-but-not-firing (bpflow schedules shows it and can resume it), not disabled.
    paused = {"ENABLE_TEXT_AUTONOMY_DAILY": "true", "TEXT_AUTONOMY_SCHEDULER_PAUSED": "true"}
    assert row.is_enabled(paused) and row.is_paused(paused)
    assert not row.is_paused({"ENABLE_TEXT_AUTONOMY_DAILY": "true", "TEXT_AUTONOMY_SCHEDULER_PAUSED": "1"})
    assert row.to_dict(paused)["paused"] is True


# --------------------------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------------------------


def test_explain_regen3d_marker(tmap: TriggerMap) -> None:
    out = tmap.explain("scenes/a/assets/.regen3d_complete", {})
    assert out["object"] == "scenes/a/assets/.regen3d_complete"
    assert out["scene_id"] == "a"
    by_wf = {m["workflow"]: m for m in out["matches"]}
    assert set(by_wf) == {"usd-assembly-pipeline", "dream2flow-preparation-pipeline", "dwm-preparation-pipeline"}
    usd = by_wf["usd-assembly-pipeline"]
    assert usd["started"] is True and usd["enabled"] is True and usd["reason"] is None
    assert usd["scene_id"] == "a" and usd["pattern"] == REGEN
    for wf in ("dream2flow-preparation-pipeline", "dwm-preparation-pipeline"):
        assert by_wf[wf]["enabled"] is False
        assert by_wf[wf]["started"] is False
        assert by_wf[wf]["reason"] == "disabled"


def test_explain_agrees_with_match_object(tmap: TriggerMap) -> None:
    for key in ("scenes/a/assets/.regen3d_complete", "scenes/a/usd/.usd_complete", "scenes/../usd/.usd_complete"):
        started = {m["workflow"] for m in tmap.explain(key, {})["matches"] if m["started"]}
        assert started == names(tmap.match_object(key, {}))


def test_explain_no_match(tmap: TriggerMap) -> None:
    assert tmap.explain("scenes/a/usd/scene.usda", {}) == {
        "object": "scenes/a/usd/scene.usda",
        "matches": [],
        "scene_id": None,
    }


# --------------------------------------------------------------------------------------------
# Scene ids
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["..", ".", ".hidden", "-lead", "_lead", "a b", "a\nb", "ä", "a" * 129, "a:b", "a*"])
def test_invalid_scene_id_rejected(tmap: TriggerMap, bad: str) -> None:
    key = f"scenes/{bad}/usd/.usd_complete"
    assert tmap.match_object(key, {}) == []
    out = tmap.explain(key, {})
    assert out["scene_id"] is None
    assert {m["workflow"] for m in out["matches"]} == {"episode-generation-pipeline", "arena-export-pipeline"}
    for m in out["matches"]:
        assert m["started"] is False and m["reason"] == "invalid_scene_id" and m["scene_id"] is None
    with pytest.raises(InvalidSceneId) as info:
        validate_scene_id(bad)
    assert info.value.field == "scene_id" and info.value.code == "invalid_scene_id"


def test_dotdot_scene_rejected_even_when_disabled_rows_match(tmap: TriggerMap) -> None:
    out = tmap.explain("scenes/../assets/.regen3d_complete", {})
    assert {m["reason"] for m in out["matches"]} == {"invalid_scene_id"}


@pytest.mark.parametrize("good", ["a", "A", "0", "scene_001", "kitchen-01.v2", "a..b", "a" * 128, "x-s001"])
def test_valid_scene_ids(tmap: TriggerMap, good: str) -> None:
    assert validate_scene_id(good) == good
    assert {m.scene_id for m in tmap.match_object(f"scenes/{good}/usd/.usd_complete", {})} == {good}


@pytest.mark.parametrize("bad", [None, 3, b"abc", ["a"]])
def test_validate_scene_id_rejects_non_strings(bad: object) -> None:
    with pytest.raises(InvalidSceneId):
        validate_scene_id(bad)


# --------------------------------------------------------------------------------------------
# Events and schedules
# --------------------------------------------------------------------------------------------


def test_match_event_type(tmap: TriggerMap) -> None:
    assert [t.workflow for t in tmap.match_event_type("blueprintpipeline.episodes.imported", {})] == [
        "training-pipeline"
    ]
    assert [t.workflow for t in tmap.match_event_type("manual.geniesim.job.completed", {})] == [
        "genie-sim-import-pipeline"
    ]
    assert tmap.match_event_type("blueprintpipeline.dataset.delivery.requested", {}) == []
    assert tmap.match_event_type("google.cloud.storage.object.v1.finalized", {}) == []


def test_schedules_default(tmap: TriggerMap) -> None:
    got = {t.workflow: (t.schedule, t.timezone) for t in tmap.schedules({})}
    assert got == {"genie-sim-import-poller": ("*/10 * * * *", "UTC"), "retention-cleanup": ("0 3 * * *", "Etc/UTC")}


def test_schedules_with_flags_and_overrides(tmap: TriggerMap) -> None:
    env = {
        "ENABLE_TEXT_AUTONOMY_DAILY": "true",
        "ENABLE_SCENE_GENERATION_SCHEDULER": "true",
        "TEXT_AUTONOMY_SCHEDULER_CRON": "30 6 * * 1-5",
        "TEXT_AUTONOMY_TIMEZONE": "Europe/Paris",
    }
    got = {t.workflow: (t.schedule, t.timezone) for t in tmap.schedules(env)}
    assert got["text-autonomy-daily"] == ("30 6 * * 1-5", "Europe/Paris")
    assert got["scene-generation-pipeline"] == ("0 8 * * *", "America/Los_Angeles")
    # The stored row keeps the file's defaults; only the resolved view changes.
    assert tmap.get("text-autonomy-daily").schedule == "0 9 * * *"
    assert tmap.get("text-autonomy-daily").to_dict(env)["timezone"] == "Europe/Paris"


def test_schedule_override_is_validated(tmap: TriggerMap) -> None:
    with pytest.raises(ConfigError):
        tmap.schedules({"ENABLE_TEXT_AUTONOMY_DAILY": "true", "TEXT_AUTONOMY_SCHEDULER_CRON": "every day"})
    with pytest.raises(ConfigError):
        tmap.schedules({"ENABLE_TEXT_AUTONOMY_DAILY": "true", "TEXT_AUTONOMY_TIMEZONE": "Mars/Olympus"})


# --------------------------------------------------------------------------------------------
# Extra trigger files
# --------------------------------------------------------------------------------------------

EXTRA_YAML = """
version: 1
triggers:
  - workflow: thumbnail-pipeline
    kind: object
    patterns: ["scenes/*/usd/scene.usda"]
    enabled: {env: ENABLE_THUMBNAILS, equals: "true", default: "true"}
    description: Renders a thumbnail.
  - workflow: nightly-report
    kind: schedule
    schedule: "15 1 * * *"
    timezone: Europe/Berlin
    description: Nightly report.
"""


def test_extra_file_loads(tmp_path: Path) -> None:
    f = tmp_path / "more.yaml"
    f.write_text(EXTRA_YAML)
    m = TriggerMap.load([f])
    assert len(m.rows) == 27 + len(BEYOND_SEED)
    assert m.match_object("scenes/s/usd/scene.usda", {}) == [
        ObjectMatch("thumbnail-pipeline", "scenes/*/usd/scene.usda", "s")
    ]
    assert m.match_object("scenes/s/usd/scene.usda", {"ENABLE_THUMBNAILS": "no"}) == []
    assert "nightly-report" in {t.workflow for t in m.schedules({})}
    assert m.get("thumbnail-pipeline").source == str(f)
    # The packaged rows still work alongside.
    assert len(m.match_object("scenes/s/usd/.usd_complete", {})) == 2


def test_extra_file_as_bare_list(tmp_path: Path) -> None:
    f = tmp_path / "list.yaml"
    f.write_text("- {workflow: ping, kind: event, event_type: my.ping}\n")
    assert [t.workflow for t in TriggerMap.load([str(f)]).match_event_type("my.ping", {})] == ["ping"]


def test_default_reads_env_list(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("- {workflow: wf-a, kind: manual}\n")
    b.write_text("- {workflow: wf-b, kind: manual}\n")
    TriggerMap.clear_cache()
    try:
        for sep in (",", os.pathsep):
            m = TriggerMap.default({"BPFLOW_TRIGGER_FILES": f"{a}{sep} {b}"})
            assert {"wf-a", "wf-b"} <= set(m.names())
            assert TriggerMap.default({"BPFLOW_TRIGGER_FILES": f"{a}{sep} {b}"}) is m  # cached
        assert len(TriggerMap.default({}).rows) == 25 + len(BEYOND_SEED)
    finally:
        TriggerMap.clear_cache()


def test_duplicate_of_packaged_workflow_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text("- {workflow: usd-assembly-pipeline, kind: manual}\n")
    with pytest.raises(ConfigError) as info:
        TriggerMap.load([f])
    assert str(f) in info.value.message and "usd-assembly-pipeline" in info.value.message
    assert info.value.details["workflow"] == "usd-assembly-pipeline"


def test_duplicate_between_extra_files_is_an_error(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("- {workflow: same-name, kind: manual}\n")
    b.write_text("- {workflow: same-name, kind: manual}\n")
    with pytest.raises(ConfigError) as info:
        TriggerMap.load([a, b])
    assert str(b) in info.value.message and "same-name" in info.value.message and str(a) in info.value.message


def test_duplicate_within_one_extra_file(tmp_path: Path) -> None:
    f = tmp_path / "twice.yaml"
    f.write_text("- {workflow: twice, kind: manual}\n- {workflow: twice, kind: manual}\n")
    with pytest.raises(ConfigError, match="twice"):
        TriggerMap.load([f])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{workflow: w, kind: object}", "at least one pattern"),
        ("{workflow: w, kind: object, patterns: ['/scenes/*/x']}", "must not start"),
        ("{workflow: w, kind: object, patterns: ['scenes/**/x']}", "not supported"),
        ("{workflow: w, kind: object, patterns: ['scenes/*/x.{png']}", "unclosed"),
        ("{workflow: w, kind: object, patterns: ['scenes/*/x.{png,}']}", "alternatives"),
        ("{workflow: w, kind: object, patterns: ['scenes//x']}", "empty path segment"),
        ("{workflow: w, kind: object, patterns: ['scenes/*/x'], schedule: '* * * * *'}", "must not set"),
        ("{workflow: w, kind: schedule, schedule: 'daily', timezone: UTC}", "cron"),
        ("{workflow: w, kind: schedule, schedule: '0 3 * * *', timezone: Nowhere/Land}", "time zone"),
        ("{workflow: w, kind: schedule, schedule: '0 3 * * *'}", "timezone"),
        ("{workflow: w, kind: event}", "event_type"),
        ("{workflow: w, kind: cron}", "kind"),
        ("{workflow: w, kind: manual, patern: x}", "unknown keys"),
        ("{workflow: W_bad, kind: manual}", "workflow name"),
        ("{workflow: w, kind: manual, enabled: {env: X}}", "equals"),
        ("{workflow: w, kind: manual, enabled: {env: X, equals: a, not_equals: b}}", "exactly one"),
        ("{workflow: w, kind: manual, enabled: {env: X, equals: a, defualt: b}}", "unknown enable-rule"),
        ("{workflow: w, kind: manual, enabled: {any: []}}", "non-empty list"),
        ("{workflow: w, kind: manual, enabled: 'yes'}", "mapping or a boolean"),
        ("{workflow: w, kind: manual, also_manual: 'yes'}", "also_manual"),
    ],
)
def test_bad_rows_are_config_errors(tmp_path: Path, row: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(f"- {row}\n")
    with pytest.raises(ConfigError, match=message) as info:
        TriggerMap.load([f])
    assert str(f) in info.value.message


def test_constant_enable_rule(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("- {workflow: off-wf, kind: event, event_type: e.x, enabled: false}\n")
    m = TriggerMap.load([f])
    assert m.match_event_type("e.x", {}) == []
    assert m.get("off-wf").to_dict({})["enabled"] is False


def test_missing_extra_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        TriggerMap.load([tmp_path / "missing.yaml"])


def test_hand_built_map_rejects_duplicates() -> None:
    rows = [Trigger("a", "manual"), Trigger("a", "manual")]
    with pytest.raises(ConfigError, match="duplicate"):
        TriggerMap(rows)


# --------------------------------------------------------------------------------------------
# Pattern compiler and speed
# --------------------------------------------------------------------------------------------


def test_compile_pattern_shape() -> None:
    rx = compile_pattern("scenes/*/images/*.{png,jpg}")
    m = rx.fullmatch("scenes/s1/images/a.JPG")
    assert m is not None and m.group("scene_id") == "s1"
    assert rx.fullmatch("scenes/s1/images/a.JPGx") is None
    assert compile_pattern("automation/q/*.json").groupindex == {}
    # Regex metacharacters in a pattern are literal.
    assert compile_pattern("a/b+c/(x)?.json").fullmatch("a/b+c/(x)?.json") is not None
    assert compile_pattern("a/b+c/(x)?.json").fullmatch("a/bbc/x.json") is None
