"""Tokens, scene ids and secrets, checked against every route the app publishes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.api.conftest import TOKEN, Api
from tests.conftest import wait_until

MUTATING = ("post", "put", "patch", "delete")
BAD_SCENE_IDS = ("%2E%2E", "%2e%2e", ".%2E", "a%2Fb", "%2E%2E%2F%2E%2E%2Fetc", ".hidden", "a%5Cb", "a%00b")


def fill(route: str, **values: str) -> str:
    """``/api/runs/{run_id}/cancel`` with its parameters filled in."""
    defaults = {"workflow": "test-stage-a", "action": "pause"}  # the schedule routes' parameters
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: values.get(m.group(1)) or defaults[m.group(1)], route)


def operations(api: Api) -> list[tuple[str, str]]:
    spec = api.client.get("/openapi.json", headers=api.auth()).json()
    return [(path, method) for path, ops in spec["paths"].items() for method in ops]


def files_under(root: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".bpflow" not in p.parts)
        if root.exists()
        else []
    )


def test_every_mutation_without_the_token_is_401(secured_api: Api) -> None:
    ops = operations(secured_api)
    mutations = [(p, m) for p, m in ops if m in MUTATING]
    expected = {
        ("/api/scenes", "post"),
        ("/api/scenes/{scene_id}/rerun", "post"),
        ("/api/runs/{run_id}/cancel", "post"),
        ("/api/emit", "post"),
        ("/events", "post"),
        ("/submit", "post"),
    }
    assert expected <= set(mutations), mutations
    bucket_root = Path(secured_api.rt.bucket.root)
    before = files_under(bucket_root)
    for path, method in mutations:
        url = fill(
            path,
            scene_id="k1",
            run_id="test-stage-a:scenes/k1/test/input.json@1",
            path="test/input.json",
            workflow="retention-cleanup",
            action="pause",
        )
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": f"Basic {TOKEN}"},
        ):
            resp = secured_api.client.request(
                method,
                url,
                headers=headers,
                json={
                    "schema_version": "v1",
                    "scene_id": "k1",
                    "prompt": "x",
                    "workflow": "test-stage-a",
                    "type": "bpflow.test.ping",
                },
            )
            assert resp.status_code == 401, (method, url, headers, resp.status_code, resp.text[:200])
            if path.startswith("/api/"):
                assert resp.json()["error"]["code"] == "unauthorized"
    assert files_under(bucket_root) == before
    # The right token gets through.
    ok = secured_api.client.post(
        "/api/scenes", json={"schema_version": "v1", "scene_id": "k1", "prompt": "a hall"}, headers=secured_api.auth()
    )
    assert ok.status_code == 201, ok.text


def test_a_scene_id_with_dots_or_slash_is_400_on_every_endpoint(secured_api: Api) -> None:
    client, auth = secured_api.client, secured_api.auth()
    scene_routes = [(p, m) for p, m in operations(secured_api) if "{scene_id}" in p]
    assert len(scene_routes) >= 6
    for path, method in scene_routes:
        for bad in BAD_SCENE_IDS:
            url = fill(path, scene_id=bad, path="test/input.json")
            resp = client.request(method, url, headers=auth, json={"workflow": "test-stage-a"}, data=None)
            assert resp.status_code == 400, (method, url, resp.status_code, resp.text[:200])
            if url.startswith("/api/"):
                assert resp.json()["error"]["code"] == "invalid_scene_id"
        # A literal '/' splits the id into segments no route accepts: still a 400, not a 404.
        url = fill(path, scene_id="a/b", path="test/input.json")
        assert client.request(method, url, headers=auth, json={"workflow": "test-stage-a"}).status_code == 400, url
    for url in ("/api/runs?scene=..", "/api/runs?scene=a/b", "/runs?scene=..", "/api/runs?scene=%2E%2E"):
        assert client.get(url, headers=auth).status_code == 400, url
    resp = client.post("/api/scenes", json={"schema_version": "v1", "scene_id": "../x", "prompt": "p"}, headers=auth)
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "scene_id"
    resp = client.post("/submit", data={"scene_id": "a/b", "prompt": "p", "seed_count": "1"}, headers=auth)
    assert resp.status_code == 400 and 'data-field="scene_id"' in resp.text
    resp = client.get("/api/scenes/k1/markers/..%2F..%2Fbpflow.sqlite", headers=auth)
    assert resp.status_code == 400
    assert not any(p.name == "x" for p in Path(secured_api.rt.bucket.root).rglob("*"))


SENTINELS = {
    "OPENAI_API_KEY": "sk-SENTINEL-openai-93b1f0",
    "TEXT_OPENROUTER_API_KEY": "or-SENTINEL-5c2d8e",
    "HF_TOKEN": "hf_SENTINEL_77aa31",
    "RUNPOD_API_KEY": 'rp-SENTINEL"<&>-quoted',
}


def _assert_clean(resp: Any, where: str) -> None:
    blob = resp.text + "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
    for secret in (TOKEN, *SENTINELS.values()):
        assert secret not in blob, f"{secret!r} leaked by {where}"
    assert "SENTINEL" not in blob, f"a sentinel (in some spelling) leaked by {where}"


def test_no_page_or_response_contains_a_configured_secret(make_api: Any) -> None:
    api = make_api(BPFLOW_API_TOKEN=TOKEN, **SENTINELS)
    rt, client = api.rt, api.client
    client.headers.update(api.auth())  # with a token set, reads need it too
    done = api.run_scene("leaky", f"a room described with {SENTINELS['OPENAI_API_KEY']} inside", headers=api.auth())
    failed = api.run_scene("leaky-fail", f"FAIL {SENTINELS['RUNPOD_API_KEY']}", headers=api.auth())
    assert done["state"] == "succeeded" and failed["state"] == "failed"
    # Secrets written where the views read: a marker, a lock, a breaker, a job's whole log.
    rt.bucket.write_json("scenes/leaky/test/b/notes.json", {"env": dict(SENTINELS), "token": TOKEN})
    rt.bucket.write_json(
        "scenes/leaky/locks/usd-assembly.lock", {"owner": SENTINELS["HF_TOKEN"], "run_id": "r", "expires_at": 9e12}
    )
    rt.bucket.write_json(
        "scenes/leaky/geniesim/.circuit_breaker.json",
        {"failure_count": 1, "last_failure_reason": SENTINELS["TEXT_OPENROUTER_API_KEY"]},
    )
    runs = client.get("/api/runs?scene=leaky-fail&workflow=test-stage-a").json()
    run_id = runs[0]["run_id"]
    logs = client.get(f"/api/runs/{run_id}/logs").json()
    log_file = Path(rt.settings.home) / "logs" / "jobs" / f"{logs['jobs'][0]['execution_id']}.log"
    log_file.write_text(log_file.read_text() + f"\nenv OPENAI_API_KEY={SENTINELS['OPENAI_API_KEY']} token={TOKEN}\n")

    values = {"scene_id": "leaky", "run_id": run_id, "path": "test/b/notes.json"}
    checked = 0
    for path, method in operations(api):
        if method != "get":
            continue
        url = fill(path, **values)
        for suffix in ("", "?partial=1"):
            resp = client.get(url + suffix, headers=api.auth())
            assert resp.status_code < 500, (url, resp.text[:300])
            _assert_clean(resp, url + suffix)
            checked += 1
    for url in (
        "/openapi.json",
        "/docs",
        "/metrics",
        "/healthz",
        "/login",
        "/scenes/leaky-fail",
        f"/runs/{run_id}",
        "/scenes/leaky/markers/prompts/scene_request.json",
        "/api/scenes/leaky/markers/test/input.json",
        "/scenes/nope",
        "/api/scenes/leaky-fail",
    ):
        resp = client.get(url, headers=api.auth())
        _assert_clean(resp, url)
    assert "asked to fail" in client.get(f"/api/runs/{run_id}/logs").text
    # Responses to mutations and to a sign-in (its cookie) carry no secret either.
    _assert_clean(client.post("/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False), "POST /login")
    _assert_clean(client.post("/login", data={"token": "nope"}), "POST /login (wrong)")
    _assert_clean(
        client.post(
            "/api/scenes",
            json={"schema_version": "v1", "scene_id": "leaky2", "prompt": SENTINELS["HF_TOKEN"]},
            headers=api.auth(),
        ),
        "POST /api/scenes",
    )
    _assert_clean(
        client.post(
            "/api/scenes",
            json={"schema_version": "v1", "scene_id": "bad id", "prompt": SENTINELS["HF_TOKEN"]},
            headers=api.auth(),
        ),
        "POST /api/scenes (invalid)",
    )
    assert checked >= 20


def test_the_dashboard_signs_in_with_a_session_cookie_not_the_token(secured_api: Api) -> None:
    client = secured_api.client
    # Pages need the sign-in too: the form sends the browser to /login, and back after.
    first = client.get("/submit", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Fsubmit"
    assert client.get("/login?next=/submit").status_code == 200
    wrong = client.post("/login", data={"token": "wrong", "next": "/submit"})
    assert wrong.status_code == 401
    resp = client.post("/login", data={"token": TOKEN, "next": "/submit"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/submit"
    cookie = resp.cookies.get("bpflow_session")
    assert cookie and TOKEN not in cookie
    assert "samesite=strict" in resp.headers["set-cookie"].lower() and "httponly" in resp.headers["set-cookie"].lower()
    client.cookies.set("bpflow_session", cookie)
    ok = client.post(
        "/submit",
        data={
            "prompt": "a small den",
            "scene_id": "cookie-1",
            "seed_count": "1",
            "source_mode": "text",
            "quality_tier": "standard",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/scenes/cookie-1"
    # The cookie is no good from another site's form.
    foreign = client.post(
        "/submit",
        data={"prompt": "x", "scene_id": "cookie-2", "seed_count": "1"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 401
    # ... nor for a redirect target off this site.
    off = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False)
    assert off.headers["location"] == "/"
    client.cookies.clear()
    wait_until(lambda: secured_api.rt.bucket.exists("scenes/cookie-1/test/b/.b_complete"), timeout=60)
    assert not secured_api.rt.bucket.exists("scenes/cookie-2/prompts/scene_request.json")


def test_without_a_token_local_clients_may_change_things_but_other_sites_may_not(api: Api) -> None:
    form = {"prompt": "a loft", "scene_id": "local-1", "seed_count": "1"}
    foreign = api.client.post("/submit", data=form, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 401
    assert not api.rt.bucket.exists("scenes/local-1/prompts/scene_request.json")
    local = api.client.post("/submit", data=form, follow_redirects=False)
    assert local.status_code == 303 and local.headers["location"] == "/scenes/local-1"
    assert (
        "loopback only" in api.client.get("/").text
        and api.client.get("/healthz").json()["auth"] == "none (loopback only)"
    )
