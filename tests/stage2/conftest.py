"""These tests are about Stages 1-3: their runtimes stop the pipeline after Stage 3."""

import pytest

from tests.conftest import THROUGH_STAGE3


@pytest.fixture
def runtime_defaults() -> dict[str, str]:
    return dict(THROUGH_STAGE3)
