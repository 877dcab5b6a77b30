"""bpflow settings: the seed's environment variables, under the seed's names, with the seed's defaults.

Why this module exists (DESIGN principle 5, "same names as the seed"): an operator who already
runs the reference pipeline must be able to point bpflow at the same environment and get the same
behaviour, so every knob here is read from **exactly** the variable name the seed / reference
documents (no prefix, case-sensitive) and falls back to the default the seed documents.
The ``BPFLOW_*`` variables are ours (where the runtime keeps its data, how it listens, how it
runs jobs).

Rules that hold for every variable (recorded decisions, see the report):

* **Blank means unset.** A variable set to an empty or whitespace-only string takes its default;
  workflows and setup scripts pass every override as a string (``${VAR:-default}``), so an empty
  one must not silently replace a default. Values are stripped of surrounding whitespace.
* **Booleans** go through one parser, :func:`parse_bool`, with a per-variable rule:
  ``strict`` ("true only if the lower-cased value equals ``true``"; ``1``/``yes``/``on`` are
  *false*, as in the reference's workflow YAML and setup scripts), or the job-side truthy set
  (``1,true,yes,y,on`` true, ``0,false,no,n,off`` false, anything else is an error).
* **Invalid values fail at load time** with :class:`bpflow.core.errors.ConfigError` naming the
  variable and the reason (never a raw pydantic traceback, never a secret's value), instead of
  failing the first scene that happens to need the value.
* **Secrets** are :class:`pydantic.SecretStr`; :meth:`Settings.redacted` shows them as ``"***"``
  and masks credentials embedded in URLs; :meth:`Settings.secret_values` gives scrubbers the plain
  values to remove from logs and pages.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bpflow.core.errors import ConfigError

__all__ = [
    "FALSY",
    "GROUPS",
    "MASK",
    "TRUTHY",
    "EnvField",
    "Settings",
    "env_fields",
    "get_settings",
    "load_settings",
    "parse_bool",
    "redact_text",
    "redact_url",
    "reset_settings_cache",
    "url_credentials",
]

MASK = "***"

#: The job-side truthy set (spec-source-and-scheduling.md §5.4 / §7.4, B11 "one shared parser").
TRUTHY = frozenset({"1", "true", "yes", "y", "on"})
#: Its counterpart, so a typo such as ``ture`` is an error rather than a silent ``False``.
FALSY = frozenset({"0", "false", "no", "n", "off"})

# Display groups, in the order ``bpflow config`` prints them.
RUNTIME = "bpflow runtime"
REGIONS = "regions & buckets"
SOURCE = "source & text"
RETRIEVAL = "retrieval"
GENIESIM = "genie sim"
MAINTENANCE = "maintenance"
FLAGS = "workflow flags"
SECRETS = "secrets"
GROUPS: tuple[str, ...] = (RUNTIME, REGIONS, SOURCE, RETRIEVAL, GENIESIM, MAINTENANCE, FLAGS, SECRETS)

TEXT_BACKENDS: tuple[str, ...] = ("internal", "scenesmith", "sage", "hybrid_serial")
DEFAULT_OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"


# --------------------------------------------------------------------------------------------
# Boolean parsing
# --------------------------------------------------------------------------------------------


def parse_bool(value: object, default: bool, *, strict: bool = False) -> bool:
    """Parse an on/off setting the way the reference does, in one place (reference bug B11 came
    from two parsers disagreeing).

    * ``None``, ``""`` or whitespace → ``default`` (blank means unset).
    * A real ``bool`` is returned as is (a JSON ``true`` in a payload counts as true).
    * ``strict=True``: true only if the trimmed, lower-cased string form equals ``"true"``; every
      other value (``1``, ``yes``, ``on``, ``banana``) is ``False``. This is the reference's
      workflow/setup-script rule and never raises.
    * ``strict=False``: ``1,true,yes,y,on`` → True, ``0,false,no,n,off`` → False (any case);
      anything else raises :class:`ValueError`, because a typo in a flag should be loud.
    """
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return default
    if strict:
        return text == "true"
    if text in TRUTHY:
        return True
    if text in FALSY:
        return False
    raise ValueError(
        f"not a boolean: expected one of {', '.join(sorted(TRUTHY))} (true) or {', '.join(sorted(FALSY))} (false)"
    )


def _field_default(info: ValidationInfo) -> Any:
    name = info.field_name
    return Settings.model_fields[name].default if name in Settings.model_fields else None


def _truthy_validator(value: Any, info: ValidationInfo) -> bool:
    return parse_bool(value, bool(_field_default(info)), strict=False)


def _true_only_validator(value: Any, info: ValidationInfo) -> bool:
    return parse_bool(value, bool(_field_default(info)), strict=True)


#: On/off flag read with the job-side truthy set; unknown tokens are an error.
TruthyBool = Annotated[bool, BeforeValidator(_truthy_validator), "truthy"]
#: On/off flag that is on only when it equals ``true`` (reference workflow semantics).
TrueOnlyBool = Annotated[bool, BeforeValidator(_true_only_validator), "true-only"]


# --------------------------------------------------------------------------------------------
# Other value shapes
# --------------------------------------------------------------------------------------------


def _split_list(value: Any) -> list[str]:
    """Comma list or JSON list → trimmed, non-empty, de-duplicated items in their given order.

    The reference accepts both forms for model chains (spec-text-stage1 §1) and comma lists
    elsewhere; accepting both everywhere costs nothing and keeps one rule.
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a valid JSON list ({exc.msg})") from None
            if not isinstance(decoded, list) or not all(isinstance(i, str) for i in decoded):
                raise ValueError("a JSON list must contain only strings")
            items = decoded
        else:
            items = text.split(",")
    elif isinstance(value, (list, tuple)):
        items = [str(i) for i in value]
    else:
        raise ValueError("expected a comma-separated list")
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def _split_lower_list(value: Any) -> list[str]:
    return _split_list([item.lower() for item in _split_list(value)])


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _prefix(value: Any) -> Any:
    """Object prefixes are stored without surrounding slashes (as the emitter does, §5.4), so
    ``/automation/text_daily/`` and ``automation/text_daily`` name the same objects."""
    if isinstance(value, str):
        value = value.strip().strip("/")
        if not value:
            raise ValueError("an object prefix must not be empty")
    return value


CommaList = Annotated[list[str], BeforeValidator(_split_list)]
LowerCommaList = Annotated[list[str], BeforeValidator(_split_lower_list)]
Lower = Annotated[str, BeforeValidator(_lower)]
Prefix = Annotated[str, BeforeValidator(_prefix)]
Seconds = Annotated[int, Field(ge=0)]
Backend = Annotated[Literal["internal", "scenesmith", "sage", "hybrid_serial"], BeforeValidator(_lower)]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]


# --------------------------------------------------------------------------------------------
# URL credential redaction
# --------------------------------------------------------------------------------------------

_URL_START = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)(.*)\Z", re.S)
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|pass|sslpassword|secret|client_secret|token|access_token|"
    r"refresh_token|auth|api[_-]?key|key|sig|signature|x-amz-signature|x-amz-credential|"
    r"x-amz-security-token|x-goog-signature|x-goog-credential)=)([^&#;\s]*)"
)


def _userinfo_end(rest: str) -> int:
    """Index of the ``@`` that ends the userinfo in ``rest`` (the URL after ``scheme://``), or -1.

    Well-formed URLs percent-encode ``@ / ? #`` inside a password, but hand-typed connection
    strings often do not (``postgresql://app:p@ss/w#rd@db/app``). Whenever the string *could*
    carry userinfo (an ``@`` inside the authority, or a ``user:`` before the first ``@``) the
    userinfo is taken to run up to the **last** ``@``: a URL with ``@`` in its path may then be
    masked more than needed, but a password is never shown.
    """
    first_at = rest.find("@")
    if first_at < 0:
        return -1
    ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    authority_end = min(ends) if ends else len(rest)
    colon = rest.find(":")
    if first_at < authority_end or (0 <= colon < first_at and colon < authority_end):
        return rest.rfind("@")
    return -1


def redact_url(url: str) -> str:
    """``postgresql://user:pass@host/db`` → ``postgresql://user:***@host/db``.

    Why: connection strings and bucket URLs are settings we print (``bpflow config``, dashboard,
    logs), and their userinfo is a credential. A password is replaced by ``***`` keeping the user
    name; a userinfo with no password (``https://<token>@github.com``) is replaced whole, since
    tokens often sit in the user slot. Credential-like query parameters (``password=``,
    ``token=``, ``key=``, signed-URL signatures) are masked too. Strings that are not
    ``scheme://`` URLs are returned unchanged.
    """
    match = _URL_START.match(url)
    if match is None:
        return url
    scheme, rest = match.groups()
    at = _userinfo_end(rest)
    prefix = ""
    if at >= 0:
        user, has_password, _ = rest[:at].partition(":")
        prefix = f"{user}:{MASK}@" if has_password else f"{MASK}@"
        rest = rest[at + 1 :]
    return scheme + prefix + _SECRET_QUERY.sub(lambda m: m.group(1) + MASK, rest)


def redact_text(text: str) -> str:
    """Mask URL credentials anywhere in free text (e.g. ``RUNPOD_BOOTSTRAP_COMMAND`` may contain
    ``git clone https://<token>@github.com/...``). A value that *is* a URL is redacted whole, so a
    raw password containing spaces is still covered."""
    if _URL_START.match(text.strip()):
        return redact_url(text)
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def url_credentials(text: str) -> list[str]:
    """The secret parts of every URL in ``text`` (passwords, credential query values), each in
    its written and its percent-decoded form, so log scrubbers can remove either spelling.
    A user-name-only userinfo is not returned: it is usually a plain login such as ``postgres``
    and scrubbing that word everywhere would mangle unrelated text."""
    stripped = text.strip()
    urls = [stripped] if _URL_START.match(stripped) else _URL_IN_TEXT.findall(text)
    found: list[str] = []
    for url in urls:
        match = _URL_START.match(url)
        if match is None:
            continue
        rest = match.group(2)
        at = _userinfo_end(rest)
        candidates: list[str] = []
        if at >= 0:
            _, has_password, password = rest[:at].partition(":")
            if has_password:
                candidates.append(password)
            rest = rest[at + 1 :]
        candidates.extend(m.group(2) for m in _SECRET_QUERY.finditer(rest))
        for value in candidates:
            for form in (value, unquote(value)):
                if form and form not in found:
                    found.append(form)
    return found


# --------------------------------------------------------------------------------------------
# Env source
# --------------------------------------------------------------------------------------------

_ENV_OVERRIDE: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "bpflow_settings_env", default=None
)


def _current_env() -> Mapping[str, str]:
    scoped = _ENV_OVERRIDE.get()
    return os.environ if scoped is None else scoped


def _alias(field: FieldInfo) -> str:
    alias = field.validation_alias
    assert isinstance(alias, str), "every setting declares its env var name as validation_alias"
    return alias


class _EnvMappingSource(PydanticBaseSettingsSource):
    """Reads each setting from exactly its env var name in the current env mapping.

    Why not pydantic-settings' own env source: it reads only ``os.environ`` (tests and the
    in-process runtime pass a mapping), and it JSON-decodes list fields, which would break the
    seed's comma lists. Blank values are dropped here so they fall back to the default.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raw = _current_env().get(_alias(field))
        return raw, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = _current_env()
        values: dict[str, Any] = {}
        for field in self.settings_cls.model_fields.values():
            name = _alias(field)
            raw = env.get(name)
            if raw is None:
                continue
            raw = raw.strip()
            if raw:
                values[name] = raw
        return values


def _setting(name: str, default: Any = None, *, group: str, doc: str, **kwargs: Any) -> Any:
    """A field read from env var ``name`` (exactly), shown under ``group`` by ``bpflow config``."""
    return Field(
        default=default,
        validation_alias=name,
        description=doc,
        json_schema_extra={"group": group},
        **kwargs,
    )


def _secret(name: str, doc: str) -> Any:
    return _setting(name, None, group=SECRETS, doc=doc)


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


class Settings(BaseSettings):
    """Every bpflow setting. Attribute = the env var name lower-cased; env name = the seed's.

    Construct with :func:`load_settings` (or :func:`get_settings` for the per-process cached
    instance). Instances are frozen: a run must not see its configuration change under it.
    """

    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # ---------------------------------------------------------------- bpflow runtime (ours)
    bpflow_home: Path = _setting(
        "BPFLOW_HOME",
        Path("./bpflow-data"),
        group=RUNTIME,
        doc="Where the embedded default keeps its data (local bucket, SQLite); resolved to an absolute path.",
    )
    bpflow_bucket_url: str | None = _setting(
        "BPFLOW_BUCKET_URL",
        None,
        group=RUNTIME,
        doc="Bucket URL (file://, s3://, gs://); a bare path means a local directory. Default file://<BPFLOW_HOME>/bucket.",
    )
    bpflow_database_url: str | None = _setting(
        "BPFLOW_DATABASE_URL",
        None,
        group=RUNTIME,
        doc="DBOS system database (sqlite:// or postgresql://). Default sqlite:///<BPFLOW_HOME>/bpflow.sqlite.",
    )
    bpflow_http_host: str = _setting(
        "BPFLOW_HTTP_HOST", "127.0.0.1", group=RUNTIME, doc="HTTP API/dashboard bind address."
    )
    bpflow_http_port: int = _setting(
        "BPFLOW_HTTP_PORT", 8080, group=RUNTIME, doc="HTTP API/dashboard port.", ge=1, le=65535
    )
    bpflow_runner: Lower = _setting(
        "BPFLOW_RUNNER",
        "zygote",
        group=RUNTIME,
        doc="Where jobs run: zygote (a process per job, forked from a warm launcher), subprocess (a fresh interpreter per job), inprocess (tests).",
        pattern=r"^[a-z][a-z0-9_-]*$",
    )
    bpflow_worker_concurrency: int = _setting(
        "BPFLOW_WORKER_CONCURRENCY", 8, group=RUNTIME, doc="Runs one worker process executes at once.", ge=1
    )
    bpflow_orchestrator_concurrency: int | None = _setting(
        "BPFLOW_ORCHESTRATOR_CONCURRENCY",
        None,
        group=RUNTIME,
        doc="Orchestrator runs (they wait on stage runs; Stage 1 of the text path runs in them) one worker "
        "process executes at once, per orchestrator queue. Default: BPFLOW_WORKER_CONCURRENCY.",
        ge=1,
    )
    bpflow_last_stage: Literal["1", "2", "3", "4", "5"] = _setting(
        "BPFLOW_LAST_STAGE",
        "5",
        group=RUNTIME,
        doc="The last pipeline stage that runs: 3 stops after the simulation-ready scene (no robot "
        "episodes, Genie Sim, arena, training), 4 stops before Stage 5. Later stages are recorded as "
        "not requested, never as failed; their trigger rows are disabled (triggers.yaml).",
    )
    bpflow_worker_classes: str = _setting(
        "BPFLOW_WORKER_CLASSES",
        "cpu,sim,train,gpu",
        group=RUNTIME,
        doc="Job classes this worker takes (comma-separated: cpu, sim, train, gpu; core/job_classes.py). On PostgreSQL "
        "each class has its own stage queue, so a GPU machine can take only gpu work; cpu also takes the orchestrators.",
        pattern=r"^[a-z, ]+$",
    )
    bpflow_queue_poll_seconds: float = _setting(
        "BPFLOW_QUEUE_POLL_SECONDS",
        0.25,
        group=RUNTIME,
        doc="How often a worker polls the stage-run queue for work nobody announced. A run enqueued by this "
        "process (or, on PostgreSQL, by any) and a run that ends wake the poller at once (core/engine/queue_wake.py).",
        gt=0,
    )
    bpflow_orchestrator_queue_poll_seconds: float = _setting(
        "BPFLOW_ORCHESTRATOR_QUEUE_POLL_SECONDS",
        0.5,
        group=RUNTIME,
        doc="The same for the orchestrator queues (announced runs wake them at once too).",
        gt=0,
    )
    bpflow_scan_interval_seconds: float = _setting(
        "BPFLOW_SCAN_INTERVAL_SECONDS",
        30.0,
        group=RUNTIME,
        doc="Period of the reconciliation scan that finds events missed by the watcher (0 turns it off).",
        ge=0,
    )
    bpflow_scan_lookback_seconds: float = _setting(
        "BPFLOW_SCAN_LOOKBACK_SECONDS",
        86400.0,
        group=RUNTIME,
        doc="How far back the reconciliation scan looks for unhandled objects.",
        ge=0,
    )
    bpflow_watch: TruthyBool = _setting(
        "BPFLOW_WATCH", True, group=RUNTIME, doc="Watch a local bucket for files dropped in from outside bpflow."
    )
    bpflow_workflow_modules: str = _setting(
        "BPFLOW_WORKFLOW_MODULES",
        "",
        group=RUNTIME,
        doc="Comma list of extra workflow modules to import (see .workflow_modules).",
    )
    bpflow_trigger_files: str = _setting(
        "BPFLOW_TRIGGER_FILES",
        "",
        group=RUNTIME,
        doc="Comma list of extra trigger YAML files (see .trigger_files).",
    )
    bpflow_executor_id: str | None = _setting(
        "BPFLOW_EXECUTOR_ID", None, group=RUNTIME, doc="DBOS executor id of this process (default: engine decides)."
    )
    bpflow_app_version: str | None = _setting(
        "BPFLOW_APP_VERSION", None, group=RUNTIME, doc="DBOS application version (default: package version)."
    )
    bpflow_policy_dir: Path | None = _setting(
        "BPFLOW_POLICY_DIR",
        None,
        group=RUNTIME,
        doc="Directory of retry/timeout policy YAML overriding the packaged ones.",
    )
    bpflow_image_reconstructor: str | None = _setting(
        "BPFLOW_IMAGE_RECONSTRUCTOR",
        None,
        group=RUNTIME,
        doc="Image → Stage 1 backend: vision (default when unset: a vision LLM through the text planner's provider keys), fixture:<dir> or module:factory.",
    )
    bpflow_stage_dag: str | None = _setting(
        "BPFLOW_STAGE_DAG",
        None,
        group=RUNTIME,
        doc="YAML stage DAG shown by bpflow status and the dashboard (default: the text path).",
    )
    bpflow_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = _setting(
        "BPFLOW_LOG_LEVEL", "INFO", group=RUNTIME, doc="Log level."
    )
    bpflow_allowed_hosts: CommaList = _setting(
        "BPFLOW_ALLOWED_HOSTS",
        [],
        group=RUNTIME,
        doc="Extra Host header names the HTTP service answers (besides localhost, 127.0.0.1, [::1] and the bound host); '*' turns the check off.",
    )
    bpflow_metrics_public: TruthyBool = _setting(
        "BPFLOW_METRICS_PUBLIC", False, group=RUNTIME, doc="Serve /metrics without the API token when a token is set."
    )
    bpflow_api_docs: TruthyBool = _setting(
        "BPFLOW_API_DOCS",
        False,
        group=RUNTIME,
        doc="Serve the interactive API docs (/docs, Swagger UI from local assets).",
    )
    bpflow_job_env_passthrough: CommaList = _setting(
        "BPFLOW_JOB_ENV_PASSTHROUGH",
        [],
        group=RUNTIME,
        doc="Comma list of extra service env variables every job process receives (jobs get an allowlist only).",
    )
    bpflow_session_hours: float = _setting(
        "BPFLOW_SESSION_HOURS", 12.0, group=RUNTIME, doc="How long a dashboard sign-in lasts.", gt=0
    )

    # ---------------------------------------------------------------- regions & buckets
    primary_workflow_region: str = _setting(
        "PRIMARY_WORKFLOW_REGION", "us-central1", group=REGIONS, doc="Primary region for job invocations."
    )
    secondary_workflow_region: str = _setting(
        "SECONDARY_WORKFLOW_REGION", "us-east1", group=REGIONS, doc="Region used when the primary's health check fails."
    )
    workflow_region: str = _setting(
        "WORKFLOW_REGION",
        "us-central1",
        group=REGIONS,
        doc="Legacy single region for workflows without primary/secondary routing (reference YAML default).",
    )
    primary_bucket: str | None = _setting(
        "PRIMARY_BUCKET", None, group=REGIONS, doc="Default bucket for manual or scheduler-driven workflows."
    )
    gcs_bucket: str | None = _setting(
        "GCS_BUCKET", None, group=REGIONS, doc="Bucket fallback after PRIMARY_BUCKET (maintenance/import workflows)."
    )
    google_cloud_project_id: str | None = _setting(
        "GOOGLE_CLOUD_PROJECT_ID", None, group=REGIONS, doc="Cloud project (production runners only)."
    )
    firebase_storage_bucket: str | None = _setting(
        "FIREBASE_STORAGE_BUCKET", None, group=REGIONS, doc="Firebase bucket for Genie Sim uploads (production only)."
    )
    b2_s3_endpoint: str | None = _setting(
        "B2_S3_ENDPOINT", None, group=REGIONS, doc="Backblaze B2 S3 endpoint (replication)."
    )
    b2_bucket: str | None = _setting("B2_BUCKET", None, group=REGIONS, doc="Backblaze B2 target bucket (replication).")
    b2_region: str = _setting("B2_REGION", "us-west-000", group=REGIONS, doc="Backblaze B2 region.")
    b2_key_id_secret: str | None = _setting(
        "B2_KEY_ID_SECRET", None, group=REGIONS, doc="Secret Manager *name* bound to B2_KEY_ID (not the secret itself)."
    )
    b2_application_key_secret: str | None = _setting(
        "B2_APPLICATION_KEY_SECRET",
        None,
        group=REGIONS,
        doc="Secret Manager *name* bound to B2_APPLICATION_KEY (not the secret itself).",
    )

    # ---------------------------------------------------------------- source & text
    default_source_mode: Annotated[Literal["text", "image", "auto"], BeforeValidator(_lower)] = _setting(
        "DEFAULT_SOURCE_MODE", "text", group=SOURCE, doc="source_mode used when a request omits it."
    )
    text_backend_default: Backend = _setting(
        "TEXT_BACKEND_DEFAULT", "sage", group=SOURCE, doc="Stage 1 text backend when a request omits text_backend."
    )
    text_backend_allowlist: Annotated[list[Backend], BeforeValidator(_split_lower_list)] = _setting(
        "TEXT_BACKEND_ALLOWLIST",
        list(TEXT_BACKENDS),
        group=SOURCE,
        doc="Allowed Stage 1 text backends (comma list; entries trimmed and lower-cased).",
        min_length=1,
    )
    text_gen_runtime: Annotated[Literal["local", "vm", "cloudrun", "runpod"], BeforeValidator(_lower)] = _setting(
        "TEXT_GEN_RUNTIME",
        "local",
        group=SOURCE,
        doc="Stage 1 runtime: local (embedded default: the job runner), vm, cloudrun, runpod (the seed's default was vm).",
    )
    text_scene_gen_job_name: str = _setting(
        "TEXT_SCENE_GEN_JOB_NAME", "text-scene-gen-job", group=SOURCE, doc="Job name for text scene generation."
    )
    text_scene_adapter_job_name: str = _setting(
        "TEXT_SCENE_ADAPTER_JOB_NAME", "text-scene-adapter-job", group=SOURCE, doc="Job name for text scene adaptation."
    )
    text_gen_standard_profile: str = _setting(
        "TEXT_GEN_STANDARD_PROFILE", "standard_v1", group=SOURCE, doc="Profile label for quality_tier=standard."
    )
    text_gen_premium_profile: str = _setting(
        "TEXT_GEN_PREMIUM_PROFILE", "premium_v1", group=SOURCE, doc="Profile label for quality_tier=premium."
    )
    text_gen_use_llm: TruthyBool = _setting(
        "TEXT_GEN_USE_LLM", True, group=SOURCE, doc="LLM-first scene planning in Stage 1."
    )
    text_gen_llm_max_attempts: int = _setting(
        "TEXT_GEN_LLM_MAX_ATTEMPTS", 3, group=SOURCE, doc="Retry rounds over the LLM provider chain.", ge=1
    )
    text_gen_llm_retry_backoff_seconds: float = _setting(
        "TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS", 2.0, group=SOURCE, doc="Base of the backoff between LLM rounds.", ge=0
    )
    text_openrouter_base_url: str | None = _setting(
        "TEXT_OPENROUTER_BASE_URL",
        None,
        group=SOURCE,
        doc="OpenAI-compatible base URL for Stage 1 (falls back to OPENROUTER_BASE_URL, then https://openrouter.ai/api/v1).",
    )
    openrouter_base_url: str | None = _setting(
        "OPENROUTER_BASE_URL", None, group=SOURCE, doc="Fallback for TEXT_OPENROUTER_BASE_URL."
    )
    text_openrouter_model_chain: CommaList = _setting(
        "TEXT_OPENROUTER_MODEL_CHAIN",
        ["qwen/qwen3.5-397b-a17b", "moonshotai/kimi-k2.5"],
        group=SOURCE,
        doc="Ordered OpenRouter model attempts (comma list or JSON list; empty falls back to the default).",
    )
    text_openrouter_include_legacy_fallback: TruthyBool = _setting(
        "TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK",
        True,
        group=SOURCE,
        doc="Append the legacy openai / anthropic attempts after the OpenRouter models.",
    )
    text_openrouter_http_referer: str | None = _setting(
        "TEXT_OPENROUTER_HTTP_REFERER", None, group=SOURCE, doc="HTTP-Referer header for OpenRouter calls."
    )
    text_openrouter_app_title: str | None = _setting(
        "TEXT_OPENROUTER_APP_TITLE", None, group=SOURCE, doc="X-Title header for OpenRouter calls."
    )
    openai_base_url: str | None = _setting(
        "OPENAI_BASE_URL", None, group=SOURCE, doc="Base URL for the openai attempt."
    )
    openai_model: str = _setting("OPENAI_MODEL", "gpt-5.1", group=SOURCE, doc="Model for the openai attempt.")
    anthropic_model: str = _setting(
        "ANTHROPIC_MODEL", "claude-sonnet-4-5-20250929", group=SOURCE, doc="Model for the anthropic attempt."
    )
    gemini_model: str = _setting(
        "GEMINI_MODEL",
        "gemini-3-flash-preview",
        group=SOURCE,
        doc="Model for the openai_primary chain's Gemini attempt.",
    )
    text_gen_max_seeds: int = _setting(
        "TEXT_GEN_MAX_SEEDS", 16, group=SOURCE, doc="Max seed_count of a scene request.", ge=1
    )
    text_gen_enable_image_fallback: TrueOnlyBool = _setting(
        "TEXT_GEN_ENABLE_IMAGE_FALLBACK",
        True,
        group=SOURCE,
        doc="Global kill switch for text→image fallback; on only when it equals 'true'.",
    )
    arena_export_required: TrueOnlyBool = _setting(
        "ARENA_EXPORT_REQUIRED",
        True,
        group=SOURCE,
        doc="Text completion requires Stage 5 Arena success; on only when it equals 'true'.",
    )
    image_path_mode: Annotated[Literal["orchestrator", "legacy_chain"], BeforeValidator(_lower)] = _setting(
        "IMAGE_PATH_MODE", "orchestrator", group=SOURCE, doc="Image compatibility mode."
    )
    image_orchestrator_workflow_name: str = _setting(
        "IMAGE_ORCHESTRATOR_WORKFLOW_NAME",
        "image-to-scene-orchestrator",
        group=SOURCE,
        doc="Workflow used when IMAGE_PATH_MODE=orchestrator.",
    )
    image_legacy_workflow_name: str = _setting(
        "IMAGE_LEGACY_WORKFLOW_NAME",
        "image-to-scene-pipeline",
        group=SOURCE,
        doc="Workflow used when IMAGE_PATH_MODE=legacy_chain.",
    )
    image_legacy_chain_wait_seconds: Seconds = _setting(
        "IMAGE_LEGACY_CHAIN_WAIT_SECONDS", 7200, group=SOURCE, doc="Wait for .geniesim_complete in legacy-chain mode."
    )
    text_gen_vm_name: str = _setting(
        "TEXT_GEN_VM_NAME", "isaac-sim-ubuntu", group=SOURCE, doc="VM for TEXT_GEN_RUNTIME=vm (seed default)."
    )
    text_gen_vm_zone: str = _setting("TEXT_GEN_VM_ZONE", "us-east1-c", group=SOURCE, doc="VM zone (seed default).")
    text_gen_vm_repo_dir: str = _setting(
        "TEXT_GEN_VM_REPO_DIR",
        "~/BlueprintPipeline",
        group=SOURCE,
        doc="Repository directory on the VM (remote path, not expanded).",
    )
    text_gen_vm_timeout_seconds: Seconds = _setting(
        "TEXT_GEN_VM_TIMEOUT_SECONDS", 2400, group=SOURCE, doc="VM text-stage polling timeout."
    )
    runpod_gpu_type: str = _setting("RUNPOD_GPU_TYPE", "NVIDIA L40S", group=SOURCE, doc="RunPod GPU type.")
    runpod_image: str = _setting(
        "RUNPOD_IMAGE",
        "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04",
        group=SOURCE,
        doc="RunPod container image.",
    )
    runpod_repo_dir: str = _setting(
        "RUNPOD_REPO_DIR", "/workspace/BlueprintPipeline", group=SOURCE, doc="Repository directory inside the pod."
    )
    runpod_scenesmith_repo_dir: str = _setting(
        "RUNPOD_SCENESMITH_REPO_DIR", "/workspace/scenesmith", group=SOURCE, doc="SceneSmith checkout inside the pod."
    )
    runpod_bootstrap_command: str | None = _setting(
        "RUNPOD_BOOTSTRAP_COMMAND",
        None,
        group=SOURCE,
        doc="Optional command run on the pod before repo-dir validation.",
    )
    runpod_terminate_on_exit: TruthyBool = _setting(
        "RUNPOD_TERMINATE_ON_EXIT", True, group=SOURCE, doc="Terminate the pod after Stage 1."
    )
    runpod_text_stage_timeout_seconds: Seconds = _setting(
        "RUNPOD_TEXT_STAGE_TIMEOUT_SECONDS", 10800, group=SOURCE, doc="RunPod text-stage timeout."
    )
    scenesmith_runtime_mode: Lower = _setting(
        "SCENESMITH_RUNTIME_MODE", "cloudrun", group=SOURCE, doc="SceneSmith runtime selector (metadata)."
    )
    scenesmith_server_url: str | None = _setting(
        "SCENESMITH_SERVER_URL", None, group=SOURCE, doc="Optional live SceneSmith server."
    )
    scenesmith_timeout_seconds: Seconds = _setting(
        "SCENESMITH_TIMEOUT_SECONDS", 1800, group=SOURCE, doc="SceneSmith call timeout hint."
    )
    sage_runtime_mode: Lower = _setting(
        "SAGE_RUNTIME_MODE", "cloudrun", group=SOURCE, doc="SAGE runtime selector (metadata)."
    )
    sage_server_url: str | None = _setting("SAGE_SERVER_URL", None, group=SOURCE, doc="Optional live SAGE server.")
    sage_timeout_seconds: Seconds = _setting("SAGE_TIMEOUT_SECONDS", 900, group=SOURCE, doc="SAGE call timeout hint.")
    text_sage_action_demo_enabled: TruthyBool = _setting(
        "TEXT_SAGE_ACTION_DEMO_ENABLED", False, group=SOURCE, doc="Emit non-blocking textgen/sage_actions artifacts."
    )
    text_autonomy_state_prefix: Prefix = _setting(
        "TEXT_AUTONOMY_STATE_PREFIX", "automation/text_daily", group=SOURCE, doc="Daily text autonomy state root."
    )
    text_autonomy_timezone: str = _setting(
        "TEXT_AUTONOMY_TIMEZONE", "America/New_York", group=SOURCE, doc="IANA zone of the daily autonomy schedule."
    )
    text_autonomy_scheduler_cron: str = _setting(
        "TEXT_AUTONOMY_SCHEDULER_CRON", "0 9 * * *", group=SOURCE, doc="Cron of the daily autonomy run."
    )
    text_autonomy_emitter_job_name: str = _setting(
        "TEXT_AUTONOMY_EMITTER_JOB_NAME", "text-request-emitter-job", group=SOURCE, doc="Emitter job name."
    )
    text_autonomy_emitter_timeout_seconds: Seconds = _setting(
        "TEXT_AUTONOMY_EMITTER_TIMEOUT_SECONDS", 900, group=SOURCE, doc="Emitter job timeout."
    )
    text_daily_quota: int = _setting(
        "TEXT_DAILY_QUOTA",
        1,
        group=SOURCE,
        doc="Scenes emitted per daily run (1..100, as the emitter enforces).",
        ge=1,
        le=100,
    )
    text_daily_pause_after_consec_fails: int = _setting(
        "TEXT_DAILY_PAUSE_AFTER_CONSEC_FAILS", 3, group=SOURCE, doc="Auto-pause after this many failed days.", ge=1
    )
    text_autonomy_provider_policy: Literal["openrouter_qwen_primary", "openai_primary"] = _setting(
        "TEXT_AUTONOMY_PROVIDER_POLICY",
        "openrouter_qwen_primary",
        group=SOURCE,
        doc="provider_policy of emitted requests (case-sensitive, as the orchestrator checks it).",
    )
    text_autonomy_quality_tier: Annotated[Literal["standard", "premium"], BeforeValidator(_lower)] = _setting(
        "TEXT_AUTONOMY_QUALITY_TIER", "premium", group=SOURCE, doc="quality_tier of emitted requests."
    )
    text_autonomy_text_backend: Backend = _setting(
        "TEXT_AUTONOMY_TEXT_BACKEND",
        "scenesmith",
        group=SOURCE,
        doc="text_backend of emitted requests (emitter default).",
    )
    text_autonomy_allow_image_fallback: TrueOnlyBool = _setting(
        "TEXT_AUTONOMY_ALLOW_IMAGE_FALLBACK",
        False,
        group=SOURCE,
        doc="fallback.allow_image_fallback of emitted requests; on only when it equals 'true'.",
    )
    text_autonomy_seed_count: int = _setting(
        "TEXT_AUTONOMY_SEED_COUNT", 1, group=SOURCE, doc="seed_count of emitted requests.", ge=1
    )
    text_autonomy_source_wait_timeout_seconds: Seconds = _setting(
        "TEXT_AUTONOMY_SOURCE_WAIT_TIMEOUT_SECONDS", 21600, group=SOURCE, doc="Per-scene wait for source completion."
    )
    text_autonomy_source_wait_poll_seconds: int = _setting(
        "TEXT_AUTONOMY_SOURCE_WAIT_POLL_SECONDS", 30, group=SOURCE, doc="Poll interval of that wait.", ge=1
    )

    # ---------------------------------------------------------------- retrieval
    text_asset_retrieval_enabled: TruthyBool = _setting(
        "TEXT_ASSET_RETRIEVAL_ENABLED", True, group=RETRIEVAL, doc="Library retrieval before placeholder fallback."
    )
    text_asset_library_prefixes: CommaList = _setting(
        "TEXT_ASSET_LIBRARY_PREFIXES",
        ["scenes"],
        group=RETRIEVAL,
        doc="Library prefixes scanned for retrieval.",
        min_length=1,
    )
    text_asset_library_max_files: int = _setting(
        "TEXT_ASSET_LIBRARY_MAX_FILES", 2500, group=RETRIEVAL, doc="Scan cap of the retrieval index build.", ge=1
    )
    text_asset_library_min_score: float = _setting(
        "TEXT_ASSET_LIBRARY_MIN_SCORE", 0.25, group=RETRIEVAL, doc="Minimum lexical score.", ge=0
    )
    text_asset_retrieval_mode: Annotated[
        Literal["lexical_primary", "ann_shadow", "ann_primary"], BeforeValidator(_lower)
    ] = _setting("TEXT_ASSET_RETRIEVAL_MODE", "ann_shadow", group=RETRIEVAL, doc="Retrieval rollout mode.")
    text_asset_ann_enabled: TruthyBool = _setting(
        "TEXT_ASSET_ANN_ENABLED", True, group=RETRIEVAL, doc="ANN semantic retrieval."
    )
    text_asset_ann_top_k: int = _setting(
        "TEXT_ASSET_ANN_TOP_K", 40, group=RETRIEVAL, doc="ANN candidates before rerank.", ge=1
    )
    text_asset_ann_min_score: float = _setting(
        "TEXT_ASSET_ANN_MIN_SCORE", 0.28, group=RETRIEVAL, doc="Minimum ANN similarity.", ge=-1, le=1
    )
    text_asset_ann_max_rerank: int = _setting(
        "TEXT_ASSET_ANN_MAX_RERANK", 20, group=RETRIEVAL, doc="ANN candidates reranked.", ge=1
    )
    text_asset_ann_namespace: str = _setting(
        "TEXT_ASSET_ANN_NAMESPACE", "assets-v1", group=RETRIEVAL, doc="Vector namespace of asset embeddings."
    )
    text_asset_lexical_fallback_enabled: TruthyBool = _setting(
        "TEXT_ASSET_LEXICAL_FALLBACK_ENABLED", True, group=RETRIEVAL, doc="Lexical fallback when ANN misses/fails."
    )
    text_asset_rollout_state_prefix: Prefix = _setting(
        "TEXT_ASSET_ROLLOUT_STATE_PREFIX",
        "automation/asset_retrieval_rollout",
        group=RETRIEVAL,
        doc="Rollout state prefix.",
    )
    text_asset_rollout_min_decisions: int = _setting(
        "TEXT_ASSET_ROLLOUT_MIN_DECISIONS", 500, group=RETRIEVAL, doc="Min ANN decisions per rollout window.", ge=0
    )
    text_asset_rollout_min_hit_rate: Rate = _setting(
        "TEXT_ASSET_ROLLOUT_MIN_HIT_RATE", 0.95, group=RETRIEVAL, doc="ANN hit-rate needed for promotion."
    )
    text_asset_rollout_max_error_rate: Rate = _setting(
        "TEXT_ASSET_ROLLOUT_MAX_ERROR_RATE", 0.01, group=RETRIEVAL, doc="ANN error-rate allowed for promotion."
    )
    text_asset_rollout_max_p95_ms: float = _setting(
        "TEXT_ASSET_ROLLOUT_MAX_P95_MS", 400.0, group=RETRIEVAL, doc="ANN p95 latency allowed for promotion.", ge=0
    )
    text_asset_catalog_enabled: TruthyBool = _setting(
        "TEXT_ASSET_CATALOG_ENABLED", True, group=RETRIEVAL, doc="Publish asset/scene metadata to the catalog."
    )
    text_asset_embedding_queue_prefix: Prefix = _setting(
        "TEXT_ASSET_EMBEDDING_QUEUE_PREFIX", "automation/asset_embedding/queue", group=RETRIEVAL, doc="Embedding queue."
    )
    text_asset_embedding_processed_prefix: Prefix = _setting(
        "TEXT_ASSET_EMBEDDING_PROCESSED_PREFIX",
        "automation/asset_embedding/processed",
        group=RETRIEVAL,
        doc="Embedding success results.",
    )
    text_asset_embedding_failed_prefix: Prefix = _setting(
        "TEXT_ASSET_EMBEDDING_FAILED_PREFIX",
        "automation/asset_embedding/failed",
        group=RETRIEVAL,
        doc="Embedding failure results.",
    )
    text_asset_embedding_model: str = _setting(
        "TEXT_ASSET_EMBEDDING_MODEL", "text-embedding-3-small", group=RETRIEVAL, doc="Embedding model."
    )
    text_asset_replication_enabled: TruthyBool = _setting(
        "TEXT_ASSET_REPLICATION_ENABLED", True, group=RETRIEVAL, doc="Enqueue async replication requests."
    )
    text_asset_replication_queue_prefix: Prefix = _setting(
        "TEXT_ASSET_REPLICATION_QUEUE_PREFIX",
        "automation/asset_replication/queue",
        group=RETRIEVAL,
        doc="Replication queue.",
    )
    text_asset_replication_target: str = _setting(
        "TEXT_ASSET_REPLICATION_TARGET", "backblaze_b2", group=RETRIEVAL, doc="Replication target label."
    )
    text_asset_replication_target_prefix: Prefix = _setting(
        "TEXT_ASSET_REPLICATION_TARGET_PREFIX", "assets", group=RETRIEVAL, doc="Replication object-key prefix."
    )
    text_asset_replication_processed_prefix: Prefix = _setting(
        "TEXT_ASSET_REPLICATION_PROCESSED_PREFIX",
        "automation/asset_replication/processed",
        group=RETRIEVAL,
        doc="Replication success results.",
    )
    text_asset_replication_failed_prefix: Prefix = _setting(
        "TEXT_ASSET_REPLICATION_FAILED_PREFIX",
        "automation/asset_replication/failed",
        group=RETRIEVAL,
        doc="Replication failure results.",
    )
    asset_replication_target: str | None = _setting(
        "ASSET_REPLICATION_TARGET",
        None,
        group=RETRIEVAL,
        doc="Bucket URL the replication consumer copies assets to (a folder, s3://... or gs://...).",
    )
    text_asset_generation_enabled: TruthyBool = _setting(
        "TEXT_ASSET_GENERATION_ENABLED", True, group=RETRIEVAL, doc="Generation-provider fallback on retrieval miss."
    )
    text_asset_generation_provider: Lower = _setting(
        "TEXT_ASSET_GENERATION_PROVIDER", "sam3d", group=RETRIEVAL, doc="Text asset generation provider."
    )
    text_asset_generation_provider_chain: LowerCommaList | None = _setting(
        "TEXT_ASSET_GENERATION_PROVIDER_CHAIN",
        None,
        group=RETRIEVAL,
        doc="Ordered providers; unset derives from the provider (sam3d → sam3d,hunyuan3d).",
    )
    text_asset_generated_cache_enabled: TruthyBool = _setting(
        "TEXT_ASSET_GENERATED_CACHE_ENABLED", True, group=RETRIEVAL, doc="Cache generated assets for retrieval."
    )
    text_asset_generated_cache_prefix: Prefix = _setting(
        "TEXT_ASSET_GENERATED_CACHE_PREFIX",
        "asset-library/generated-text",
        group=RETRIEVAL,
        doc="Generated-asset cache.",
    )
    text_sam3d_api_host: str | None = _setting(
        "TEXT_SAM3D_API_HOST", None, group=RETRIEVAL, doc="SAM3D provider base URL."
    )
    text_sam3d_text_endpoints: CommaList = _setting(
        "TEXT_SAM3D_TEXT_ENDPOINTS",
        ["/openapi/v1/text-to-3d", "/v1/text-to-3d"],
        group=RETRIEVAL,
        doc="SAM3D text-to-3D endpoint candidates.",
        min_length=1,
    )
    text_sam3d_timeout_seconds: Seconds = _setting(
        "TEXT_SAM3D_TIMEOUT_SECONDS", 1800, group=RETRIEVAL, doc="SAM3D task timeout."
    )
    text_sam3d_poll_seconds: int = _setting(
        "TEXT_SAM3D_POLL_SECONDS", 10, group=RETRIEVAL, doc="SAM3D poll interval.", ge=1
    )
    text_hunyuan_api_host: str | None = _setting(
        "TEXT_HUNYUAN_API_HOST", None, group=RETRIEVAL, doc="Hunyuan fallback provider base URL."
    )
    text_hunyuan_text_endpoints: CommaList = _setting(
        "TEXT_HUNYUAN_TEXT_ENDPOINTS",
        ["/openapi/v1/text-to-3d", "/v1/text-to-3d"],
        group=RETRIEVAL,
        doc="Hunyuan text-to-3D endpoint candidates.",
        min_length=1,
    )
    text_hunyuan_timeout_seconds: Seconds = _setting(
        "TEXT_HUNYUAN_TIMEOUT_SECONDS", 1800, group=RETRIEVAL, doc="Hunyuan task timeout."
    )
    text_hunyuan_poll_seconds: int = _setting(
        "TEXT_HUNYUAN_POLL_SECONDS", 10, group=RETRIEVAL, doc="Hunyuan poll interval.", ge=1
    )
    vector_store_provider: Lower = _setting(
        "VECTOR_STORE_PROVIDER", "vertex", group=RETRIEVAL, doc="Vector database backend."
    )
    vector_store_project_id: str | None = _setting(
        "VECTOR_STORE_PROJECT_ID",
        None,
        group=RETRIEVAL,
        doc="Vector backend project (default GOOGLE_CLOUD_PROJECT_ID).",
    )
    vector_store_location: str | None = _setting(
        "VECTOR_STORE_LOCATION", None, group=RETRIEVAL, doc="Vector backend location (default WORKFLOW_REGION)."
    )
    vector_store_namespace: str = _setting(
        "VECTOR_STORE_NAMESPACE", "assets-v1", group=RETRIEVAL, doc="Vector namespace."
    )
    vector_store_dimension: int = _setting(
        "VECTOR_STORE_DIMENSION", 1536, group=RETRIEVAL, doc="Vector dimensionality.", ge=1
    )
    vertex_index_endpoint: str | None = _setting(
        "VERTEX_INDEX_ENDPOINT", None, group=RETRIEVAL, doc="Vertex Matching Engine endpoint resource."
    )
    vertex_deployed_index_id: str | None = _setting(
        "VERTEX_DEPLOYED_INDEX_ID", None, group=RETRIEVAL, doc="Vertex deployed index id."
    )
    vertex_index_name: str | None = _setting(
        "VERTEX_INDEX_NAME", None, group=RETRIEVAL, doc="Vertex index resource (needed for upserts)."
    )

    # ---------------------------------------------------------------- genie sim
    geniesim_circuit_breaker_threshold: int = _setting(
        "GENIESIM_CIRCUIT_BREAKER_THRESHOLD",
        3,
        group=GENIESIM,
        doc="Consecutive failures before Genie Sim export/import short-circuit.",
        ge=1,
    )
    geniesim_circuit_breaker_recovery_seconds: Seconds = _setting(
        "GENIESIM_CIRCUIT_BREAKER_RECOVERY_SECONDS",
        600,
        group=GENIESIM,
        doc="Open time before one half-open trial run.",
    )
    enable_vlm_quality_audit: TruthyBool = _setting(
        "ENABLE_VLM_QUALITY_AUDIT", True, group=GENIESIM, doc="VLM episode audit (reference default '1')."
    )
    allow_idempotent_retry: str | None = _setting(
        "ALLOW_IDEMPOTENT_RETRY",
        None,
        group=GENIESIM,
        doc="Raw value: any non-empty value lets the export re-submit after a failed/partial marker; "
        "only 'true' lets the import job rewrite a delivery marker.",
    )
    canary_enabled: TruthyBool = _setting("CANARY_ENABLED", False, group=GENIESIM, doc="Canary routing in the GPU job.")
    canary_percent: int = _setting(
        "CANARY_PERCENT", 0, group=GENIESIM, doc="Percentage rollout by stable scene-id hash.", ge=0, le=100
    )
    canary_tags: CommaList = _setting("CANARY_TAGS", [], group=GENIESIM, doc="Scene tags routed to canary.")
    canary_scene_ids: CommaList = _setting("CANARY_SCENE_IDS", [], group=GENIESIM, doc="Scene ids routed to canary.")
    canary_release_channel: str = _setting(
        "CANARY_RELEASE_CHANNEL", "stable", group=GENIESIM, doc="Release channel recorded with the assignment."
    )
    canary_rollback_marker: str | None = _setting(
        "CANARY_ROLLBACK_MARKER",
        None,
        group=GENIESIM,
        doc="Rollback marker object (default scenes/<scene>/geniesim/.canary_rollback).",
    )
    geniesim_image_tag: str = _setting("GENIESIM_IMAGE_TAG", "isaacsim", group=GENIESIM, doc="Stable image tag.")
    geniesim_canary_image_tag: str = _setting(
        "GENIESIM_CANARY_IMAGE_TAG", "isaacsim-canary", group=GENIESIM, doc="Canary image tag."
    )
    geniesim_host: str = _setting("GENIESIM_HOST", "localhost", group=GENIESIM, doc="Genie Sim server host.")
    geniesim_port: int = _setting("GENIESIM_PORT", 50051, group=GENIESIM, doc="Genie Sim server port.", ge=1, le=65535)
    geniesim_root: str = _setting("GENIESIM_ROOT", "/opt/geniesim", group=GENIESIM, doc="Genie Sim install root.")
    isaac_sim_path: str = _setting("ISAAC_SIM_PATH", "/isaac-sim", group=GENIESIM, doc="Isaac Sim install path.")
    firebase_upload_prefix: Prefix = _setting(
        "FIREBASE_UPLOAD_PREFIX", "datasets", group=GENIESIM, doc="Firebase upload prefix."
    )
    firebase_service_account_path: str = _setting(
        "FIREBASE_SERVICE_ACCOUNT_PATH",
        "/secrets/firebase/service-account.json",
        group=GENIESIM,
        doc="Firebase service-account file.",
    )

    # ---------------------------------------------------------------- maintenance
    pipeline_retention_days: int = _setting(
        "PIPELINE_RETENTION_DAYS", 30, group=MAINTENANCE, doc="Pipeline (intermediate / fallback) retention days.", ge=0
    )
    pipeline_marker_retention_days: int = _setting(
        "PIPELINE_MARKER_RETENTION_DAYS", 30, group=MAINTENANCE, doc="Marker retention days.", ge=0
    )
    pipeline_retention_dry_run: TruthyBool = _setting(
        "PIPELINE_RETENTION_DRY_RUN", False, group=MAINTENANCE, doc="Log what retention would delete, delete nothing."
    )
    pipeline_input_retention_days: int = _setting(
        "PIPELINE_INPUT_RETENTION_DAYS", 90, group=MAINTENANCE, doc="input/ retention days.", ge=0
    )
    pipeline_intermediate_retention_days: int | None = _setting(
        "PIPELINE_INTERMEDIATE_RETENTION_DAYS",
        None,
        group=MAINTENANCE,
        doc=".checkpoints/, layout/, seg/ retention days (default PIPELINE_RETENTION_DAYS).",
        ge=0,
    )
    pipeline_output_retention_days: int = _setting(
        "PIPELINE_OUTPUT_RETENTION_DAYS", 365, group=MAINTENANCE, doc="Stage output retention days.", ge=0
    )
    pipeline_log_retention_days: int = _setting(
        "PIPELINE_LOG_RETENTION_DAYS", 180, group=MAINTENANCE, doc="logs/ retention days.", ge=0
    )
    pipeline_retry_max: int | None = _setting(
        "PIPELINE_RETRY_MAX",
        None,
        group=MAINTENANCE,
        doc="Override of the retry policy's max_retries (total attempts); unset = policy file.",
        ge=1,
    )
    pipeline_retry_base_delay: float | None = _setting(
        "PIPELINE_RETRY_BASE_DELAY",
        None,
        group=MAINTENANCE,
        doc="Override of the retry policy's base_delay_seconds; unset = policy file.",
        ge=0,
    )
    pipeline_retry_max_delay: float | None = _setting(
        "PIPELINE_RETRY_MAX_DELAY",
        None,
        group=MAINTENANCE,
        doc="Override of the retry policy's max_delay_seconds; unset = policy file.",
        ge=0,
    )

    # ---------------------------------------------------------------- workflow flags
    enable_text_autonomy_daily: TrueOnlyBool = _setting(
        "ENABLE_TEXT_AUTONOMY_DAILY", False, group=FLAGS, doc="Install the daily text autonomy schedule."
    )
    text_autonomy_scheduler_paused: TrueOnlyBool = _setting(
        "TEXT_AUTONOMY_SCHEDULER_PAUSED", False, group=FLAGS, doc="Keep the daily autonomy schedule paused."
    )
    enable_asset_embedding: TrueOnlyBool = _setting(
        "ENABLE_ASSET_EMBEDDING", False, group=FLAGS, doc="Run the asset embedding queue workflow."
    )
    enable_asset_replication: TrueOnlyBool = _setting(
        "ENABLE_ASSET_REPLICATION", False, group=FLAGS, doc="Run the asset replication queue workflow."
    )
    enable_dream2flow: TrueOnlyBool = _setting(
        "ENABLE_DREAM2FLOW", False, group=FLAGS, doc="Experimental Dream2Flow preparation workflow."
    )
    enable_dwm: TrueOnlyBool = _setting("ENABLE_DWM", False, group=FLAGS, doc="Experimental DWM preparation workflow.")
    enable_experimental: TrueOnlyBool = _setting(
        "ENABLE_EXPERIMENTAL", False, group=FLAGS, doc="Shared experimental flag (Dream2Flow and DWM)."
    )
    enable_scene_generation_scheduler: TrueOnlyBool = _setting(
        "ENABLE_SCENE_GENERATION_SCHEDULER", False, group=FLAGS, doc="Daily scene-generation schedule (off by default)."
    )
    enable_delivery_integrity_audit: TrueOnlyBool = _setting(
        "ENABLE_DELIVERY_INTEGRITY_AUDIT",
        False,
        group=FLAGS,
        doc="Weekly delivery checksum audit schedule (off by default).",
    )

    # ---------------------------------------------------------------- secrets
    bpflow_api_token: SecretStr | None = _secret("BPFLOW_API_TOKEN", "Bearer token required by the HTTP API when set.")
    openai_api_key: SecretStr | None = _secret("OPENAI_API_KEY", "OpenAI (or compatible) API key.")
    google_api_key: SecretStr | None = _secret("GOOGLE_API_KEY", "Google API key.")
    bp_google_api_key: SecretStr | None = _secret(
        "BP_GOOGLE_API_KEY", "Google API key forwarded to RunPod as GOOGLE_API_KEY."
    )
    gemini_api_key: SecretStr | None = _secret("GEMINI_API_KEY", "Gemini API key.")
    anthropic_api_key: SecretStr | None = _secret("ANTHROPIC_API_KEY", "Anthropic API key (legacy fallback attempt).")
    hf_token: SecretStr | None = _secret("HF_TOKEN", "Hugging Face token.")
    github_token: SecretStr | None = _secret("GITHUB_TOKEN", "GitHub token.")
    runpod_api_key: SecretStr | None = _secret(
        "RUNPOD_API_KEY", "RunPod API key (required when TEXT_GEN_RUNTIME=runpod)."
    )
    text_openrouter_api_key: SecretStr | None = _secret(
        "TEXT_OPENROUTER_API_KEY", "OpenRouter key for Stage 1 (falls back to OPENROUTER_API_KEY)."
    )
    openrouter_api_key: SecretStr | None = _secret("OPENROUTER_API_KEY", "OpenRouter key.")
    text_sam3d_api_key: SecretStr | None = _secret("TEXT_SAM3D_API_KEY", "SAM3D key (falls back to SAM3D_API_KEY).")
    sam3d_api_key: SecretStr | None = _secret("SAM3D_API_KEY", "SAM3D key.")
    text_hunyuan_api_key: SecretStr | None = _secret(
        "TEXT_HUNYUAN_API_KEY", "Hunyuan key (falls back to HUNYUAN_API_KEY)."
    )
    hunyuan_api_key: SecretStr | None = _secret("HUNYUAN_API_KEY", "Hunyuan key.")
    b2_key_id: SecretStr | None = _secret("B2_KEY_ID", "Backblaze B2 key id (replication job).")
    b2_application_key: SecretStr | None = _secret(
        "B2_APPLICATION_KEY", "Backblaze B2 application key (replication job)."
    )
    firebase_service_account_json: SecretStr | None = _secret(
        "FIREBASE_SERVICE_ACCOUNT_JSON", "Inline Firebase service-account JSON."
    )

    _notes: tuple[str, ...] = PrivateAttr(default=())

    # ------------------------------------------------------------------------------ plumbing

    def __init__(self, **values: Any) -> None:
        """Build from explicit values, then the current env mapping; errors become ConfigError.

        ``from None`` matters: pydantic's ValidationError embeds input values (possibly secrets)
        and must not appear even as the chained cause of a traceback.
        """
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _config_error(exc, values) from None
        self._notes = tuple(_notes_for(_current_env()))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values win, then the env mapping; no .env or secrets-dir magic (the seed
        configures jobs through env only, and hidden sources would make `bpflow config` lie)."""
        return (init_settings, _EnvMappingSource(settings_cls))

    @field_validator("bpflow_log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        value = _upper(value)
        return "WARNING" if value == "WARN" else value

    @field_validator("text_openrouter_model_chain", mode="after")
    @classmethod
    def _model_chain(cls, value: list[str]) -> list[str]:
        # The reference: "an empty ... value falls back to the default".
        return value or list(cls.model_fields["text_openrouter_model_chain"].default)

    @field_validator("text_autonomy_timezone", mode="after")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("text_autonomy_scheduler_cron", mode="after")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"not a valid cron expression: {value!r}")
        return value

    @field_validator("bpflow_database_url", mode="after")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(sqlite|postgres(ql)?)(\+[a-z0-9]+)?://", value):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _derive(self) -> Self:
        """Fill defaults that depend on other settings. Written with object.__setattr__ so the
        field still reports "default" as its source (and the model stays frozen)."""
        home = Path(self.bpflow_home).expanduser().resolve()
        object.__setattr__(self, "bpflow_home", home)
        bucket = self.bpflow_bucket_url
        if bucket is None:
            bucket = f"file://{home}/bucket"
        elif "://" not in bucket:
            bucket = f"file://{Path(bucket).expanduser().resolve()}"
        object.__setattr__(self, "bpflow_bucket_url", bucket)
        if self.bpflow_database_url is None:
            object.__setattr__(self, "bpflow_database_url", f"sqlite:///{home}/bpflow.sqlite")
        if self.bpflow_policy_dir is not None:
            object.__setattr__(self, "bpflow_policy_dir", Path(self.bpflow_policy_dir).expanduser().resolve())
        if self.text_openrouter_base_url is None:
            url = self.openrouter_base_url or DEFAULT_OPENROUTER_BASE_URL
            object.__setattr__(self, "text_openrouter_base_url", url)
        if self.vector_store_location is None:
            object.__setattr__(self, "vector_store_location", self.workflow_region)
        if self.vector_store_project_id is None and self.google_cloud_project_id is not None:
            object.__setattr__(self, "vector_store_project_id", self.google_cloud_project_id)
        if self.pipeline_intermediate_retention_days is None:
            object.__setattr__(self, "pipeline_intermediate_retention_days", self.pipeline_retention_days)
        if self.text_asset_generation_provider_chain is None:
            provider = self.text_asset_generation_provider
            chain = {"sam3d": ["sam3d", "hunyuan3d"], "hunyuan3d": ["hunyuan3d", "sam3d"]}.get(provider, [provider])
            object.__setattr__(self, "text_asset_generation_provider_chain", chain)
        return self

    # ------------------------------------------------------------------------------ derived views

    @property
    def home(self) -> Path:
        """Absolute BPFLOW_HOME."""
        return self.bpflow_home

    @property
    def bucket_url(self) -> str:
        """Effective bucket URL (always a scheme://; bare paths became file:// absolute)."""
        assert self.bpflow_bucket_url is not None
        return self.bpflow_bucket_url

    @property
    def database_url(self) -> str:
        """Effective DBOS system database URL."""
        assert self.bpflow_database_url is not None
        return self.bpflow_database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, absolute; None for PostgreSQL or an in-memory database.

        ``sqlite:////abs/file`` (four slashes) is absolute, ``sqlite:///rel/file`` relative to the
        working directory, as SQLAlchemy reads them.
        """
        if not self.is_sqlite:
            return None
        rest = self.database_url.split("://", 1)[1]
        rest = rest.split("?", 1)[0]
        if rest.startswith("/"):
            rest = rest[1:]
        if rest in ("", ":memory:"):
            return None
        return Path(rest).expanduser().resolve()

    @property
    def workflow_modules(self) -> list[str]:
        """BPFLOW_WORKFLOW_MODULES as a list."""
        return _split_list(self.bpflow_workflow_modules)

    @property
    def trigger_files(self) -> list[Path]:
        """BPFLOW_TRIGGER_FILES as absolute paths."""
        return [Path(p).expanduser().resolve() for p in _split_list(self.bpflow_trigger_files)]

    @property
    def effective_openrouter_api_key(self) -> SecretStr | None:
        """TEXT_OPENROUTER_API_KEY, else OPENROUTER_API_KEY (the Stage 1 job's precedence)."""
        return self.text_openrouter_api_key or self.openrouter_api_key

    @property
    def effective_sam3d_api_key(self) -> SecretStr | None:
        """TEXT_SAM3D_API_KEY, else SAM3D_API_KEY."""
        return self.text_sam3d_api_key or self.sam3d_api_key

    @property
    def effective_hunyuan_api_key(self) -> SecretStr | None:
        """TEXT_HUNYUAN_API_KEY, else HUNYUAN_API_KEY."""
        return self.text_hunyuan_api_key or self.hunyuan_api_key

    @property
    def allow_idempotent_retry_any(self) -> bool:
        """Export-workflow rule: any non-empty ALLOW_IDEMPOTENT_RETRY allows a re-submit."""
        return bool(self.allow_idempotent_retry)

    @property
    def allow_idempotent_retry_true(self) -> bool:
        """Import-job rule: only ALLOW_IDEMPOTENT_RETRY=true allows rewriting a delivery marker."""
        return parse_bool(self.allow_idempotent_retry, False, strict=True)

    @property
    def retention_days(self) -> dict[str, int]:
        """Retention window per class, as the retention job uses them (spec-maintenance §4)."""
        assert self.pipeline_intermediate_retention_days is not None
        return {
            "inputs": self.pipeline_input_retention_days,
            "intermediate": self.pipeline_intermediate_retention_days,
            "outputs": self.pipeline_output_retention_days,
            "logs": self.pipeline_log_retention_days,
            "markers": self.pipeline_marker_retention_days,
        }

    @property
    def notes(self) -> tuple[str, ...]:
        """Warnings about values that are valid but probably not what was meant (e.g.
        ENABLE_DWM=1, which the reference's rule reads as false)."""
        return self._notes

    # ------------------------------------------------------------------------------ display

    def redacted(self) -> dict[str, Any]:
        """Every setting keyed by its env var name, JSON-ready, safe to print: secrets are
        ``"***"`` when set and None when unset; URL credentials inside any string are masked."""
        out: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            out[_alias(field)] = _display(getattr(self, name))
        return out

    def sources(self) -> dict[str, str]:
        """Where each value came from: ``"env"`` (or an explicit constructor argument) or
        ``"default"`` (derived defaults such as the bucket URL count as default)."""
        set_fields = self.model_fields_set
        return {
            _alias(field): ("env" if name in set_fields else "default")
            for name, field in type(self).model_fields.items()
        }

    def secret_values(self) -> list[str]:
        """Plain values a log line or page must never show: every set secret, plus passwords and
        credential query values embedded in URL-valued settings (both as written and
        percent-decoded). Longest first, so a scrubber replacing in order never leaves a tail."""
        found: set[str] = set()
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                plain = value.get_secret_value()
                if plain:
                    found.add(plain)
            elif isinstance(value, str):
                found.update(url_credentials(value))
        return sorted(found, key=lambda s: (-len(s), s))


# --------------------------------------------------------------------------------------------
# Helpers over the field table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvField:
    """One setting as documentation / the ``bpflow config`` table sees it."""

    env: str
    attr: str
    group: str
    secret: bool
    bool_rule: str | None  # "truthy", "true-only" or None for non-booleans
    description: str


def _is_secret(field: FieldInfo) -> bool:
    ann = field.annotation
    return ann is SecretStr or SecretStr in get_args(ann)


def _bool_rule(field: FieldInfo) -> str | None:
    for meta in field.metadata:
        if meta in ("truthy", "true-only"):
            return str(meta)
    return None


def env_fields() -> list[EnvField]:
    """The settings table in declaration order (used by ``bpflow config`` and the tests)."""
    out: list[EnvField] = []
    for attr, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        out.append(
            EnvField(
                env=_alias(field),
                attr=attr,
                group=str(extra.get("group", RUNTIME)),
                secret=_is_secret(field),
                bool_rule=_bool_rule(field),
                description=field.description or "",
            )
        )
    return out


def _display(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Path):
        return redact_text(str(value))
    if isinstance(value, (list, tuple)):
        return [_display(v) for v in value]
    return redact_text(str(value))


def _notes_for(env: Mapping[str, str]) -> Iterator[str]:
    for f in env_fields():
        raw = (env.get(f.env) or "").strip()
        if not raw:
            continue
        if f.bool_rule == "true-only" and raw.lower() in TRUTHY and raw.lower() != "true":
            yield f"{f.env}={raw!r} counts as false: this flag is on only when it equals 'true'"
        if f.env == "ALLOW_IDEMPOTENT_RETRY" and raw.lower() in FALSY:
            yield (
                f"ALLOW_IDEMPOTENT_RETRY={raw!r}: any non-empty value allows the Genie Sim export to "
                "re-submit after a failed/partial marker; unset it to forbid that"
            )


def _config_error(exc: ValidationError, explicit: Mapping[str, Any]) -> ConfigError:
    """Turn pydantic's error into one that names each variable and says why, without values of
    secrets (and without pydantic's own rendering, which embeds every input)."""
    by_attr = {f.attr: f for f in env_fields()}
    by_env = {f.env: f for f in env_fields()}
    env = _current_env()
    problems: list[dict[str, str]] = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [str(p) for p in err.get("loc", ())]
        head = loc[0] if loc else ""
        f = by_env.get(head) or by_attr.get(head)
        variable = f.env if f else (head or "settings")
        if len(loc) > 1:
            variable += "".join(f"[{p}]" for p in loc[1:])
        reason = str(err.get("msg", "invalid value"))
        if reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        problem = {"variable": variable, "reason": reason}
        if f is not None and not f.secret:
            raw = explicit.get(f.env, explicit.get(f.attr, env.get(f.env)))
            if raw is not None:
                shown = redact_text(str(raw))
                problem["value"] = shown if len(shown) <= 80 else shown[:77] + "..."
        problems.append(problem)
    parts = [
        f"{p['variable']}={p['value']!r}: {p['reason']}" if "value" in p else f"{p['variable']}: {p['reason']}"
        for p in problems
    ]
    first = problems[0]["variable"].split("[", 1)[0] if problems else None
    return ConfigError("invalid configuration: " + "; ".join(parts), field=first, details={"errors": problems})


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Fresh settings from ``env`` (default ``os.environ``). Never cached: callers that pass a
    mapping (tests, the in-process runtime) must see exactly that mapping, nothing else."""
    token = _ENV_OVERRIDE.set(None if env is None else dict(env))
    try:
        return Settings()
    finally:
        _ENV_OVERRIDE.reset(token)


_CACHE: Settings | None = None
_CACHE_LOCK = threading.Lock()


def get_settings() -> Settings:
    """The process-wide settings from ``os.environ``, loaded once (long-running processes read
    their configuration at start, like a deployed workflow)."""
    global _CACHE
    with _CACHE_LOCK:
        if _CACHE is None:
            _CACHE = load_settings()
        return _CACHE


def reset_settings_cache() -> None:
    """Forget the cached settings so the next :func:`get_settings` re-reads the environment."""
    global _CACHE
    with _CACHE_LOCK:
        _CACHE = None
