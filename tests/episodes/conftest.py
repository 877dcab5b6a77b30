"""These tests are about Stage 4's robot episodes: their runtimes stop the pipeline after Stage 4."""

import pytest

from tests.conftest import THROUGH_STAGE4


@pytest.fixture
def runtime_defaults() -> dict[str, str]:
    return dict(THROUGH_STAGE4)
