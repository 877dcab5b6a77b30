"""A scene's views in a real browser (Debian's chromium), on one real demo scene: the demo prompt
submitted to a live ``bpflow up`` runs the packaged text path (Stage 1, the USD assembly, Stage 4
robot episodes, then a 2-step training and a 1-trial evaluation), once for the whole module.

Checked: the 3D viewer draws every object of the scene's manifest (by the scene graph the page
publishes and by screenshot pixels), names an object on hover and toggles the colliders; the
artifacts tree, a JSON opened pretty-printed, ``scene.usda`` downloaded byte for byte, a
traversal refused; the episodes page's trajectory charts; the learning page's uPlot charts.
Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from bpflow.cli.demo_cmd import DEFAULT_PROMPT, DEMO_SCENE_ID
from tests.conftest import wait_until
from tests.ui.conftest import ARTIFACTS, LiveServer, start_server, stop_server

SCENE = DEMO_SCENE_ID


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("ui-views"),
        # the packaged DAG and workflows, the embedded Stage-1 runtime
        BPFLOW_TRIGGER_FILES="",
        BPFLOW_WORKFLOW_MODULES="",
        BPFLOW_STAGE_DAG="",
        TEXT_GEN_RUNTIME="local",
        # the learning loop at its smallest: 2 training steps, 1 evaluation trial of 1 task
        TRIGGER_TRAINING="true",
        TRAINING_MAX_STEPS="2",
        BATCH_SIZE="4",
        TRAINING_THREADS="1",
        POLICY_THREADS="1",
        EVAL_EPISODES="1",
        EVAL_VIDEOS="1",
        EVAL_MAX_TASKS="1",
    )
    try:
        r = server.get("/healthz")
        assert r.status_code == 200
        import httpx

        done = httpx.post(
            server.url + "/api/scenes",
            json={
                "schema_version": "v1",
                "scene_id": SCENE,
                "prompt": DEFAULT_PROMPT,
                "source_mode": "text",
                "seed_count": 1,
            },
            timeout=60,
        )
        assert done.status_code == 201, done.text
        yield server
    finally:
        stop_server(server)


def stage_state(server: LiveServer, name: str) -> str:
    body = server.get(f"/api/scenes/{SCENE}").json()
    return next((s["state"] for s in body["stages"] if s["name"] == name), "missing")


def wait_stage(server: LiveServer, name: str, timeout: float) -> None:
    def done() -> bool:
        state = stage_state(server, name)
        assert state not in ("failed", "missing"), (
            f"stage {name} is {state}:\n{server.log.read_text(errors='replace')[-3000:]}"
        )
        return state == "succeeded"

    wait_until(done, timeout=timeout, interval=1.0)


@pytest.fixture(scope="module")
def assembled(demo: LiveServer) -> LiveServer:
    wait_stage(demo, "usd-assembly", 600)
    return demo


def manifest_ids(server: LiveServer) -> set[str]:
    manifest = json.loads((server.bucket_root / "scenes" / SCENE / "assets" / "scene_manifest.json").read_text())
    return {str(o["id"]) for o in manifest["objects"]}


def shot(page: Any, name: str, **kw: Any) -> bytes:
    ARTIFACTS.mkdir(exist_ok=True)
    return page.screenshot(path=str(ARTIFACTS / name), **kw)


def test_viewer_draws_every_manifest_object_names_them_on_hover_and_toggles_colliders(
    page: Any, assembled: LiveServer
) -> None:
    page.goto(f"{assembled.url}/scenes/{SCENE}/viewer")
    page.locator("#viewer[data-state=ready]").wait_for(timeout=90_000)
    graph = page.evaluate("() => window.bpflowViewer")
    assert graph["error"] is None
    drawn = {o["name"]: o for o in graph["objects"]}
    wanted = manifest_ids(assembled)
    assert wanted and wanted <= set(drawn), f"missing from the viewer: {wanted - set(drawn)}"
    assert all(drawn[i]["parts"] > 0 for i in wanted), "an object without visible geometry"
    assert "Room" in drawn and graph["colliders"] > 0
    assert page.locator("#viewer-objects tbody tr").count() == len(drawn)

    # pixels: the canvas is not blank, and each object drawn where the camera projects it
    canvas = page.locator("#viewer canvas")
    before = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
    background = (241, 245, 249)
    colours = before.getcolors(maxcolors=1 << 20) or []
    drawn_px = sum(n for n, c in colours if max(abs(a - b) for a, b in zip(c, background)) > 12)
    assert drawn_px > 0.1 * before.width * before.height, "the scene covers almost none of the canvas"
    box = canvas.bounding_box()
    visible = []
    for oid in sorted(wanted):
        pt = page.evaluate("id => window.bpflowViewer.screenPoint(id)", oid)
        inside = box["x"] <= pt["x"] < box["x"] + box["width"] and box["y"] <= pt["y"] < box["y"] + box["height"]
        assert inside, f"{oid} is outside the view"
        hit = page.evaluate("p => window.bpflowViewer.pickAt(p.x, p.y)", pt)
        if hit and hit["object"] == oid:
            visible.append((oid, pt))
    assert len(visible) >= len(wanted) // 2, (
        f"only {len(visible)} of {len(wanted)} objects are in front at their centre"
    )

    # hover: the name of the object under the pointer
    oid, pt = max(visible, key=lambda v: v[0] == "obj_007")  # the fridge, when it is in front
    page.mouse.move(pt["x"] - 3, pt["y"] - 3)
    page.mouse.move(pt["x"], pt["y"])
    tip = page.locator("#viewer-tip")
    tip.wait_for(state="visible", timeout=10_000)
    assert tip.get_attribute("data-object") == oid and oid in tip.inner_text()
    shot(page, "viewer-page.png", full_page=True)

    # colliders toggle: collision shapes appear (green wireframes), and go again
    page.check("#toggle-colliders")
    assert page.evaluate("() => window.bpflowViewer.collidersVisible") is True
    on = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
    shot(page, "viewer-colliders.png")
    green = lambda im: sum(n for n, (r, g, b) in (im.getcolors(maxcolors=1 << 20) or []) if g > r + 40 and g > b + 30)  # noqa: E731
    assert green(on) > green(before) + 200, "no collider drawn"
    page.uncheck("#toggle-colliders")
    assert page.evaluate("() => window.bpflowViewer.collidersVisible") is False


def test_scene_glb_and_thumbnail_are_served_and_cached(page: Any, assembled: LiveServer) -> None:
    glb = assembled.get(f"/scenes/{SCENE}/viewer/scene.glb")
    assert glb.status_code == 200 and glb.headers["content-type"] == "model/gltf-binary" and glb.content[:4] == b"glTF"
    again = assembled.get(f"/scenes/{SCENE}/viewer/scene.glb")
    assert again.content == glb.content and again.headers["etag"] == glb.headers["etag"]
    png = assembled.get(f"/scenes/{SCENE}/thumbnail.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (320, 200)
    (ARTIFACTS / "scene-thumbnail.png").write_bytes(png.content)
    missing = assembled.get("/scenes/no-such-scene/thumbnail.png")
    assert missing.status_code == 404
    assert assembled.get("/scenes/no-such-scene/thumbnail.png?fallback=true").headers["x-bpflow-thumbnail"] == "none"
    # the scenes list shows it
    page.goto(assembled.url + "/")
    thumb = page.locator(f"#scenes-table tr[data-scene='{SCENE}'] img.thumb")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 320", arg=thumb.element_handle(), timeout=30_000
    )
    shot(page, "scenes-list-thumbnails.png")


def test_artifacts_tree_pretty_json_download_and_a_refused_traversal(page: Any, assembled: LiveServer) -> None:
    # from the scene page's DAG: the usd-assembly node leads to its outputs
    page.goto(f"{assembled.url}/scenes/{SCENE}")
    assert page.locator("nav.scene-tabs a").count() == 5
    shot(page, "scene-page-tabs.png")
    page.locator("svg.dag a[data-outputs=usd-assembly]").click()
    page.wait_for_url(f"**/scenes/{SCENE}/artifacts?stage=usd-assembly")
    usd_dir = page.locator("details.art-dir[data-dir='usd/']")
    assert usd_dir.get_attribute("data-focus") == "true" and usd_dir.get_attribute("open") is not None
    row = page.locator(".art-file[data-path='usd/scene.usda']")
    usd = assembled.bucket_root / "scenes" / SCENE / "usd" / "scene.usda"
    assert row.locator(".art-size").get_attribute("data-size") == str(usd.stat().st_size)
    assert "gen " in row.inner_text()
    shot(page, "artifacts-page.png", full_page=True)

    with page.expect_download() as info:
        row.locator("a[data-download]").click()
    download = info.value
    assert download.suggested_filename == "scene.usda"
    assert open(download.path(), "rb").read() == usd.read_bytes()

    # a JSON artifact opens pretty-printed
    page.goto(f"{assembled.url}/scenes/{SCENE}/artifacts")
    page.locator("details.art-dir[data-dir='usd/'] > summary").click()
    page.locator(".art-file[data-path='usd/usd_assembly_manifest.json'] a.art-name").click()
    pre = page.locator("#artifact-json")
    pre.wait_for()
    text = pre.inner_text()
    stored = json.loads((usd.parent / "usd_assembly_manifest.json").read_text())
    assert json.loads(text) == stored and text.startswith('{\n  "')
    shot(page, "artifact-json-page.png")

    # nothing outside the scene's prefix, however the path is spelled
    for bad in (
        "..%2f..%2fbpflow.sqlite",
        "usd/%2e%2e/%2e%2e/%2e%2e/bpflow.sqlite",
        "usd/..%5c..%5cx",
        "%2fetc%2fpasswd",
        "usd//scene.usda",
    ):
        got = assembled.get(f"/scenes/{SCENE}/files/{bad}")
        assert got.status_code == 400 and got.status_code != 200, (bad, got.status_code)
    page.goto(f"{assembled.url}/scenes/{SCENE}/files/..%2f..%2fbpflow.sqlite")
    assert "artifact_path_refused" in page.content()


def test_episodes_page_plays_videos_and_charts_trajectories(page: Any, assembled: LiveServer) -> None:
    wait_stage(assembled, "episode-generation", 600)
    page.goto(f"{assembled.url}/scenes/{SCENE}/episodes")
    assert page.locator("#episodes-table tbody tr").count() >= 1
    video = page.locator("#episodes video").first
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=video.element_handle(), timeout=30_000)
    for chart in ("#chart-state", "#chart-action"):
        page.locator(f"{chart}[data-points]").wait_for(timeout=30_000)
    traj = assembled.get(f"/api/scenes/{SCENE}/trajectory?episode=0").json()
    state = page.locator("#chart-state")
    assert int(state.get_attribute("data-points")) == len(traj["t"]) > 10
    assert int(state.get_attribute("data-series")) == len(traj["series"]["observation.state"]["names"]) == 8
    assert page.locator("#chart-state canvas").count() == 1
    shot(page, "episodes-trajectories-page.png", full_page=True)
    assert assembled.get(f"/api/scenes/{SCENE}/trajectory?episode=999").status_code == 404


@pytest.mark.long(90)
def test_learning_page_draws_the_loss_curve_and_the_evaluation(page: Any, assembled: LiveServer) -> None:
    wait_stage(assembled, "policy-evaluation", 1200)
    charts = assembled.get(f"/api/scenes/{SCENE}/learning/charts").json()
    assert len(charts["loss"]["step"]) >= 1 and charts["evaluation"]["tasks"]
    page.goto(f"{assembled.url}/scenes/{SCENE}/learning")
    loss = page.locator("#loss-chart[data-points]")
    loss.wait_for(timeout=30_000)
    assert int(loss.get_attribute("data-points")) == len(charts["loss"]["step"])
    ev = page.locator("#evaluation-chart[data-points]")
    ev.wait_for(timeout=30_000)
    assert (
        int(ev.get_attribute("data-points")) == len(charts["evaluation"]["tasks"])
        and ev.get_attribute("data-series") == "2"
    )
    assert page.locator("#evaluation-table tbody tr").count() == len(charts["evaluation"]["tasks"])
    shot(page, "learning-page.png", full_page=True)
