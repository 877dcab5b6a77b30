"""Keeping a directory bucket inside its root.

A symlink dropped into the bucket folder (``scenes/x -> /etc``) must not turn an object read into
a read of any file on the machine, nor a write into a write anywhere. Every path the local
backend touches is resolved (all links followed) and must still lie under the resolved root.
The check happens right before each operation; a link swapped in between the check and the
system call is a race only someone who can already write into the bucket folder can run, and
the listing never follows symlinked folders at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from bpflow.core.errors import ObjectOutsideBucket


def is_contained(root: Path, path: str | os.PathLike[str]) -> bool:
    """True when ``path``, with every symlink resolved, is ``root`` or lies below it.
    ``root`` must already be resolved."""
    real = os.path.realpath(path)
    base = str(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def contained_path(root: Path, key: str) -> Path:
    """``root / key``, refused with :class:`ObjectOutsideBucket` when it resolves outside ``root``."""
    path = root / key
    if not is_contained(root, path):
        raise ObjectOutsideBucket(
            f"object {key!r} resolves outside the bucket (a symlink in the bucket folder); refused",
            field="key",
            details={"key": key},
        )
    return path
