"""Fixtures for the Stage 1 text-generation tests: a scripted OpenAI-compatible server and an
environment with no real provider keys or service URLs (no test may reach the internet)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.textgen.openai_local_server import ChatServer, running

#: Every variable that could point a test at a real provider or service.
PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_MODEL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_MODEL",
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "TEXT_OPENROUTER_API_KEY",
    "TEXT_OPENROUTER_BASE_URL",
    "TEXT_OPENROUTER_MODEL_CHAIN",
    "TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK",
    "TEXT_OPENROUTER_HTTP_REFERER",
    "TEXT_OPENROUTER_APP_TITLE",
    "SAGE_SERVER_URL",
    "SCENESMITH_SERVER_URL",
    "TEXT_GEN_USE_LLM",
    "TEXT_BACKEND",
    "TEXT_BACKEND_DEFAULT",
    "TEXT_BACKEND_ALLOWLIST",
    "TEXT_GEN_QUALITY_TIER",
    "TEXT_PIPELINE_V2_ENABLED",
    "TEXT_GEN_MIN_OBJECT_COUNT",
    "TEXT_GEN_MAX_COLLISION_RATE_PCT",
    "TEXT_GEN_MIN_STABILITY_PCT",
    "TEXT_GEN_MIN_FAITHFULNESS_SCORE",
    "TEXT_SAGE_ACTION_DEMO_ENABLED",
    "TEXT_GEN_LLM_MAX_ATTEMPTS",
    "TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS",
    "REQUEST_OBJECT",
    "TEXTGEN_PREFIX",
    "TEXT_SEED",
)


@pytest.fixture(autouse=True)
def no_real_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def llm_server() -> Iterator[ChatServer]:
    with running() as server:
        yield server
