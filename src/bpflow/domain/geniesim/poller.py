"""Which Genie Sim jobs are complete but not imported: one pass over ``scenes/*/geniesim/job.json``.

Kept apart from the workflow so the scan can be measured on its own (``poller_scan_10k_s``).
The listing asks for the two marker names only (``Bucket.glob_keys``): a local bucket opens just
the scenes' ``geniesim/`` folders, no backend works out generations, and a job.json is read only
when no import marker at least as new names its scene.
A job is due when its job.json says ``completed`` and the scene's ``.geniesim_import_complete``
does not name that job. The reference skipped a scene as soon as any import had completed, so a
second job of the scene was never imported; here the marker must name the job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bpflow.core.storage.base import Bucket

JOB_KEY = re.compile(r"^scenes/([^/]+)/geniesim/job\.json$")
IMPORTED_SUFFIX = "/geniesim/.geniesim_import_complete"
LISTED = ("scenes/*/geniesim/job.json", "scenes/*" + IMPORTED_SUFFIX)


@dataclass
class Scan:
    due: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"due": self.due, "skipped": self.skipped, "unreadable": self.unreadable}


def scan(bucket: Bucket) -> Scan:
    out = Scan()
    keys: list[tuple[str, str, float]] = []
    imported: dict[str, tuple[str, float]] = {}
    # Names and update times only (no generations): the two markers' folders, nothing else.
    for entry in bucket.glob_keys(LISTED):
        m = JOB_KEY.match(entry.key)
        if m:
            keys.append((entry.key, m.group(1), entry.updated_s))
        elif entry.key.endswith(IMPORTED_SUFFIX):
            imported[entry.key.split("/")[1]] = (entry.key, entry.updated_s)
    for key, scene, updated in keys:
        if scene in imported and imported[scene][1] >= updated:
            # The import workflow writes its marker after the import job's last job.json
            # update; a job.json written since then is a newer job and is read below.
            out.skipped[key] = "imported"
            continue
        try:
            job = json.loads(bucket.read(key))
        except (ValueError, UnicodeDecodeError) as exc:
            out.unreadable[key] = f"not JSON: {exc}"
            continue
        if not isinstance(job, dict):
            out.unreadable[key] = "not a JSON object"
            continue
        job_id, status = job.get("job_id"), job.get("status", "unknown")
        if not job_id:
            out.skipped[key] = "no job_id"
            continue
        if status != "completed":
            out.skipped[key] = f"status {status}"
            continue
        scene_id = str(job.get("scene_id") or scene)
        if scene_id in imported:
            try:
                marker = json.loads(bucket.read(imported[scene_id][0]))
            except ValueError:
                marker = {}
            if not isinstance(marker, dict) or marker.get("job_id") in (None, job_id):
                out.skipped[key] = "imported"
                continue
        out.due.append({"job_id": str(job_id), "scene_id": scene_id, "status": "completed"})
    return out
