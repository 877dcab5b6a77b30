"""The dashboard's photo form: a good photo is uploaded under images/ with its image request;
a bad one (or a missing file) is refused with its reason and writes nothing."""

from __future__ import annotations

from typing import Any

from tests.domain.imagegen.bad_images import good_jpeg, good_png, noisy


def test_photo_form_uploads_and_submits(api: Any) -> None:
    c, b = api.client, api.rt.bucket
    assert c.get("/submit/image").status_code == 200
    resp = c.post(
        "/submit/image",
        data={"scene_id": "form-photo", "quality_tier": "premium"},
        files={"image": ("Living Room.jpg", good_jpeg(), "image/jpeg")},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/scenes/form-photo", resp.text[:500]
    assert b.read("scenes/form-photo/images/Living-Room.jpg") == good_jpeg()
    req = b.read_json("scenes/form-photo/prompts/scene_request.json")
    assert (
        req["source_mode"] == "image"
        and req["image"]["gcs_uri"] == "scenes/form-photo/images/Living-Room.jpg"
        and req["quality_tier"] == "premium"
    )
    big = noisy("PNG", (400, 300))  # a photo past the dashboard's 64 KB form limit
    assert len(big) > 64 * 1024
    resp = c.post(
        "/submit/image",
        data={"scene_id": "form-big"},
        files={"image": ("big.png", big, "image/png")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]
    assert b.read("scenes/form-big/images/big.png") == big


def test_photo_form_refuses_bad_input_and_writes_nothing(api: Any) -> None:
    c, b = api.client, api.rt.bucket
    cases = [
        ({"image": ("notes.png", b"hello", "image/png")}, "invalid_image"),
        ({"image": ("wrong.jpg", good_png(), "image/jpeg")}, "image_extension_mismatch"),
        ({"image": ("", b"", "application/octet-stream")}, "image_missing"),
    ]
    for i, (files, code) in enumerate(cases):
        resp = c.post("/submit/image", data={"scene_id": f"bad-form-{i}"}, files=files)
        assert resp.status_code == 400 and code in resp.text, (code, resp.text[:300])
        assert not list(b.list(f"scenes/bad-form-{i}/"))
    resp = c.post(
        "/submit/image", data={"scene_id": "bad form id"}, files={"image": ("ok.png", good_png(), "image/png")}
    )
    assert resp.status_code == 400 and "scene_id" in resp.text and not list(b.list("scenes/"))
