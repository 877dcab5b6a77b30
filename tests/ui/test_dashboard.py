"""The dashboard in a real browser (Debian's chromium) against a live `bpflow up`.

A request goes in through the submit form, the scene page follows the real runs (a request
intake, then two stages that each run a copy job as a separate process) without being reloaded,
and an injected job failure shows its error code.
"""

from __future__ import annotations

import os
from typing import Any

from tests.ui.conftest import ARTIFACTS, LiveServer

NO_RELOAD = "window.__bpflowNoReload"


def _last_implemented_stage(server: LiveServer) -> str:
    dag = server.get("/api/dag").json()
    implemented = [s["name"] for s in dag["stages"] if s["implemented"]]
    assert implemented, dag
    return implemented[-1]


def _submit(page: Any, server: LiveServer, *, prompt: str, scene_id: str, seeds: str = "1") -> None:
    page.goto(server.url + "/submit")
    page.fill("#prompt", prompt)
    page.fill("#scene_id", scene_id)
    page.fill("#seed_count", seeds)
    page.click("#submit-button")


def _bucket_files(server: LiveServer) -> list[str]:
    root = server.bucket_root
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".bpflow" not in p.parts)
        if root.exists()
        else []
    )


def test_submitted_request_reaches_the_last_stage_live_and_markers_open(page: Any, live_server: LiveServer) -> None:
    last = _last_implemented_stage(live_server)
    _submit(page, live_server, prompt="a kitchen with a fridge, a table and two mugs", scene_id="ui-kitchen")
    page.wait_for_url("**/scenes/ui-kitchen")
    page.evaluate(f"{NO_RELOAD} = true")

    # The stage row and the DAG node turn green through live updates only.
    page.locator(f"#stage-{last}[data-state=succeeded]").wait_for(timeout=90_000)
    page.locator(f"svg.dag g.node[data-stage={last}][data-state=succeeded]").wait_for()
    page.locator("#scene-state[data-state=succeeded]").wait_for()
    assert page.evaluate(NO_RELOAD) is True, "the page was reloaded"
    for row in page.locator("#stages-table tbody tr").all():
        assert row.get_attribute("data-state") == "succeeded"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "scene-page.png"), full_page=True)

    # Open the last stage's completion marker in the side panel.
    page.locator(f"#stage-{last} a.marker-link.decisive").click()
    panel = page.locator("#marker-panel")
    panel.wait_for(state="visible")
    body = panel.locator("pre")
    # Locator waits, not wait_for_function: a string predicate is eval'd in the page, which the CSP forbids.
    panel.locator("pre", has_text="completed").wait_for()
    assert '"scene_id": "ui-kitchen"' in body.text_content()
    assert "generation" in panel.locator(".panel-meta").text_content()


def test_injected_job_failure_shows_the_error_code(page: Any, live_server: LiveServer) -> None:
    _submit(page, live_server, prompt="FAIL: the copy job must exit non-zero", scene_id="ui-broken")
    page.wait_for_url("**/scenes/ui-broken")
    page.evaluate(f"{NO_RELOAD} = true")
    page.locator("#scene-state[data-state=failed]").wait_for(timeout=90_000)
    failed = page.locator("#stages-table tr[data-state=failed]")
    assert failed.count() == 1
    assert failed.first.locator(".error-code").text_content() == "test_copy_failed"
    assert page.locator("svg.dag g.node[data-state=failed] .code").first.text_content().endswith("test_copy_failed")
    assert page.evaluate(NO_RELOAD) is True
    # The failing stage's failure marker opens too.
    failed.first.locator("a.marker-link.k-failed").click()
    page.locator("#marker-panel pre", has_text="test_copy_failed").wait_for()
    # The scenes list shows it as failed with its code.
    page.goto(live_server.url + "/")
    row = page.locator("tr[data-scene=ui-broken]")
    assert row.get_attribute("data-state") == "failed"
    assert "test_copy_failed" in row.text_content()


def test_invalid_request_shows_field_errors_and_writes_nothing(page: Any, live_server: LiveServer) -> None:
    before = _bucket_files(live_server)
    page.goto(live_server.url + "/submit")
    page.fill("#prompt", "   ")
    page.fill("#scene_id", "../escape")
    page.fill("#seed_count", "0")
    page.click("#submit-button")
    page.locator("#form-errors").wait_for()
    assert page.url.endswith("/submit")
    for name in ("prompt", "scene_id", "seed_count"):
        error = page.locator(f".field-error[data-field={name}]")
        assert error.count() >= 1, name
        assert error.first.text_content().strip()
        assert page.locator(f"#{name}").get_attribute("aria-invalid") == "true"
    # What the operator typed stays in the form.
    assert page.input_value("#scene_id") == "../escape"
    assert _bucket_files(live_server) == before
    assert not os.path.exists(live_server.bucket_root / "scenes" / "escape")
