"""The pipe protocol between the evaluator and the policy server: length-prefixed ``.npz``
messages (4-byte big-endian length, then ``numpy.savez`` bytes). Only numpy on both sides, so
this module is loaded by the server too (by path, with no bpflow installed there)."""

from __future__ import annotations

import io
import struct
from typing import IO, Any

import numpy as np


def write_msg(stream: IO[bytes], arrays: dict[str, Any]) -> None:
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=True, **{k: np.asarray(v) for k, v in arrays.items()})
    data = buf.getvalue()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def read_msg(stream: IO[bytes]) -> dict[str, np.ndarray] | None:
    """The next message, or None at end of stream."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
