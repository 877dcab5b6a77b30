"""The pipeline's stages: the one definition the CLI, the dashboard, the API and the demo share.

A stage is what an operator thinks of as one step of a scene ("usd-assembly"), which is not always
one workflow: Stage 1's text jobs run inside the source orchestrator's run. So a stage names the
workflow whose runs carry it, optionally the job inside that run, the markers that say it finished
or failed (scene-relative keys), and the stages it waits for.

The packaged DAG is the text path of DESIGN.md. A deployment (or a test) can show another DAG by
naming a YAML file in ``BPFLOW_STAGE_DAG`` (same fields as :class:`Stage`); the test chain uses it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from bpflow.core.errors import ConfigError
from bpflow.core.stages import STAGES, StageSpec

STAGE_DAG_ENV: Final = "BPFLOW_STAGE_DAG"

_STAGE_KEYS: Final = frozenset(
    {"name", "title", "workflow", "job", "trigger", "complete", "failed", "upstream", "description"}
)


@dataclass(frozen=True)
class Stage:
    """One node of the DAG. Marker keys are relative to ``scenes/<scene_id>/``.

    ``complete[0]`` decides success; further completion markers are shown as the stage's other
    outputs. ``job`` is set for a stage that is one job inside another stage's workflow run.
    """

    name: str
    workflow: str
    complete: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    job: str | None = None
    trigger: str | None = None
    title: str = ""
    description: str = ""

    @property
    def label(self) -> str:
        return self.title or self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.label,
            "workflow": self.workflow,
            "job": self.job,
            "trigger": self.trigger,
            "complete": list(self.complete),
            "failed": list(self.failed),
            "upstream": list(self.upstream),
            "description": self.description,
        }


@dataclass(frozen=True)
class Dag:
    name: str
    title: str
    stages: tuple[Stage, ...]
    source: str = "bpflow"
    _by_name: dict[str, Stage] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for st in self.stages:
            if st.name in self._by_name:
                raise ConfigError(f"{self.source}: stage {st.name!r} is defined twice", field="stages")
            self._by_name[st.name] = st
        for st in self.stages:
            for up in st.upstream:
                if up not in self._by_name:
                    raise ConfigError(
                        f"{self.source}: stage {st.name!r} waits for unknown stage {up!r}", field="upstream"
                    )
        self._check_acyclic()

    def _check_acyclic(self) -> None:
        """Stages must be listed so that every upstream comes first: the order is the display
        order and the evaluation order, and it rules out cycles."""
        seen: set[str] = set()
        for st in self.stages:
            late = [u for u in st.upstream if u not in seen]
            if late:
                raise ConfigError(
                    f"{self.source}: stage {st.name!r} is listed before its upstream {late}", field="upstream"
                )
            seen.add(st.name)

    def get(self, name: str) -> Stage | None:
        return self._by_name.get(name)

    def workflows(self) -> list[str]:
        """Distinct workflows, in stage order."""
        out: list[str] = []
        for st in self.stages:
            if st.workflow not in out:
                out.append(st.workflow)
        return out

    def stages_for_workflow(self, workflow: str) -> list[Stage]:
        return [st for st in self.stages if st.workflow == workflow]

    def layers(self) -> dict[str, int]:
        """Column of each stage when drawn left to right: its longest upstream path."""
        depth: dict[str, int] = {}
        for st in self.stages:
            depth[st.name] = 1 + max((depth[u] for u in st.upstream), default=-1)
        return depth

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "stages": [s.to_dict() for s in self.stages],
        }


def _node(spec: StageSpec) -> Stage:
    return Stage(
        name=spec.name,
        workflow=spec.workflow,
        complete=spec.complete,
        failed=spec.failed,
        upstream=spec.upstream,
        job=spec.job,
        trigger=spec.trigger,
        title=spec.title,
        description=spec.description,
    )


#: DESIGN.md "Text path DAG", stage by stage, from the stage model (``core/stages.yaml``).
TEXT_DAG: Final = Dag(name="text", title="Text path", stages=tuple(_node(s) for s in STAGES.values() if not s.learning))
#: Issue 13, the learning loop: shown when the episodes are handed to training
#: (``TRIGGER_TRAINING=true``; otherwise nothing would ever start these stages).
LEARNING_STAGES: Final = tuple(_node(s) for s in STAGES.values() if s.learning)
TEXT_DAG_LEARNING: Final = Dag(
    name="text-learning", title="Text path with the learning loop", stages=(*TEXT_DAG.stages, *LEARNING_STAGES)
)


def _str_tuple(raw: Any, where: str, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings", field=key)
    for key_ in raw:
        if key_.startswith("/") or ".." in key_.split("/"):
            raise ConfigError(f"{where}: {key!r} entry {key_!r} must be a scene-relative key", field=key)
    return tuple(raw)


def _parse_stage(raw: Any, where: str) -> Stage:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a stage must be a mapping", field="stages")
    unknown = set(raw) - _STAGE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}", field="stages")
    name, workflow = raw.get("name"), raw.get("workflow")
    if not isinstance(name, str) or not name or not isinstance(workflow, str) or not workflow:
        raise ConfigError(f"{where}: 'name' and 'workflow' are required strings", field="stages")
    job, trigger = raw.get("job"), raw.get("trigger")
    if job is not None and not isinstance(job, str):
        raise ConfigError(f"{where}: 'job' must be a string", field="job")
    trig = _str_tuple(trigger, where, "trigger")
    return Stage(
        name=name,
        workflow=workflow,
        job=job,
        trigger=trig[0] if trig else None,
        complete=_str_tuple(raw.get("complete"), where, "complete"),
        failed=_str_tuple(raw.get("failed"), where, "failed"),
        upstream=_str_tuple(raw.get("upstream"), where, "upstream"),
        title=str(raw.get("title") or ""),
        description=" ".join(str(raw.get("description") or "").split()),
    )


def parse_dag(text: str, source: str) -> Dag:
    """A DAG file: ``{name, title, stages: [...]}``; errors name the file and the stage."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}", field=STAGE_DAG_ENV) from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("stages"), list) or not doc["stages"]:
        raise ConfigError(f"{source}: expected a mapping with a non-empty 'stages' list", field=STAGE_DAG_ENV)
    stages = tuple(_parse_stage(raw, f"{source} stage {i}") for i, raw in enumerate(doc["stages"]))
    name = str(doc.get("name") or Path(source).stem)
    return Dag(name=name, title=str(doc.get("title") or name), stages=stages, source=source)


_CACHE: dict[str, Dag] = {}


def load_dag(env: Mapping[str, str] | None = None) -> Dag:
    """The DAG this process shows: ``BPFLOW_STAGE_DAG`` if set, else the packaged text path."""
    path = (os.environ if env is None else env).get(STAGE_DAG_ENV, "").strip()
    if not path:
        learning = (os.environ if env is None else env).get("TRIGGER_TRAINING", "").strip().lower() == "true"
        return TEXT_DAG_LEARNING if learning else TEXT_DAG
    cached = _CACHE.get(path)
    if cached is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read stage DAG file {path!r}: {exc.strerror}", field=STAGE_DAG_ENV) from None
        cached = _CACHE[path] = parse_dag(text, path)
    return cached
