"""The scene_request.json v1 contract: check a request in the reference orchestrator's order,
normalize it, and build the requests derived from it (a new request, per-seed children, the
variants index), so every writer of a request goes through the same rules as its reader.

Why a hand-written checker rather than the JSON Schema alone: the orchestrator's behaviour depends
on things a schema cannot see (the scene id in the trigger path, ``TEXT_BACKEND_ALLOWLIST``,
``TEXT_GEN_MAX_SEEDS``, which bucket an image URI points at) and on the *order* of its checks,
since the first failing one decides the failure marker. The schema
(``contracts/schemas/scene_request_v1.json``) describes the canonical form; every request this
module accepts normalizes to an object that schema accepts.

Order (spec-source-and-scheduling §1.2), each failure ``invalid_scene_request`` at stage
``source_request_validation`` unless noted:

0. bytes: size limit, UTF-8 (no BOM), JSON (no duplicate keys, no NaN), nesting depth;
1. typed extraction, in the reference's field order, then unknown top-level fields;
2. checks 1-11: schema_version, scene_id (non-empty, safe, equal to the path's), source_mode,
   text_backend enum then allowlist (not for image mode), quality_tier, provider_policy, prompt
   (text/auto), image (image mode), seed_count >= 1, seed_count <= TEXT_GEN_MAX_SEEDS;
   then the fan-out check (child ids ``<scene_id>-sNNN`` must still be valid scene ids);
3. image mode only: the image object must be in this bucket under
   ``scenes/<id>/images/<file>.png|jpg|jpeg`` (``invalid_image_uri``).

Deliberate differences from the reference (bpflow is stricter where the reference guessed):

* Types are checked, not coerced: ``seed_count: "3"`` or ``2.5`` or ``true`` is rejected (the
  reference's Workflows ``int()`` accepted and truncated them); an integral float such as ``2.0``
  is accepted, as JSON Schema's ``integer`` does.
* Unknown top-level fields are rejected (the schema's ``additionalProperties: false``; the
  reference orchestrator ignored them), with a did-you-mean hint.
* ``null`` is rejected for every field except ``image`` (``image: null`` means "no image", the
  shape of the normalized request written to ``textgen/request.normalized.json``).
* A blank prompt counts as missing (the reference normalizer's rule; the orchestrator accepted
  ``"   "`` and the text job then failed later).
* ``fallback.allow_image_fallback`` must be a JSON boolean (the reference's three parsers disagreed
  on ``"n"``); an ``image`` block needs a non-empty ``gcs_uri`` in every mode.
* Enum values are matched case-insensitively and lower-cased (the orchestrator's rule), except
  ``provider_policy`` (case-sensitive there too). An empty ``text_backend`` takes the default.
* In image mode an unknown ``text_backend`` is replaced by the default (it is unused there); the
  reference carried any value into its markers.
* An image URI's scene directory must be a valid scene id (``scenes/../images/x.png`` is refused).
* Prompts are limited to 4000 characters and whole requests to 256 KiB (an oversized request is
  reported on its largest field); image URIs to 1024 characters; constraints to 32 levels.
* Child requests keep ``constraints`` (reference bug B12: children lost the room type and prompt
  steering); a scene id too long to carry ``-sNNN`` is refused up front.
* Every message names the failing field and the reason; the reference only said "validation
  failed for scene <id>".
"""

from __future__ import annotations

import difflib
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

from bpflow.core.config import TEXT_BACKENDS
from bpflow.core.contracts import Problem, format_path, json_type, show
from bpflow.core.errors import BpflowError
from bpflow.core.triggers import SCENE_ID_PATTERN
from bpflow.domain.request.body import MAX_REQUEST_BYTES, decode_request

if TYPE_CHECKING:
    from bpflow.core.config import Settings

__all__ = [
    "CODE_INVALID_IMAGE_URI",
    "CODE_INVALID_REQUEST",
    "MAX_PROMPT_CHARS",
    "MAX_REQUEST_BYTES",
    "STAGE",
    "Fallback",
    "ImageRef",
    "RequestInvalid",
    "SceneRequest",
    "build_request",
    "child_request",
    "child_scene_id",
    "new_scene_id",
    "parse_request",
    "validate_request",
    "variants_index",
]

STAGE = "source_request_validation"
CODE_INVALID_REQUEST = "invalid_scene_request"
CODE_INVALID_IMAGE_URI = "invalid_image_uri"

MAX_PROMPT_CHARS = 4000
MAX_URI_CHARS = 1024
MAX_SCENE_ID = 128

SCHEMA_VERSION = "v1"
SOURCE_MODES = ("text", "image", "auto")
QUALITY_TIERS = ("standard", "premium")
PROVIDER_POLICIES = ("openrouter_qwen_primary", "openai_primary")
DEFAULT_PROVIDER_POLICY = "openrouter_qwen_primary"
FIELDS = (
    "schema_version",
    "scene_id",
    "source_mode",
    "text_backend",
    "prompt",
    "quality_tier",
    "seed_count",
    "image",
    "constraints",
    "provider_policy",
    "fallback",
)

_SCENE_ID_RE = re.compile(SCENE_ID_PATTERN)
# The extension alone is case-insensitive, as in the reference (``jpe?g`` in any case).
_IMAGE_OBJECT_RE = re.compile(r"scenes/([^/]+)/images/[^/]+\.(?i:png|jpe?g)")
_GENERATION_RE = re.compile(r"[0-9]{1,20}")
_MAX_GENERATION = 10**20


class RequestInvalid(BpflowError):
    """A scene request the orchestrator must refuse; ``field`` and ``stage`` go into the failure
    marker, ``problems`` lists every problem found (the first one is the reported one)."""

    code = CODE_INVALID_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str = CODE_INVALID_REQUEST,
        field: str,
        stage: str = STAGE,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(
            message,
            code=code,
            field=field,
            details={"stage": stage, "problems": [p.to_dict() for p in list(problems)[:20]]},
        )
        self.stage = stage
        self.problems = list(problems)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "stage": self.stage}


@dataclass(frozen=True)
class ImageRef:
    """The request's image. ``object_name`` is the bucket-relative object it names ("" if it
    points at another bucket); ``usable`` says it is a valid image object (needed for image
    mode and for the text path's image fallback)."""

    gcs_uri: str
    generation: str | None = None
    object_name: str = ""
    usable: bool = False

    def to_dict(self) -> dict[str, str]:
        out = {"gcs_uri": self.gcs_uri}
        if self.generation is not None:
            out["generation"] = self.generation
        return out


@dataclass(frozen=True)
class Fallback:
    allow_image_fallback: bool = True


@dataclass(frozen=True)
class SceneRequest:
    """A request after defaults were applied; ``to_dict`` is the reference's normalized form."""

    schema_version: str
    scene_id: str
    source_mode: str
    text_backend: str
    prompt: str
    quality_tier: str
    seed_count: int
    image: ImageRef | None
    constraints: dict[str, Any]
    provider_policy: str
    fallback: Fallback = field(default_factory=Fallback)

    @property
    def primary_source_mode(self) -> str:
        """``auto`` tries text first."""
        return "text" if self.source_mode == "auto" else self.source_mode

    @property
    def child_scene_ids(self) -> list[str]:
        """Scene ids of the seeds: the request's own id for one seed, ``<id>-sNNN`` otherwise."""
        if self.seed_count == 1:
            return [self.scene_id]
        return [child_scene_id(self.scene_id, i) for i in range(1, self.seed_count + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "scene_id": self.scene_id,
            "source_mode": self.source_mode,
            "text_backend": self.text_backend,
            "prompt": self.prompt,
            "quality_tier": self.quality_tier,
            "seed_count": self.seed_count,
            "image": None if self.image is None else self.image.to_dict(),
            "constraints": self.constraints,
            "provider_policy": self.provider_policy,
            "fallback": {"allow_image_fallback": self.fallback.allow_image_fallback},
        }


# --------------------------------------------------------------------------------------------
# Steps 1-3
# --------------------------------------------------------------------------------------------


def bucket_names(bucket: str | None) -> set[str]:
    """Names ``gs://<name>/...`` may use for this bucket: the name itself and, for a bucket URL,
    its host (``gs://b``, ``s3://b``) or directory name (``file:///srv/b``)."""
    if not bucket:
        return set()
    names = {bucket}
    scheme, sep, rest = bucket.partition("://")
    if sep:
        if scheme in ("gs", "s3"):
            names.add(rest.split("/", 1)[0])
        elif scheme == "file":
            names.add(PurePosixPath(rest).name)
    names.discard("")
    return names


def image_object_name(gcs_uri: str, bucket: str | None) -> str:
    """The reference's derivation: ``gs://<this bucket>/k`` → ``k``; another bucket → "";
    anything else is taken as a bucket-relative object name."""
    if gcs_uri.startswith("gs://"):
        name, _, key = gcs_uri[5:].partition("/")
        return key if name in bucket_names(bucket) else ""
    return gcs_uri


def _image_object_problem(object_name: str) -> str | None:
    m = _IMAGE_OBJECT_RE.fullmatch(object_name)
    if m is None:
        return "must name scenes/<scene_id>/images/<file>.png|.jpg|.jpeg in this bucket"
    if _SCENE_ID_RE.fullmatch(m.group(1)) is None:
        return f"scene directory {show(m.group(1))} is not a valid scene id"
    return None


@dataclass
class _Check:
    """Collects problems in order; ``bad`` remembers fields whose type was wrong, so a later
    value check does not report the same field twice."""

    problems: list[Problem] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)

    def add(self, where: str, message: str, code: str = CODE_INVALID_REQUEST) -> None:
        self.problems.append(Problem(where, message, code))
        self.bad.add(where.split(".", 1)[0])

    def typed(
        self, doc: Mapping[str, Any], key: str, kind: type, default: Any, what: str, where: str | None = None
    ) -> Any:
        where = where or key
        if key not in doc:
            return default
        value = doc[key]
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
        self.add(where, f"must be {what}, got {json_type(value)} {show(value)}")
        return None


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _did_you_mean(key: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _extract_seed_count(c: _Check, doc: Mapping[str, Any]) -> int | None:
    if "seed_count" not in doc:
        return 1
    value = doc["seed_count"]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    c.add("seed_count", f"must be an integer, got {json_type(value)} {show(value)}")
    return None


def _extract_fallback(c: _Check, doc: Mapping[str, Any]) -> bool | None:
    block = c.typed(doc, "fallback", dict, {}, "an object")
    if block is None:
        return None
    allow = c.typed(
        block, "allow_image_fallback", bool, True, "a boolean (true or false)", "fallback.allow_image_fallback"
    )
    for key in block:
        if key != "allow_image_fallback":
            c.add(format_path(["fallback", key]), "unknown field (allowed: allow_image_fallback)")
    return allow if isinstance(allow, bool) else None


def _extract_image(c: _Check, doc: Mapping[str, Any], request_generation: str | None) -> tuple[str, str | None] | None:
    """``(gcs_uri, generation)``, or None when absent or broken (broken is recorded)."""
    if doc.get("image") is None:
        return None
    block = c.typed(doc, "image", dict, None, "an object or null")
    if block is None:
        return None
    uri = c.typed(block, "gcs_uri", str, None, "a string", "image.gcs_uri")
    if "gcs_uri" not in block:
        c.add("image.gcs_uri", "required when image is given")
    elif isinstance(uri, str) and not uri.strip():
        c.add("image.gcs_uri", "must not be empty")
    elif isinstance(uri, str) and len(uri) > MAX_URI_CHARS:
        c.add("image.gcs_uri", f"is {len(uri)} characters; the limit is {MAX_URI_CHARS}")
    generation: str | None = request_generation
    if "generation" in block:
        gen = block["generation"]
        if isinstance(gen, int) and not isinstance(gen, bool) and 0 <= gen < _MAX_GENERATION:
            generation = str(gen)
        elif isinstance(gen, str) and _GENERATION_RE.fullmatch(gen):
            generation = gen
        else:
            c.add("image.generation", f"must be a generation number (digits), got {json_type(gen)} {show(gen)}")
    for key in block:
        if key not in ("gcs_uri", "generation"):
            c.add(format_path(["image", key]), "unknown field (allowed: gcs_uri, generation)")
    if "image" in c.bad:
        return None
    return str(uri), generation


def _check(
    raw: bytes | bytearray | memoryview | str,
    *,
    scene_id_from_path: str | None,
    settings: Settings | None,
    bucket: str | None,
    request_generation: int | str | None,
) -> tuple[SceneRequest | None, list[Problem]]:
    if settings is None:
        from bpflow.core.config import get_settings

        settings = get_settings()
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    doc, problem = decode_request(data)
    if problem is not None:
        return None, [problem]
    if not isinstance(doc, dict):
        return None, [Problem("$", f"must be a JSON object, got {json_type(doc)}", CODE_INVALID_REQUEST)]

    c = _Check()
    # -- 1. typed extraction, in the reference's order ----------------------------------------
    schema_version = c.typed(doc, "schema_version", str, "", "a string")
    scene_id = c.typed(doc, "scene_id", str, "", "a string")
    source_mode = _lower(c.typed(doc, "source_mode", str, settings.default_source_mode, "a string"))
    text_backend = _lower(c.typed(doc, "text_backend", str, "", "a string"))
    backend_defaulted = text_backend == ""
    if backend_defaulted:
        text_backend = settings.text_backend_default
    quality_tier = _lower(c.typed(doc, "quality_tier", str, "standard", "a string"))
    provider_policy = c.typed(doc, "provider_policy", str, DEFAULT_PROVIDER_POLICY, "a string")
    seed_count = _extract_seed_count(c, doc)
    prompt = c.typed(doc, "prompt", str, "", "a string")
    if isinstance(prompt, str) and len(prompt) > MAX_PROMPT_CHARS:
        c.add("prompt", f"is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
        prompt = None
    constraints = c.typed(doc, "constraints", dict, {}, "an object")
    allow_fallback = _extract_fallback(c, doc)
    generation = None if request_generation is None else str(request_generation)
    image = _extract_image(c, doc, generation)
    for key in doc:
        if key not in FIELDS:
            c.add(format_path([key]), "unknown field" + _did_you_mean(key, FIELDS))

    # -- 2. the orchestrator's checks 1-11, in order -------------------------------------------
    def ok(name: str, value: Any) -> bool:
        return value is not None and name not in c.bad

    if ok("schema_version", schema_version) and schema_version != SCHEMA_VERSION:
        c.add(
            "schema_version",
            'required; must be "v1"' if "schema_version" not in doc else f'must be "v1"; got {show(schema_version)}',
        )
    if ok("scene_id", scene_id):
        if not scene_id:
            c.add("scene_id", "required; must not be empty")
        elif _SCENE_ID_RE.fullmatch(scene_id) is None:
            c.add(
                "scene_id",
                f"{show(scene_id)} is not a valid scene id: 1-128 letters, digits, '_', '.', '-', starting with a letter or digit",
            )
        elif scene_id_from_path is not None and scene_id != scene_id_from_path:
            c.add(
                "scene_id",
                f"must equal the scene id of the request's path ({show(scene_id_from_path)}); got {show(scene_id)}",
            )
    mode_ok = ok("source_mode", source_mode) and source_mode in SOURCE_MODES
    if ok("source_mode", source_mode) and not mode_ok:
        c.add("source_mode", f"must be one of {', '.join(SOURCE_MODES)}; got {show(doc.get('source_mode'))}")
    if source_mode != "image" and ok("text_backend", text_backend):
        origin = " (from TEXT_BACKEND_DEFAULT)" if backend_defaulted else ""
        if text_backend not in TEXT_BACKENDS:
            c.add("text_backend", f"must be one of {', '.join(TEXT_BACKENDS)}; got {show(text_backend)}{origin}")
        elif text_backend not in settings.text_backend_allowlist:
            c.add(
                "text_backend",
                f"{show(text_backend)}{origin} is not in TEXT_BACKEND_ALLOWLIST ({', '.join(settings.text_backend_allowlist)})",
            )
    if ok("quality_tier", quality_tier) and quality_tier not in QUALITY_TIERS:
        c.add("quality_tier", f"must be one of {', '.join(QUALITY_TIERS)}; got {show(doc.get('quality_tier'))}")
    if ok("provider_policy", provider_policy) and provider_policy not in PROVIDER_POLICIES:
        c.add(
            "provider_policy",
            f"must be one of {', '.join(PROVIDER_POLICIES)} (case-sensitive); got {show(provider_policy)}",
        )
    if source_mode in ("text", "auto") and ok("prompt", prompt) and not prompt.strip():
        c.add("prompt", f"required (not blank) when source_mode is {source_mode}")
    if source_mode == "image" and image is None and "image" not in c.bad:
        c.add("image", 'required when source_mode is image: {"gcs_uri": "gs://<bucket>/scenes/<id>/images/<file>.png"}')
    max_seeds = settings.text_gen_max_seeds
    if seed_count is not None and "seed_count" not in c.bad:  # ok(), spelled out so the type narrows
        if seed_count < 1:
            c.add("seed_count", f"must be at least 1; got {seed_count}")
        elif seed_count > max_seeds:
            c.add("seed_count", f"must be at most {max_seeds} (TEXT_GEN_MAX_SEEDS); got {show(seed_count)}")
        elif (
            seed_count > 1
            and source_mode != "image"
            and ok("scene_id", scene_id)
            and len(child_scene_id(scene_id, seed_count)) > MAX_SCENE_ID
        ):
            c.add(
                "scene_id",
                f"is too long for {seed_count} seeds: child id {show(child_scene_id(scene_id, seed_count))} would exceed {MAX_SCENE_ID} characters",
            )

    # -- 3. image path rules ---------------------------------------------------------------------
    image_ref: ImageRef | None = None
    if image is not None:
        uri, gen = image
        object_name = image_object_name(uri, bucket if bucket is not None else settings.bucket_url)
        reason = _image_object_problem(object_name)
        image_ref = ImageRef(gcs_uri=uri, generation=gen, object_name=object_name, usable=reason is None)
        if source_mode == "image" and reason is not None:
            if uri.startswith("gs://") and not object_name:
                reason = f"points at another bucket (this bucket: {', '.join(sorted(bucket_names(bucket or settings.bucket_url)))})"
            c.add("image.gcs_uri", f"{show(uri)} {reason}", CODE_INVALID_IMAGE_URI)

    if c.problems:
        return None, c.problems
    if source_mode == "image" and text_backend not in TEXT_BACKENDS:
        text_backend = settings.text_backend_default
    # Each check that yields None records a problem, so with no problem every field has its value.
    assert source_mode is not None and text_backend is not None and quality_tier is not None and seed_count is not None
    return (
        SceneRequest(
            schema_version=schema_version,
            scene_id=scene_id,
            source_mode=source_mode,
            text_backend=text_backend,
            prompt=prompt,
            quality_tier=quality_tier,
            seed_count=seed_count,
            image=image_ref,
            constraints=constraints,
            provider_policy=provider_policy,
            fallback=Fallback(allow_image_fallback=bool(allow_fallback)),
        ),
        [],
    )


def _raise_first(problems: list[Problem], scene: str) -> RequestInvalid:
    first = problems[0]
    if first.code == CODE_INVALID_IMAGE_URI:
        message = f"Image source_mode requested but image.gcs_uri is invalid or not in this bucket: {first.message}"
    elif first.field == "$":
        message = f"scene_request.json for scene {scene} is unusable: {first.message}"
    else:
        message = f"scene_request.json validation failed for scene {scene}: {first.field}: {first.message}"
    if len(problems) > 1:
        message += f" (+{len(problems) - 1} more)"
    return RequestInvalid(message, code=first.code, field=first.field, problems=problems)


def validate_request(
    raw: bytes | bytearray | memoryview | str,
    *,
    scene_id_from_path: str | None = None,
    settings: Settings | None = None,
    bucket: str | None = None,
    request_generation: int | str | None = None,
) -> list[Problem]:
    """Every problem of a request, in check order (empty: valid). What ``bpflow validate`` prints."""
    return _check(
        raw,
        scene_id_from_path=scene_id_from_path,
        settings=settings,
        bucket=bucket,
        request_generation=request_generation,
    )[1]


def parse_request(
    raw: bytes | bytearray | memoryview | str,
    *,
    scene_id_from_path: str | None,
    settings: Settings | None = None,
    bucket: str | None = None,
    request_generation: int | str | None = None,
) -> SceneRequest:
    """Decode and check a request the way the source orchestrator does; raise
    :class:`RequestInvalid` for the first failing check (all problems are attached).

    ``scene_id_from_path`` is the ``<scene_id>`` of ``scenes/<scene_id>/prompts/...`` (None skips
    that comparison); ``bucket`` is this bucket's name or URL (default: the settings' bucket) for
    ``gs://`` URIs; ``request_generation`` is the request object's generation, the default of
    ``image.generation``.
    """
    request, problems = _check(
        raw,
        scene_id_from_path=scene_id_from_path,
        settings=settings,
        bucket=bucket,
        request_generation=request_generation,
    )
    if problems:
        raise _raise_first(problems, scene_id_from_path or "unknown")
    assert request is not None
    return request


# --------------------------------------------------------------------------------------------
# Building requests (bpflow submit, the daily emitter) and the requests derived from one
# --------------------------------------------------------------------------------------------

_SLUG_MAX = 40


def new_scene_id(prompt: str) -> str:
    """``a-kitchen-with-a-fridge-3f9a1c``: readable in a bucket listing, unique by its suffix.
    Random, so never call it inside a workflow body (only in CLIs and jobs)."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > _SLUG_MAX:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:_SLUG_MAX]
    return f"{slug or 'scene'}-{secrets.token_hex(3)}"


def build_request(
    prompt: str,
    *,
    scene_id: str | None = None,
    seeds: int = 1,
    tier: str = "standard",
    backend: str | None = None,
    source_mode: str = "text",
    constraints: Mapping[str, Any] | None = None,
    image_uri: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """A request ready to write to ``scenes/<scene_id>/prompts/scene_request.json``; raises
    :class:`RequestInvalid` if the arguments cannot make a valid one."""
    request: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scene_id": scene_id if scene_id is not None else new_scene_id(prompt),
        "source_mode": source_mode,
        "prompt": prompt,
        "quality_tier": tier,
        "seed_count": seeds,
    }
    if backend is not None:
        request["text_backend"] = backend
    if constraints is not None:
        request["constraints"] = dict(constraints)
    if image_uri is not None:
        request["image"] = {"gcs_uri": image_uri}
    parse_request(json.dumps(request).encode("utf-8", "surrogatepass"), scene_id_from_path=None, settings=settings)
    return request


def image_object_key(scene_id: str, path: PurePath) -> str:
    """``scenes/<id>/images/<safe stem>.<ext>``: one safe path segment, the extension lower-cased.
    Beside the contract because the CLI and the upload form both name the photo this way."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip(".-")[:80] or "photo"
    return f"scenes/{scene_id}/images/{stem}{path.suffix.lower()}"


def child_scene_id(scene_id: str, index: int) -> str:
    """Seed ``index`` (1-based) of a multi-seed request: ``<scene_id>-s001``."""
    if index < 1:
        raise ValueError(f"seed index must be >= 1, got {index}")
    return f"{scene_id}-s{index:03d}"


def _as_request(req: SceneRequest | Mapping[str, Any], settings: Settings | None) -> SceneRequest:
    if isinstance(req, SceneRequest):
        return req
    return parse_request(
        json.dumps(dict(req)).encode("utf-8", "surrogatepass"), scene_id_from_path=None, settings=settings
    )


def child_request(
    req: SceneRequest | Mapping[str, Any], index: int, *, settings: Settings | None = None
) -> dict[str, Any]:
    """The request of seed ``index`` for ``scenes/<child>/internal/scene_request.generated.json``.

    The reference's child body, except that ``constraints`` are kept (reference bug B12: children
    lost the room type and prompt-diversity steering). ``image`` and ``fallback`` stay with the
    parent, which alone decides on image fallback.
    """
    parent = _as_request(req, settings)
    if parent.seed_count == 1:
        raise ValueError("a single-seed request runs as itself; it has no child requests")
    if not 1 <= index <= parent.seed_count:
        raise ValueError(f"seed index {index} outside 1..{parent.seed_count}")
    return {
        "schema_version": SCHEMA_VERSION,
        "scene_id": child_scene_id(parent.scene_id, index),
        "source_mode": "text",
        "text_backend": parent.text_backend,
        "prompt": parent.prompt,
        "quality_tier": parent.quality_tier,
        "seed_count": 1,
        "provider_policy": parent.provider_policy,
        "constraints": dict(parent.constraints),
    }


def variants_index(
    req: SceneRequest | Mapping[str, Any], seeds: Sequence[int] | None = None, *, settings: Settings | None = None
) -> dict[str, Any]:
    """``variants/index.json`` of a finished multi-seed request (contract ``variants_index``)."""
    parent = _as_request(req, settings)
    done = list(seeds) if seeds is not None else list(range(1, parent.seed_count + 1))
    return {
        "schema_version": SCHEMA_VERSION,
        "scene_id": parent.scene_id,
        "source_mode": parent.source_mode,
        "text_backend": parent.text_backend,
        "quality_tier": parent.quality_tier,
        "provider_policy": parent.provider_policy,
        "seed_count": parent.seed_count,
        "variants": [{"scene_id": child_scene_id(parent.scene_id, i), "seed": i} for i in done],
    }
