"""``bpflow submit``: turn a prompt into a valid scene request and drop it where it starts a scene.

Writing ``scenes/<id>/prompts/scene_request.json`` is the trigger, exactly as for a request
written by any other tool. Because a remote bucket (S3, GCS) has no watcher, the command also
hands the write's event to the runtime's queue when a runtime database exists; the run id names
the object version, so this and the watcher's own event start the same single run.

Output contract: informational lines go to stderr, and the scene id is printed alone on the last
line of stdout, so ``SCENE=$(bpflow submit "...")`` works in scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bpflow.cli.consoles import console, err_console, print_json
from bpflow.core.config import get_settings
from bpflow.core.errors import BpflowError
from bpflow.core.events.model import ObjectEvent
from bpflow.core.stages import STAGES
from bpflow.core.storage import open_bucket
from bpflow.domain.request.contract import build_request, image_object_key, new_scene_id, parse_request


def _enqueue(bucket_url: str, key: str, generation: int) -> dict[str, Any]:
    """Start the run now through the runtime's database, if there is one; the write itself
    remains the trigger (a watcher or the reconciliation scan finds it otherwise)."""
    from bpflow.core.engine.runtime import Runtime

    try:
        rt = Runtime().launch(role="client")
    except BpflowError as exc:
        return {"enqueued": False, "reason": f"{exc.code}: {exc.message}"}
    try:
        out = rt.dispatcher.dispatch_object(
            ObjectEvent(bucket=bucket_url, name=key, generation=generation, source="cli")
        )
    finally:
        rt.shutdown()
    return {"enqueued": bool(out.run_ids), **out.to_dict()}


def submit_command(
    prompt: str,
    *,
    seeds: int,
    tier: str,
    backend: str | None,
    scene_id: str | None,
    wait: bool,
    json_output: bool,
    timeout: float | None = None,
) -> int:
    settings = get_settings()
    request = build_request(prompt, scene_id=scene_id, seeds=seeds, tier=tier, backend=backend, settings=settings)
    sid = request["scene_id"]
    key = STAGES["source-orchestrator"].trigger_key(sid)
    body = json.dumps(request, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # What lands in the bucket is exactly what the orchestrator will read: check those bytes.
    parse_request(body.encode("utf-8"), scene_id_from_path=sid, settings=settings)
    bucket = open_bucket(settings.bucket_url)
    info = bucket.write(key, body, content_type="application/json")
    dispatch = _enqueue(info.bucket or bucket.url, key, info.generation)
    if json_output:
        print_json(
            {
                "scene_id": sid,
                "request_object": key,
                "generation": info.generation,
                "bucket": settings.bucket_url,
                "request": request,
                "dispatch": dispatch,
            }
        )
        return _follow(sid, timeout) if wait else 0
    err_console.print(
        f"wrote [bold]{key}[/bold] (generation {info.generation}) to {settings.bucket_url}", soft_wrap=True
    )
    return _report(sid, list(dispatch.get("run_ids") or []), dispatch.get("reason"), wait, timeout)


def _report(sid: str, started: list[str], reason: Any, wait: bool, timeout: float | None = None) -> int:
    """The human output's tail: what started, the optional follow, the scene id alone last."""
    if started:
        err_console.print(f"started {', '.join(started)}", soft_wrap=True)
    else:
        err_console.print(
            f"[yellow]not enqueued now ({reason}); bpflow up will start it from the bucket[/yellow]", soft_wrap=True
        )
    code = _follow(sid, timeout) if wait else 0
    console.file.flush()
    print(sid)
    return code


def _follow(scene_id: str, timeout: float | None = None) -> int:
    """Follow the scene (a multi-seed request: with its seeds) until it ends or ``timeout``."""
    from bpflow.cli.progress import DEFAULT_WAIT_SECONDS, watch_scene

    limit = DEFAULT_WAIT_SECONDS if timeout is None else timeout
    err_console.print(f"waiting up to {limit:g} s for scene {scene_id} (--timeout)", soft_wrap=True, highlight=False)
    return int(watch_scene(scene_id, console=err_console, timeout=limit))


def submit_image_command(
    path: Path,
    prompt: str | None,
    *,
    tier: str,
    scene_id: str | None,
    wait: bool,
    json_output: bool,
    timeout: float | None = None,
) -> int:
    """Upload a photo and submit the image request that names it. The photo is checked here
    first (type, size, pixels, decodability), so a bad file fails before anything is written."""
    from bpflow.domain.imagegen.decode import check_image

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BpflowError(
            f"cannot read {path}: {exc.strerror or exc}", code="image_unreadable", field="--image"
        ) from None
    checked = check_image(data, path.name)
    settings = get_settings()
    sid = scene_id or new_scene_id(prompt or path.stem)
    image_key = image_object_key(sid, path)
    request = build_request(
        prompt or "", scene_id=sid, tier=tier, source_mode="image", image_uri=image_key, settings=settings
    )
    if not prompt:
        request.pop("prompt", None)
    body = json.dumps(request, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    parse_request(body.encode("utf-8"), scene_id_from_path=sid, settings=settings)
    bucket = open_bucket(settings.bucket_url)
    image_info = bucket.write(image_key, data, content_type="image/png" if checked.format == "PNG" else "image/jpeg")
    key = STAGES["source-orchestrator"].trigger_key(sid)
    info = bucket.write(key, body, content_type="application/json")
    image_dispatch = _enqueue(image_info.bucket or bucket.url, image_key, image_info.generation)
    dispatch = _enqueue(info.bucket or bucket.url, key, info.generation)
    if json_output:
        print_json(
            {
                "scene_id": sid,
                "image_object": image_key,
                "request_object": key,
                "generation": info.generation,
                "bucket": settings.bucket_url,
                "image": {"format": checked.format, "width": checked.width, "height": checked.height},
                "request": request,
                "dispatch": dispatch,
                "image_dispatch": image_dispatch,
            }
        )
        return _follow(sid, timeout) if wait else 0
    err_console.print(
        f"uploaded [bold]{image_key}[/bold] ({checked.format} {checked.width}x{checked.height}) and wrote [bold]{key}[/bold] to {settings.bucket_url}",
        soft_wrap=True,
    )
    return _report(
        sid,
        list(dispatch.get("run_ids") or []) + list(image_dispatch.get("run_ids") or []),
        dispatch.get("reason"),
        wait,
        timeout,
    )
