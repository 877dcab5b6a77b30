"""Run LeRobot's training (``lerobot-train``) in the training venv and collect what it made.

The subprocess gets a scrubbed, offline environment: ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``
(no hub), ``WANDB_MODE=disabled``, its own ``HF_HOME`` under the work folder (nothing cached
outside it), and ``TRAINING_THREADS`` torch threads (default: the cores this process may use;
more threads than cores only thrash a shared machine). Its combined output is the training log;
the loss curve is parsed from it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpflow.core.errors import BpflowError, ValidationFailed
from bpflow.domain.training.loss_curve import parse_log
from bpflow.domain.training.settings import StepPlan, TrainSettings, lerobot_argv, plan_steps
from bpflow.domain.training.venv import find_train_venv


class TrainingFailed(BpflowError):
    code = "training_failed"


class DatasetInvalid(ValidationFailed):
    code = "training_dataset_invalid"


@dataclass
class TrainingResult:
    output_dir: Path
    log_path: Path
    checkpoints: list[Path]
    final_checkpoint: Path
    loss_curve: list[dict[str, float]]
    plan: StepPlan
    wall_seconds: float
    argv: list[str]


def find_dataset(root: Path) -> Path:
    """The LeRobot dataset folder: ``root`` itself or its ``lerobot/`` child (Stage 4's layout)."""
    for cand in (root, root / "lerobot"):
        if (cand / "meta" / "info.json").is_file():
            return cand
    raise DatasetInvalid(
        f"no LeRobot dataset (meta/info.json) under {root.name}/ or {root.name}/lerobot/", field="OUTPUT_PATH"
    )


def dataset_info(dataset: Path) -> dict[str, Any]:
    try:
        info = json.loads((dataset / "meta" / "info.json").read_text())
    except ValueError as exc:
        raise DatasetInvalid(f"meta/info.json is not JSON: {exc}", field="meta/info.json") from None
    if not isinstance(info, dict):
        raise DatasetInvalid(f"meta/info.json is not a JSON object (a {type(info).__name__})", field="meta/info.json")
    if info.get("codebase_version") != "v3.0":
        raise DatasetInvalid(
            f"dataset codebase_version is {info.get('codebase_version')!r}; LeRobot 0.4 trains on v3.0",
            field="codebase_version",
        )
    if not isinstance(info.get("total_frames"), int) or info["total_frames"] < 1:
        raise DatasetInvalid("dataset has no frames", field="total_frames")
    if "action" not in (info.get("features") or {}):
        raise DatasetInvalid("dataset has no 'action' feature to learn", field="features.action")
    return info


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def train(
    dataset: Path,
    work: Path,
    settings: TrainSettings,
    *,
    job_name: str,
    timeout_s: float | None = None,
    threads: int | None = None,
) -> TrainingResult:
    info = dataset_info(dataset)
    plan = plan_steps(settings.validate(), int(info["total_frames"]))
    venv = find_train_venv()
    out = work / "run"
    argv = [
        str(venv.lerobot_train),
        *lerobot_argv(settings, plan, dataset_root=dataset, output_dir=out, job_name=job_name),
    ]
    n = str(threads or default_threads())
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME", "USER")}
    env = {
        **keep,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "HF_HOME": str(work / "hf-home"),
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "TORCH_NUM_THREADS": n,
        "PYTHONUNBUFFERED": "1",
    }
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "train.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        try:
            proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise TrainingFailed(
                f"lerobot-train did not finish within {timeout_s:.0f} s", code="training_timeout"
            ) from None
    text = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-12:])
        raise TrainingFailed(f"lerobot-train exited with {proc.returncode}: {tail[-1500:]}")
    checkpoints = sorted(
        p / "pretrained_model"
        for p in (out / "checkpoints").glob("[0-9]*")
        if (p / "pretrained_model" / "model.safetensors").is_file()
    )
    if not checkpoints:
        raise TrainingFailed("lerobot-train finished but saved no checkpoint", code="training_no_checkpoint")
    return TrainingResult(
        out, log_path, checkpoints, checkpoints[-1], parse_log(text), plan, time.monotonic() - started, argv
    )
