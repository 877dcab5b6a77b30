"""Where the training venv is, and whether it can train: LeRobot lives only there.

Lookup order: ``BPFLOW_TRAIN_VENV`` (a venv folder), then ``.venv-train`` beside the checkout
(``make venv-train`` links it there), then ``.venv-train`` in the working directory."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bpflow.core.errors import BpflowError

REPO_ROOT = Path(__file__).resolve().parents[4]


class TrainVenvMissing(BpflowError):
    code = "train_venv_missing"


@dataclass(frozen=True)
class TrainVenv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def lerobot_train(self) -> Path:
        return self.root / "bin" / "lerobot-train"


def candidates() -> list[Path]:
    out = []
    if os.environ.get("BPFLOW_TRAIN_VENV"):
        out.append(Path(os.environ["BPFLOW_TRAIN_VENV"]))
    out += [REPO_ROOT / ".venv-train", Path.cwd() / ".venv-train"]
    return out


def find_train_venv() -> TrainVenv:
    """The training venv, or a typed error saying how to make one."""
    for c in candidates():
        venv = TrainVenv(c)
        if venv.python.exists() and venv.lerobot_train.exists():
            return venv
    looked = ", ".join(str(c) for c in candidates())
    raise TrainVenvMissing(
        f"no training venv with lerobot-train (looked in {looked}); run `make venv-train` or set BPFLOW_TRAIN_VENV",
        field="BPFLOW_TRAIN_VENV",
    )


def readiness(*, probe: bool = False) -> dict[str, object]:
    """For ``bpflow config``/doctor: where the venv is and (with ``probe``) the lerobot version."""
    try:
        venv = find_train_venv()
    except TrainVenvMissing as exc:
        return {"ready": False, "reason": exc.message}
    out: dict[str, object] = {"ready": True, "path": str(venv.root)}
    if probe:
        got = subprocess.run(
            [str(venv.python), "-c", "import importlib.metadata as m; print(m.version('lerobot'), m.version('torch'))"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if got.returncode != 0:
            return {"ready": False, "path": str(venv.root), "reason": got.stderr.strip()[-300:]}
        lerobot, torch = got.stdout.split()
        out.update(lerobot=lerobot, torch=torch)
    return out
