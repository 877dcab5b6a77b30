"""The photo check: every bad upload of the corpus is refused with its reason, good photos pass
upright (EXIF orientation applied), and no bomb's pixels are ever allocated."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.domain.imagegen.decode import MODEL_SIDE_PX, ImageRejected, check_image
from tests.domain.imagegen.bad_images import UPLOADS, good_jpeg, good_png, jpeg_with_orientation


@pytest.mark.parametrize(("case", "name", "make", "code"), UPLOADS, ids=[u[0] for u in UPLOADS])
def test_each_bad_upload_is_refused_with_its_reason(case: str, name: str, make: object, code: str) -> None:
    with pytest.raises(ImageRejected) as err:
        check_image(make(), f"scenes/s/images/{name}")  # type: ignore[operator]
    assert err.value.code == code, (case, err.value.message)
    assert name in err.value.message and err.value.field == "image"


def test_the_corpus_is_large_enough() -> None:
    assert len(UPLOADS) >= 30 and len({u[0] for u in UPLOADS}) == len(UPLOADS)


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("p.png", good_png((40, 30)), "PNG"),
        ("p.JPG", good_jpeg((40, 30)), "JPEG"),
        ("p.jpeg", good_jpeg((40, 30)), "JPEG"),
    ],
)
def test_good_photos_pass(name: str, data: bytes, fmt: str) -> None:
    img = check_image(data, name)
    assert (img.format, img.width, img.height, img.exif_rotated) == (fmt, 40, 30, False)
    assert img.model_png.startswith(b"\x89PNG")


def test_exif_orientation_is_applied() -> None:
    from PIL import Image

    img = check_image(jpeg_with_orientation((60, 20), 6), "r.jpg")  # 6 = rotate 90° clockwise to view
    assert img.exif_rotated and (img.width, img.height) == (20, 60)
    assert Image.open(io.BytesIO(img.model_png)).size == (20, 60)


def test_the_model_copy_is_bounded() -> None:
    img = check_image(good_png((3000, 1500)), "big.png")
    from PIL import Image

    assert max(Image.open(io.BytesIO(img.model_png)).size) == MODEL_SIDE_PX


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["x.png", "x.jpg", "x.jpeg", "x.gif", "x"]))
def test_arbitrary_bytes_never_crash(data: bytes, name: str) -> None:
    try:
        check_image(data, name)
    except ImageRejected as exc:
        assert exc.code.startswith("image_") or exc.code == "invalid_image"
