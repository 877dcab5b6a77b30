"""``bpflow rerun WORKFLOW --scene ID [--force]``: start a stage again for the current input.

Without ``--force`` the run id is the trigger's (current object generation), so an existing run
for that input is attached to, not repeated; the output says which happened.
"""

from __future__ import annotations

from bpflow.cli import console, print_json
from bpflow.core.errors import BpflowError
from bpflow.ops.rerun import rerun_stage
from bpflow.ops.session import open_session


def rerun_command(workflow: str, *, scene: str, force: bool, json_output: bool) -> int:
    with open_session() as session:
        if session.reader is None:
            raise BpflowError("no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised")
        result = rerun_stage(session.rt, workflow, scene, force=force)
    if json_output:
        print_json(result.to_dict())
    elif result.attached:
        console.print(f"attached to existing run {result.run_id} ({result.previous_state}); use --force to run it again")
    else:
        console.print(f"started {result.run_id}")
    return 0
