"""``bpflow config [--json]``: print the effective configuration, secrets redacted.

Why: the seed's knobs come from many env vars with defaults spread over YAML, scripts and
READMEs; operators need one place that says what value each variable actually has and whether
it was set or defaulted, without ever printing a key. The CLI module registers this function;
it is kept separate so it can be called (and tested) without the typer app.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bpflow.core.config import GROUPS, Settings, env_fields, load_settings
from bpflow.core.errors import ConfigError

EXIT_OK = 0
EXIT_CONFIG_ERROR = 2


def config_payload(settings: Settings) -> dict[str, Any]:
    """The ``--json`` document: ``{"settings": {NAME: value}, "sources": {NAME: "env"|"default"},
    "notes": [...]}``, secrets shown as ``"***"`` (set) or null (unset)."""
    return {"settings": settings.redacted(), "sources": settings.sources(), "notes": list(settings.notes)}


def _format(value: Any) -> Text:
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("true" if value else "false", style="cyan")
    if value == "":
        return Text("(empty)", style="dim")
    if isinstance(value, list):
        return Text(",".join(str(v) for v in value) if value else "(empty)", style="" if value else "dim")
    return Text(str(value))


def _matches(needle: str | None, *texts: str) -> bool:
    return needle is None or any(needle in t.lower() for t in texts)


def config_command(json_output: bool = False, *, env: Mapping[str, str] | None = None, match: str | None = None) -> int:
    """Print the effective configuration (a rich table per group, or JSON with ``json_output``).

    ``env`` defaults to the process environment; it is read fresh (not the cached settings) so
    the output reflects exactly what a process started now would use. Returns the exit code:
    0, or 2 when the configuration is invalid (the error names the variable; in JSON mode it is
    printed as ``{"error": {...}}`` so scripts can parse it). ``match`` keeps the variables whose
    name or section contains it (case-insensitive): 250 settings are too many to scroll.
    """
    needle = match.strip().lower() if match and match.strip() else None
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        if json_output:
            print(json.dumps({"error": exc.to_dict()}, indent=2, sort_keys=True))
        else:
            Console(stderr=True).print(Text(f"error: {exc.message}", style="bold red"))
        return EXIT_CONFIG_ERROR

    payload = config_payload(settings)
    from bpflow.domain.training.venv import readiness

    payload["training_venv"] = readiness()  # issue 13: is LeRobot's venv there to train and evaluate?
    if needle is not None:
        groups = {f.env: f.group for f in env_fields()}
        keep = {name for name in payload["settings"] if _matches(needle, name, groups.get(name, ""))}
        payload["settings"] = {k: v for k, v in payload["settings"].items() if k in keep}
        payload["sources"] = {k: v for k, v in payload["sources"].items() if k in keep}
    if json_output:
        # Plain print, not rich: rich would wrap long lines and add markup-aware escaping.
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return EXIT_OK

    from bpflow.cli.consoles import console

    values: dict[str, Any] = payload["settings"]
    sources: dict[str, str] = payload["sources"]
    fields = env_fields()
    for group in GROUPS:
        rows = [f for f in fields if f.group == group and f.env in values]
        if not rows:
            continue
        table = Table(title=group, title_justify="left", expand=False, show_lines=False)
        table.add_column("variable", no_wrap=True, style="bold")
        table.add_column("value", overflow="fold")
        table.add_column("source", no_wrap=True)
        for f in rows:
            source = sources[f.env]
            table.add_row(
                f.env,
                _format(values[f.env]),
                Text(source, style="green" if source == "env" else "dim"),
            )
        console.print(table)
    set_count = sum(1 for s in sources.values() if s == "env")
    if needle is not None and not sources:
        console.print(Text(f"no setting or section matches {match!r}", style="yellow"))
        return EXIT_OK
    matched = f" matching {match!r}" if needle is not None else ""
    console.print(f"{len(sources)} settings{matched}, {set_count} from env, {len(sources) - set_count} defaults")
    for note in settings.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    venv = payload["training_venv"]
    console.print(
        Text(f"training venv: ready at {venv['path']}", style="green")
        if venv["ready"]
        else Text(f"training venv: not ready — {venv['reason']}", style="yellow")
    )
    return EXIT_OK
