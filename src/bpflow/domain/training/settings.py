"""The seed's training-job parameters mapped onto LeRobot's ``lerobot-train`` options.

The seed speaks in epochs (``TRAINING_EPOCHS``, ``CHECKPOINT_INTERVAL`` in epochs); LeRobot
counts optimizer steps. One epoch is ``ceil(frames / batch_size)`` steps, so
``steps = epochs × that``, capped by ``TRAINING_MAX_STEPS`` (short runs, tests, the demo), and a
checkpoint every ``CHECKPOINT_INTERVAL`` epochs (at least once, at the end).

``POLICY_SIZE=cpu`` (the default) shrinks the policy so it trains on a laptop CPU: ACT with a
256-wide transformer, 1024 feed-forward, 4 heads and 20-step action chunks (~0.4 s/step at batch
8 on two cores, against 1.2–1.7 s for LeRobot's default); Diffusion with a small U-Net.
``POLICY_SIZE=full`` keeps LeRobot's defaults. The vision backbone always starts from random
weights: the ImageNet ResNet18 LeRobot would fetch is a download, and this deployment has none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from bpflow.core.errors import ValidationFailed

ARCHITECTURES = ("act", "diffusion")
CPU_POLICY: dict[str, dict[str, str]] = {
    "act": {
        "dim_model": "256",
        "dim_feedforward": "1024",
        "n_heads": "4",
        "chunk_size": "20",
        "n_action_steps": "10",
        "n_encoder_layers": "2",
    },
    "diffusion": {
        "down_dims": "[64,128,256]",
        "n_obs_steps": "2",
        "horizon": "16",
        "n_action_steps": "8",
        "num_inference_steps": "10",
        "crop_shape": "null",
        "diffusion_step_embed_dim": "64",
    },
}


class TrainingConfigError(ValidationFailed):
    code = "training_config_invalid"


@dataclass(frozen=True)
class TrainSettings:
    architecture: str = "act"
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-4
    checkpoint_interval: int = 10
    max_steps: int | None = None
    policy_size: str = "cpu"
    seed: int = 1000
    extra: dict[str, str] = field(default_factory=dict)

    def validate(self) -> TrainSettings:
        checks = [
            (
                self.architecture in ARCHITECTURES,
                "MODEL_ARCHITECTURE",
                f"must be one of {list(ARCHITECTURES)}, not {self.architecture!r}",
            ),
            (self.epochs >= 1, "TRAINING_EPOCHS", f"must be ≥ 1, not {self.epochs}"),
            (self.batch_size >= 1, "BATCH_SIZE", f"must be ≥ 1, not {self.batch_size}"),
            (0 < self.learning_rate < 1, "LEARNING_RATE", f"must be in (0, 1), not {self.learning_rate}"),
            (
                self.checkpoint_interval >= 1,
                "CHECKPOINT_INTERVAL",
                f"must be ≥ 1 epoch, not {self.checkpoint_interval}",
            ),
            (self.max_steps is None or self.max_steps >= 1, "TRAINING_MAX_STEPS", f"must be ≥ 1, not {self.max_steps}"),
            (self.policy_size in ("cpu", "full"), "POLICY_SIZE", f"must be 'cpu' or 'full', not {self.policy_size!r}"),
        ]
        for ok, name, why in checks:
            if not ok:
                raise TrainingConfigError(f"{name} {why}", field=name)
        return self


@dataclass(frozen=True)
class StepPlan:
    steps: int
    save_freq: int
    log_freq: int
    steps_per_epoch: int


def plan_steps(s: TrainSettings, frames: int) -> StepPlan:
    per_epoch = max(1, math.ceil(frames / s.batch_size))
    steps = s.epochs * per_epoch
    if s.max_steps is not None:
        steps = min(steps, s.max_steps)
    save = min(steps, s.checkpoint_interval * per_epoch)
    return StepPlan(steps=steps, save_freq=save, log_freq=max(1, steps // 100), steps_per_epoch=per_epoch)


def lerobot_argv(s: TrainSettings, plan: StepPlan, *, dataset_root: Path, output_dir: Path, job_name: str) -> list[str]:
    """Arguments for ``lerobot-train``: local dataset, CPU, no hub, no wandb, no downloads."""
    args = [
        "--dataset.repo_id=local/" + job_name,
        f"--dataset.root={dataset_root}",
        "--dataset.video_backend=pyav",
        f"--policy.type={s.architecture}",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        "--policy.pretrained_backbone_weights=null",
        f"--policy.optimizer_lr={s.learning_rate}",
        f"--output_dir={output_dir}",
        f"--job_name={job_name}",
        f"--batch_size={s.batch_size}",
        f"--steps={plan.steps}",
        f"--save_freq={plan.save_freq}",
        f"--log_freq={plan.log_freq}",
        "--eval_freq=0",
        "--num_workers=0",
        f"--seed={s.seed}",
        "--wandb.enable=false",
    ]
    if s.architecture == "act":
        args.append(f"--policy.optimizer_lr_backbone={s.learning_rate}")
    if s.policy_size == "cpu":
        args += [f"--policy.{k}={v}" for k, v in CPU_POLICY[s.architecture].items()]
    args += [f"--policy.{k}={v}" for k, v in s.extra.items()]
    return args
