"""A hold-out-style corpus of bad image inputs, made here byte by byte (no files shipped).

Two kinds: *uploads* (bytes written under ``scenes/<id>/images/<name>``, which start the image
workflow) with the code the photo check must give, and *references* (a scene request whose
``image.gcs_uri`` is wrong: outside ``images/``, another scene or bucket, a wrong extension),
which the request check refuses before any image is read.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header(width: int, height: int, *, idat: bytes | None = None) -> bytes:
    """A PNG whose IHDR declares ``width``x``height`` (8-bit grey), with ``idat`` as its data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IDAT", idat if idat is not None else zlib.compress(b"\x00" * 16))
    return PNG_SIG + chunk(b"IHDR", ihdr) + body + chunk(b"IEND", b"")


def pil_bytes(fmt: str, size: tuple[int, int] = (32, 24), mode: str = "RGB", **save: object) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, (120, 80, 40) if mode == "RGB" else 0).save(out, format=fmt, **save)
    return out.getvalue()


def noisy(fmt: str, size: tuple[int, int] = (128, 96)) -> bytes:
    """A photo-like (incompressible) image, so cutting the file in half cuts pixel data."""
    from PIL import Image

    out = io.BytesIO()
    Image.merge("RGB", [Image.effect_noise(size, 60 + 10 * i) for i in range(3)]).save(out, format=fmt)
    return out.getvalue()


def good_png(size: tuple[int, int] = (32, 24)) -> bytes:
    return pil_bytes("PNG", size)


def good_jpeg(size: tuple[int, int] = (32, 24)) -> bytes:
    return pil_bytes("JPEG", size)


def jpeg_with_orientation(size: tuple[int, int], orientation: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _corrupt_idat() -> bytes:
    good = good_png((64, 64))
    start = good.index(b"IDAT") + 4
    broken = bytearray(good)
    for i in range(start + 4, start + 40):
        broken[i] ^= 0x5A
    return bytes(broken)


#: (case name, file name under images/, bytes factory, expected code)
UPLOADS: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("zero_bytes_png", "a.png", lambda: b"", "image_empty"),
    ("zero_bytes_jpg", "a.jpg", lambda: b"", "image_empty"),
    ("text_as_png", "a.png", lambda: b"this is a note, not a picture\n" * 3, "invalid_image"),
    ("text_as_jpeg", "a.jpeg", lambda: b"hello", "invalid_image"),
    ("html_as_jpg", "a.jpg", lambda: b"<!doctype html><html><body>hi</body></html>", "invalid_image"),
    ("json_as_png", "a.png", lambda: b'{"objects": []}', "invalid_image"),
    (
        "svg_as_png",
        "a.png",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        "invalid_image",
    ),
    ("pdf_as_jpg", "a.jpg", lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "invalid_image"),
    ("zip_as_png", "a.png", lambda: b"PK\x03\x04" + b"\x00" * 40, "invalid_image"),
    ("random_bytes_png", "a.png", lambda: bytes((i * 37 + 11) % 256 for i in range(4096)), "invalid_image"),
    ("png_signature_only", "a.png", lambda: PNG_SIG, "invalid_image"),
    ("jpeg_soi_only", "a.jpg", lambda: b"\xff\xd8\xff", "invalid_image"),
    (
        "png_bad_ihdr_crc",
        "a.png",
        lambda: PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))[:-4] + b"\0\0\0\0",
        "invalid_image",
    ),
    ("png_zero_width", "a.png", lambda: png_header(0, 10), "invalid_image"),
    ("truncated_png_half", "a.png", lambda: noisy("PNG")[: len(noisy("PNG")) // 2], "image_truncated"),
    ("truncated_jpeg_half", "a.jpg", lambda: noisy("JPEG")[: len(noisy("JPEG")) // 2], "image_truncated"),
    (
        "png_without_pixel_data",
        "a.png",
        lambda: PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0)) + chunk(b"IEND", b""),
        "image_truncated",
    ),
    ("png_corrupt_idat", "a.png", _corrupt_idat, "image_truncated"),
    ("png_short_idat", "a.png", lambda: png_header(64, 64, idat=zlib.compress(b"\x00" * 10)), "image_truncated"),
    ("gif_named_png", "a.png", lambda: pil_bytes("GIF", mode="L"), "image_type_unsupported"),
    ("bmp_named_jpg", "a.jpg", lambda: pil_bytes("BMP"), "image_type_unsupported"),
    ("tiff_named_jpeg", "a.jpeg", lambda: pil_bytes("TIFF"), "image_type_unsupported"),
    ("ico_named_png", "a.png", lambda: pil_bytes("ICO", (16, 16)), "image_type_unsupported"),
    ("png_named_jpg", "a.jpg", good_png, "image_extension_mismatch"),
    ("jpeg_named_png", "a.png", good_jpeg, "image_extension_mismatch"),
    ("png_100_megapixels", "a.png", lambda: png_header(10_000, 10_000), "image_too_many_pixels"),
    ("png_50_megapixels", "a.png", lambda: png_header(10_000, 5_000), "image_too_many_pixels"),
    ("png_strip_too_wide", "a.png", lambda: png_header(20_000, 10), "image_too_many_pixels"),
    ("png_bomb_400_megapixels", "a.png", lambda: png_header(20_000, 20_000), "image_decompression_bomb"),
    ("png_bomb_4_gigapixels", "a.png", lambda: png_header(65_535, 65_535), "image_decompression_bomb"),
    ("png_over_20_mb", "a.png", lambda: good_png() + b"\x00" * (21 * 1024 * 1024), "image_too_large"),
]

#: (case name, gcs_uri template with {scene}, expected field) — refused by the request check.
REFERENCES: list[tuple[str, str]] = [
    ("outside_images_dir", "scenes/{scene}/photo.png"),
    ("nested_under_images", "scenes/{scene}/images/sub/photo.png"),
    ("prompts_dir", "scenes/{scene}/prompts/photo.jpg"),
    ("gif_extension", "scenes/{scene}/images/photo.gif"),
    ("webp_extension", "scenes/{scene}/images/photo.webp"),
    ("no_extension", "scenes/{scene}/images/photo"),
    ("dot_dot_escape", "scenes/{scene}/images/../../../etc/passwd.png"),
    ("other_bucket", "gs://someone-elses-bucket/scenes/{scene}/images/photo.png"),
    ("not_under_scenes", "uploads/{scene}/images/photo.png"),
]
