"""Tests of the shared building blocks (``bpflow.blocks``) and the policy files."""

from __future__ import annotations

import pytest

from bpflow.core.config import reset_settings_cache


def use_env(monkeypatch: pytest.MonkeyPatch, **values: str | None) -> None:
    """Set (or, with None, unset) env vars and drop the cached settings so blocks see them."""
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    reset_settings_cache()
