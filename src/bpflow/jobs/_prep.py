"""The experimental preparation and inference jobs (Dream2Flow, DWM): one implementation each,
parameterised by the path's names (spec-stages-assets-usd §7.5, §8).

Preparation env: BUCKET, SCENE_ID, ASSETS_PREFIX, USD_PREFIX, <KIND>_PREFIX, NUM_TASKS (dream2flow)
/ NUM_TRAJECTORIES (dwm), RESOLUTION_WIDTH, RESOLUTION_HEIGHT, NUM_FRAMES, FPS, ROBOT (dream2flow).
Reads ``scene_manifest.json`` (required) and ``usd/scene.usda`` (required here: the bundles are
rendered from the assembled scene in the simulation core, never a placeholder). Writes
``<prefix>/bundle_NNN/{rgb.mp4, manifest.json}`` and ``<prefix>/<kind>_bundles_manifest.json`` last.

Inference env: BUCKET, SCENE_ID, <KIND>_PREFIX and the model endpoint (VIDEO_API_ENDPOINT or
DREAM2FLOW_VIDEO_CHECKPOINT; DWM_API_ENDPOINT or DWM_CHECKPOINT_PATH). Each bundle's manifest is
POSTed to the endpoint; the answer is stored beside it (``inference.json``) and the bundle marked.
No endpoint → a typed error (``<kind>_model_unavailable``), exit 2. A checkpoint path alone is
refused too: running a video model locally needs a GPU this build does not use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bpflow.core.errors import BpflowError, ObjectNotFound, ValidationFailed
from bpflow.core.jobkit import env_int, env_str, job_bucket, log_json, require_env, scene_prefix
from bpflow.core.triggers import validate_scene_id
from bpflow.domain.usd.workspace import Workspace
from bpflow.jobs.text_scene_gen import env_float
from bpflow.state.cas_json import iso_z, utc_now


@dataclass(frozen=True)
class Kind:
    name: str  # dream2flow | dwm
    prefix_env: str
    count_env: str
    actor: str  # robot | hand
    endpoint_env: str
    checkpoint_env: str


DREAM2FLOW = Kind(
    "dream2flow", "DREAM2FLOW_PREFIX", "NUM_TASKS", "robot", "VIDEO_API_ENDPOINT", "DREAM2FLOW_VIDEO_CHECKPOINT"
)
DWM = Kind("dwm", "DWM_PREFIX", "NUM_TRAJECTORIES", "hand", "DWM_API_ENDPOINT", "DWM_CHECKPOINT_PATH")


def _prefixes(kind: Kind) -> tuple[str, str]:
    require_env("BUCKET")
    scene_id = validate_scene_id(require_env("SCENE_ID"))
    return scene_id, scene_prefix(
        scene_id, kind.prefix_env, env_str(kind.prefix_env) or f"scenes/{scene_id}/{kind.name}"
    )


def prepare(kind: Kind) -> int:
    from bpflow.domain.prep.bundles import ClipSpec, render_bundles
    from bpflow.domain.sim import load_scene

    scene_id, out = _prefixes(kind)
    assets = scene_prefix(scene_id, "ASSETS_PREFIX", env_str("ASSETS_PREFIX") or f"scenes/{scene_id}/assets")
    usd = scene_prefix(scene_id, "USD_PREFIX", env_str("USD_PREFIX") or f"scenes/{scene_id}/usd")
    clip = ClipSpec(
        env_int("RESOLUTION_WIDTH", 720),
        env_int("RESOLUTION_HEIGHT", 480),
        env_int("NUM_FRAMES", 49),
        env_int("FPS", 24),
    ).check()
    count = env_int(kind.count_env, 5)
    if not 1 <= count <= 50:
        raise ValidationFailed(f"{kind.count_env} must be 1..50, got {count}", field=kind.count_env)
    if kind.actor == "robot" and (env_str("ROBOT") or "franka_panda") != "franka_panda":
        raise ValidationFailed(f"ROBOT={env_str('ROBOT')!r}: only franka_panda is modelled", field="ROBOT")
    bucket = job_bucket()
    try:
        manifest = bucket.read_json(f"{assets}/scene_manifest.json")
    except ObjectNotFound:
        raise ValidationFailed(
            f"{assets}/scene_manifest.json does not exist", code=f"{kind.name}_manifest_missing", field="ASSETS_PREFIX"
        ) from None
    usd_key = next((k for k in (f"{usd}/scene.usda", f"{usd}/scene.usd") if bucket.exists(k)), None)
    if usd_key is None:
        raise ValidationFailed(
            f"{usd}/scene.usda does not exist: the bundles are rendered from the assembled scene",
            code=f"{kind.name}_usd_missing",
            field="USD_PREFIX",
        )
    with Workspace(bucket) as ws:
        ws.fetch_prefix(usd)
        ws.fetch_prefix(assets)
        sim = load_scene(ws.path(usd_key), manifest, robot=kind.actor == "robot")
        bundles = render_bundles(sim, clip, count, actor=kind.actor)
    index = []
    for b in bundles:
        base = f"{out}/{b['manifest']['bundle_id']}"
        bucket.write(f"{base}/rgb.mp4", b["video"], content_type="video/mp4")
        bucket.write_json(f"{base}/manifest.json", b["manifest"])
        index.append(
            {
                "bundle_id": b["manifest"]["bundle_id"],
                "manifest": f"{base}/manifest.json",
                "video": f"{base}/rgb.mp4",
                "task": b["manifest"]["task"],
            }
        )
    bucket.write_json(
        f"{out}/{kind.name}_bundles_manifest.json",
        {
            "scene_id": scene_id,
            "kind": kind.name,
            "created_at": iso_z(utc_now()),
            "usd": usd_key,
            "num_bundles": len(index),
            "resolution": {"width": clip.width, "height": clip.height},
            "num_frames": clip.frames,
            "fps": clip.fps,
            "bundles": index,
        },
    )
    log_json(action=f"{kind.name}_prepared", scene_id=scene_id, bundles=len(index))
    return 0


def infer(kind: Kind) -> int:
    import httpx

    scene_id, out = _prefixes(kind)
    endpoint = env_str(kind.endpoint_env)
    if not endpoint:
        why = (
            f"{kind.checkpoint_env} is set but a local checkpoint needs a GPU runtime this build does not have"
            if env_str(kind.checkpoint_env)
            else "no model endpoint is configured"
        )
        raise BpflowError(
            f"{kind.name} inference cannot run: {why}; set {kind.endpoint_env} to the model service URL",
            code=f"{kind.name}_model_unavailable",
            field=kind.endpoint_env,
        )
    bucket = job_bucket()
    try:
        index = bucket.read_json(f"{out}/{kind.name}_bundles_manifest.json")
    except ObjectNotFound:
        raise ValidationFailed(
            f"{out}/{kind.name}_bundles_manifest.json does not exist",
            code=f"{kind.name}_bundles_missing",
            field=kind.prefix_env,
        ) from None
    timeout = env_float("INFERENCE_TIMEOUT_SECONDS", 600.0)
    done = []
    with httpx.Client(timeout=timeout) as client:
        for entry in index.get("bundles") or []:
            manifest = bucket.read_json(entry["manifest"])
            try:
                resp = client.post(
                    endpoint,
                    json={"scene_id": scene_id, "kind": kind.name, "bundle": manifest, "video_object": entry["video"]},
                )
            except httpx.HTTPError as exc:
                raise BpflowError(
                    f"{kind.name} model endpoint unreachable: {type(exc).__name__}",
                    code=f"{kind.name}_inference_failed",
                    field=kind.endpoint_env,
                    retryable=True,
                ) from None
            if resp.status_code != 200:
                raise BpflowError(
                    f"{kind.name} model endpoint answered HTTP {resp.status_code} for {entry['bundle_id']}",
                    code=f"{kind.name}_inference_failed",
                    field=kind.endpoint_env,
                    retryable=True,
                )
            try:
                answer = resp.json()
            except json.JSONDecodeError:
                raise BpflowError(
                    f"{kind.name} model endpoint answered non-JSON for {entry['bundle_id']}",
                    code=f"{kind.name}_inference_failed",
                    field=kind.endpoint_env,
                    retryable=True,
                ) from None
            base = entry["manifest"].rsplit("/", 1)[0]
            bucket.write_json(f"{base}/inference.json", answer)
            manifest["status"] = "inferred"
            manifest["inference"] = {
                "endpoint_status": resp.status_code,
                "result": f"{base}/inference.json",
                "at": iso_z(utc_now()),
            }
            bucket.write_json(entry["manifest"], manifest)
            done.append(entry["bundle_id"])
    log_json(action=f"{kind.name}_inference_complete", scene_id=scene_id, bundles=done)
    return 0
