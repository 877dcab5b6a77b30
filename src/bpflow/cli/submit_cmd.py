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
from typing import Any

from bpflow.cli import console, err_console, print_json
from bpflow.config import get_settings
from bpflow.errors import BpflowError
from bpflow.events.model import ObjectEvent
from bpflow.source.request import build_request, parse_request
from bpflow.storage import open_bucket

REQUEST_OBJECT = "scenes/{scene_id}/prompts/scene_request.json"


def _enqueue(bucket_url: str, key: str, generation: int) -> dict[str, Any]:
    """Start the run now through the runtime's database, if there is one; the write itself
    remains the trigger (a watcher or the reconciliation scan finds it otherwise)."""
    from bpflow.engine.runtime import Runtime

    try:
        rt = Runtime().launch(role="client")
    except BpflowError as exc:
        return {"enqueued": False, "reason": f"{exc.code}: {exc.message}"}
    try:
        out = rt.dispatcher.dispatch_object(ObjectEvent(bucket=bucket_url, name=key, generation=generation, source="cli"))
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
) -> int:
    settings = get_settings()
    request = build_request(prompt, scene_id=scene_id, seeds=seeds, tier=tier, backend=backend, settings=settings)
    sid = request["scene_id"]
    key = REQUEST_OBJECT.format(scene_id=sid)
    body = json.dumps(request, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # What lands in the bucket is exactly what the orchestrator will read: check those bytes.
    parse_request(body.encode("utf-8"), scene_id_from_path=sid, settings=settings)
    bucket = open_bucket(settings.bucket_url)
    info = bucket.write(key, body, content_type="application/json")
    dispatch = _enqueue(info.bucket or bucket.url, key, info.generation)
    if json_output:
        print_json({"scene_id": sid, "request_object": key, "generation": info.generation, "bucket": settings.bucket_url, "request": request, "dispatch": dispatch})
        return _follow(sid) if wait else 0
    err_console.print(f"wrote [bold]{key}[/bold] (generation {info.generation}) to {settings.bucket_url}", soft_wrap=True)
    if dispatch["enqueued"]:
        err_console.print(f"started {', '.join(dispatch['run_ids'])}", soft_wrap=True)
    else:
        err_console.print(f"[yellow]not enqueued now ({dispatch.get('reason')}); bpflow up will start it from the bucket[/yellow]", soft_wrap=True)
    code = _follow(sid) if wait else 0
    console.file.flush()
    print(sid)
    return code


def _follow(scene_id: str) -> int:
    try:
        from bpflow.cli.progress import watch_scene
    except ImportError:
        err_console.print("[red]--wait needs bpflow.cli.progress, which is not part of this build[/red]", soft_wrap=True)
        return 1
    return int(watch_scene(scene_id, console=err_console))
