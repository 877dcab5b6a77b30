"""The job side of the env contract, shared by every job module.

A job reads its parameters from environment variables, as the seed's container jobs do
(DESIGN principle 4). The in-process runner cannot give each concurrent job its own
``os.environ``, so it installs the job's env in a context variable; every getter here reads
that mapping first and falls back to ``os.environ``. A job that only reads its env through
these helpers therefore behaves the same in a subprocess, in a container and in-process.

Output works the same way: ``log_json`` and the error reporting of ``run_main`` write to the
streams the in-process runner installed (so it can capture the job's tail), else to the real
``sys.stdout`` / ``sys.stderr``.
"""

from __future__ import annotations

import contextvars
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, overload

from bpflow.core.errors import BpflowError, ConfigError, InvalidObjectKey, InvalidSceneId
from bpflow.core.storage import Bucket, bucket_key, check_key, open_bucket

if TYPE_CHECKING:
    from bpflow.core.config import Settings

TRUTHY = frozenset({"1", "true", "yes", "y", "on"})

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_PARAMS = 2


class TextSink(Protocol):
    """What job output needs from a stream: ``sys.stdout`` or a runner's capture buffer."""

    def write(self, s: str, /) -> int: ...

    def flush(self) -> None: ...


_ENV: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("bpflow_job_env", default=None)
_STDOUT: contextvars.ContextVar[TextSink | None] = contextvars.ContextVar("bpflow_job_stdout", default=None)
_STDERR: contextvars.ContextVar[TextSink | None] = contextvars.ContextVar("bpflow_job_stderr", default=None)


@contextmanager
def job_context(
    env: Mapping[str, str], *, stdout: TextSink | None = None, stderr: TextSink | None = None
) -> Iterator[None]:
    """Give the current context (thread / task) a job env and output streams, then restore.

    Used by the in-process runner and by tests; subprocess jobs never need it.
    """
    tokens = (_ENV.set(dict(env)), _STDOUT.set(stdout), _STDERR.set(stderr))
    try:
        yield
    finally:
        _STDERR.reset(tokens[2])
        _STDOUT.reset(tokens[1])
        _ENV.reset(tokens[0])


def env_raw(name: str) -> str | None:
    """The variable as the job sees it: the in-process job env first, then ``os.environ``."""
    scoped = _ENV.get()
    if scoped is not None and name in scoped:
        return scoped[name]
    return os.environ.get(name)


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    """A string parameter. Unset or blank means "not given": workflows pass every override as a
    string, and an empty one must not silently replace a default."""
    value = env_raw(name)
    if value is None or not value.strip():
        return default
    return value.strip()


def env_int(name: str, default: int) -> int:
    """An integer parameter; a value that does not parse is the caller's mistake (exit 2)."""
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"Invalid value for {name}: {value}", field=name) from None


def env_bool(name: str, default: bool) -> bool:
    """The seed's truthy parsing: true iff one of ``1,true,yes,y,on``; any other set value is false."""
    value = env_str(name)
    if value is None:
        return default
    return value.lower() in TRUTHY


def require_env(name: str) -> str:
    """A parameter the job cannot run without."""
    value = env_str(name)
    if value is None:
        raise ConfigError(f"{name} is required", field=name)
    return value


#: The scene's own folder: every key a job writes starts with it (DESIGN: bad input never touches
#: another scene).
SCENE_ROOT = "scenes/{scene_id}/"


def scene_prefix(scene_id: str, name: str, value: str, *, code: str | None = None, root_ok: bool = False) -> str:
    """``value`` (a prefix or key the job reads or writes, from env variable ``name``) without its
    surrounding slashes, when it lies inside ``scenes/<scene_id>/``.

    The one check for every path a workflow or an operator hands a job: a job never writes outside
    its own scene's prefix, so a path that leaves it (another scene, ``..``, an empty segment) is
    refused before anything is touched, with a ConfigError naming the variable and the reason
    (``details.reason``: ``invalid_path`` | ``outside_scene`` | ``scene_root``). ``code`` keeps a
    job's own established error code; ``root_ok`` admits the scene's folder itself."""
    # Deferred: core.triggers parses the stage model on import, a cost every job start (noop-job
    # included) would pay although most jobs never check a prefix.
    from bpflow.core.triggers import validate_scene_id

    try:
        root = SCENE_ROOT.format(scene_id=validate_scene_id(scene_id))
    except InvalidSceneId as exc:
        raise ConfigError(exc.message, field="SCENE_ID", details={"variable": "SCENE_ID"}) from None
    prefix = value.strip().strip("/")
    reason: tuple[str, str] | None = None
    try:
        check_key(prefix)
    except InvalidObjectKey:
        reason = ("invalid_path", "is not a valid object path (an empty, '.' or '..' segment, a backslash or a NUL)")
    else:
        if not (prefix + "/").startswith(root):
            reason = ("outside_scene", f"is outside the scene's prefix {root}")
        elif prefix + "/" == root and not root_ok:
            reason = ("scene_root", f"is the scene's folder {root} itself, not a folder inside it")
    if reason is not None:
        raise ConfigError(
            f"{name}={value[:300]!r} {reason[1]}",
            code=code,
            field=name,
            details={"variable": name, "reason": reason[0], "scene_prefix": root},
        )
    return prefix


def scene_url_prefix(scene_id: str, name: str, raw: str, *, code: str | None = None) -> str:
    """:func:`scene_prefix` of a path that may be given as a bucket URL (``gs://b/x``,
    ``s3://b/x``, ``file://…``: the key after the bucket), as events and operators write them."""
    return scene_prefix(scene_id, name, bucket_key(raw.strip()), code=code)


def env_scene_prefix(scene_id: str, name: str, default: str, *, code: str | None = None) -> str:
    """Env variable ``name`` (``default`` when unset or blank) through :func:`scene_prefix`."""
    return scene_prefix(scene_id, name, env_str(name, default), code=code)


def job_bucket() -> Bucket:
    """The bucket the job works on, from ``BPFLOW_BUCKET_URL`` (``BUCKET`` is only its name)."""
    return open_bucket(require_env("BPFLOW_BUCKET_URL"))


def job_settings() -> Settings:
    """The seed settings as this job sees its env (in-process jobs have no os.environ of their own)."""
    from bpflow.core.config import Settings, load_settings

    names = {str(f.validation_alias) for f in Settings.model_fields.values()}
    return load_settings({n: v for n in sorted(names) if (v := env_raw(n)) is not None})


def job_stdout() -> TextSink:
    sink = _STDOUT.get()
    return sys.stdout if sink is None else sink


def job_stderr() -> TextSink:
    sink = _STDERR.get()
    return sys.stderr if sink is None else sink


def log_json(**fields: Any) -> None:
    """One JSON object per line, keys sorted, so logs are greppable and diffable."""
    out = job_stdout()
    out.write(json.dumps(fields, sort_keys=True, default=str) + "\n")
    out.flush()


def run_main(fn: Callable[[], int | None]) -> int:
    """Run a job body and turn its outcome into the exit-code contract.

    A non-retryable ``BpflowError`` is a known user mistake (bad parameter, invalid input):
    report it as one JSON line on stderr and exit 2, without a traceback that would bury the
    message. A retryable one (a storage outage) gets the same line but exit 1: it is not the
    caller's fault. Anything else is a bug: exit 1 with the traceback on stderr.
    """
    try:
        code = fn()
    except BpflowError as exc:
        err = job_stderr()
        err.write(json.dumps({"action": "error", "error": exc.to_dict()}, sort_keys=True, default=str) + "\n")
        err.flush()
        return EXIT_FAILED if exc.retryable else EXIT_BAD_PARAMS
    except Exception:  # noqa: BLE001 - the job boundary: any bug becomes exit 1 plus its traceback
        err = job_stderr()
        err.write(traceback.format_exc())
        err.flush()
        return EXIT_FAILED
    return EXIT_OK if code is None else int(code)
