"""The artifacts browser's routes: the tree (size, updated, generation), JSON opened pretty, any
object downloaded byte for byte, and the path check: nothing outside the scene's own prefix,
however the path is spelled (encoded, doubled, backslashed, through a symlink)."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpflow.api.artifacts import ArtifactPathRefused, build_tree, human_bytes, scene_object_key
from tests.api.conftest import Api

SCENE = "art1"
FILES = {
    "usd/scene.usda": b'#usda 1.0\n(\n    upAxis = "Y"\n)\n',
    "misc/.state": json.dumps({"status": "ok", "n": 2}).encode(),
    "episodes/summary/report.json": json.dumps({"b": [1, 2], "a": {"x": "y"}}).encode(),
    "episodes/videos/cam.bin": bytes(range(256)) * 4,
    "top.txt": b"hello",
}


@pytest.fixture
def scene(api: Api) -> Api:
    for rel, data in FILES.items():
        api.rt.bucket.write(f"scenes/{SCENE}/{rel}", data)
    api.rt.bucket.write("scenes/other/secret.json", b'{"not": "yours"}')
    return api


def test_tree_pretty_json_and_download(scene: Api) -> None:
    # the tree: every object with its size, updated time and generation; nothing of another scene
    body = scene.client.get(f"/api/scenes/{SCENE}/artifacts").json()
    rows = {r["path"]: r for r in body["objects"]}
    assert set(rows) == set(FILES)
    for rel, data in FILES.items():
        info = scene.rt.bucket.stat(f"scenes/{SCENE}/{rel}")
        assert rows[rel]["size"] == len(data) and rows[rel]["generation"] == info.generation
        assert rows[rel]["updated"] == pytest.approx(info.updated.timestamp())
    tree = build_tree(body["objects"])
    assert tree.count == len(FILES) and tree.size == sum(map(len, FILES.values()))
    assert (
        tree.folders["episodes"].count == 2
        and tree.folders["episodes"].folders["summary"].files[0]["name"] == "report.json"
    )
    html = scene.client.get(f"/scenes/{SCENE}/artifacts").text
    assert all(f'data-path="{rel}"' in html for rel in FILES) and "secret.json" not in html
    focused = scene.client.get(f"/scenes/{SCENE}/artifacts?stage=no-such-stage")
    assert focused.status_code == 200 and "none declared" in focused.text

    # opened: JSON pretty-printed (markers too), text as text, binary offered for download
    html = scene.client.get(f"/scenes/{SCENE}/artifacts/episodes/summary/report.json").text
    assert 'id="artifact-json"' in html
    assert "{\n  &#34;a&#34;: {\n    &#34;x&#34;: &#34;y&#34;\n  },\n  &#34;b&#34;: [\n    1,\n    2\n  ]\n}" in html
    assert 'id="artifact-json"' in scene.client.get(f"/scenes/{SCENE}/artifacts/misc/.state").text
    usd = scene.client.get(f"/scenes/{SCENE}/artifacts/usd/scene.usda").text
    assert 'id="artifact-text"' in usd and "upAxis" in usd
    binary = scene.client.get(f"/scenes/{SCENE}/artifacts/episodes/videos/cam.bin").text
    assert "binary file" in binary and "download" in binary
    missing = scene.client.get(f"/scenes/{SCENE}/artifacts/usd/nope.json")
    assert missing.status_code == 404 and "artifact_not_found" in missing.text

    # downloaded: the bucket's bytes, as an attachment (inline on request)
    for rel, data in FILES.items():
        got = scene.client.get(f"/scenes/{SCENE}/files/{rel}")
        assert got.status_code == 200 and got.content == data, rel
        assert got.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    assert (
        scene.client.get(f"/scenes/{SCENE}/files/top.txt?inline=true")
        .headers["content-disposition"]
        .startswith("inline")
    )
    assert scene.client.get(f"/scenes/{SCENE}/files/usd/nope.usda").status_code == 404


BAD_PATHS = (
    "..%2fother%2fsecret.json",
    "%2e%2e/other/secret.json",
    "usd/%2e%2e/%2e%2e/other/secret.json",
    "usd/..%2f..%2fother%2fsecret.json",
    "usd/..%5c..%5cother%5csecret.json",
    "%2fetc%2fpasswd",
    "usd//scene.usda",
    "usd/%2e/scene.usda",
    "usd/scene.usda%00.txt",
)


def test_a_path_outside_the_scene_is_refused(scene: Api) -> None:
    for bad in BAD_PATHS:
        for route in ("files", "artifacts"):
            got = scene.client.get(f"/scenes/{SCENE}/{route}/{bad}")
            assert got.status_code == 400, (route, bad, got.status_code)
            assert "not yours" not in got.text
    api_error = scene.client.get(f"/scenes/{SCENE}/files/{BAD_PATHS[0]}", headers={"accept": "application/json"})
    assert "artifact_path_refused" in api_error.text
    # a symlink inside the scene's folder that leads out of the bucket
    outside = scene.rt.bucket.root.parent / "outside.txt"
    outside.write_text("SENTINEL-outside-content")
    os.symlink(outside, scene.rt.bucket.path_for(f"scenes/{SCENE}/usd/escape.txt"))
    got = scene.client.get(f"/scenes/{SCENE}/files/usd/escape.txt")
    assert got.status_code in (400, 403, 404) and "SENTINEL-outside-content" not in got.text


_SEGMENTS = st.one_of(
    st.sampled_from(["..", ".", "", "usd", "a b", "%2e", "x\\y", "ok.json", "\x00"]), st.text(min_size=0, max_size=6)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_SEGMENTS, min_size=1, max_size=6))
def test_scene_object_key_never_leaves_the_scene(segments: list[str]) -> None:
    path = "/".join(segments)
    try:
        key = scene_object_key(SCENE, path)
    except ArtifactPathRefused as exc:
        assert exc.code == "artifact_path_refused" and exc.field == "path"
        return
    assert key == f"scenes/{SCENE}/{path}"
    assert not any(s in ("", ".", "..") for s in key.split("/")) and "\\" not in key and "\x00" not in key


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1536, 5 * 1024 * 1024, None)] == ["0 B", "1023 B", "1.5 KB", "5.0 MB", ""]
