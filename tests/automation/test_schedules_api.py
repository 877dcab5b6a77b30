"""Schedules over HTTP and on the dashboard: listed, paused and resumed (behind the API token)."""

from __future__ import annotations

from typing import Any


def test_schedules_are_listed_and_paused_from_the_api_and_the_dashboard(make_api: Any) -> None:
    api = make_api(ENABLE_TEXT_AUTONOMY_DAILY="true", BPFLOW_API_TOKEN="tok-sched-1")
    headers = {"Authorization": "Bearer tok-sched-1"}  # with a token set, reads need it too
    assert api.client.get("/api/schedules").status_code == 401
    rows = {r["workflow"]: r for r in api.client.get("/api/schedules", headers=headers).json()}
    assert rows["text-autonomy-daily"]["state"] == "active" and rows["text-autonomy-daily"]["next_run"]["utc"]
    assert api.client.post("/api/schedules/text-autonomy-daily/pause").status_code == 401
    paused = api.client.post("/api/schedules/text-autonomy-daily/pause", headers=headers)
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    page = api.client.get("/triggers", headers=headers)
    assert page.status_code == 200 and 'action="/schedules/text-autonomy-daily/resume"' in page.text
    resumed = api.client.post("/schedules/text-autonomy-daily/resume", headers=headers, follow_redirects=False)
    assert resumed.status_code == 303
    assert {r["workflow"]: r for r in api.client.get("/api/schedules", headers=headers).json()}["text-autonomy-daily"][
        "state"
    ] == "active"
    bad = api.client.post("/api/schedules/text-autonomy-daily/explode", headers=headers)
    assert bad.status_code in (400, 422) and "error" in bad.json()
