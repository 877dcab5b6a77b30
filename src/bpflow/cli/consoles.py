"""The CLI's output helpers (rich consoles, JSON printing), in a module of their own so any command
module can use them without importing the ``bpflow.cli`` package (and its command table) back."""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console

#: Width of tables written to a pipe or a file: wide enough for any row, never padded.
PIPE_WIDTH = 400


def make_console(stderr: bool = False) -> Console:
    """Rich assumes 80 columns when output is not a terminal, which cuts workflow names and run
    ids in a pipe or a log; there (unless COLUMNS says otherwise) lines are as long as needed."""
    con = Console(stderr=stderr)
    if not con.is_terminal and not os.environ.get("COLUMNS"):
        con.width = PIPE_WIDTH
    return con


console = make_console()
err_console = make_console(stderr=True)


def print_json(obj: Any) -> None:
    """``--json`` output: stable key order, anything not JSON-native (datetimes, paths) as text."""
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))
