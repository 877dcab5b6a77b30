"""The stage model (``stages.yaml``): every stage's workflow, trigger objects, markers and upstream
stages, read once. The trigger map's stage rows (``core.triggers``), the status DAG (``ops.dag``),
the orchestrator's stage list and each stage workflow's trigger and marker constants derive from
it, so a stage is spelled in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from bpflow.core.errors import ConfigError

STAGES_FILE: Final = Path(__file__).with_name("stages.yaml")
#: Stage keys are scene-relative; the trigger map's patterns put them under any one scene.
SCENE_PATTERN_PREFIX: Final = "scenes/*/"
_KEYS: Final = frozenset(
    {
        "name",
        "title",
        "workflow",
        "job",
        "triggers",
        "complete",
        "also_complete",
        "failed",
        "upstream",
        "learning",
        "description",
        "status_name",
    }
)


@dataclass(frozen=True)
class StageSpec:
    name: str
    workflow: str
    title: str = ""
    job: str | None = None
    triggers: tuple[str, ...] = ()
    complete: tuple[str, ...] = ()
    also_complete: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    learning: bool = False
    description: str = ""
    status_key: str | None = None
    #: The trigger the orchestrator writes or waits for; set by :func:`parse_stages`.
    primary: str | None = None

    @property
    def trigger(self) -> str | None:
        """The trigger object the orchestrator writes or waits for (scene-relative): the first
        trigger an upstream stage completes (the chain), else the first trigger."""
        return self.primary or (self.triggers[0] if self.triggers else None)

    @property
    def trigger_object(self) -> str:
        """:attr:`trigger` where the caller needs one: a stage without a trigger object is a
        ConfigError naming it (the caller asked the wrong stage)."""
        if self.trigger is None:
            raise ConfigError(f"stage {self.name} has no trigger object", field="triggers")
        return self.trigger

    def trigger_key(self, scene_id: str) -> str:
        """The full object key of the primary trigger in scene ``scene_id``."""
        return f"scenes/{scene_id}/{self.trigger_object}"

    @property
    def trigger_re(self) -> re.Pattern[str]:
        """The full object key of the primary trigger, any scene (one path segment)."""
        return scene_key_re(self.trigger or "")

    @property
    def patterns(self) -> tuple[str, ...]:
        """The trigger map's object patterns for this stage's workflow row."""
        return tuple(SCENE_PATTERN_PREFIX + t for t in self.triggers)

    @property
    def status_name(self) -> str:
        """The spelling of the orchestrator's status JSON (``usd_assembly``; the reference's)."""
        return self.status_key or self.name.replace("-", "_")

    def complete_in(self, folder: str) -> str:
        """The completion marker the stage writes in ``folder`` (``isaac_lab``)."""
        found = [k for k in self.complete + self.also_complete if k.rsplit("/", 1)[0] == folder]
        if len(found) != 1:
            raise KeyError(f"stage {self.name} has {len(found)} completion markers in {folder}/")
        return found[0]

    @property
    def markers(self) -> tuple[str, ...]:
        """Every marker the stage's workflow writes: completion, then failure."""
        return self.complete + self.also_complete + self.failed


def scene_key_re(relative: str) -> re.Pattern[str]:
    """A scene-relative key as a full object key of any scene (the scene id one path segment, as
    the trigger map's ``*``); use with ``fullmatch``."""
    return re.compile(r"scenes/[^/]+/" + re.escape(relative))


def _tuple(raw: Any, where: str, key: str) -> tuple[str, ...]:
    raw = [] if raw is None else raw
    if not isinstance(raw, list) or not all(isinstance(x, str) and x and not x.startswith("/") for x in raw):
        raise ConfigError(f"{where}: {key!r} must be a list of scene-relative keys", field=key)
    return tuple(raw)


def parse_stages(text: str, source: str) -> dict[str, StageSpec]:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), list):
        raise ConfigError(f"{source}: expected a mapping with a 'stages' list", field="stages")
    out: dict[str, StageSpec] = {}
    for i, raw in enumerate(doc["stages"]):
        where = f"{source} stage {i}"
        if not isinstance(raw, dict) or set(raw) - _KEYS or not raw.get("name") or not raw.get("workflow"):
            raise ConfigError(f"{where}: needs 'name' and 'workflow' and only the keys {sorted(_KEYS)}", field="stages")
        if raw["name"] in out:
            raise ConfigError(f"{where}: stage {raw['name']!r} is defined twice", field="name")
        upstream = _tuple(raw.get("upstream"), where, "upstream")
        unknown = [u for u in upstream if u not in out]
        if unknown:
            raise ConfigError(f"{where}: upstream stages {unknown} are not defined before it", field="upstream")
        triggers = _tuple(raw.get("triggers"), where, "triggers")
        written = {k for u in upstream for k in out[u].complete + out[u].also_complete}
        out[raw["name"]] = StageSpec(
            name=raw["name"],
            workflow=raw["workflow"],
            title=str(raw.get("title") or ""),
            job=raw.get("job"),
            triggers=triggers,
            upstream=upstream,
            **{k: _tuple(raw.get(k), where, k) for k in ("complete", "also_complete", "failed")},
            learning=bool(raw.get("learning", False)),
            description=" ".join(str(raw.get("description") or "").split()),
            status_key=raw.get("status_name"),
            primary=next((t for t in triggers if t in written), None),
        )
    return out


#: Every stage by name, in stage order (upstream first).
STAGES: Final = parse_stages(STAGES_FILE.read_text(encoding="utf-8"), "bpflow/core/stages.yaml")


def stage(name: str) -> StageSpec:
    """The stage called ``name``; an unknown name is a ConfigError naming it (a typo in a row that
    refers to a stage fails at load time)."""
    try:
        return STAGES[name]
    except KeyError:
        raise ConfigError(
            f"no stage named {name!r} in bpflow/core/stages.yaml; known: {', '.join(STAGES)}", field="stage"
        ) from None


def by_workflow(workflow: str) -> StageSpec:
    """The (first) stage a workflow carries."""
    for spec in STAGES.values():
        if spec.workflow == workflow:
            return spec
    raise KeyError(workflow)
