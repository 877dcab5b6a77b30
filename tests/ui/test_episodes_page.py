"""The scene page lists a scene's episodes with their success and plays their camera videos in
a real browser (Debian's chromium). The episodes are real: recorded by the Stage 4 code on a
small scene (a light cube lifted, a too-heavy one not) straight into the live server's bucket."""

from __future__ import annotations

from typing import Any

import pytest

from bpflow.domain.episodes.generate import GenerationConfig, generate
from tests.sim.simscenes import write_scene
from tests.ui.conftest import ARTIFACTS, LiveServer

SCENE = "ui-episodes"


@pytest.fixture(scope="module")
def recorded(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ui-episodes")
    usd, manifest = write_scene(
        tmp, scene_id=SCENE, cubes=[{"id": "light", "xy": (0.1, 0.05)}, {"id": "heavy", "xy": (-0.2, 0.1), "mass": 8.0}]
    )
    out = live_server.bucket_root / "scenes" / SCENE / "episodes"
    config = GenerationConfig(episodes_per_task=1, cameras=("front", "wrist"), width=64, height=64, workers=1)
    return generate(usd, manifest, out, config, lineage={}, extra_info={}, scene_id=SCENE)["summary"]


def test_scene_page_lists_episodes_and_plays_their_videos(
    page: Any, live_server: LiveServer, recorded: dict[str, Any]
) -> None:
    page.goto(f"{live_server.url}/scenes/{SCENE}")
    rows = page.locator("#episodes-table tbody tr")
    assert rows.count() == recorded["episodes"] == 2
    outcomes = {
        page.locator(f"#episodes-table tr[data-episode='{r['episode_index']}']").get_attribute("data-success"): r
        for r in recorded["episode_results"]
    }
    assert set(outcomes) == {"true", "false"}
    failed_row = page.locator("#episodes-table tr[data-success='false']")
    assert "failed" in failed_row.inner_text() and "not lifted" in failed_row.inner_text()
    assert "1 of 2 succeeded" in page.locator("#episodes h2").inner_text()
    videos = page.locator("#episodes video")
    assert videos.count() == 4  # 2 episodes × (front, wrist)
    first = videos.first
    first.scroll_into_view_if_needed()
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=first.element_handle(), timeout=30_000)
    duration = first.evaluate("v => v.duration")
    assert duration == pytest.approx(recorded["episode_results"][0]["frames"] / 25, abs=0.1)
    first.evaluate("v => v.play()")
    page.wait_for_function("v => v.currentTime > 0.3", arg=first.element_handle(), timeout=30_000)
    assert first.evaluate("v => v.videoWidth") == 64
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "episodes-page.png"), full_page=True)


def test_video_route_serves_only_episode_videos(live_server: LiveServer, recorded: dict[str, Any]) -> None:
    rel = next(iter(recorded["episode_results"][0]["videos"].values()))
    ok = live_server.get(f"/scenes/{SCENE}/episodes/videos/{rel}")
    assert ok.status_code == 200 and ok.headers["content-type"] == "video/mp4" and len(ok.content) > 1000
    ranged = live_server.get(f"/scenes/{SCENE}/episodes/videos/{rel}", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    for bad in (
        "videos/../meta/info.json",
        "meta/info.json",
        "videos/x/chunk-000/file-999.mp4",
        "videos/%2e%2e/%2e%2e/usd/scene.usda",
    ):
        assert live_server.get(f"/scenes/{SCENE}/episodes/videos/{bad}").status_code == 404, bad
