"""The trigger map: which object, schedule or custom event starts which workflow.

DESIGN principle 1 says the trigger map is data and nothing else decides what runs. The data lives in
``triggers.yaml`` beside this module (plus optional extra files named by ``BPFLOW_TRIGGER_FILES``);
this module only loads, validates and matches it. A stage's row names its stage (``stage:``) and
takes its workflow name and object patterns from the stage model (``stages.yaml``), where a stage's
facts are written once; a row started by the same objects as a stage says ``same_trigger_as:``.

Matching an object key is on the hot path of every bucket event, and most bucket writes (locks,
outputs, logs) match nothing, so patterns are compiled once and indexed by their literal last path
segment: a key is tested only against the few patterns that could possibly match it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

import yaml

from bpflow.core.errors import ConfigError, InvalidSceneId, WorkflowNotFound
from bpflow.core.stages import stage

__all__ = [
    "SCENE_ID_PATTERN",
    "TRIGGER_FILES_ENV",
    "Kind",
    "ObjectMatch",
    "Trigger",
    "TriggerMap",
    "compile_pattern",
    "describe_rule",
    "evaluate_rule",
    "validate_scene_id",
]

Kind = Literal["object", "schedule", "event", "manual"]
KINDS: Final[frozenset[str]] = frozenset({"object", "schedule", "event", "manual"})

#: Env var with extra trigger files (comma- or os.pathsep-separated), read by TriggerMap.default().
TRIGGER_FILES_ENV: Final = "BPFLOW_TRIGGER_FILES"

#: A scene id is one safe path segment: no "..", no hidden names, bounded length.
SCENE_ID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
_SCENE_ID_RE: Final = re.compile(SCENE_ID_PATTERN)

_PACKAGED_FILE: Final = "triggers.yaml"

# Reason codes reported by explain(); stable strings so the CLI, API and tests can rely on them.
REASON_DISABLED: Final = "disabled"
REASON_INVALID_SCENE_ID: Final = "invalid_scene_id"

_ROW_KEYS: Final[frozenset[str]] = frozenset(
    {
        "workflow",
        "kind",
        "patterns",
        "schedule",
        "paused",
        "schedule_env",
        "timezone",
        "timezone_env",
        "event_type",
        "also_manual",
        "enabled",
        "description",
        "stage",
        "same_trigger_as",
    }
)
_WORKFLOW_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]*")


# --------------------------------------------------------------------------------------------
# Scene ids
# --------------------------------------------------------------------------------------------


def validate_scene_id(s: object) -> str:
    """Return ``s`` if it is a safe scene id, else raise :class:`InvalidSceneId`.

    The scene id becomes a path prefix (``scenes/<id>/...``), a lock name and part of run ids, so
    anything that could escape its directory (``..``), hide (``.x``) or carry separators is refused
    here, once, for every module that derives one.
    """
    if not isinstance(s, str) or _SCENE_ID_RE.fullmatch(s) is None:
        raise InvalidSceneId(
            f"invalid scene id {s!r}: must match ^{SCENE_ID_PATTERN}$",
            field="scene_id",
            details={"scene_id": s if isinstance(s, str) else repr(s)},
        )
    return s


def _is_valid_scene_id(s: str) -> bool:
    return _SCENE_ID_RE.fullmatch(s) is not None


# --------------------------------------------------------------------------------------------
# Pattern language
# --------------------------------------------------------------------------------------------


def _check_pattern(pattern: str) -> None:
    """Reject patterns that would silently match something other than what their author meant."""
    if not pattern:
        raise ConfigError("empty object pattern", field="patterns")
    if pattern.startswith("/") or pattern.endswith("/"):
        raise ConfigError(f"pattern {pattern!r} must not start or end with '/'", field="patterns")
    if "//" in pattern:
        raise ConfigError(f"pattern {pattern!r} has an empty path segment", field="patterns")
    if "**" in pattern:
        raise ConfigError(f"pattern {pattern!r}: '**' is not supported ('*' is exactly one segment)", field="patterns")


def _compile_segment(segment: str, pattern: str) -> str:
    """Regex for one path segment of ``pattern`` (no '/' inside)."""
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        ch = segment[i]
        if ch == "*":
            out.append(r"[^/]+")
            i += 1
        elif ch == "{":
            end = segment.find("}", i + 1)
            if end < 0:
                raise ConfigError(f"pattern {pattern!r}: unclosed '{{'", field="patterns")
            body = segment[i + 1 : end]
            alternatives = body.split(",")
            if "{" in body or any(a == "" or "*" in a for a in alternatives):
                raise ConfigError(
                    f"pattern {pattern!r}: alternatives must be non-empty literals without '/', '*' or '{{'",
                    field="patterns",
                )
            out.append("(?i:" + "|".join(re.escape(a) for a in alternatives) + ")")
            i = end + 1
        elif ch == "}":
            raise ConfigError(f"pattern {pattern!r}: unmatched '}}'", field="patterns")
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a trigger pattern to an anchored regex (use with ``fullmatch``).

    ``*`` is exactly one non-empty path segment; ``{a,b}`` is a case-insensitive alternation (image
    extensions arrive as ``.PNG`` as often as ``.png``); everything else is literal and
    case-sensitive, so markers such as ``.usd_complete`` cannot be confused with ``.usd_complete.tmp``
    or ``.USD_COMPLETE``. In a pattern under ``scenes/`` the second segment is captured as group
    ``scene_id``.
    """
    _check_pattern(pattern)
    segments = pattern.split("/")
    parts = [_compile_segment(seg, pattern) for seg in segments]
    if len(parts) > 1 and segments[0] == "scenes":
        parts[1] = f"(?P<scene_id>{parts[1]})"
    try:
        return re.compile("/".join(parts))
    except re.error as exc:  # pragma: no cover - escaping makes this unreachable; kept as a guard
        raise ConfigError(f"pattern {pattern!r} does not compile: {exc}", field="patterns") from exc


def _literal_last_segment(pattern: str) -> str | None:
    """The pattern's last segment if it is fully literal (the index key), else None."""
    last = pattern.rsplit("/", 1)[-1]
    if any(c in last for c in "*{}"):
        return None
    return last


# --------------------------------------------------------------------------------------------
# Enable rules
# --------------------------------------------------------------------------------------------


def _env_value(rule: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """Read a rule's variable: unset or empty takes the default; compare lower-cased.

    Empty counts as unset because the reference's shell installers use ``${VAR:-default}``.
    """
    raw = env.get(rule["env"])
    if raw is None or raw == "":
        raw = rule.get("default", "")
    return _rule_str(raw)


def _rule_str(value: Any) -> str:
    """YAML may hand us ``false``/``true`` unquoted; normalise to the string the env would hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def evaluate_rule(rule: Mapping[str, Any] | None, env: Mapping[str, str]) -> bool:
    """Evaluate an enable rule (see the header of triggers.yaml for the forms) against ``env``."""
    if rule is None:
        return True
    if "const" in rule:
        return bool(rule["const"])
    if "any" in rule:
        return any(evaluate_rule(r, env) for r in rule["any"])
    if "all" in rule:
        return all(evaluate_rule(r, env) for r in rule["all"])
    value = _env_value(rule, env)
    if "equals" in rule:
        return value == _rule_str(rule["equals"])
    return value != _rule_str(rule["not_equals"])


def describe_rule(rule: Mapping[str, Any] | None) -> str:
    """Human-readable rule for ``bpflow triggers`` and explain output."""
    if rule is None:
        return "always"
    if "const" in rule:
        return "always" if rule["const"] else "never"
    if "any" in rule:
        return " or ".join(_paren(describe_rule(r)) for r in rule["any"])
    if "all" in rule:
        return " and ".join(_paren(describe_rule(r)) for r in rule["all"])
    op, key = ("==", "equals") if "equals" in rule else ("!=", "not_equals")
    return f"{rule['env']} {op} {_rule_str(rule[key])!r} (default {_rule_str(rule.get('default', ''))!r})"


def _paren(text: str) -> str:
    return f"({text})" if (" or " in text or " and " in text) else text


def _normalise_rule(raw: Any, where: str) -> dict[str, Any] | None:
    """Validate an enable rule at load time so a typo fails loudly instead of enabling a workflow."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return {"const": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'enabled' must be a mapping or a boolean", field="enabled")
    keys = set(raw)
    for combinator in ("any", "all"):
        if combinator in keys:
            if keys != {combinator}:
                raise ConfigError(f"{where}: '{combinator}' cannot be combined with other keys", field="enabled")
            parts = raw[combinator]
            if not isinstance(parts, list) or not parts:
                raise ConfigError(f"{where}: '{combinator}' needs a non-empty list of rules", field="enabled")
            sub = [_normalise_rule(p, where) for p in parts]
            return {combinator: [s for s in sub if s is not None]}
    if "env" not in keys:
        raise ConfigError(f"{where}: enable rule needs 'env' (or 'any'/'all')", field="enabled")
    if not isinstance(raw["env"], str) or not raw["env"]:
        raise ConfigError(f"{where}: 'env' must be a variable name", field="enabled")
    ops = keys & {"equals", "not_equals"}
    if len(ops) != 1:
        raise ConfigError(f"{where}: enable rule needs exactly one of 'equals' / 'not_equals'", field="enabled")
    unknown = keys - {"env", "equals", "not_equals", "default"}
    if unknown:
        raise ConfigError(f"{where}: unknown enable-rule keys {sorted(unknown)}", field="enabled")
    return dict(raw)


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectMatch:
    """One workflow an object event should start, with the scene id taken from the key."""

    workflow: str
    pattern: str
    scene_id: str | None


@dataclass(frozen=True)
class Trigger:
    """One row of the trigger map.

    ``schedule``/``timezone`` hold the file's values; ``schedule_env``/``timezone_env`` name env vars
    that override them (text-autonomy-daily), resolved by :meth:`resolved_schedule` and by
    :meth:`TriggerMap.schedules`, so the scheduler never needs to know about those variables.
    """

    workflow: str
    kind: Kind
    patterns: tuple[str, ...] = ()
    schedule: str | None = None
    timezone: str | None = None
    event_type: str | None = None
    also_manual: bool = False
    description: str = ""
    enabled_rule: dict[str, Any] | None = field(default=None, hash=False, compare=True)
    schedule_env: str | None = None
    timezone_env: str | None = None
    source: str = field(default="", compare=False)
    #: (schedule rows) installed but not firing while this rule holds (same forms as ``enabled``).
    paused_rule: dict[str, Any] | None = field(default=None, hash=False, compare=True)

    def is_paused(self, env: Mapping[str, str] | None = None) -> bool:
        """Whether the row's own rule keeps its schedule paused (an operator may also pause it)."""
        return self.paused_rule is not None and evaluate_rule(self.paused_rule, os.environ if env is None else env)

    def is_enabled(self, env: Mapping[str, str] | None = None) -> bool:
        """Whether this row may start runs under ``env`` (default: the process environment)."""
        return evaluate_rule(self.enabled_rule, os.environ if env is None else env)

    @property
    def accepts_manual(self) -> bool:
        """True when a hand-started run is expected: manual rows and rows marked also_manual."""
        return self.kind == "manual" or self.also_manual

    @property
    def enabled_when(self) -> str:
        """The enable rule in words."""
        return describe_rule(self.enabled_rule)

    def resolved_schedule(self, env: Mapping[str, str] | None = None) -> str | None:
        """The cron expression after the row's env override, if any."""
        return _override(self.schedule, self.schedule_env, os.environ if env is None else env)

    def resolved_timezone(self, env: Mapping[str, str] | None = None) -> str | None:
        """The time zone after the row's env override, if any."""
        return _override(self.timezone, self.timezone_env, os.environ if env is None else env)

    def to_dict(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A JSON-ready view for ``bpflow triggers`` and the API, evaluated under ``env``."""
        e = os.environ if env is None else env
        return {
            "workflow": self.workflow,
            "kind": self.kind,
            "patterns": list(self.patterns),
            "schedule": self.resolved_schedule(e),
            "timezone": self.resolved_timezone(e),
            "event_type": self.event_type,
            "enabled": self.is_enabled(e),
            "enabled_when": self.enabled_when,
            "paused": self.is_paused(e),
            "also_manual": self.also_manual,
            "description": self.description,
            "source": self.source,
        }


def _override(value: str | None, env_name: str | None, env: Mapping[str, str]) -> str | None:
    if env_name:
        override = env.get(env_name)
        if override:
            return override
    return value


def _require_str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string", field=key)
    return value


def _check_cron(expr: str, where: str) -> None:
    """Fail at load time on a cron the scheduler could not run."""
    from croniter import croniter  # local import: only needed when validating schedule rows

    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ConfigError(f"{where}: invalid 5-field cron expression {expr!r}", field="schedule")


def _check_timezone(tz: str, where: str) -> None:
    try:
        ZoneInfo(tz)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(f"{where}: unknown time zone {tz!r}", field="timezone") from exc


def _from_stage_model(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Fill in what a row takes from the stage model: ``stage: NAME`` gives the workflow and (for a
    stage started by objects) the patterns; ``same_trigger_as: NAME`` gives that stage's patterns.
    Writing them as well is refused, so a stage's trigger cannot drift between two files."""
    out = dict(raw)
    if "stage" in raw and "same_trigger_as" in raw:
        raise ConfigError(
            f"{where}: a stage's row takes its own stage's patterns; drop 'same_trigger_as'", field="same_trigger_as"
        )
    for key in ("stage", "same_trigger_as"):
        if key not in raw:
            continue
        name = raw[key]
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: {key!r} must name a stage of bpflow/core/stages.yaml", field=key)
        try:
            spec = stage(name)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc.message}", field=key) from None
        taken = ("workflow", "patterns") if key == "stage" else ("patterns",)
        if written := [k for k in taken if k in raw]:
            raise ConfigError(
                f"{where}: {written} come from stage {name!r} in bpflow/core/stages.yaml; do not write them here",
                field=written[0],
            )
        if key == "same_trigger_as" and not spec.triggers:
            raise ConfigError(f"{where}: stage {name!r} has no trigger objects", field=key)
        if key == "stage":
            out["workflow"] = spec.workflow
        if spec.triggers:
            out["patterns"] = list(spec.patterns)
        del out[key]
    return out


def _parse_row(raw: Any, source: str, index: int) -> Trigger:
    """Turn one YAML row into a Trigger, checking the fields its kind needs and forbids."""
    where = f"{source}: row {index}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: each trigger row must be a mapping")
    unknown = set(raw) - _ROW_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    raw = _from_stage_model(raw, where)
    workflow = _require_str(raw, "workflow", where)
    if _WORKFLOW_NAME_RE.fullmatch(workflow) is None:
        raise ConfigError(
            f"{where}: workflow name {workflow!r} must be lower-case words joined by '-'", field="workflow"
        )
    where = f"{source}: workflow {workflow!r}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {sorted(KINDS)}, got {kind!r}", field="kind")

    patterns_raw = raw.get("patterns") or []
    if not isinstance(patterns_raw, list) or not all(isinstance(p, str) for p in patterns_raw):
        raise ConfigError(f"{where}: 'patterns' must be a list of strings", field="patterns")
    patterns = tuple(patterns_raw)
    schedule = raw.get("schedule")
    timezone = raw.get("timezone")
    event_type = raw.get("event_type")

    def forbid(*keys: str) -> None:
        present = [k for k in keys if raw.get(k)]
        if present:
            raise ConfigError(f"{where}: {kind} rows must not set {present}", field=present[0])

    if kind == "object":
        if not patterns:
            raise ConfigError(f"{where}: object rows need at least one pattern", field="patterns")
        for p in patterns:
            try:
                compile_pattern(p)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc.message}", field="patterns") from exc
        forbid("schedule", "schedule_env", "timezone", "timezone_env", "event_type")
    elif kind == "schedule":
        schedule = _require_str(raw, "schedule", where)
        timezone = _require_str(raw, "timezone", where)
        _check_cron(schedule, where)
        _check_timezone(timezone, where)
        forbid("patterns", "event_type")
    elif kind == "event":
        event_type = _require_str(raw, "event_type", where)
        forbid("patterns", "schedule", "schedule_env", "timezone", "timezone_env", "paused")
    else:
        forbid("patterns", "schedule", "schedule_env", "timezone", "timezone_env", "event_type", "paused")
    if kind == "object":
        forbid("paused")

    also_manual = raw.get("also_manual", False)
    if not isinstance(also_manual, bool):
        raise ConfigError(f"{where}: 'also_manual' must be a boolean", field="also_manual")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}: 'description' must be a string", field="description")
    for env_key in ("schedule_env", "timezone_env"):
        if raw.get(env_key) is not None and not isinstance(raw.get(env_key), str):
            raise ConfigError(f"{where}: '{env_key}' must be a variable name", field=env_key)

    return Trigger(
        workflow=workflow,
        kind=cast(Kind, kind),
        patterns=patterns,
        schedule=schedule,
        timezone=timezone,
        event_type=event_type,
        also_manual=also_manual,
        description=" ".join(description.split()),
        enabled_rule=_normalise_rule(raw.get("enabled"), where),
        schedule_env=raw.get("schedule_env"),
        timezone_env=raw.get("timezone_env"),
        source=source,
        paused_rule=_normalise_rule(raw.get("paused"), where),
    )


def _read_rows(text: str, source: str) -> list[Trigger]:
    """Parse a trigger file: either ``{version: 1, triggers: [...]}`` or a bare list of rows."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if doc is None:
        return []
    if isinstance(doc, Mapping):
        unknown = set(doc) - {"version", "triggers"}
        if unknown:
            raise ConfigError(f"{source}: unknown top-level keys {sorted(unknown)}")
        if doc.get("version", 1) != 1:
            raise ConfigError(f"{source}: unsupported trigger file version {doc.get('version')!r}")
        rows = doc.get("triggers") or []
    else:
        rows = doc
    if not isinstance(rows, list):
        raise ConfigError(f"{source}: 'triggers' must be a list of rows")
    return [_parse_row(r, source, i) for i, r in enumerate(rows)]


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CompiledPattern:
    """One distinct pattern string, compiled once, with every (row, pattern) that uses it."""

    pattern: str
    regex: re.Pattern[str]
    users: tuple[tuple[int, int], ...]  # (row index, pattern index within the row)


class TriggerMap:
    """All trigger rows plus the indexes that make matching cheap.

    Build it with :meth:`load` (explicit extra files) or :meth:`default` (extra files from
    ``BPFLOW_TRIGGER_FILES``); the constructor is for tests that want a hand-made row list.
    """

    def __init__(self, rows: Iterable[Trigger]) -> None:
        self.rows: list[Trigger] = list(rows)
        self._by_name: dict[str, Trigger] = {}
        for row in self.rows:
            if row.workflow in self._by_name:
                raise ConfigError(
                    f"duplicate workflow {row.workflow!r} in {row.source or '<rows>'}",
                    field="workflow",
                    details={"workflow": row.workflow, "file": row.source},
                )
            self._by_name[row.workflow] = row
        self._build_index()

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def load(cls, extra_files: Sequence[str | Path] = ()) -> TriggerMap:
        """The packaged map plus ``extra_files`` (same row format). A workflow already defined —
        by the package or an earlier extra file — is an error naming the file and the workflow,
        because silently replacing a row would change what runs without anyone noticing."""
        packaged = resources.files("bpflow.core").joinpath(_PACKAGED_FILE)
        rows = _read_rows(packaged.read_text(encoding="utf-8"), f"bpflow/{_PACKAGED_FILE}")
        seen: dict[str, str] = {}
        for row in rows:
            if row.workflow in seen:
                raise ConfigError(
                    f"bpflow/{_PACKAGED_FILE}: workflow {row.workflow!r} is defined twice",
                    field="workflow",
                    details={"workflow": row.workflow, "file": f"bpflow/{_PACKAGED_FILE}"},
                )
            seen[row.workflow] = row.source
        for extra in extra_files:
            path = Path(extra)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read trigger file {str(path)!r}: {exc}", details={"file": str(path)}
                ) from exc
            for row in _read_rows(text, str(path)):
                if row.workflow in seen:
                    raise ConfigError(
                        f"trigger file {str(path)!r}: workflow {row.workflow!r} is already defined in {seen[row.workflow]}",
                        field="workflow",
                        details={"workflow": row.workflow, "file": str(path), "first_defined_in": seen[row.workflow]},
                    )
                seen[row.workflow] = str(path)
                rows.append(row)
        return cls(rows)

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> TriggerMap:
        """The map this process should use: packaged rows plus ``BPFLOW_TRIGGER_FILES``.

        Cached per value of that variable, so the dispatcher can call it on every event.
        """
        e = os.environ if env is None else env
        files = tuple(_split_file_list(e.get(TRIGGER_FILES_ENV, "")))
        cached = _DEFAULT_CACHE.get(files)
        if cached is None:
            cached = cls.load(files)
            _DEFAULT_CACHE[files] = cached
        return cached

    @staticmethod
    def clear_cache() -> None:
        """Forget maps built by :meth:`default` (tests; after editing an extra trigger file)."""
        _DEFAULT_CACHE.clear()

    def _build_index(self) -> None:
        """Compile each distinct pattern once and bucket it by its literal last segment."""
        users: dict[str, list[tuple[int, int]]] = {}
        for ri, row in enumerate(self.rows):
            if row.kind != "object":
                continue
            for pi, pattern in enumerate(row.patterns):
                users.setdefault(pattern, []).append((ri, pi))
        self._by_last: dict[str, list[_CompiledPattern]] = {}
        self._wild_last: list[_CompiledPattern] = []
        for pattern, u in users.items():
            cp = _CompiledPattern(pattern, compile_pattern(pattern), tuple(u))
            last = _literal_last_segment(pattern)
            if last is None:
                self._wild_last.append(cp)
            else:
                self._by_last.setdefault(last, []).append(cp)

    # ---- lookup -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Trigger]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, workflow: object) -> bool:
        return workflow in self._by_name

    def names(self) -> list[str]:
        """Workflow names in map order."""
        return [r.workflow for r in self.rows]

    def get(self, workflow: str) -> Trigger:
        """The row for ``workflow``; unknown names raise WorkflowNotFound (a 404 in the API)."""
        try:
            return self._by_name[workflow]
        except KeyError:
            raise WorkflowNotFound(
                f"no workflow named {workflow!r} in the trigger map",
                field="workflow",
                details={"workflow": workflow},
            ) from None

    # ---- matching -----------------------------------------------------------------------

    def _candidates(self, key: str) -> list[tuple[int, int, str, str | None]]:
        """Every (row, pattern) whose pattern matches ``key``, with the raw scene segment.

        Ordered by row then pattern so results are deterministic; a row appears at most once
        (its first matching pattern wins).
        """
        last = key[key.rfind("/") + 1 :]
        bucket = self._by_last.get(last)
        hits: list[tuple[int, int, str, str | None]] = []
        for group in (bucket, self._wild_last):
            if not group:
                continue
            for cp in group:
                m = cp.regex.fullmatch(key)
                if m is None:
                    continue
                raw_scene = m.groupdict().get("scene_id")
                for ri, pi in cp.users:
                    hits.append((ri, pi, cp.pattern, raw_scene))
        if len(hits) > 1:
            hits.sort(key=lambda h: (h[0], h[1]))
            seen: set[int] = set()
            unique = []
            for h in hits:
                if h[0] not in seen:
                    seen.add(h[0])
                    unique.append(h)
            hits = unique
        return hits

    def triggered_by(self, key: str) -> set[str]:
        """Every workflow a row of which names ``key`` as its trigger, enabled or not."""
        return {self.rows[ri].workflow for ri, *_ in self._candidates(key)}

    def match_object(self, key: str, env: Mapping[str, str] | None = None) -> list[ObjectMatch]:
        """Workflows to start for a write of object ``key``: enabled rows only, valid scene ids only.

        An empty list means "nothing to do" (the reference's SKIPPED). Never raises for any string.
        """
        hits = self._candidates(key)
        if not hits:
            return []
        e = os.environ if env is None else env
        out: list[ObjectMatch] = []
        for ri, _pi, pattern, raw_scene in hits:
            if raw_scene is not None and not _is_valid_scene_id(raw_scene):
                continue
            row = self.rows[ri]
            if row.is_enabled(e):
                out.append(ObjectMatch(row.workflow, pattern, raw_scene))
        return out

    def explain(self, key: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Why ``key`` does or does not start each workflow whose pattern it matches.

        Unlike :meth:`match_object` this lists disabled rows and rejected scene ids too, so an
        operator can see "dwm-preparation-pipeline matched but is disabled" instead of silence.
        """
        e = os.environ if env is None else env
        matches: list[dict[str, Any]] = []
        scene_id: str | None = None
        for ri, _pi, pattern, raw_scene in self._candidates(key):
            row = self.rows[ri]
            enabled = row.is_enabled(e)
            valid = raw_scene is None or _is_valid_scene_id(raw_scene)
            reason: str | None = None
            detail: str | None = None
            if not valid:
                reason = REASON_INVALID_SCENE_ID
                detail = f"scene id {raw_scene!r} must match ^{SCENE_ID_PATTERN}$"
            elif not enabled:
                reason = REASON_DISABLED
                detail = f"enabled when {row.enabled_when}"
            if valid and raw_scene is not None and scene_id is None:
                scene_id = raw_scene
            matches.append(
                {
                    "workflow": row.workflow,
                    "pattern": pattern,
                    "scene_id": raw_scene if valid else None,
                    "enabled": enabled,
                    "started": enabled and valid,
                    "reason": reason,
                    "detail": detail,
                }
            )
        return {"object": key, "matches": matches, "scene_id": scene_id}

    def match_event_type(self, event_type: str, env: Mapping[str, str] | None = None) -> list[Trigger]:
        """Enabled event rows listening for ``event_type``."""
        e = os.environ if env is None else env
        return [r for r in self.rows if r.kind == "event" and r.event_type == event_type and r.is_enabled(e)]

    def schedules(self, env: Mapping[str, str] | None = None) -> list[Trigger]:
        """Enabled schedule rows, with ``schedule``/``timezone`` already resolved against ``env``."""
        e = os.environ if env is None else env
        out: list[Trigger] = []
        for r in self.rows:
            if r.kind != "schedule" or not r.is_enabled(e):
                continue
            sched, tz = r.resolved_schedule(e), r.resolved_timezone(e)
            if (sched, tz) != (r.schedule, r.timezone):
                where = f"workflow {r.workflow!r} (env override)"
                _check_cron(cast(str, sched), where)
                _check_timezone(cast(str, tz), where)
                r = dataclasses.replace(r, schedule=sched, timezone=tz)
            out.append(r)
        return out

    def to_list(self, env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every row as a dict, for ``bpflow triggers`` and the API."""
        e = os.environ if env is None else env
        return [r.to_dict(e) for r in self.rows]


def _split_file_list(value: str) -> list[str]:
    """Split ``BPFLOW_TRIGGER_FILES`` on commas and os.pathsep, dropping blanks."""
    parts = re.split("[," + re.escape(os.pathsep) + "]", value)
    return [p.strip() for p in parts if p.strip()]


_DEFAULT_CACHE: dict[tuple[str, ...], TriggerMap] = {}
