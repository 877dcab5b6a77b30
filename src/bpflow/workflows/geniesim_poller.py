"""genie-sim-import-poller — on its schedule, start the import of every completed, un-imported
Genie Sim job (``scenes/*/geniesim/job.json``). Reference: spec §2.3.

The import run id is the one the export workflow uses for the same job
(``genie-sim-import-pipeline:{scene}:{job_id}``), so a poll while an import is running attaches
to it instead of starting a second one (the reference had no in-flight guard). An unreadable
job.json no longer stops the other scenes' imports: they are started first, then the poll ends
in error naming it, as the reference's did. The import it starts also writes
``.geniesim_complete`` (the export ended at ``.geniesim_submitted``), so Arena export follows an
asynchronous job too (the reference never completed the stage on that path, spec §10.5).
"""

from __future__ import annotations

from bpflow.blocks.stages import start_run
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import Outcome, Run, workflow
from bpflow.core.errors import ValidationFailed
from bpflow.core.stages import STAGES
from bpflow.domain.geniesim.poller import scan

NAME = "genie-sim-import-poller"
IMPORT = STAGES["genie-sim-import"].workflow


@workflow(NAME, timeout_seconds=600)
def geniesim_import_poller(run: Run) -> Outcome:
    found = step("scan job.json", lambda: scan(run.bucket).to_dict())
    started = [
        start_run(run, IMPORT, f"{IMPORT}:{job['scene_id']}:{job['job_id']}", {**job, "complete_stage": True})
        for job in found["due"]
    ]
    if found["unreadable"]:
        raise ValidationFailed(
            f"unreadable job.json: {', '.join(sorted(found['unreadable']))}",
            code="job_metadata_unreadable",
            field="job.json",
            details={"unreadable": found["unreadable"], "started": started},
        )
    return Outcome.success(
        f"started {len(started)} import(s)", bucket=run.bucket_name, started=started, skipped=len(found["skipped"])
    )
