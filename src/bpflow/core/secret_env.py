"""Secret values that live outside ``Settings``: the process environment and credential files.

``Settings.secret_values()`` knows the secrets bpflow itself declares. A deployment also holds
others: cloud SDK variables (``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), a vendor key any
plugin reads, and credential files named by ``GOOGLE_APPLICATION_CREDENTIALS`` and friends. A
variable is taken for a secret by its name (``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``);
a credential file contributes its whole text and every secret-looking value inside it.
"""

from __future__ import annotations

import configparser
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
SECRET_NAMES = frozenset(
    {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}
)
CREDENTIAL_FILE_VARS = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AWS_SHARED_CREDENTIALS_FILE",
    "FIREBASE_SERVICE_ACCOUNT_PATH",
)

#: A value matched by name only must be at least this long: ``ENABLE_FOO_KEY=true`` must not
#: turn every ``true`` on every page into ``***``.
MIN_NAMED_LENGTH = 8
MAX_FILE_BYTES = 1024 * 1024
#: Keys of a credential file whose values are secret (a service-account JSON, an AWS profile).
SECRET_FIELD_SUFFIXES = ("key", "secret", "token", "password")


def _secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(SECRET_FIELD_SUFFIXES) and not lowered.endswith("_id")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_NAMES or upper.endswith(SECRET_SUFFIXES)


def _with_lines(value: str) -> Iterable[str]:
    """A multi-line secret (a PEM key) and its long lines, so a partial print is caught too."""
    yield value
    if "\n" in value:
        yield from (line.strip() for line in value.splitlines() if len(line.strip()) >= 16)


def credential_file_secrets(path: str) -> set[str]:
    """The secret contents of a credential file; an unreadable file contributes nothing."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES)
    except OSError:
        return set()
    text = raw.decode("utf-8", "replace").strip()
    found: set[str] = {text} if len(text) >= MIN_NAMED_LENGTH else set()
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, str) and _secret_field(str(key)) and len(value) >= MIN_NAMED_LENGTH:
                found.update(_with_lines(value))
        return found
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return found
    for section in parser.sections():
        for key, value in parser.items(section):
            if _secret_field(key) and len(value) >= MIN_NAMED_LENGTH:
                found.add(value.strip())
    return found


def env_secret_values(env: Mapping[str, str] | None = None) -> set[str]:
    """Every secret of the environment (by name) and of the credential files it points at."""
    env = os.environ if env is None else env
    found: set[str] = set()
    for name, value in env.items():
        if value and is_secret_name(name) and (len(value) >= MIN_NAMED_LENGTH or name.upper() in SECRET_NAMES):
            found.update(_with_lines(value))
    for name in CREDENTIAL_FILE_VARS:
        path = env.get(name)
        if path:
            found.update(credential_file_secrets(path))
    return found
