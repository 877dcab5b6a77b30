"""Reading runs from whatever process asks: the one running bpflow, or a CLI command.

Inside ``bpflow up`` (or a demo that launched a runtime) the launched runtime is reused. A CLI
command opens a ``client``-role runtime on the shared database; on a home where no runtime ever
started there is no database yet, and the views fall back to markers alone instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpflow.core.errors import BpflowError
from bpflow.ops.runs import RunReader

if TYPE_CHECKING:
    from bpflow.core.engine.runtime import Runtime


@dataclass
class Session:
    rt: Runtime
    reader: RunReader | None

    @property
    def has_runs(self) -> bool:
        return self.reader is not None


@contextmanager
def open_session() -> Iterator[Session]:
    from bpflow.core.engine.registry import import_workflow_modules
    from bpflow.core.engine.runtime import Runtime, current_runtime

    try:
        rt = current_runtime()
    except BpflowError:
        pass
    else:
        yield Session(rt, RunReader(rt))
        return
    rt = Runtime()
    if rt.options.sqlite_path and not os.path.exists(rt.options.sqlite_path):
        import_workflow_modules(rt.options.workflow_modules)
        try:
            yield Session(rt, None)
        finally:
            rt.bucket.close()
        return
    rt.launch(role="client")
    try:
        yield Session(rt, RunReader(rt))
    finally:
        rt.shutdown()
