"""``bpflow triggers``: the trigger map as a table or JSON, and ``--explain OBJECT``."""

from __future__ import annotations

import json
import os

from rich.table import Table
from rich.text import Text

from bpflow.cli.consoles import console, print_json
from bpflow.core.engine.registry import import_workflow_modules, registered
from bpflow.core.triggers import TriggerMap


def triggers_command(*, json_output: bool, explain: str | None) -> int:
    env = dict(os.environ)
    tmap = TriggerMap.default(env=env)
    import_workflow_modules([m for m in env.get("BPFLOW_WORKFLOW_MODULES", "").split(",") if m.strip()])
    implemented = set(registered())
    if explain is not None:
        result = tmap.explain(explain, env=env)
        for m in result.get("matches", []):
            m["implemented"] = m["workflow"] in implemented
        if json_output:
            print_json(result)
        else:
            if not result["matches"]:
                console.print(Text(f"{explain}: starts nothing"))
            for m in result["matches"]:
                if not m["implemented"]:
                    state, style = "matches, but is [not implemented in this build]: never started", "yellow"
                elif m["started"]:
                    state, style = "starts", "green"
                else:
                    state, style = f"does not start ({m['reason']})", "yellow"
                # Plain text: a reason or a pattern in brackets must print as written, not as markup.
                console.print(
                    Text.assemble(
                        (m["workflow"], "bold"),
                        ": ",
                        (state, style),
                        f"; scene_id={m['scene_id']} pattern={m['pattern']}",
                    ),
                    soft_wrap=True,
                )
        return 0
    rows = []
    for row in tmap.rows:
        d = row.to_dict(env=env)
        d["implemented"] = row.workflow in implemented
        rows.append(d)
    if json_output:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="bpflow trigger map")
    for col in ("workflow", "kind", "trigger", "enabled", "implemented"):
        table.add_column(col)
    for d in rows:
        trig = (
            ", ".join(d["patterns"])
            if d["patterns"]
            else (f"{d['schedule']} ({d['timezone']})" if d["schedule"] else (d["event_type"] or "manual"))
        )
        if d.get("also_manual") and d["kind"] != "manual":
            trig += " / manual"
        table.add_row(
            d["workflow"], d["kind"], trig, "yes" if d["enabled"] else "no", "yes" if d["implemented"] else "no"
        )
    console.print(table)
    return 0
