"""Image path Stage 1: an image becomes a reconstruction bundle under its scene.

Image → 3D reconstruction needs a GPU model this build does not ship, so it sits behind the
:class:`ImageReconstructor` interface. A deployment names its reconstructor with
``BPFLOW_IMAGE_RECONSTRUCTOR``:

* unset or ``vision``: the vision-LLM reconstructor (``bpflow.workflows._orchestrator.image_vision``): a
  vision-capable LLM plans the room and the text path places, gates and retrieves it; with no
  LLM key configured it fails with ``image_reconstruction_unavailable``;
* ``fixture:<dir>``: :class:`FixtureReconstructor`, which supplies a recorded bundle (tests,
  demos) after checking the image is a real PNG/JPEG;
* ``<module>:<factory>``: a plug-in; ``factory()`` returns an ``ImageReconstructor``.

Whatever produced it, the bundle has the Stage-1 shape (manifest, layout, inventory, per-object
model and metadata) and is checked against the contracts before ``assets/.regen3d_complete``
is written, exactly like the text path's output.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bpflow.blocks import markers
from bpflow.core.engine.durable import step
from bpflow.core.errors import BpflowError, ObjectNotFound
from bpflow.core.stages import STAGES
from bpflow.core.storage import Bucket
from bpflow.state.cas_json import iso_z, utc_now
from bpflow.workflows._orchestrator.errors import ImageReconstructionFailed, ImageReconstructionUnavailable, SourceError
from bpflow.workflows._orchestrator.options import RECONSTRUCTOR_ENV
from bpflow.workflows._orchestrator.verify import check_stage1_outputs, regen3d_marker_fields, summarize

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

#: The placeholder a recorded bundle uses wherever the scene id belongs.
SCENE_PLACEHOLDER = "__SCENE_ID__"
TEXT_SUFFIXES = (".json", ".usd", ".usda", ".yaml", ".txt")
IMAGE_RE = re.compile(r"^scenes/([^/]+)/images/[^/]+\.(?i:png|jpe?g)$")
RECONSTRUCTION_COMPLETE = ".reconstruction_complete"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def image_scene_id(object_name: str) -> str | None:
    """The scene an image object belongs to, or None if it is not an image upload path."""
    m = IMAGE_RE.match(object_name or "")
    return m.group(1) if m else None


@runtime_checkable
class ImageReconstructor(Protocol):
    """Turns one uploaded image into a Stage-1 bundle written under ``scenes/<scene_id>/``."""

    name: str

    def reconstruct(self, bucket: Bucket, *, scene_id: str, image_object: str, image_generation: int) -> dict[str, Any]:
        """Write the bundle; return a small JSON-able summary. Raise a SourceError on failure."""
        ...


def read_image(bucket: Bucket, image_object: str) -> bytes:
    """The image bytes, refused (with the reason as the code) unless they are a PNG or JPEG this
    pipeline accepts: size and pixel limits, matching extension, fully decodable."""
    from bpflow.domain.imagegen.decode import ImageRejected, check_image

    try:
        data = bucket.read(image_object)
    except ObjectNotFound:
        raise ImageReconstructionFailed(
            f"image {image_object} does not exist", code="image_missing", field="image.gcs_uri"
        ) from None
    try:
        check_image(data, image_object)
    except ImageRejected as exc:
        raise ImageReconstructionFailed(exc.message, code=exc.code, field="image.gcs_uri") from None
    return data


def _check_upload(bucket: Bucket, image_object: str) -> dict[str, Any]:
    """One step: the upload's verdict as data (the workflow decides on plain values)."""
    try:
        read_image(bucket, image_object)
    except SourceError as exc:
        return {"error": {"code": exc.code, "message": exc.message, "field": exc.field, "stage": "reconstruction"}}
    return {}


class FixtureReconstructor:
    """Supplies a recorded reconstruction bundle (a directory laid out like a scene prefix).

    It does not reconstruct anything: it exists so tests and demos can drive the image path
    end to end on a machine without a GPU reconstruction service. It still refuses a missing or
    non-image upload, and records which image and which bundle it used.
    """

    name = "fixture"

    def __init__(self, bundle_dir: str | Path) -> None:
        self.bundle_dir = Path(bundle_dir)
        if not self.bundle_dir.is_dir():
            raise ImageReconstructionUnavailable(
                f"{RECONSTRUCTOR_ENV}=fixture:{bundle_dir}: no such bundle directory", field=RECONSTRUCTOR_ENV
            )

    def reconstruct(self, bucket: Bucket, *, scene_id: str, image_object: str, image_generation: int) -> dict[str, Any]:
        image = read_image(bucket, image_object)
        written = []
        for path in sorted(p for p in self.bundle_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(self.bundle_dir).as_posix()
            data = path.read_bytes()
            if path.suffix in TEXT_SUFFIXES:
                data = data.replace(SCENE_PLACEHOLDER.encode(), scene_id.encode())
            key = f"scenes/{scene_id}/{rel}"
            bucket.write(key, data)
            written.append(key)
        provenance = {
            "scene_id": scene_id,
            "reconstructor": self.name,
            "bundle": self.bundle_dir.name,
            "image_object": image_object,
            "image_generation": image_generation,
            "image_sha256": hashlib.sha256(image).hexdigest(),
            "files": written,
            "timestamp": iso_z(utc_now()),
        }
        bucket.write_json(f"scenes/{scene_id}/regen3d/provenance.json", provenance)
        return {"reconstructor": self.name, "files": len(written), "bundle": self.bundle_dir.name}


def resolve_reconstructor(spec: str | None) -> ImageReconstructor:
    """The reconstructor ``BPFLOW_IMAGE_RECONSTRUCTOR`` names (see the module docstring)."""
    if not spec:
        raise ImageReconstructionUnavailable(
            "no image reconstructor is configured: image-to-3D reconstruction needs a GPU reconstruction "
            f"service this build does not include; set {RECONSTRUCTOR_ENV} to <module>:<factory> "
            "(or fixture:<dir> for a recorded bundle)",
            field=RECONSTRUCTOR_ENV,
        )
    if spec.startswith("fixture:"):
        return FixtureReconstructor(spec.removeprefix("fixture:"))
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
        reconstructor = factory()
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise ImageReconstructionUnavailable(
            f"{RECONSTRUCTOR_ENV}={spec!r} cannot be loaded: {exc}", field=RECONSTRUCTOR_ENV
        ) from None
    if not isinstance(reconstructor, ImageReconstructor):
        raise ImageReconstructionUnavailable(
            f"{RECONSTRUCTOR_ENV}={spec!r} is not an ImageReconstructor", field=RECONSTRUCTOR_ENV
        )
    return reconstructor


def _reconstruct(bucket: Bucket, spec: str | None, scene_id: str, image_object: str, generation: int) -> dict[str, Any]:
    """One step: errors come back as data so the workflow decides (and replays) on plain values."""
    try:
        summary = resolve_reconstructor(spec).reconstruct(
            bucket, scene_id=scene_id, image_object=image_object, image_generation=generation
        )
    except SourceError as exc:
        return {"error": {"code": exc.code, "message": exc.message, "field": exc.field, "stage": exc.stage}}
    except BpflowError as exc:
        return {
            "error": {
                "code": "image_reconstruction_failed",
                "message": f"{exc.code}: {exc.message}",
                "field": exc.field,
                "stage": "reconstruction",
            }
        }
    return {"summary": summary}


def reconstruct_stage1(
    run: Run, scene_id: str, image_object: str, generation: int, reconstructor: str | None
) -> dict[str, Any]:
    """Reconstruct, check the bundle, then write ``.reconstruction_complete`` and the Stage-2
    trigger ``assets/.regen3d_complete``. Raises a SourceError naming what went wrong."""
    from bpflow.workflows._orchestrator.image_vision import VISION, run_vision

    checked = step(f"check image {image_object}", _check_upload, run.bucket, image_object)
    if "error" in checked:
        err = checked["error"]
        raise ImageReconstructionFailed(
            err["message"], code=err["code"], field=err.get("field"), stage="reconstruction"
        )
    vision = (reconstructor or VISION) == VISION
    if vision:
        got = {"summary": run_vision(run, scene_id, image_object, generation)}
    else:
        got = step(
            f"reconstruct {image_object}", _reconstruct, run.bucket, reconstructor, scene_id, image_object, generation
        )
    if "error" in got:
        err = got["error"]
        cls = (
            ImageReconstructionUnavailable
            if err["code"] == ImageReconstructionUnavailable.code
            else ImageReconstructionFailed
        )
        raise cls(err["message"], code=err["code"], field=err.get("field"), stage="reconstruction")
    check = step(f"check stage1 outputs {scene_id}", check_stage1_outputs, run.bucket, scene_id, text=vision)
    if check["problems"]:
        raise ImageReconstructionFailed(
            f"reconstruction bundle for scene {scene_id} breaks its contracts: {summarize(check['problems'], check['problem_count'])}",
            code="reconstruction_output_invalid",
            details={"problems": check["problems"]},
        )
    base = f"scenes/{scene_id}/"
    markers.write_marker(
        run,
        base + RECONSTRUCTION_COMPLETE,
        scene_id=scene_id,
        input_object=image_object,
        input_generation=generation,
        reconstructor=got["summary"].get("reconstructor"),
    )
    if vision and check["marker"]:
        fields = {**check["marker"], "source": "image_reconstruction"}
        fields.pop("scene_id", None)
    else:
        fields = regen3d_marker_fields(
            source="image_reconstruction",
            objects_count=check["objects_count"],
            quality_tier=None,
            provider=check["provider"],
            seed=1,
        )
    fields = {k: v for k, v in fields.items() if v is not None}
    markers.write_marker(run, base + STAGES["text-scene-adapter"].complete[0], scene_id=scene_id, **fields)
    return {"objects_count": check["objects_count"], **got["summary"]}


def as_generation(value: Any) -> int:
    """A generation as an integer; anything unparseable counts as 0 (the reference's rule)."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def recorded_generation(marker: dict[str, Any]) -> int:
    """The generation a ``.reconstruction_complete`` covers: ``input_generation``, else
    ``metadata.input_generation``, else 0."""
    value = marker.get("input_generation")
    if value is None and isinstance(marker.get("metadata"), dict):
        value = marker["metadata"].get("input_generation")
    return as_generation(value)
