"""Optional LLM rewording of a base prompt, through the planner's provider chain.

The base prompt already names a room the text generator knows and objects from its catalog;
the LLM only makes it read like a person's request. Any failure (no key, HTTP error, an answer
that drops the room) keeps the base prompt and records why, so a day is never lost to an LLM.
"""

from __future__ import annotations

import json
from typing import Any

from bpflow.core.config import Settings
from bpflow.domain.textgen.llm_planner import ChainEntry, resolve_chain

SYSTEM = (
    "You reword requests for 3D indoor scenes used in robot simulation. Keep the room type and every object "
    'named; add one or two concrete details. Answer with JSON: {"prompt": "<one sentence>"}.'
)
MAX_PROMPT_CHARS = 600


def _ask(entry: ChainEntry, base: str, seed: int, timeout: float) -> str:
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
            model=entry.model,
            seed=seed,
            response_format={"type": "json_object"},
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": base}],
        )
    finally:
        client.close()
    content = response.choices[0].message.content if response.choices else None
    prompt = json.loads(content or "{}").get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("answer_without_prompt")
    return prompt.strip()[:MAX_PROMPT_CHARS]


def make_expander(settings: Settings, provider_policy: str, *, max_attempts: int, timeout: float = 60.0) -> Any:
    """An ``expand(base, rng)`` for :func:`choose_prompt`, or None when no provider has a key."""
    chain, _skipped = resolve_chain(settings, provider_policy)
    if not chain:
        return None

    def expand(base: str, rng: Any) -> tuple[str, int, str | None, str | None]:
        attempts, reason = 0, None
        for entry in (chain * max(1, max_attempts))[: max(1, max_attempts)]:
            attempts += 1
            try:
                prompt = _ask(entry, base, rng.randint(0, 2**31 - 1), timeout)
            except Exception as exc:  # noqa: BLE001 - any provider failure falls back to the base prompt
                reason = f"{entry.provider}:{type(exc).__name__}"
                continue
            room = base.split(" with ", 1)[0].split()[-1]
            if room.lower() not in prompt.lower():
                reason = f"{entry.provider}:room_dropped"
                continue
            return prompt, attempts, entry.provider, None
        return base, attempts, None, reason

    return expand
