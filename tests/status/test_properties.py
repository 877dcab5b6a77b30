"""Property tests for the operator views' parsers and guards."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from bpflow.api.rest import check_run_id
from bpflow.api.security import path_scene_error
from bpflow.core.errors import BpflowError, ConfigError, InvalidSceneId
from bpflow.core.scrub import Scrubber
from bpflow.core.triggers import validate_scene_id
from bpflow.ops.dag import parse_dag
from bpflow.ops.runs import RUN_STATES, parse_status

names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
keys = st.from_regex(r"[a-z_.]{1,8}(/[a-z_.]{1,8}){0,2}", fullmatch=True)


@st.composite
def stage_lists(draw: Any) -> list[dict[str, Any]]:
    stage_names = draw(st.lists(names, min_size=1, max_size=8, unique=True))
    out = []
    for i, name in enumerate(stage_names):
        ups = draw(st.lists(st.sampled_from(stage_names), max_size=3, unique=True)) if i else []
        out.append(
            {"name": name, "workflow": draw(names), "complete": draw(st.lists(keys, max_size=3)), "upstream": ups}
        )
    return out


@settings(max_examples=150, deadline=None)
@given(stage_lists())
def test_a_dag_file_parses_or_fails_with_a_config_error(stages: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump({"name": "t", "stages": stages})
    try:
        dag = parse_dag(text, "t.yaml")
    except ConfigError as exc:
        assert exc.code == "invalid_config" and exc.message.startswith("t.yaml")
        return
    layers = dag.layers()
    seen: set[str] = set()
    for stage in dag.stages:
        assert set(stage.upstream) <= seen  # listed after its upstream, so acyclic
        assert all(layers[u] < layers[stage.name] for u in stage.upstream)
        seen.add(stage.name)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_dag_or_a_config_error(text: str) -> None:
    try:
        parse_dag(text, "x.yaml")
    except ConfigError:
        pass


def test_dag_file_errors_name_the_problem() -> None:
    for doc, needle in (
        ({"stages": [{"name": "a", "workflow": "w", "upstream": ["b"]}]}, "unknown stage"),
        (
            {"stages": [{"name": "a", "workflow": "w", "upstream": ["b"]}, {"name": "b", "workflow": "w"}]},
            "before its upstream",
        ),
        ({"stages": [{"name": "a", "workflow": "w", "colour": "red"}]}, "unknown keys"),
        ({"stages": [{"name": "a", "workflow": "w", "complete": ["../x"]}]}, "scene-relative"),
        ({"stages": [{"name": "a", "workflow": "w"}, {"name": "a", "workflow": "w"}]}, "defined twice"),
        ({"stages": []}, "non-empty"),
    ):
        with pytest.raises(ConfigError, match=needle):
            parse_dag(yaml.safe_dump(doc), "d.yaml")


secrets_ = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=4, max_size=30)


@settings(max_examples=200, deadline=None)
@given(secret=secrets_, before=st.text(max_size=30), after=st.text(max_size=30))
def test_a_secret_is_scrubbed_in_every_spelling_a_page_or_answer_uses(secret: str, before: str, after: str) -> None:
    scrub = Scrubber([secret])
    doc = {"note": before + secret + after}
    for shown in (
        before + secret + after,
        json.dumps(doc),
        json.dumps(doc, ensure_ascii=False),
        html.escape(json.dumps(doc, indent=2)),
        str(escape(json.dumps(doc, ensure_ascii=False))),
        str(escape(before + secret + after)),
        quote(before + secret + after),
    ):
        assert secret not in scrub.text(shown)
        assert secret.encode() not in scrub.bytes(shown.encode())
    cleaned = scrub.obj({secret: [doc, (secret,)]})
    assert not any(secret in text for text in _strings(cleaned))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_short_values_are_not_treated_as_secrets() -> None:
    assert Scrubber(["abc", ""]).text("abcdef") == "abcdef"
    assert not Scrubber([])


def _valid(segment: str) -> bool:
    try:
        validate_scene_id(segment)
    except InvalidSceneId:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_the_path_guard_accepts_exactly_the_valid_scene_ids(raw: str) -> None:
    segment = quote(raw, safe="")
    for prefix in ("/api/scenes/", "/scenes/"):
        err = path_scene_error(prefix + segment + "/markers/x")
        assert (err is None) == (_valid(raw) or raw == ""), raw
    assert path_scene_error("/api/runs/" + segment) is None


@given(st.text(max_size=30))
def test_status_filter_is_an_operator_state_an_engine_status_or_a_usage_error(value: str) -> None:
    try:
        state, engine = parse_status(value)
    except BpflowError as exc:
        assert exc.field == "status"
        return
    assert state is None or state in RUN_STATES
    assert engine is None or engine == engine.upper()
    assert not (state and engine)


@given(st.lists(st.sampled_from(["a", "..", "scenes", "x@1", ":", "b.c"]), max_size=6))
def test_run_ids_with_a_dot_dot_segment_are_refused(parts: list[str]) -> None:
    run_id = "/".join(parts)
    try:
        check_run_id(run_id)
    except BpflowError:
        assert not run_id or ".." in run_id.replace(":", "/").replace("@", "/").split("/")
        return
    assert ".." not in run_id.split("/")
