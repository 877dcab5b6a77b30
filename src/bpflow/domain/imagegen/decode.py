"""An uploaded room photo, checked before anything reads its pixels.

Uploads are untrusted: a "photo" may be text, a truncated file, a 100-megapixel decompression
bomb, a GIF named ``.png``, or fine but rotated by its EXIF tag. Every refusal is a typed
:class:`ImageRejected` with a stable code naming the reason, so the workflow's failure marker
says what to fix. The header is read first (cheap) and the size limits applied before any pixel
is decoded, so a bomb is refused without allocating its pixels.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from bpflow.core.errors import BpflowError

MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
MAX_IMAGE_PIXELS: Final = 40_000_000
MAX_SIDE_PX: Final = 12_000
#: Longest side of the copy sent to a vision model (enough for furniture, small on the wire).
MODEL_SIDE_PX: Final = 1024
FORMATS: Final = {"PNG": ("png",), "JPEG": ("jpg", "jpeg")}


class ImageRejected(BpflowError):
    """The upload is not an image this pipeline accepts; ``code`` names the reason."""

    code = "invalid_image"


@dataclass(frozen=True)
class CheckedImage:
    """A decoded, upright image: its format, its size, and a PNG copy sized for a model."""

    format: str
    width: int
    height: int
    exif_rotated: bool
    model_png: bytes


def _reject(code: str, message: str, field: str = "image") -> ImageRejected:
    return ImageRejected(message, code=code, field=field)


def check_image(
    data: bytes, name: str, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> CheckedImage:
    """Decode ``data`` (the object ``name``) or raise :class:`ImageRejected`."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise _reject("image_empty", f"image {name} is empty (0 bytes)")
    if len(data) > max_bytes:
        raise _reject("image_too_large", f"image {name} is {len(data)} bytes; the limit is {max_bytes}")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if not any(ext in exts for exts in FORMATS.values()):
        raise _reject("image_extension_unsupported", f"image {name} must end in .png, .jpg or .jpeg")
    with warnings.catch_warnings():
        # Our own limits (below) apply first and name the size; Pillow's hard stop stays as a bomb.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise _reject("invalid_image", f"image {name} is not a PNG or JPEG file") from None
        except Image.DecompressionBombError as exc:
            raise _reject(
                "image_decompression_bomb", f"image {name} declares more pixels than allowed: {exc}"
            ) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise _reject("invalid_image", f"image {name} cannot be read: {type(exc).__name__}") from None
        with img:
            fmt = img.format or ""
            if fmt not in FORMATS:
                raise _reject(
                    "image_type_unsupported",
                    f"image {name} is {fmt or 'an unknown format'}; only PNG and JPEG are accepted",
                )
            if ext not in FORMATS[fmt]:
                raise _reject("image_extension_mismatch", f"image {name} is a {fmt} file but is named .{ext}")
            width, height = img.size
            if width * height > max_pixels or max(width, height) > MAX_SIDE_PX:
                raise _reject(
                    "image_decompression_bomb" if width * height > 4 * max_pixels else "image_too_many_pixels",
                    f"image {name} is {width}x{height} ({width * height / 1e6:.1f} MP); the limit is {max_pixels / 1e6:.0f} MP and {MAX_SIDE_PX} px a side",
                )
            try:
                img.load()
            except (OSError, ValueError, SyntaxError) as exc:
                raise _reject(
                    "image_truncated", f"image {name} is truncated or corrupt: {type(exc).__name__}"
                ) from None
            orientation = img.getexif().get(0x0112, 1)
            upright = ImageOps.exif_transpose(img) or img
            upright = upright.convert("RGB")
            upright.thumbnail((MODEL_SIDE_PX, MODEL_SIDE_PX))
            out = io.BytesIO()
            upright.save(out, format="PNG")
            w, h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
            return CheckedImage(fmt, w, h, orientation not in (1, None), out.getvalue())
