"""JSON Schemas for the pipeline's contracts, and one way to check an object against them.

Why this exists: every stage hands the next one files in a bucket, and a stage that accepts a
malformed file fails far from the cause (a USD with no geometry, a missing marker). Each writer
validates what it writes and each reader what it reads, against the same schema, so a contract
breach is reported where it happens, naming the exact field (``objects[2].transform.position.x``).

Schemas live in ``contracts/schemas/<name>.json`` (package data). They share definitions through
``common.json`` (referenced by its ``$id``). A few rules JSON Schema cannot express (ids unique
within a file, a rotation matrix being a rotation, ``min <= max``) are checked in code after the
schema, in :mod:`bpflow.core.contracts.rules`.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache, lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from bpflow.core.contracts.problems import Problem, format_path, json_type, show
from bpflow.core.contracts.rules import extra_rules
from bpflow.core.errors import ValidationFailed

__all__ = [
    "Problem",
    "assert_valid",
    "format_path",
    "json_type",
    "load_schema",
    "schema_names",
    "show",
    "validate",
]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

_ID_PREFIX = "urn:bpflow:contract:"


def _schema_dir() -> Traversable:
    return resources.files("bpflow.core.contracts").joinpath("schemas")


@lru_cache(maxsize=1)
def schema_names() -> tuple[str, ...]:
    """Every shipped schema (``common`` holds shared definitions only)."""
    return tuple(sorted(p.name[:-5] for p in _schema_dir().iterdir() if p.name.endswith(".json")))


@cache
def _raw_schema(name: str) -> dict[str, Any]:
    if name not in schema_names():
        raise ValidationFailed(
            f"unknown contract {name!r}; known: {', '.join(schema_names())}", code="unknown_contract", field="name"
        )
    schema: dict[str, Any] = json.loads(_schema_dir().joinpath(f"{name}.json").read_text(encoding="utf-8"))
    return schema


def load_schema(name: str) -> dict[str, Any]:
    """The schema named ``name`` (a copy: callers may change it without affecting validation)."""
    return copy.deepcopy(_raw_schema(name))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources_ = [(_raw_schema(n)["$id"], Resource.from_contents(_raw_schema(n))) for n in schema_names()]
    return Registry().with_resources(resources_)


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_raw_schema(name), registry=_registry())


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _problems_from(error: ValidationError) -> list[Problem]:
    """Turn one jsonschema error into problems that name the exact field and say why."""
    if error.context:
        # anyOf / oneOf: the branch that got furthest explains the failure best.
        deepest = best_match(error.context)
        if deepest is not None and deepest.validator not in ("anyOf", "oneOf"):
            return _problems_from(deepest)
    path = list(error.absolute_path)
    keyword = str(error.validator)
    value = error.validator_value
    instance = error.instance
    if keyword == "required" and isinstance(instance, dict):
        return [
            Problem(format_path([*path, key]), "required field is missing", "required")
            for key in value
            if key not in instance
        ]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extras = [k for k in instance if k not in allowed and not any(p.search(k) for p in patterns)]
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return [Problem(format_path([*path, k]), f"unknown field{hint}", "unknown_field") for k in extras]
    field = format_path(path)
    if keyword == "type":
        wanted = " or ".join(value) if isinstance(value, list) else str(value)
        return [Problem(field, f"must be {wanted}, got {json_type(instance)}", "type")]
    if keyword == "enum":
        return [Problem(field, f"must be one of {', '.join(show(v) for v in value)}; got {show(instance)}", "enum")]
    if keyword == "const":
        return [Problem(field, f"must be {show(value)}; got {show(instance)}", "const")]
    if keyword == "pattern":
        why = error.schema.get("description") or f"must match ^{str(value).lstrip('^')}"
        return [Problem(field, f"{show(instance)} is invalid: {why}", "pattern")]
    if keyword in ("minLength", "maxLength") and isinstance(instance, str):
        return [
            Problem(
                field,
                f"length {len(instance)} is {'below' if keyword == 'minLength' else 'above'} the limit {value}",
                keyword,
            )
        ]
    if keyword in ("minItems", "maxItems") and isinstance(instance, list):
        return [
            Problem(
                field,
                f"has {len(instance)} items; {'at least' if keyword == 'minItems' else 'at most'} {value} allowed",
                keyword,
            )
        ]
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [Problem(field, f"{show(instance)} violates {keyword} {value}", keyword)]
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return [Problem(field, message, keyword)]


def _path_key(error: ValidationError) -> list[tuple[int, int, str]]:
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path]


def validate(name: str, obj: Any) -> list[Problem]:
    """Every problem of ``obj`` against contract ``name`` (empty list: valid).

    Schema problems come first, in document order; rules checked in code follow, and only when
    the schema passed (they assume its shape).
    """
    problems: list[Problem] = []
    for error in sorted(_validator(name).iter_errors(obj), key=_path_key):
        problems.extend(_problems_from(error))
    if not problems:
        for rule in extra_rules(name):
            problems.extend(rule(obj))
    return problems


def assert_valid(name: str, obj: Any) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field; all problems are in ``details``."""
    problems = validate(name, obj)
    if problems:
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"{name}: {first.field}: {first.message}{more}",
            field=first.field,
            details={"contract": name, "problems": [p.to_dict() for p in problems[:50]]},
        )
