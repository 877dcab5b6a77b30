"""Settings: seed names and defaults, env overrides, boolean rules, errors, redaction, `bpflow config`."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from bpflow.cli.config_cmd import config_command
from bpflow.core.config import (
    GROUPS,
    MASK,
    Settings,
    env_fields,
    get_settings,
    load_settings,
    parse_bool,
    redact_text,
    redact_url,
    reset_settings_cache,
    url_credentials,
)
from bpflow.core.errors import ConfigError
from tests.support.services import service_missing

SENTINEL = "sk-SENTINEL-123"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A minimal env whose BPFLOW_HOME is a temp dir (nothing leaks from the real environment)."""
    return {"BPFLOW_HOME": str(tmp_path / "home")}


# ------------------------------------------------------------------------------------- defaults

# (env var, expected default) — the seed's "Key environment variables" list and the reference
# tables it points to.
SEED_DEFAULTS: list[tuple[str, Any]] = [
    ("PRIMARY_WORKFLOW_REGION", "us-central1"),
    ("SECONDARY_WORKFLOW_REGION", "us-east1"),
    ("WORKFLOW_REGION", "us-central1"),
    ("PRIMARY_BUCKET", None),
    ("DEFAULT_SOURCE_MODE", "text"),
    ("TEXT_BACKEND_DEFAULT", "sage"),
    ("TEXT_BACKEND_ALLOWLIST", ["internal", "scenesmith", "sage", "hybrid_serial"]),
    ("TEXT_GEN_RUNTIME", "local"),
    ("TEXT_SCENE_GEN_JOB_NAME", "text-scene-gen-job"),
    ("TEXT_SCENE_ADAPTER_JOB_NAME", "text-scene-adapter-job"),
    ("TEXT_GEN_STANDARD_PROFILE", "standard_v1"),
    ("TEXT_GEN_PREMIUM_PROFILE", "premium_v1"),
    ("TEXT_GEN_USE_LLM", True),
    ("TEXT_GEN_LLM_MAX_ATTEMPTS", 3),
    ("TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS", 2),
    ("TEXT_OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"),
    ("TEXT_OPENROUTER_MODEL_CHAIN", ["qwen/qwen3.5-397b-a17b", "moonshotai/kimi-k2.5"]),
    ("TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK", True),
    ("TEXT_ASSET_RETRIEVAL_ENABLED", True),
    ("TEXT_ASSET_LIBRARY_PREFIXES", ["scenes"]),
    ("TEXT_ASSET_LIBRARY_MAX_FILES", 2500),
    ("TEXT_ASSET_LIBRARY_MIN_SCORE", 0.25),
    ("TEXT_ASSET_RETRIEVAL_MODE", "ann_shadow"),
    ("TEXT_ASSET_ANN_ENABLED", True),
    ("TEXT_ASSET_ANN_TOP_K", 40),
    ("TEXT_ASSET_ANN_MIN_SCORE", 0.28),
    ("TEXT_ASSET_ANN_MAX_RERANK", 20),
    ("TEXT_ASSET_ANN_NAMESPACE", "assets-v1"),
    ("TEXT_ASSET_LEXICAL_FALLBACK_ENABLED", True),
    ("TEXT_ASSET_ROLLOUT_STATE_PREFIX", "automation/asset_retrieval_rollout"),
    ("TEXT_ASSET_ROLLOUT_MIN_DECISIONS", 500),
    ("TEXT_ASSET_ROLLOUT_MIN_HIT_RATE", 0.95),
    ("TEXT_ASSET_ROLLOUT_MAX_ERROR_RATE", 0.01),
    ("TEXT_ASSET_ROLLOUT_MAX_P95_MS", 400),
    ("TEXT_ASSET_CATALOG_ENABLED", True),
    ("TEXT_ASSET_EMBEDDING_QUEUE_PREFIX", "automation/asset_embedding/queue"),
    ("TEXT_ASSET_EMBEDDING_PROCESSED_PREFIX", "automation/asset_embedding/processed"),
    ("TEXT_ASSET_EMBEDDING_FAILED_PREFIX", "automation/asset_embedding/failed"),
    ("TEXT_ASSET_EMBEDDING_MODEL", "text-embedding-3-small"),
    ("TEXT_ASSET_REPLICATION_ENABLED", True),
    ("TEXT_ASSET_REPLICATION_QUEUE_PREFIX", "automation/asset_replication/queue"),
    ("TEXT_ASSET_REPLICATION_TARGET", "backblaze_b2"),
    ("TEXT_ASSET_REPLICATION_TARGET_PREFIX", "assets"),
    ("TEXT_ASSET_GENERATION_ENABLED", True),
    ("TEXT_ASSET_GENERATION_PROVIDER", "sam3d"),
    ("TEXT_ASSET_GENERATION_PROVIDER_CHAIN", ["sam3d", "hunyuan3d"]),
    ("TEXT_ASSET_GENERATED_CACHE_ENABLED", True),
    ("TEXT_ASSET_GENERATED_CACHE_PREFIX", "asset-library/generated-text"),
    ("TEXT_SAM3D_API_HOST", None),
    ("TEXT_SAM3D_TEXT_ENDPOINTS", ["/openapi/v1/text-to-3d", "/v1/text-to-3d"]),
    ("TEXT_SAM3D_TIMEOUT_SECONDS", 1800),
    ("TEXT_SAM3D_POLL_SECONDS", 10),
    ("TEXT_HUNYUAN_TEXT_ENDPOINTS", ["/openapi/v1/text-to-3d", "/v1/text-to-3d"]),
    ("TEXT_HUNYUAN_TIMEOUT_SECONDS", 1800),
    ("TEXT_HUNYUAN_POLL_SECONDS", 10),
    ("TEXT_GEN_MAX_SEEDS", 16),
    ("TEXT_GEN_ENABLE_IMAGE_FALLBACK", True),
    ("ARENA_EXPORT_REQUIRED", True),
    ("IMAGE_PATH_MODE", "orchestrator"),
    ("IMAGE_ORCHESTRATOR_WORKFLOW_NAME", "image-to-scene-orchestrator"),
    ("IMAGE_LEGACY_WORKFLOW_NAME", "image-to-scene-pipeline"),
    ("IMAGE_LEGACY_CHAIN_WAIT_SECONDS", 7200),
    ("TEXT_GEN_VM_NAME", "isaac-sim-ubuntu"),
    ("TEXT_GEN_VM_ZONE", "us-east1-c"),
    ("TEXT_GEN_VM_REPO_DIR", "~/BlueprintPipeline"),
    ("TEXT_GEN_VM_TIMEOUT_SECONDS", 2400),
    ("RUNPOD_API_KEY", None),
    ("RUNPOD_GPU_TYPE", "NVIDIA L40S"),
    ("RUNPOD_REPO_DIR", "/workspace/BlueprintPipeline"),
    ("RUNPOD_SCENESMITH_REPO_DIR", "/workspace/scenesmith"),
    ("RUNPOD_BOOTSTRAP_COMMAND", None),
    ("RUNPOD_TERMINATE_ON_EXIT", True),
    ("SCENESMITH_RUNTIME_MODE", "cloudrun"),
    ("SCENESMITH_SERVER_URL", None),
    ("SCENESMITH_TIMEOUT_SECONDS", 1800),
    ("SAGE_RUNTIME_MODE", "cloudrun"),
    ("SAGE_SERVER_URL", None),
    ("SAGE_TIMEOUT_SECONDS", 900),
    ("TEXT_SAGE_ACTION_DEMO_ENABLED", False),
    ("VECTOR_STORE_PROVIDER", "vertex"),
    ("VECTOR_STORE_LOCATION", "us-central1"),
    ("VECTOR_STORE_NAMESPACE", "assets-v1"),
    ("VECTOR_STORE_DIMENSION", 1536),
    ("VERTEX_INDEX_ENDPOINT", None),
    ("VERTEX_DEPLOYED_INDEX_ID", None),
    ("B2_REGION", "us-west-000"),
    ("TEXT_AUTONOMY_STATE_PREFIX", "automation/text_daily"),
    ("TEXT_AUTONOMY_TIMEZONE", "America/New_York"),
    ("TEXT_AUTONOMY_EMITTER_JOB_NAME", "text-request-emitter-job"),
    ("TEXT_AUTONOMY_EMITTER_TIMEOUT_SECONDS", 900),
    ("TEXT_AUTONOMY_PROVIDER_POLICY", "openrouter_qwen_primary"),
    ("TEXT_AUTONOMY_QUALITY_TIER", "premium"),
    ("TEXT_AUTONOMY_ALLOW_IMAGE_FALLBACK", False),
    ("TEXT_AUTONOMY_SEED_COUNT", 1),
    ("TEXT_AUTONOMY_SOURCE_WAIT_TIMEOUT_SECONDS", 21600),
    ("TEXT_AUTONOMY_SOURCE_WAIT_POLL_SECONDS", 30),
    ("TEXT_AUTONOMY_SCHEDULER_CRON", "0 9 * * *"),
    ("TEXT_DAILY_QUOTA", 1),
    ("TEXT_DAILY_PAUSE_AFTER_CONSEC_FAILS", 3),
    ("ENABLE_VLM_QUALITY_AUDIT", True),
    ("FIREBASE_STORAGE_BUCKET", None),
    ("GENIESIM_CIRCUIT_BREAKER_THRESHOLD", 3),
    ("GENIESIM_CIRCUIT_BREAKER_RECOVERY_SECONDS", 600),
    ("ALLOW_IDEMPOTENT_RETRY", None),
    ("CANARY_ENABLED", False),
    ("CANARY_PERCENT", 0),
    ("CANARY_TAGS", []),
    ("CANARY_SCENE_IDS", []),
    ("CANARY_RELEASE_CHANNEL", "stable"),
    ("ENABLE_DREAM2FLOW", False),
    ("ENABLE_DWM", False),
    ("ENABLE_TEXT_AUTONOMY_DAILY", False),
    ("ENABLE_ASSET_EMBEDDING", False),
    ("ENABLE_ASSET_REPLICATION", False),
    ("PIPELINE_RETENTION_DAYS", 30),
    ("PIPELINE_MARKER_RETENTION_DAYS", 30),
    ("PIPELINE_RETENTION_DRY_RUN", False),
    ("PIPELINE_INPUT_RETENTION_DAYS", 90),
    ("PIPELINE_INTERMEDIATE_RETENTION_DAYS", 30),
    ("PIPELINE_OUTPUT_RETENTION_DAYS", 365),
    ("PIPELINE_LOG_RETENTION_DAYS", 180),
    ("PIPELINE_RETRY_MAX", None),
    ("OPENAI_API_KEY", None),
    ("GOOGLE_API_KEY", None),
    ("GEMINI_API_KEY", None),
    ("HF_TOKEN", None),
    ("GITHUB_TOKEN", None),
    ("TEXT_OPENROUTER_API_KEY", None),
    ("OPENROUTER_API_KEY", None),
    # ours
    ("BPFLOW_HTTP_HOST", "127.0.0.1"),
    ("BPFLOW_HTTP_PORT", 8080),
    ("BPFLOW_API_TOKEN", None),
    ("BPFLOW_RUNNER", "zygote"),
    ("BPFLOW_WORKER_CONCURRENCY", 8),
    ("BPFLOW_QUEUE_POLL_SECONDS", 0.25),
    ("BPFLOW_ORCHESTRATOR_QUEUE_POLL_SECONDS", 0.5),
    ("BPFLOW_SCAN_INTERVAL_SECONDS", 30),
    ("BPFLOW_SCAN_LOOKBACK_SECONDS", 86400),
    ("BPFLOW_WATCH", True),
    ("BPFLOW_WORKFLOW_MODULES", ""),
    ("BPFLOW_TRIGGER_FILES", ""),
    ("BPFLOW_EXECUTOR_ID", None),
    ("BPFLOW_APP_VERSION", None),
    ("BPFLOW_POLICY_DIR", None),
    ("BPFLOW_LOG_LEVEL", "INFO"),
]


@pytest.mark.parametrize(("name", "expected"), SEED_DEFAULTS, ids=[n for n, _ in SEED_DEFAULTS])
def test_defaults_match_the_seed(home: dict[str, str], name: str, expected: Any) -> None:
    settings = load_settings(home)
    assert settings.redacted()[name] == expected
    if name != "BPFLOW_HOME":
        assert settings.sources()[name] == "default"


def test_every_seed_variable_is_a_setting() -> None:
    """Every variable of the seed's "Key environment variables" section has a field."""
    candidates = [
        Path(__file__).resolve().parents[2] / "shared",
        Path("/work/shared"),
    ]  # shared/ sits beside the checkout
    seeds = [c / "seeds" / "000_20305a210cb2ecd4.txt" for c in candidates]
    seed = next((s for s in seeds if s.exists()), seeds[0])
    if not seed.exists():  # CI lays shared/ beside the clone: missing there is a failure
        message = f"the seed document is not beside this checkout ({seed})"
        service_missing("the seed document", message)
    section = seed.read_text().split("## Key environment variables", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("- `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(": ", 1)[0]))
    assert len(names) > 90
    assert names - {f.env for f in env_fields()} == set()


def test_field_table_is_consistent() -> None:
    fields = env_fields()
    envs = [f.env for f in fields]
    assert len(envs) == len(set(envs))
    for f in fields:
        # The attribute is the env name lower-cased, so code and env read the same.
        assert f.attr == f.env.lower(), f
        assert f.group in GROUPS
        assert (f.group == "secrets") == f.secret, f
        assert f.description


def test_env_names_are_case_sensitive_and_unknown_env_is_ignored(home: dict[str, str]) -> None:
    settings = load_settings({**home, "text_gen_max_seeds": "3", "SOMETHING_ELSE": "x"})
    assert settings.text_gen_max_seeds == 16
    assert settings.sources()["TEXT_GEN_MAX_SEEDS"] == "default"


# ------------------------------------------------------------------------------------- overrides


def test_env_overrides(home: dict[str, str]) -> None:
    env = {
        **home,
        "TEXT_GEN_MAX_SEEDS": "4",
        "PRIMARY_WORKFLOW_REGION": "europe-west1",
        "TEXT_BACKEND_ALLOWLIST": " SAGE , internal,,sage",
        "DEFAULT_SOURCE_MODE": "AUTO",
        "TEXT_OPENROUTER_MODEL_CHAIN": '["a/b", "c/d", "a/b"]',
        "CANARY_TAGS": " kitchen, ,lab ",
        "CANARY_PERCENT": "5",
        "TEXT_AUTONOMY_STATE_PREFIX": "/custom/state/",
        "BPFLOW_HTTP_PORT": " 9090 ",
        "BPFLOW_LOG_LEVEL": "warn",
        "TEXT_ASSET_GENERATION_PROVIDER": "hunyuan3d",
        "WORKFLOW_REGION": "asia-east1",
        "PIPELINE_RETENTION_DAYS": "7",
        "BPFLOW_WORKFLOW_MODULES": "my.flows, other.flows ,",
    }
    s = load_settings(env)
    assert s.text_gen_max_seeds == 4
    assert s.primary_workflow_region == "europe-west1"
    assert s.text_backend_allowlist == ["sage", "internal"]
    assert s.default_source_mode == "auto"
    assert s.text_openrouter_model_chain == ["a/b", "c/d"]
    assert s.canary_tags == ["kitchen", "lab"]
    assert s.canary_percent == 5
    assert s.text_autonomy_state_prefix == "custom/state"
    assert s.bpflow_http_port == 9090
    assert s.bpflow_log_level == "WARNING"
    # Derived defaults follow the values they derive from.
    assert s.text_asset_generation_provider_chain == ["hunyuan3d", "sam3d"]
    assert s.vector_store_location == "asia-east1"
    assert s.pipeline_intermediate_retention_days == 7
    assert s.retention_days == {"inputs": 90, "intermediate": 7, "outputs": 365, "logs": 180, "markers": 30}
    assert s.workflow_modules == ["my.flows", "other.flows"]
    src = s.sources()
    assert src["TEXT_GEN_MAX_SEEDS"] == "env"
    assert src["VECTOR_STORE_LOCATION"] == "default"
    assert src["PIPELINE_INTERMEDIATE_RETENTION_DAYS"] == "default"


def test_blank_values_mean_unset(home: dict[str, str]) -> None:
    s = load_settings({**home, "TEXT_GEN_MAX_SEEDS": "", "TEXT_BACKEND_DEFAULT": "   ", "OPENAI_API_KEY": ""})
    assert s.text_gen_max_seeds == 16
    assert s.text_backend_default == "sage"
    assert s.openai_api_key is None
    assert s.sources()["TEXT_GEN_MAX_SEEDS"] == "default"


def test_empty_model_chain_falls_back_to_the_default(home: dict[str, str]) -> None:
    s = load_settings({**home, "TEXT_OPENROUTER_MODEL_CHAIN": "[]"})
    assert s.text_openrouter_model_chain == ["qwen/qwen3.5-397b-a17b", "moonshotai/kimi-k2.5"]


def test_fallback_env_names(home: dict[str, str]) -> None:
    s = load_settings({**home, "OPENROUTER_API_KEY": "k1", "OPENROUTER_BASE_URL": "http://llm.local/v1"})
    assert s.effective_openrouter_api_key is not None
    assert s.effective_openrouter_api_key.get_secret_value() == "k1"
    assert s.text_openrouter_base_url == "http://llm.local/v1"
    s = load_settings({**home, "OPENROUTER_API_KEY": "k1", "TEXT_OPENROUTER_API_KEY": "k2"})
    assert s.effective_openrouter_api_key is not None
    assert s.effective_openrouter_api_key.get_secret_value() == "k2"


def test_explicit_values_beat_env(home: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXT_GEN_MAX_SEEDS", "7")
    monkeypatch.setenv("BPFLOW_HOME", home["BPFLOW_HOME"])
    assert Settings().text_gen_max_seeds == 7
    assert Settings(TEXT_GEN_MAX_SEEDS=3).text_gen_max_seeds == 3
    assert Settings(text_gen_max_seeds=2).text_gen_max_seeds == 2


def test_settings_are_frozen(home: dict[str, str]) -> None:
    s = load_settings(home)
    with pytest.raises(ValidationError):
        s.text_gen_max_seeds = 3  # type: ignore[misc]


# ------------------------------------------------------------------------------------- BPFLOW_HOME


def test_home_derivations(tmp_path: Path) -> None:
    s = load_settings({"BPFLOW_HOME": str(tmp_path / "h")})
    home = (tmp_path / "h").resolve()
    assert s.home == home and s.home.is_absolute()
    assert s.bucket_url == f"file://{home}/bucket"
    assert s.database_url == f"sqlite:///{home}/bpflow.sqlite"
    assert s.is_sqlite
    assert s.sqlite_path == home / "bpflow.sqlite"


def test_relative_home_is_resolved_against_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.home == (tmp_path / "bpflow-data").resolve()
    assert s.bucket_url == f"file://{(tmp_path / 'bpflow-data').resolve()}/bucket"


def test_explicit_urls(tmp_path: Path) -> None:
    s = load_settings(
        {
            "BPFLOW_HOME": str(tmp_path),
            "BPFLOW_BUCKET_URL": "s3://my-bucket",
            "BPFLOW_DATABASE_URL": "postgresql://bp:secret@db:5432/bpflow",
        }
    )
    assert s.bucket_url == "s3://my-bucket"
    assert s.database_url == "postgresql://bp:secret@db:5432/bpflow"
    assert not s.is_sqlite and s.sqlite_path is None
    # A bare bucket path is a local directory.
    s = load_settings({"BPFLOW_HOME": str(tmp_path), "BPFLOW_BUCKET_URL": str(tmp_path / "b")})
    assert s.bucket_url == f"file://{(tmp_path / 'b').resolve()}"
    s = load_settings({"BPFLOW_HOME": str(tmp_path), "BPFLOW_DATABASE_URL": "sqlite:///:memory:"})
    assert s.is_sqlite and s.sqlite_path is None


# ------------------------------------------------------------------------------------- invalid values


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("TEXT_GEN_MAX_SEEDS", "abc", "integer"),
        ("TEXT_GEN_MAX_SEEDS", "0", "greater than or equal to 1"),
        ("BPFLOW_HTTP_PORT", "70000", "less than or equal to 65535"),
        ("BPFLOW_HTTP_PORT", "http", "integer"),
        ("BPFLOW_WATCH", "maybe", "not a boolean"),
        ("TEXT_GEN_USE_LLM", "ture", "not a boolean"),
        ("DEFAULT_SOURCE_MODE", "video", "'text', 'image' or 'auto'"),
        ("TEXT_GEN_RUNTIME", "k8s", "'local', 'vm', 'cloudrun' or 'runpod'"),
        ("IMAGE_PATH_MODE", "chain", "'orchestrator' or 'legacy_chain'"),
        ("TEXT_BACKEND_DEFAULT", "gpt", "'sage'"),
        ("TEXT_BACKEND_ALLOWLIST", "sage,scenesmth", "'internal'"),
        ("TEXT_ASSET_RETRIEVAL_MODE", "ann", "'ann_shadow'"),
        ("TEXT_ASSET_ANN_MIN_SCORE", "high", "number"),
        ("TEXT_ASSET_ROLLOUT_MIN_HIT_RATE", "1.5", "less than or equal to 1"),
        ("TEXT_DAILY_QUOTA", "101", "less than or equal to 100"),
        ("CANARY_PERCENT", "-1", "greater than or equal to 0"),
        ("TEXT_AUTONOMY_TIMEZONE", "Mars/Olympus", "time zone"),
        ("TEXT_AUTONOMY_SCHEDULER_CRON", "every day", "cron"),
        ("TEXT_OPENROUTER_MODEL_CHAIN", "[broken", "JSON"),
        ("TEXT_AUTONOMY_STATE_PREFIX", "///", "must not be empty"),
        ("BPFLOW_DATABASE_URL", "mysql://db/x", "sqlite:// or postgresql://"),
        ("BPFLOW_LOG_LEVEL", "LOUD", "'INFO'"),
        ("BPFLOW_RUNNER", "my runner", "pattern"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_variable(
    home: dict[str, str], name: str, value: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**home, name: value})
    err = info.value
    assert err.code == "invalid_config"
    assert err.field == name
    assert name in str(err)
    assert reason in str(err)
    assert err.__cause__ is None and err.__suppress_context__


def test_all_errors_are_reported_at_once(home: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**home, "TEXT_GEN_MAX_SEEDS": "x", "BPFLOW_HTTP_PORT": "0"})
    names = [e["variable"] for e in info.value.details["errors"]]
    assert set(names) == {"TEXT_GEN_MAX_SEEDS", "BPFLOW_HTTP_PORT"}


def test_errors_never_show_secret_values(home: dict[str, str]) -> None:
    # A secret that fails validation (impossible for SecretStr from env, so force it via a
    # wrong-typed explicit value) and a URL with a password in a failing field.
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                **home,
                "BPFLOW_DATABASE_URL": f"mysql://u:{SENTINEL}@h/db",
                "OPENAI_API_KEY": SENTINEL,
                "TEXT_GEN_MAX_SEEDS": "x",
            }
        )
    text = str(info.value) + json.dumps(info.value.to_dict())
    assert SENTINEL not in text
    with pytest.raises(ConfigError) as info:
        Settings(OPENAI_API_KEY=12345, BPFLOW_HOME=home["BPFLOW_HOME"])
    assert "12345" not in str(info.value)
    assert "OPENAI_API_KEY" in str(info.value)


def test_direct_construction_also_raises_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXT_GEN_MAX_SEEDS", "abc")
    with pytest.raises(ConfigError):
        Settings()
    reset_settings_cache()
    try:
        with pytest.raises(ConfigError):
            get_settings()
    finally:
        reset_settings_cache()


# ------------------------------------------------------------------------------------- booleans


@pytest.mark.parametrize("value", ["true", "TRUE", " True "])
@pytest.mark.parametrize("strict", [True, False])
def test_parse_bool_true(value: str, strict: bool) -> None:
    assert parse_bool(value, False, strict=strict) is True


@pytest.mark.parametrize("value", ["1", "yes", "y", "on", "YES", "On"])
def test_truthy_tokens_only_count_when_not_strict(value: str) -> None:
    assert parse_bool(value, False) is True
    assert parse_bool(value, True, strict=True) is False


@pytest.mark.parametrize("value", ["0", "false", "no", "n", "off", "FALSE"])
def test_falsy_tokens(value: str) -> None:
    assert parse_bool(value, True) is False
    assert parse_bool(value, True, strict=True) is False


def test_parse_bool_defaults_and_garbage() -> None:
    assert parse_bool(None, True) is True
    assert parse_bool("", True) is True
    assert parse_bool("   ", False, strict=True) is False
    assert parse_bool(True, False, strict=True) is True
    assert parse_bool("banana", True, strict=True) is False
    with pytest.raises(ValueError):
        parse_bool("banana", True)


# (variable, rule): true-only variables follow the reference's "lower-cased equals true" rule.
BOOL_RULES = {
    "TEXT_GEN_ENABLE_IMAGE_FALLBACK": "true-only",
    "ARENA_EXPORT_REQUIRED": "true-only",
    "TEXT_AUTONOMY_ALLOW_IMAGE_FALLBACK": "true-only",
    "ENABLE_DREAM2FLOW": "true-only",
    "ENABLE_DWM": "true-only",
    "ENABLE_TEXT_AUTONOMY_DAILY": "true-only",
    "ENABLE_ASSET_EMBEDDING": "true-only",
    "ENABLE_ASSET_REPLICATION": "true-only",
    "TEXT_GEN_USE_LLM": "truthy",
    "ENABLE_VLM_QUALITY_AUDIT": "truthy",
    "CANARY_ENABLED": "truthy",
    "BPFLOW_WATCH": "truthy",
    "PIPELINE_RETENTION_DRY_RUN": "truthy",
    "TEXT_ASSET_ANN_ENABLED": "truthy",
}


def test_bool_rules_per_field() -> None:
    rules = {f.env: f.bool_rule for f in env_fields()}
    for name, rule in BOOL_RULES.items():
        assert rules[name] == rule, name


@pytest.mark.parametrize("name", [n for n, r in BOOL_RULES.items() if r == "true-only"])
def test_true_only_flags(home: dict[str, str], name: str) -> None:
    attr = name.lower()
    assert getattr(load_settings({**home, name: "TRUE"}), attr) is True
    for value in ("1", "yes", "on", "false", "nope"):
        s = load_settings({**home, name: value})
        assert getattr(s, attr) is False, value
    # A truthy-looking value that the rule reads as false gets a note.
    assert any(name in n for n in load_settings({**home, name: "1"}).notes)


@pytest.mark.parametrize("name", [n for n, r in BOOL_RULES.items() if r == "truthy"])
def test_truthy_flags(home: dict[str, str], name: str) -> None:
    attr = name.lower()
    for value in ("1", "true", "YES", "y", "on"):
        assert getattr(load_settings({**home, name: value}), attr) is True, value
    for value in ("0", "false", "no", "n", "OFF"):
        assert getattr(load_settings({**home, name: value}), attr) is False, value
    with pytest.raises(ConfigError):
        load_settings({**home, name: "sometimes"})


def test_allow_idempotent_retry_has_two_readings(home: dict[str, str]) -> None:
    s = load_settings(home)
    assert not s.allow_idempotent_retry_any and not s.allow_idempotent_retry_true
    s = load_settings({**home, "ALLOW_IDEMPOTENT_RETRY": "1"})
    assert s.allow_idempotent_retry_any and not s.allow_idempotent_retry_true
    s = load_settings({**home, "ALLOW_IDEMPOTENT_RETRY": "True"})
    assert s.allow_idempotent_retry_any and s.allow_idempotent_retry_true
    s = load_settings({**home, "ALLOW_IDEMPOTENT_RETRY": "false"})
    assert s.allow_idempotent_retry_any  # reference: any non-empty value
    assert any("ALLOW_IDEMPOTENT_RETRY" in n for n in s.notes)


# ------------------------------------------------------------------------------------- redaction

SECRET_ENV = {
    "OPENAI_API_KEY": SENTINEL,
    "GOOGLE_API_KEY": SENTINEL + "-google",
    "GEMINI_API_KEY": SENTINEL + "-gemini",
    "HF_TOKEN": SENTINEL + "-hf",
    "GITHUB_TOKEN": SENTINEL + "-gh",
    "RUNPOD_API_KEY": SENTINEL + "-runpod",
    "TEXT_OPENROUTER_API_KEY": SENTINEL + "-tor",
    "OPENROUTER_API_KEY": SENTINEL + "-or",
    "B2_KEY_ID": SENTINEL + "-b2id",
    "B2_APPLICATION_KEY": SENTINEL + "-b2key",
    "BPFLOW_API_TOKEN": SENTINEL + "-api",
    "BPFLOW_DATABASE_URL": f"postgresql://bp:{SENTINEL}-db@db.internal:5432/bpflow",
    "SAGE_SERVER_URL": f"https://svc:{SENTINEL}-sage@sage.local/v1/refine?token={SENTINEL}-q",
    "RUNPOD_BOOTSTRAP_COMMAND": f"git clone https://x:{SENTINEL}-clone@github.com/org/repo.git && make",
}


def test_redacted_masks_every_secret(home: dict[str, str]) -> None:
    s = load_settings({**home, **SECRET_ENV})
    red = s.redacted()
    dumped = json.dumps(red)
    assert SENTINEL not in dumped
    assert red["OPENAI_API_KEY"] == MASK
    assert red["GEMINI_API_KEY"] == MASK
    assert red["ANTHROPIC_API_KEY"] is None  # unset secrets are None
    assert red["BPFLOW_DATABASE_URL"] == "postgresql://bp:***@db.internal:5432/bpflow"
    assert red["SAGE_SERVER_URL"] == "https://svc:***@sage.local/v1/refine?token=***"
    assert red["RUNPOD_BOOTSTRAP_COMMAND"] == "git clone https://x:***@github.com/org/repo.git && make"
    # The settings object keeps working values.
    assert isinstance(s.openai_api_key, SecretStr)
    assert s.openai_api_key.get_secret_value() == SENTINEL
    assert s.database_url.endswith("@db.internal:5432/bpflow") and SENTINEL in s.database_url
    # repr/str of the model never shows secrets either (pydantic SecretStr).
    assert SENTINEL not in repr(s.openai_api_key)


def test_secret_values(home: dict[str, str]) -> None:
    s = load_settings({**home, **SECRET_ENV})
    values = s.secret_values()
    for name in ("OPENAI_API_KEY", "HF_TOKEN", "B2_APPLICATION_KEY", "BPFLOW_API_TOKEN"):
        assert SECRET_ENV[name] in values
    assert f"{SENTINEL}-db" in values
    assert f"{SENTINEL}-sage" in values
    assert f"{SENTINEL}-q" in values
    assert f"{SENTINEL}-clone" in values
    assert values == sorted(values, key=lambda v: (-len(v), v))
    assert load_settings(home).secret_values() == []


def test_command_json_never_prints_secrets(home: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert config_command(json_output=True, env={**home, **SECRET_ENV, "TEXT_GEN_MAX_SEEDS": "4"}) == 0
    out = capsys.readouterr().out
    assert SENTINEL not in out
    doc = json.loads(out)
    assert doc["settings"]["OPENAI_API_KEY"] == MASK
    assert doc["settings"]["TEXT_GEN_MAX_SEEDS"] == 4
    assert doc["sources"]["TEXT_GEN_MAX_SEEDS"] == "env"
    assert doc["sources"]["TEXT_BACKEND_DEFAULT"] == "default"
    assert set(doc["settings"]) == set(doc["sources"]) == {f.env for f in env_fields()}


def test_command_table_never_prints_secrets(home: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert config_command(env={**home, **SECRET_ENV, "ENABLE_DWM": "yes"}) == 0
    captured = capsys.readouterr()
    assert SENTINEL not in captured.out + captured.err
    for group in GROUPS:
        assert group in captured.out
    assert "OPENAI_API_KEY" in captured.out
    assert "***" in captured.out
    assert "note: ENABLE_DWM" in captured.out


def test_command_reports_invalid_config(home: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert config_command(json_output=True, env={**home, "TEXT_GEN_MAX_SEEDS": "abc"}) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["field"] == "TEXT_GEN_MAX_SEEDS"
    assert config_command(env={**home, "BPFLOW_HTTP_PORT": "70000"}) == 2
    captured = capsys.readouterr()
    assert "BPFLOW_HTTP_PORT" in captured.err
    assert "Traceback" not in captured.err


# ------------------------------------------------------------------------------------- URL redaction


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://user:pass@host/db", "postgresql://user:***@host/db"),
        (
            "postgresql+psycopg://user:p%40ss@host:5432/db?sslmode=require",
            "postgresql+psycopg://user:***@host:5432/db?sslmode=require",
        ),
        ("postgresql://user:p@ss/w#rd@host/db", "postgresql://user:***@host/db"),  # raw specials
        ("https://ghp_TOKEN@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
        ("s3://AKIA:SECRET@bucket/prefix", "s3://AKIA:***@bucket/prefix"),
        ("https://api.example.com/v1?key=AIzaXYZ&x=1", "https://api.example.com/v1?key=***&x=1"),
        ("postgresql://host/db?user=u&password=pw", "postgresql://host/db?user=u&password=***"),
        ("file:///tmp/bpflow-data/bucket", "file:///tmp/bpflow-data/bucket"),
        ("gs://bucket/scenes/a@b", "gs://bucket/scenes/a@b"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_and_credentials() -> None:
    text = "clone https://u:tok%2Fen@github.com/x then curl http://h/?token=abc"
    assert redact_text(text) == "clone https://u:***@github.com/x then curl http://h/?token=***"
    assert set(url_credentials(text)) == {"tok%2Fen", "tok/en", "abc"}


_USER = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=12)
_HOST = st.from_regex(r"\A[a-z0-9]{1,12}(\.[a-z]{2,5}){0,2}(:[0-9]{2,5})?\Z")
_PATH = st.from_regex(r"\A(/[A-Za-z0-9._~-]{0,10}){0,3}(\?(sslmode|region|page)=[a-z0-9]{0,6})?\Z")
_SCHEME = st.sampled_from(["postgresql", "postgresql+psycopg", "https", "http", "s3", "gs", "redis", "amqp"])
_PASSWORD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=4, max_size=40)


@hsettings(max_examples=300, deadline=None)
@given(scheme=_SCHEME, user=_USER, password=_PASSWORD, host=_HOST, path=_PATH, encode=st.booleans())
def test_redact_url_never_leaks_the_password(
    scheme: str, user: str, password: str, host: str, path: str, encode: bool
) -> None:
    written = quote(password, safe="") if encode else password
    url = f"{scheme}://{user}:{written}@{host}{path}"
    out = redact_url(url)
    expected = f"{scheme}://{user}:{MASK}@{host}{path}"
    # Whatever the password holds (raw '@', '/', '#', '?', spaces, unicode), the result is the
    # URL with exactly the password masked.
    assert out == expected
    assume(written not in expected and password not in expected)
    assert written not in out and password not in out
    # The same holds inside free text, as long as the password has no whitespace or quotes
    # (which end a URL inside text).
    if not any(c.isspace() or c in "'\"<>" for c in written):
        assert written not in redact_text(f"connect to {url} now")
    # Scrubbers get the password back from secret_values()/url_credentials().
    assert written in url_credentials(url)
