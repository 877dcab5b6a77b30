"""``bpflow submit --image PATH`` as a user runs it: the photo is checked locally, uploaded under
``scenes/<id>/images/`` and named by an image request; a bad photo writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from bpflow.core.storage import open_bucket
from bpflow.domain.request.contract import parse_request
from tests.conftest import runtime_env
from tests.domain.imagegen.bad_images import good_jpeg, good_png
from tests.source.conftest import REQUEST
from tests.test_cli import bpflow


def test_submit_image_uploads_the_photo_and_writes_an_image_request(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    photo = tmp_path / "My Kitchen!.JPG"
    photo.write_bytes(good_jpeg((40, 30)))
    proc = bpflow("submit", "--image", str(photo), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    scene = out["scene_id"]
    assert scene.startswith("my-kitchen") and out["image_object"] == f"scenes/{scene}/images/My-Kitchen.jpg"
    assert out["image"] == {"format": "JPEG", "width": 40, "height": 30}
    bucket = open_bucket(f"file://{tmp_path / 'home' / 'bucket'}")
    assert bucket.read(out["image_object"]) == photo.read_bytes()
    req = parse_request(bucket.read(REQUEST.format(scene)), scene_id_from_path=scene)
    assert (
        req.source_mode == "image"
        and req.image is not None
        and req.image.object_name == out["image_object"]
        and req.image.usable
    )

    plain = bpflow("submit", "a sunny kitchen", "--image", str(photo), "--scene-id", "sunny", env=env)
    assert plain.returncode == 0 and plain.stdout.splitlines()[-1] == "sunny" and "uploaded" in plain.stderr


def test_submit_image_refuses_a_bad_photo_and_writes_nothing(tmp_path: Path) -> None:
    env = runtime_env(tmp_path / "home")
    cases = {
        "notes.png": (b"not a picture", "invalid_image"),
        "wrong.jpg": (good_png(), "image_extension_mismatch"),
        "empty.png": (b"", "image_empty"),
    }
    for name, (data, code) in cases.items():
        (tmp_path / name).write_bytes(data)
        proc = bpflow("submit", "--image", str(tmp_path / name), "--json", env=env)
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        assert json.loads(proc.stdout)["error"]["code"] == code, name
        assert "Traceback" not in proc.stderr
    missing = bpflow("submit", "--image", str(tmp_path / "nope.png"), "--json", env=env)
    assert missing.returncode == 2 and json.loads(missing.stdout)["error"]["code"] == "image_unreadable"
    none = bpflow("submit", env=env)
    assert none.returncode == 2 and "prompt" in none.stderr
    scenes = tmp_path / "home" / "bucket" / "scenes"
    assert not scenes.exists() or not any(p.is_file() for p in scenes.rglob("*"))
