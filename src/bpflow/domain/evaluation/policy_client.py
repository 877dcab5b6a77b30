"""The evaluator's handle on a policy served from the training venv (see ``policy_server``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from bpflow.core.errors import BpflowError
from bpflow.domain.evaluation.wire import read_msg, write_msg
from bpflow.domain.training.venv import find_train_venv

SERVER = Path(__file__).with_name("policy_server.py")


INFERENCE_DEFAULTS: dict[str, dict[str, Any]] = {
    # ACT: predict a chunk every frame and average the overlapping predictions for the current
    # frame (temporal ensembling, the ACT paper's coefficient 0.01) instead of playing 10 frames
    # of one chunk blind; issue 13, same checkpoint: see docs/decisions.md
    "act": {"n_action_steps": 1, "temporal_ensemble_coeff": 0.01},
}
"""Inference-time options per policy type, applied over the checkpoint's config."""


class PolicyServerError(BpflowError):
    code = "policy_server_failed"


class PolicyClient:
    def __init__(
        self,
        model_dir: Path,
        *,
        threads: int | None = None,
        log_path: Path | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """``overrides``: policy type → inference-time options set on the checkpoint's config
        before the policy is built (ACT ``n_action_steps``, ``temporal_ensemble_coeff``);
        ``None`` takes :data:`INFERENCE_DEFAULTS`, ``{}`` the checkpoint's own settings."""
        venv = find_train_venv()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1")
        env["POLICY_OVERRIDES"] = json.dumps(INFERENCE_DEFAULTS if overrides is None else overrides)
        if threads:
            env.update(OMP_NUM_THREADS=str(threads), POLICY_THREADS=str(threads))
        self.log_path = log_path
        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [str(venv.python), str(SERVER), str(model_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
        )
        self.info: dict[str, Any] = json.loads(str(self._call({"cmd": "info"})["info"]))

    def _call(self, msg: dict[str, Any]) -> dict[str, np.ndarray]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            write_msg(self.proc.stdin, msg)
            reply = read_msg(self.proc.stdout)
        except (BrokenPipeError, OSError):
            reply = None
        if reply is None:
            self.proc.wait(timeout=30)
            tail = ""
            if self.log_path and self.log_path.exists():
                tail = "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-8:])
            raise PolicyServerError(
                f"the policy server exited ({self.proc.returncode}) while loading or running the model: {tail[-1200:]}"
            )
        if "error" in reply:
            raise PolicyServerError(str(reply["error"]))
        return reply

    def image_inputs(self) -> dict[str, tuple[int, int]]:
        """Camera feature → (height, width) the policy was trained on."""
        out = {}
        for key, ft in self.info["inputs"].items():
            if key.startswith("observation.image"):
                c, h, w = ft["shape"]
                out[key] = (int(h), int(w))
        return out

    def reset(self) -> None:
        self._call({"cmd": "reset"})

    def act(self, observation: dict[str, np.ndarray], task: str) -> np.ndarray:
        return np.asarray(self._call({"cmd": "act", "task": task, **observation})["action"], dtype=np.float64)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log_path:
            self._log.close()  # type: ignore[union-attr]

    def __enter__(self) -> PolicyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
