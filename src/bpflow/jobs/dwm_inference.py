"""dwm-inference-job (see ``bpflow.jobs._prep``: env, inputs, outputs, failures)."""

from __future__ import annotations

from bpflow.core.jobkit import run_main
from bpflow.jobs._prep import DWM, infer


def main() -> int:
    return run_main(lambda: infer(DWM))


if __name__ == "__main__":
    raise SystemExit(main())
