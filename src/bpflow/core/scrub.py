"""Removing configured secrets from anything shown to an operator.

Pages, API answers and job logs show data that jobs and markers wrote, and a job may well print
its environment. Rather than trusting every writer, whatever leaves through the dashboard, the
API or ``bpflow logs`` goes through one scrubber built from ``Settings.secret_values()``. A
secret is also looked for in the spellings it takes once embedded in JSON, HTML or a URL.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from markupsafe import escape

from bpflow.core.config import MASK, Settings
from bpflow.core.secret_env import env_secret_values

#: Shorter values are not scrubbed: masking every two-letter match would wreck every page,
#: and no real credential is that short.
MIN_SECRET_LENGTH = 4


def _spellings(secret: str) -> set[str]:
    """The secret as written, JSON-escaped and URL-quoted, each of those also HTML-escaped the
    ways the standard library and Jinja do it (a JSON marker shown in a page is both)."""
    bases = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
    }
    forms = set(bases)
    for base in bases:
        forms.update({html.escape(base, quote=True), html.escape(base, quote=False), str(escape(base))})
    return forms


_PROCESS: dict[int, tuple[Settings, Scrubber]] = {}


class Scrubber:
    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for s in secrets:
            if s and len(s) >= MIN_SECRET_LENGTH:
                forms.update(f for f in _spellings(s) if len(f) >= MIN_SECRET_LENGTH)
        # Longest first, so a secret that contains another is replaced whole.
        self._text = sorted(forms, key=lambda f: (-len(f), f))
        self._bytes = [f.encode("utf-8") for f in self._text]

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> Scrubber:
        """Settings' secrets plus the environment's (``env``, default ``os.environ``): secret-named
        variables and credential files' contents."""
        return cls([*settings.secret_values(), *env_secret_values(env)])

    @classmethod
    def for_process(cls) -> Scrubber:
        """The scrubber of this process's runtime (or settings), built once per settings object:
        what marker writers and log formatters use."""
        from bpflow.core.config import get_settings
        from bpflow.core.engine.runtime import current_runtime

        try:
            settings = current_runtime().settings
        except Exception:  # noqa: BLE001 - no runtime in this process (a job, the CLI)
            settings = get_settings()
        cached = _PROCESS.get(id(settings))
        if cached is None or cached[0] is not settings:
            _PROCESS.clear()
            cached = (settings, cls.from_settings(settings))
            _PROCESS[id(settings)] = cached
        return cached[1]

    def __bool__(self) -> bool:
        return bool(self._text)

    def text(self, value: str) -> str:
        for form in self._text:
            if form in value:
                value = value.replace(form, MASK)
        return value

    def bytes(self, value: bytes) -> bytes:
        mask = MASK.encode()
        for form in self._bytes:
            if form in value:
                value = value.replace(form, mask)
        return value

    def obj(self, value: Any) -> Any:
        """Deep copy of a JSON-like value with every string scrubbed (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value
