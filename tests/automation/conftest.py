"""Fixtures shared with the source and API tests: the Stage-1-only build and the HTTP app."""

from tests.api.conftest import make_api  # noqa: F401 - re-exported fixture
from tests.source.conftest import stage1_only  # noqa: F401 - re-exported fixture
