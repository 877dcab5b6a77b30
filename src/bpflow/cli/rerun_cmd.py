"""``bpflow rerun WORKFLOW --scene ID [--force]``: start a stage again for the current input.

Without ``--force`` the run id is the trigger's (current object generation), so an existing run
for that input is attached to, not repeated; the output says which happened and how to run it
again. For a multi-seed request the stage is rerun in each seed scene.
"""

from __future__ import annotations

from bpflow.cli.consoles import console, print_json
from bpflow.core.errors import BpflowError
from bpflow.ops.rerun import rerun_scene, retry_run
from bpflow.ops.session import open_session


def rerun_command(workflow: str, *, scene: str, force: bool, json_output: bool) -> int:
    with open_session() as session:
        if session.reader is None:
            raise BpflowError(
                "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
            )
        result = rerun_scene(session.rt, workflow, scene, force=force)
    if json_output:
        print_json(result.to_dict())
    else:
        for line in result.lines(force):
            console.print(line, highlight=False, soft_wrap=True)
    return 0


def retry_command(run_ref: str, *, json_output: bool) -> int:
    with open_session() as session:
        if session.reader is None:
            raise BpflowError(
                "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
            )
        result = retry_run(session.rt, session.reader.resolve(run_ref))
    if json_output:
        print_json(result.to_dict())
    else:
        console.print(
            f"started {result.run_id} (retry of a {result.previous_state} run)", highlight=False, soft_wrap=True
        )
    return 0


def cancel_command(run_ref: str, *, json_output: bool) -> int:
    with open_session() as session:
        if session.reader is None:
            raise BpflowError(
                "no bpflow database yet: start the runtime once with `bpflow up`", code="runtime_not_initialised"
            )
        info = session.reader.cancel(session.reader.resolve(run_ref))
    if json_output:
        print_json(info.to_dict())
    else:
        console.print(f"{info.run_id}: {info.state}", highlight=False, soft_wrap=True)
    return 0
