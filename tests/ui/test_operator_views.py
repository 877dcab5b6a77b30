"""Issue 15's operator views in a real browser (Debian's chromium) against a live `bpflow up`
running the test chain: a 2-seed request submitted from the form with its seeds linked both ways,
250 scenes paged through, runs filtered by state, a failed run retried from its page. Each test
writes a screenshot under test-artifacts/."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.ui.conftest import ARTIFACTS, LiveServer

PAGED = 250


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.fixture(scope="module")
def failed_run(live_server: LiveServer) -> dict[str, Any]:
    """A scene whose stage A job fails, through the API like any client."""
    resp = httpx.post(
        live_server.url + "/api/scenes",
        json={"schema_version": "v1", "scene_id": "ops-broken", "prompt": "FAIL: exit non-zero"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text

    def failed() -> dict[str, Any] | None:
        rows = live_server.get(
            "/api/runs", params={"workflow": "test-stage-a", "scene": "ops-broken", "status": "failed"}
        ).json()
        return rows[0] if rows else None

    return wait_until(failed, timeout=90)


def test_two_seed_request_from_the_form_links_parent_and_seeds(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/submit")
    page.fill("#prompt", "a bakery with two ovens")
    page.fill("#scene_id", "ui-seeds")
    page.fill("#seed_count", "2")
    page.click("#submit-button")
    page.wait_for_url("**/scenes/ui-seeds")
    # The parent reaches success only when both seeds did, through live updates.
    page.locator("#scene-state[data-state=succeeded]").wait_for(timeout=120_000)
    for i in (1, 2):
        page.locator(f"#scene-seeds tr[data-seed=ui-seeds-s00{i}][data-state=succeeded]").wait_for()
    assert page.locator("svg.dag g.node[data-stage=stage-b][data-state=succeeded]").count() == 1
    _shot(page, "ops-parent-scene.png")
    page.locator("#scene-seeds a.seed-link", has_text="ui-seeds-s002").click()
    page.wait_for_url("**/scenes/ui-seeds-s002")
    page.locator("#scene-state[data-state=succeeded]").wait_for()
    parent = page.locator("#scene-parent")
    assert parent.text_content() == "ui-seeds" and parent.get_attribute("href") == "/scenes/ui-seeds"
    _shot(page, "ops-seed-scene.png")
    parent.click()
    page.wait_for_url("**/scenes/ui-seeds")
    # The scenes list shows the link both ways too.
    page.goto(live_server.url + "/?q=ui-seeds")
    assert page.locator("tr[data-scene=ui-seeds] a.seed-link").count() == 2
    assert page.locator("tr[data-scene=ui-seeds-s001] a.parent-link").get_attribute("href") == "/scenes/ui-seeds"
    # Times read in the browser's zone, UTC on hover.
    first = page.locator("#scenes-table time").first
    assert first.get_attribute("data-local") == "1" and first.get_attribute("title").endswith("UTC")


def test_page_through_250_scenes_with_search_and_state_filter(page: Any, live_server: LiveServer) -> None:
    # Scenes as a bucket listing sees them, written straight into the folder (no runs needed):
    # each has stage B's marker, which starts nothing.
    for i in range(PAGED):
        folder = live_server.bucket_root / "scenes" / f"paged-{i:03d}" / "test" / "b"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".b_complete").write_text(json.dumps({"status": "completed", "i": i}))
    page.goto(live_server.url + "/")
    page.fill("#scene-search", "paged-")
    page.click("#scenes-filter button")
    seen: list[str] = []
    pages = 0
    while True:
        page.locator("#scenes-table").wait_for()
        rows = page.locator("#scenes-table tbody tr")
        seen += [rows.nth(i).get_attribute("data-scene") for i in range(rows.count())]
        pages += 1
        if pages == 2:
            _shot(page, "ops-scenes-page-2.png")
        nxt = page.locator("#next-page")
        if nxt.count() == 0:
            break
        with page.expect_navigation():  # the old page's rows must not be read again mid-navigation
            nxt.click()
    assert pages == 5 and len(seen) == PAGED and len(set(seen)) == PAGED
    assert all(s.startswith("paged-") for s in seen)
    assert page.locator("#first-page").count() == 1
    assert seen == sorted(seen)  # pages in scene-id order
    # The same through the API: keyset pages of 100, no hard limit.
    ids: list[str] = []
    cursor = None
    while True:
        params = {"q": "paged-", "limit": "100", **({"after": cursor} if cursor else {})}
        body = live_server.get("/api/scenes", params=params).json()
        ids += [s["scene_id"] for s in body["scenes"]]
        cursor = body["next_after"]
        if not cursor:
            break
    assert sorted(ids) == sorted(seen)
    # A state filter that matches none of them, and one that matches all.
    page.goto(live_server.url + "/?q=paged-&state=failed")
    page.locator(".empty", has_text="No scenes match").wait_for()
    page.goto(live_server.url + "/?q=paged-00&state=succeeded")
    assert page.locator("#scenes-table tbody tr[data-state=succeeded]").count() == 10


def test_filter_runs_by_state(page: Any, live_server: LiveServer, failed_run: dict[str, Any]) -> None:
    page.goto(live_server.url + "/runs")
    page.select_option("#run-state-filter", "failed")
    page.click("#runs-filter button")
    page.wait_for_url("**/runs?*status=failed*")
    rows = page.locator("#runs-table tbody tr")
    assert rows.count() >= 1
    assert {rows.nth(i).get_attribute("data-state") for i in range(rows.count())} == {"failed"}
    assert page.locator(f"#runs-table tr[data-run='{failed_run['run_id']}']").count() == 1
    _shot(page, "ops-runs-failed.png")
    page.select_option("#run-state-filter", "succeeded")
    page.click("#runs-filter button")
    page.wait_for_url("**/runs?*status=succeeded*")
    states = page.locator("#runs-table tbody tr")
    assert states.count() >= 1 and {states.nth(i).get_attribute("data-state") for i in range(states.count())} == {
        "succeeded"
    }


def test_retry_a_failed_run_from_its_page(page: Any, live_server: LiveServer, failed_run: dict[str, Any]) -> None:
    page.goto(live_server.url + f"/runs/{failed_run['short_id'][:6]}")  # a short id prefix is a URL too
    page.locator("#run-state[data-state=failed]").wait_for()
    # Job logs come first, the failing one open; the storage steps are folded away.
    failing = page.locator("details.job-log[data-failed=true]")
    assert failing.count() == 1 and failing.get_attribute("open") is not None
    assert page.locator("#run-steps").get_attribute("open") is None
    assert (
        page.evaluate(
            "document.querySelector('details.job-log').compareDocumentPosition(document.querySelector('#run-steps')) & Node.DOCUMENT_POSITION_FOLLOWING"
        )
        > 0
    )
    page.fill("#log-search", "asked to")
    page.locator(
        "#log-search-count", has_text="1 matching line in 1 log"
    ).wait_for()  # no string predicate: the CSP forbids eval
    assert page.locator("pre.log mark").first.text_content() == "asked to"
    failing.locator("summary").click()  # collapsible
    assert failing.get_attribute("open") is None
    _shot(page, "ops-run-failed.png")
    page.click("#retry-run")
    page.wait_for_url("**:rerun:*")
    page.locator("#run-state[data-state=failed]").wait_for(timeout=90_000)  # the same input fails the same way
    assert page.locator("details.job-log[data-failed=true][open]").count() == 1
    _shot(page, "ops-run-retried.png")
    runs = live_server.get("/api/runs", params={"workflow": "test-stage-a", "scene": "ops-broken"}).json()
    assert len(runs) == 2 and any(r["run_id"].startswith(failed_run["run_id"] + ":rerun:") for r in runs)
    # The page's favicon is served.
    icon = live_server.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
