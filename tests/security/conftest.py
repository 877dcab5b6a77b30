"""The API fixtures of tests/api (a runtime on the test chain, the app on a TestClient)."""

from tests.api.conftest import api, make_api, secured_api  # noqa: F401 - fixtures, re-exported

__all__ = ["api", "make_api", "secured_api"]
