"""LLM-first scene planning through the ``openai`` SDK, against any OpenAI-compatible endpoint.

The LLM only decides *what* is in the room (room type; per object name, category, role, and a
size for things our catalog does not know). Where things go is always decided by the placement
solver, so a creative or broken answer can never produce a physically impossible scene.

Attempts: ``rounds`` (``TEXT_GEN_LLM_MAX_ATTEMPTS``) passes over the provider chain; every call
counts. A call fails on any HTTP error (429, 5xx, 4xx), a timeout or connection error, or an
answer that is not a JSON object with a usable ``objects`` list after repair. Between rounds the
planner sleeps ``backoff × round`` seconds (linear, the reference's rule), or longer if a 429 asked
for it with ``Retry-After`` (capped). The SDK's own retries are off, so the count is honest.
Chain entries without a key are skipped and not counted; with no usable entry the caller falls
back to the template planner without calling anything.

Secrets: keys go to the SDK only. Failure reasons carry the provider name, an HTTP status or an
exception class, never a message body (which may echo a key).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bpflow.core.config import DEFAULT_OPENROUTER_BASE_URL, Settings
from bpflow.domain.textgen.model import PlannedObject
from bpflow.domain.textgen.room_catalog import SIM_ROLES, canonical_room_type, canonical_token, default_role
from bpflow.domain.textgen.template_planner import MAX_OBJECTS, make_object

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

ANTHROPIC_OPENAI_BASE_URL = "https://api.anthropic.com/v1/"
GEMINI_OPENAI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_COUNT_PER_OBJECT = 12
MIN_LLM_DIMENSION_M, MAX_LLM_DIMENSION_M = 0.01, 6.0
DEFAULT_TIMEOUT_SECONDS = 120.0

#: Things that are part of the building, or hang on walls / ceilings: not resting objects.
NOT_RESTING = frozenset(
    {
        "wall",
        "floor",
        "ceiling",
        "window",
        "door",
        "room",
        "painting",
        "poster",
        "picture",
        "picture_frame",
        "mirror",
        "wall_clock",
        "clock",
        "ceiling_light",
        "ceiling_fan",
        "chandelier",
        "light_fixture",
        "curtain",
        "curtains",
        "blinds",
        "wall_art",
        "tapestry",
        "rug",
        "carpet",
        "wall_shelf",
        "shelf_bracket",
        "window_blinds",
    }
)

SYSTEM_PROMPT = """You plan the contents of one indoor room for a robot simulation.
Answer with a single compact JSON object and nothing else, shaped as:
{"room_type": "<kitchen|living_room|bedroom|office|bathroom|lab|warehouse|grocery|...>",
 "objects": [{"name": "<snake_case noun>", "category": "<snake_case class>", "sim_role": "<role>",
              "count": <1-12, optional>, "dimensions": {"width": <m>, "height": <m>, "depth": <m>}}]}
Roles: static, articulated_furniture, articulated_appliance, manipulable_object, deformable_object.
Rules: only objects that stand on the floor or on another object's top (no wall- or ceiling-mounted
things, no rugs); list every object the user names, with the user's counts; decompose composites
(a fruit bowl is a bowl plus fruit); include at least one articulated object; include small
manipulable objects for surfaces; real-world sizes in metres. Positions are decided elsewhere."""


@dataclass(frozen=True)
class ChainEntry:
    """One provider/model attempt. ``api_key`` is never printed (repr hides it)."""

    provider: str
    model: str
    base_url: str | None
    api_key: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class LLMPlan:
    room_type: str | None
    objects: list[PlannedObject]
    repairs: list[str]


@dataclass
class LLMResult:
    """Outcome of LLM planning. ``plan`` is None when every attempt failed or none was made."""

    plan: LLMPlan | None
    provider: str | None
    attempts: int
    failure_reason: str | None
    log: list[dict[str, Any]] = field(default_factory=list)
    skipped_providers: list[str] = field(default_factory=list)


class PlanRejected(Exception):
    """An answer that is not a usable plan; ``reason`` is a short, secret-free token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return plain or None


def resolve_chain(settings: Settings, provider_policy: str) -> tuple[list[ChainEntry], list[str]]:
    """(usable entries in order, names of entries skipped for lack of a key).

    ``openrouter_qwen_primary``: one entry per OpenRouter model (key TEXT_OPENROUTER_API_KEY →
    OPENROUTER_API_KEY), then ``openai`` and ``anthropic`` when the legacy fallback is on.
    ``openai_primary``: ``openai`` (OPENAI_API_KEY), ``gemini``, ``anthropic``.
    """
    openai_entry = ("openai", settings.openai_model, settings.openai_base_url, _secret(settings.openai_api_key))
    anthropic_entry = (
        "anthropic",
        settings.anthropic_model,
        ANTHROPIC_OPENAI_BASE_URL,
        _secret(settings.anthropic_api_key),
    )
    wanted: list[tuple[str, str, str | None, str | None, dict[str, str]]] = []
    if provider_policy == "openai_primary":
        gemini_key = _secret(settings.gemini_api_key) or _secret(settings.google_api_key)
        for name, model, url, key in (
            openai_entry,
            ("gemini", settings.gemini_model, GEMINI_OPENAI_BASE_URL, gemini_key),
            anthropic_entry,
        ):
            wanted.append((name, model, url, key, {}))
    else:
        key = _secret(settings.effective_openrouter_api_key)
        base = settings.text_openrouter_base_url or settings.openrouter_base_url or DEFAULT_OPENROUTER_BASE_URL
        headers = {}
        if settings.text_openrouter_http_referer:
            headers["HTTP-Referer"] = settings.text_openrouter_http_referer
        if settings.text_openrouter_app_title:
            headers["X-Title"] = settings.text_openrouter_app_title
        for model in settings.text_openrouter_model_chain:
            wanted.append((f"openrouter:{model}", model, base, key, headers))
        if settings.text_openrouter_include_legacy_fallback:
            for name, model, url, k in (openai_entry, anthropic_entry):
                wanted.append((name, model, url, k, {}))
    usable = [ChainEntry(n, m, u, k, h) for n, m, u, k, h in wanted if k]
    skipped = [n for n, _m, _u, k, _h in wanted if not k]
    return usable, skipped


def _strip_to_json(content: str) -> str:
    text = content.strip()
    fenced = re.match(r"^```[a-zA-Z]*\s*(.*?)\s*```$", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{"):
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise PlanRejected("not_json")
        text = text[start : end + 1]
    return text


def _llm_dims(raw: Any) -> tuple[float, float, float] | None:
    if not isinstance(raw, Mapping):
        return None
    values = []
    for key in ("width", "height", "depth"):
        v = raw.get(key)
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not MIN_LLM_DIMENSION_M <= v <= MAX_LLM_DIMENSION_M
        ):
            return None
        values.append(float(v))
    return values[0], values[1], values[2]


def parse_plan(content: str | None) -> LLMPlan:
    """Validate and repair an answer into a plan, or reject it with a reason.

    Repairs (each noted): names and categories canonicalised; a missing category takes the
    name; an unknown role takes the category's default; ``count`` expands (capped at 12); the
    list is capped at 64; building parts and wall/ceiling-mounted things are dropped; items that
    are not objects with a name are dropped. A size is used only for categories the catalog
    does not know (catalog sizes are measured, LLM sizes are guesses).
    """
    if content is None or not content.strip():
        raise PlanRejected("empty_response")
    try:
        payload = json.loads(_strip_to_json(content))
    except json.JSONDecodeError:
        raise PlanRejected("not_json") from None
    if not isinstance(payload, dict):
        raise PlanRejected("not_an_object")
    items = payload.get("objects")
    if not isinstance(items, list):
        raise PlanRejected("objects_not_a_list")
    repairs: list[str] = []
    objects: list[PlannedObject] = []
    for item in items:
        if len(objects) >= MAX_OBJECTS:
            repairs.append("truncated_to_max_objects")
            break
        if not isinstance(item, Mapping):
            repairs.append("dropped_non_object_item")
            continue
        raw_name = item.get("name") if isinstance(item.get("name"), str) else item.get("category")
        name = canonical_token(raw_name) if isinstance(raw_name, str) else ""
        if not name:
            repairs.append("dropped_unnamed_item")
            continue
        category = canonical_token(item["category"]) if isinstance(item.get("category"), str) else ""
        if not category:
            category = name
            repairs.append(f"category_from_name:{name}")
        if name in NOT_RESTING or category in NOT_RESTING:
            repairs.append(f"dropped_not_resting:{name}")
            continue
        role = canonical_token(item["sim_role"]) if isinstance(item.get("sim_role"), str) else ""
        if role not in SIM_ROLES:
            role = default_role(name, category)
            repairs.append(f"role_defaulted:{name}")
        count = item.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            count = 1
        count = min(count, MAX_COUNT_PER_OBJECT, MAX_OBJECTS - len(objects))
        obj = make_object(name, category, role)
        dims = _llm_dims(item.get("dimensions"))
        if obj.dims_source == "default" and dims is not None:
            obj = replace(obj, spec=replace(obj.spec, width=dims[0], height=dims[1], depth=dims[2]), dims_source="llm")
        objects += [obj] * count
    if not objects:
        raise PlanRejected("no_usable_objects")
    room = payload.get("room_type")
    room_type = canonical_room_type(room) if isinstance(room, str) and canonical_token(room) else None
    return LLMPlan(room_type, objects, repairs)


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("retry-after") if headers is not None else None
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is None:
            return None
        seconds = parsed.timestamp() - time.time()
    return max(0.0, min(MAX_RETRY_AFTER_SECONDS, seconds))


def _user_message(prompt: str, target: int) -> str:
    return f"Plan about {target} objects in total.\nUser prompt: {prompt}"


def call_once(entry: ChainEntry, prompt: str, *, target: int, tier: str, seed: int, timeout: float) -> LLMPlan:
    """One chat-completions call; raises the SDK's error or ``PlanRejected``."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": _user_message(prompt, target)},
    ]
    return parse_plan(
        chat_content(
            entry, messages, timeout=timeout, seed=seed, reasoning_effort="high" if tier == "premium" else "medium"
        )
    )


def chat_content(
    entry: ChainEntry, messages: list[ChatCompletionMessageParam], *, timeout: float, **options: Any
) -> str | None:
    """One JSON-mode chat-completions call (SDK retries off); the answer's text, or
    ``PlanRejected("empty_response")`` when it has no choice. SDK errors propagate."""
    import openai

    client = openai.OpenAI(
        api_key=entry.api_key,
        base_url=entry.base_url,
        max_retries=0,
        timeout=timeout,
        default_headers=dict(entry.headers) or None,
    )
    try:
        response = client.chat.completions.create(
            model=entry.model, messages=messages, response_format={"type": "json_object"}, **options
        )
    finally:
        client.close()
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise PlanRejected("empty_response")
    content = getattr(choices[0].message, "content", None)
    return content if isinstance(content, str) else None


def plan_with_llm(
    chain: list[ChainEntry],
    prompt: str,
    *,
    target: int,
    tier: str,
    seed: int,
    rounds: int,
    backoff_seconds: float,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    call: Callable[[ChainEntry], LLMPlan] | None = None,
) -> LLMResult:
    """Try the chain for up to ``rounds`` rounds; the first usable plan wins. ``call`` replaces
    the text prompt's chat call (the image path sends a photo instead), keeping this loop's
    accounting, backoff and Retry-After handling."""
    import openai

    result = LLMResult(None, None, 0, "llm_generation_failed" if chain else "llm_no_api_key")
    rounds = max(1, rounds)
    for round_index in range(1, rounds + 1):
        wait_hint = 0.0
        for entry in chain:
            result.attempts += 1
            record: dict[str, Any] = {"round": round_index, "provider": entry.provider, "model": entry.model}
            started = time.monotonic()
            try:
                plan = (
                    call(entry)
                    if call is not None
                    else call_once(entry, prompt, target=target, tier=tier, seed=seed, timeout=timeout)
                )
            except PlanRejected as exc:
                record["outcome"] = exc.reason
            except openai.APIStatusError as exc:
                record["outcome"] = f"http_{exc.status_code}"
                record["status_code"] = exc.status_code
                hint = _retry_after(getattr(exc.response, "headers", None))
                if hint is not None:
                    record["retry_after_seconds"] = hint
                    wait_hint = max(wait_hint, hint)
            except openai.APITimeoutError:
                record["outcome"] = "timeout"
            except openai.APIConnectionError:
                record["outcome"] = "connection_error"
            except openai.OpenAIError as exc:
                record["outcome"] = type(exc).__name__
            else:
                record["outcome"] = "ok"
                record["duration_ms"] = round(1000 * (time.monotonic() - started), 1)
                result.log.append(record)
                result.plan, result.provider, result.failure_reason = plan, entry.provider, None
                return result
            record["duration_ms"] = round(1000 * (time.monotonic() - started), 1)
            result.log.append(record)
            result.failure_reason = f"{entry.provider}:{record['outcome']}"
        if round_index < rounds and chain:
            delay = min(MAX_RETRY_AFTER_SECONDS, max(backoff_seconds * round_index, wait_hint))
            result.log.append({"round": round_index, "sleep_seconds": delay})
            sleep(delay)
    return result
