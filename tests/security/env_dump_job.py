"""A job that prints its whole environment as one JSON line: what a leaky job would see."""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    sys.stdout.write(json.dumps(dict(os.environ), sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
