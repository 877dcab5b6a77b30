"""training-job: LeRobot's own training on the imported dataset, on the CPU, in ``.venv-train``.

Env (the reference's): ``BUCKET``, ``SCENE_ID``, ``OUTPUT_PATH`` (the dataset's location: a
LeRobot v3.0 dataset at it or at ``{OUTPUT_PATH}/lerobot``), ``EPISODE_COUNT``,
``TRAINING_MODE`` (only ``lerobot``), ``MODEL_ARCHITECTURE`` (``act`` | ``diffusion``),
``TRAINING_EPOCHS``, ``BATCH_SIZE``, ``LEARNING_RATE``, ``CHECKPOINT_INTERVAL`` (epochs);
bpflow's: ``TRAINING_MAX_STEPS`` (cap, for short runs), ``POLICY_SIZE`` (``cpu`` | ``full``),
``TRAINING_THREADS``, ``TRAINING_SEED``.

Outputs under ``{OUTPUT_PATH}/training/``: ``checkpoints/{step}/pretrained_model/`` (what
LeRobot saves to reload a policy: weights, config, normaliser processors; the optimizer state is
not kept), ``train.log``, ``loss_curve.json`` + ``loss_curve.svg``, and ``training_result.json``
naming the model location (``model_path``). Never writes markers: the workflow does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bpflow.core.errors import ValidationFailed
from bpflow.core.jobkit import env_int, env_str, job_bucket, log_json, require_env, run_main, scene_url_prefix
from bpflow.domain.training.settings import TrainSettings
from bpflow.domain.usd.workspace import Workspace
from bpflow.state.cas_json import iso_z, utc_now

CONTENT_TYPES = {
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".log": "text/plain",
    ".safetensors": "application/octet-stream",
}


def _float(name: str, default: float) -> float:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a number, not {raw!r}", field=name) from None


def settings_from_env() -> TrainSettings:
    mode = env_str("TRAINING_MODE", "lerobot")
    if mode != "lerobot":
        raise ValidationFailed(
            f"TRAINING_MODE {mode!r} is not supported here; only 'lerobot' (LeRobot's own training)",
            code="training_mode_unsupported",
            field="TRAINING_MODE",
        )
    max_steps = env_int("TRAINING_MAX_STEPS", 0)
    return TrainSettings(
        architecture=env_str("MODEL_ARCHITECTURE", "act").lower(),
        epochs=env_int("TRAINING_EPOCHS", 100),
        batch_size=env_int("BATCH_SIZE", 32),
        learning_rate=_float("LEARNING_RATE", 1e-4),
        checkpoint_interval=env_int("CHECKPOINT_INTERVAL", 10),
        max_steps=max_steps or None,
        policy_size=env_str("POLICY_SIZE", "cpu").lower(),
        seed=env_int("TRAINING_SEED", 1000),
    ).validate()


def _main() -> int:
    from bpflow.domain.training.loss_curve import svg
    from bpflow.domain.training.run import find_dataset, train
    from bpflow.domain.training.venv import find_train_venv

    bucket = job_bucket()
    scene = require_env("SCENE_ID")
    output = scene_url_prefix(scene, "OUTPUT_PATH", require_env("OUTPUT_PATH"), code="output_path_outside_scene")
    settings = settings_from_env()
    find_train_venv()  # fail before any download when there is nothing to train with
    prefix = f"{output}/training"
    with Workspace(bucket) as ws:
        keys = [k for k in ws.fetch_prefix(output) if not k.startswith(prefix + "/")]
        if not keys:
            raise ValidationFailed(
                f"nothing under OUTPUT_PATH {output}/: no dataset to train on",
                code="training_dataset_missing",
                field="OUTPUT_PATH",
            )
        dataset = find_dataset(ws.root / output)
        work = Path(tempfile.mkdtemp(prefix="training-", dir=ws.root))
        threads = env_int("TRAINING_THREADS", 0) or None
        result = train(dataset, work, settings, job_name=f"{scene}", threads=threads)
        uploaded: list[str] = []
        for ckpt in result.checkpoints:
            step = ckpt.parent.name
            for f in sorted(p for p in ckpt.iterdir() if p.is_file()):
                key = f"{prefix}/checkpoints/{step}/pretrained_model/{f.name}"
                bucket.write(key, f.read_bytes(), content_type=CONTENT_TYPES.get(f.suffix, "application/octet-stream"))
                uploaded.append(key)
        model_path = f"{prefix}/checkpoints/{result.final_checkpoint.parent.name}/pretrained_model"
        bucket.write(f"{prefix}/train.log", result.log_path.read_bytes(), content_type="text/plain")
        bucket.write_json(f"{prefix}/loss_curve.json", {"points": result.loss_curve})
        bucket.write(
            f"{prefix}/loss_curve.svg",
            svg(result.loss_curve, title=f"{settings.architecture} training loss — {scene}"),
            content_type="image/svg+xml",
        )
        losses = [p["loss"] for p in result.loss_curve]
        body = {
            "scene_id": scene,
            "status": "succeeded",
            "model_path": model_path,
            "checkpoints": [f"{prefix}/checkpoints/{c.parent.name}/pretrained_model" for c in result.checkpoints],
            "dataset_path": ws.key_of(dataset),
            "architecture": settings.architecture,
            "policy_size": settings.policy_size,
            "steps": result.plan.steps,
            "steps_per_epoch": result.plan.steps_per_epoch,
            "save_freq": result.plan.save_freq,
            "batch_size": settings.batch_size,
            "learning_rate": settings.learning_rate,
            "first_loss": losses[0] if losses else None,
            "final_loss": losses[-1] if losses else None,
            "wall_seconds": round(result.wall_seconds, 3),
            "seconds_per_step": round(result.wall_seconds / max(1, result.plan.steps), 3),
            "loss_curve": f"{prefix}/loss_curve.json",
            "loss_chart": f"{prefix}/loss_curve.svg",
            "train_log": f"{prefix}/train.log",
            "command": [
                "lerobot-train",
                *[a for a in result.argv[1:] if not a.startswith(("--dataset.root=", "--output_dir="))],
            ],
            "finished_at": iso_z(utc_now()),
        }
        bucket.write_json(f"{prefix}/training_result.json", body)
    log_json(
        action="training_complete",
        scene_id=scene,
        model_path=model_path,
        steps=result.plan.steps,
        final_loss=body["final_loss"],
        wall_seconds=body["wall_seconds"],
    )
    return 0


def main() -> int:
    return run_main(_main)


if __name__ == "__main__":
    raise SystemExit(main())
