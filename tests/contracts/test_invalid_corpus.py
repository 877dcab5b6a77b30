"""Every request of the invalid corpus is refused with a structured error naming its field."""

from __future__ import annotations

import pytest

from bpflow.core.config import load_settings
from bpflow.domain.request import (
    CODE_INVALID_IMAGE_URI,
    CODE_INVALID_REQUEST,
    STAGE,
    RequestInvalid,
    parse_request,
    validate_request,
)
from tests.contracts.invalid_requests import CORPUS_SCENE_ID, INVALID_REQUESTS, invalid_requests

SETTINGS = load_settings({})


def test_corpus_is_large_and_names_are_unique() -> None:
    assert len(INVALID_REQUESTS) >= 70
    assert len({name for name, _, _ in INVALID_REQUESTS}) == len(INVALID_REQUESTS)
    assert all(isinstance(raw, bytes) for _, raw, _ in INVALID_REQUESTS)


@pytest.mark.parametrize(("name", "raw", "field"), INVALID_REQUESTS, ids=[n for n, _, _ in INVALID_REQUESTS])
def test_invalid_request_is_refused_naming_its_field(name: str, raw: bytes, field: str) -> None:
    with pytest.raises(RequestInvalid) as info:
        parse_request(raw, scene_id_from_path=CORPUS_SCENE_ID, settings=SETTINGS)
    exc = info.value
    assert exc.field == field, exc.message
    assert exc.stage == STAGE
    assert exc.code in (CODE_INVALID_REQUEST, CODE_INVALID_IMAGE_URI)
    assert field == "$" or field in exc.message
    assert len(exc.message) < 1000
    problems = validate_request(raw, scene_id_from_path=CORPUS_SCENE_ID, settings=SETTINGS)
    assert problems and problems[0].field == field
    assert exc.to_dict()["field"] == field


def test_corpus_can_target_any_scene() -> None:
    for name, raw, field in invalid_requests("another-scene"):
        with pytest.raises(RequestInvalid) as info:
            parse_request(raw, scene_id_from_path="another-scene", settings=SETTINGS)
        assert info.value.field == field, name
