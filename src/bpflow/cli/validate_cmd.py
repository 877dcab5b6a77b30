"""``bpflow validate FILE``: check a scene request before dropping it into the bucket.

Why: the orchestrator reports only the first problem of a bad request (in a failure marker, after
a round trip through the bucket); a user fixing a request wants every problem at once, each with
its field. The checks are exactly the orchestrator's (:func:`bpflow.domain.request.validate_request`),
with the current environment's settings (allowlist, max seeds, default mode, bucket).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from rich.table import Table
from rich.text import Text

from bpflow.cli.consoles import console, err_console
from bpflow.core.config import get_settings
from bpflow.core.contracts import Problem
from bpflow.core.stages import STAGES
from bpflow.domain.request import RequestInvalid, parse_request
from bpflow.domain.request.contract import MAX_REQUEST_BYTES, new_scene_id

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

#: Files up to this size are read whole (so the size problem states the real size); beyond it
#: only enough to prove the request is too large.
_READ_WHOLE = 16 * 1024 * 1024
_REQUEST_PATH = re.compile(r"(?:^|/)scenes/([^/]+)/" + re.escape(STAGES["source-orchestrator"].trigger_object) + "$")


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(_READ_WHOLE)
    p = Path(path)
    with p.open("rb") as fh:
        return fh.read(_READ_WHOLE if p.stat().st_size <= _READ_WHOLE else MAX_REQUEST_BYTES + 1)


def scene_id_from_path(path: str) -> str | None:
    """A file at ``.../scenes/<id>/prompts/scene_request.json`` is checked against ``<id>``, as
    the orchestrator would; any other path skips that check."""
    m = _REQUEST_PATH.search(Path(path).as_posix()) if path != "-" else None
    return m.group(1) if m else None


#: Stands in for a missing ``scene_id`` while checking: valid, and long enough that a request
#: too long for its seeds' ids fails as a generated id would (those are at most this long).
_PLACEHOLDER_ID = "scene-id-generated-on-submit"


def _with_placeholder_id(raw: bytes, path_scene: str | None) -> tuple[bytes, bool]:
    """A request without ``scene_id`` is what ``submit`` accepts (it makes one from the prompt):
    check it the same way, with a stand-in id that is never printed or written anywhere."""
    if path_scene is not None or len(raw) > MAX_REQUEST_BYTES:
        return raw, False
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return raw, False
    if not isinstance(doc, dict) or "scene_id" in doc:
        return raw, False
    prompt = doc.get("prompt")
    stand_in = new_scene_id(prompt) if isinstance(prompt, str) and prompt.strip() else _PLACEHOLDER_ID
    return json.dumps({**doc, "scene_id": stand_in}).encode("utf-8"), True


def _print_problems(path: str, problems: list[Problem]) -> None:
    console.print(
        Text.assemble(("invalid", "bold red"), f" {path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
    )
    table = Table(show_header=True, header_style="bold")
    for col in ("#", "field", "code", "problem"):
        table.add_column(col, overflow="fold")
    for i, p in enumerate(problems, 1):
        table.add_row(str(i), Text(p.field), Text(p.code), Text(p.message))
    console.print(table)


def validate_bundle_command(path: str, json_output: bool) -> int:
    """A Genie Sim bundle folder (``scenes/<id>/geniesim/``): schemas and the cross-file rules,
    exactly what genie-sim-export-job checks before it succeeds and the runtime before it runs."""
    from bpflow.domain.geniesim.contracts import BundleInvalid, bundle_problems, load_bundle_dir

    try:
        problems = bundle_problems(load_bundle_dir(Path(path)))
    except BundleInvalid as exc:
        problems = exc.problems
    checks = [
        "jsonschema(scene_graph)",
        "jsonschema(asset_index)",
        "jsonschema(task_config)",
        "jsonschema(export_manifest)",
        "export_completion_marker",
        "export_consistency(scene_graph, asset_index, task_config)",
    ]
    if json_output:
        print(
            json.dumps(
                {
                    "valid": not problems,
                    "status": "failed" if problems else "passed",
                    "bundle": path,
                    "checks": checks,
                    "problems": [p.to_dict() for p in problems],
                },
                indent=2,
            )
        )
    elif problems:
        _print_problems(path, problems)
    else:
        console.print(Text.assemble(("valid", "bold green"), f" {path}: Genie Sim bundle ({', '.join(checks)})"))
    return EXIT_INVALID if problems else EXIT_VALID


def _is_bundle_folder(path: str) -> bool:
    """A folder is validated as a Genie Sim bundle only when it holds a bundle file; any other
    folder stays what it was before bundles existed: something that is not a readable request."""
    from bpflow.domain.geniesim.contracts import BUNDLE_JSON, COMPLETION_MARKER

    folder = Path(path)
    names = [f"{n}.json" for n in (*BUNDLE_JSON, "export_manifest")] + [COMPLETION_MARKER]
    return folder.is_dir() and any((folder / n).is_file() for n in names)


def validate_command(path: str, json_output: bool) -> int:
    if path != "-" and _is_bundle_folder(path):
        return validate_bundle_command(path, json_output)
    try:
        raw = _read(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if json_output:
            print(
                json.dumps(
                    {
                        "valid": False,
                        "problems": [{"field": "$", "code": "unreadable", "message": f"cannot read {path}: {reason}"}],
                    }
                )
            )
        else:
            err_console.print(Text.assemble(("error", "red"), f" cannot read {path}: {reason}"))
        return EXIT_UNREADABLE
    path_scene = scene_id_from_path(path)
    raw, generated = _with_placeholder_id(raw, path_scene)
    try:
        request = parse_request(raw, scene_id_from_path=path_scene, settings=get_settings())
    except RequestInvalid as exc:
        if json_output:
            print(
                json.dumps(
                    {"valid": False, "problems": [p.to_dict() for p in exc.problems], "scene_id_from_path": path_scene},
                    indent=2,
                )
            )
        else:
            _print_problems(path, exc.problems)
        return EXIT_INVALID
    if json_output:
        doc = request.to_dict()
        if generated:
            doc["scene_id"] = None
        print(
            json.dumps(
                {
                    "valid": True,
                    "problems": [],
                    "scene_id_from_path": path_scene,
                    "scene_id_generated_on_submit": generated,
                    "request": doc,
                },
                indent=2,
            )
        )
    else:
        seeds = f"{request.seed_count} seed{'s' if request.seed_count != 1 else ''}"
        scene = (
            "no scene_id (bpflow submit and POST /api/scenes make one from the prompt)"
            if generated
            else f"scene {request.scene_id}"
        )
        console.print(
            Text.assemble(
                ("valid", "bold green"),
                f" {path}: {scene}, {request.source_mode} mode, backend {request.text_backend}, "
                f"{request.quality_tier} tier, {seeds}",
            )
        )
    return EXIT_VALID
