"""Runs a job's ``main()`` on a thread of the current process: for tests and benchmarks only.

It keeps the env contract without touching ``os.environ`` (which concurrent jobs would race
on): the job's env and output streams live in context variables that ``bpflow.core.jobkit``
reads first. Its limits are the reason it is not a production runner: a thread cannot be
killed, so on timeout the job is abandoned (it keeps running in the background until it
returns) and reported ``timed_out``; a job that reads ``os.environ`` directly or ``print``s
bypasses the contract helpers and is neither scoped nor captured.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import threading
import time
import traceback
from collections.abc import Callable

from bpflow.core.errors import JobStartError
from bpflow.core.jobkit import job_context
from bpflow.core.runners.base import TAIL_BYTES, JobResult, JobSpec, check_available, new_execution_id, resolve, tail


class _TailWriter(io.TextIOBase):
    """A text stream that keeps only its last ``limit`` bytes; safe to write from many threads."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        super().__init__()
        self._limit = limit
        self._buf = bytearray()
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        data = s.encode("utf-8", "replace")
        with self._lock:
            self._buf += data
            if len(self._buf) > 2 * self._limit:
                del self._buf[: len(self._buf) - self._limit]
        return len(s)

    def text(self) -> str:
        with self._lock:
            return tail(bytes(self._buf), self._limit)


class InProcessRunner:
    name = "inprocess"

    def __init__(self, *, tail_bytes: int = TAIL_BYTES) -> None:
        self.tail_bytes = tail_bytes

    def run(self, spec: JobSpec) -> JobResult:
        check_available()
        execution_id = new_execution_id(spec.name)
        module, env = resolve(spec, execution_id)
        entry = _load_main(spec.name, module)
        out, err = _TailWriter(self.tail_bytes), _TailWriter(self.tail_bytes)
        box: dict[str, int] = {}

        def target() -> None:
            with job_context(env, stdout=out, stderr=err):
                box["code"] = _call(entry, err)

        thread = threading.Thread(target=target, name=f"bpflow-job-{execution_id}", daemon=True)
        started = time.monotonic()
        thread.start()
        thread.join(spec.timeout_seconds)
        duration = time.monotonic() - started
        timed_out = thread.is_alive()
        return JobResult(
            name=spec.name,
            exit_code=None if timed_out else box.get("code", 1),
            duration_seconds=duration,
            timed_out=timed_out,
            stdout_tail=out.text(),
            stderr_tail=err.text(),
            execution_id=execution_id,
        )


def _load_main(job: str, module: str) -> Callable[[], object]:
    """Import the job module in the caller: a missing module or entry point is a start failure."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise JobStartError(
            f"job module {module!r} not found", code="job_module_not_found", retryable=False, details={"job": job}
        )
    mod = importlib.import_module(module)
    entry: object = getattr(mod, "main", None)
    if not callable(entry):
        raise JobStartError(
            f"job module {module!r} has no main()", code="job_module_invalid", retryable=False, details={"job": job}
        )
    return entry


def _call(entry: Callable[[], object], err: io.TextIOBase) -> int:
    """Map what ``main()`` did to an exit code the way the interpreter would."""
    try:
        code = entry()
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            err.write(f"{code}\n")
            return 1
    except BaseException:  # noqa: BLE001 - like the interpreter: any escape is exit 1 with a traceback
        err.write(traceback.format_exc())
        return 1
    return 0 if code is None else int(code)  # type: ignore[call-overload]
