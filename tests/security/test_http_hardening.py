"""Items 3-7 and 9 of the hardening issue, as an attacker tries them against the HTTP service."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpflow.api.http_guards import allowed_hosts, host_name
from bpflow.api.security import Guard
from bpflow.core.events.cloudevents import InvalidCloudEvent, parse_generation
from tests.api.conftest import TOKEN, Api

REQUEST = {"schema_version": "v1", "scene_id": "h1", "prompt": "a small hall"}


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".bpflow" not in p.parts)


# -- 3. DNS rebinding ---------------------------------------------------------------------------


def test_a_foreign_host_header_is_refused_before_routing(api: Api) -> None:
    root = Path(api.rt.bucket.root)
    before = files_under(root)
    evil = {"Host": "rebind.evil.example"}
    assert api.client.get("/", headers=evil).status_code == 400
    resp = api.client.post("/api/scenes", json=REQUEST, headers=evil)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "host_not_allowed"
    resp = api.client.post(
        "/api/emit",
        json={"type": "manual", "workflow": "retention-cleanup"},
        headers={"Host": "rebind.evil.example:8080"},
    )
    assert resp.status_code == 400
    assert files_under(root) == before
    for host in ("localhost", "localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST"):
        assert api.client.get("/healthz", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_setting_and_bound_host(make_api: Any) -> None:
    api = make_api(BPFLOW_ALLOWED_HOSTS="bpflow.internal, [fd00::5]")
    assert api.client.get("/healthz", headers={"Host": "bpflow.internal:8080"}).status_code == 200
    assert api.client.get("/healthz", headers={"Host": "[fd00::5]:80"}).status_code == 200
    assert api.client.get("/healthz", headers={"Host": "other.internal"}).status_code == 400
    assert "10.1.2.3" in (allowed_hosts("10.1.2.3", []) or ())
    assert allowed_hosts("0.0.0.0", []) == frozenset({"localhost", "127.0.0.1", "::1"})
    assert allowed_hosts("127.0.0.1", ["*"]) is None
    assert host_name("[::1]:8080") == "::1" and host_name("Example.COM:1") == "example.com"


# -- 4. Browser headers -------------------------------------------------------------------------


def test_every_response_carries_the_browser_headers(secured_api: Api) -> None:
    client = secured_api.client
    responses = [
        client.get("/healthz"),
        client.get("/login"),
        client.get("/", follow_redirects=False),
        client.get("/api/scenes"),
        client.get("/api/scenes", headers=secured_api.auth()),
        client.get("/nope", headers=secured_api.auth()),
        client.get("/", headers={"Host": "evil.example"}),
        client.get("/static/dashboard.js"),
    ]
    for resp in responses:
        h = resp.headers
        assert h["x-frame-options"] == "DENY", resp.url
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
        csp = dict(part.strip().split(" ", 1) for part in h["content-security-policy"].split(";"))
        assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'self'"
        assert csp["media-src"].startswith("'self'") and set(csp["img-src"].split()) >= {"'self'", "data:", "blob:"}


def test_the_dashboard_has_no_inline_script_so_the_policy_holds(api: Api) -> None:
    api.client.post("/api/scenes", json=REQUEST)
    for url in ("/", "/runs", "/triggers", "/ops", "/submit", "/scenes/h1", "/login"):
        page = api.client.get(url).text
        scripts = re.findall(r"<script\b([^>]*)>", page)
        assert scripts and all('src="/static/' in attrs for attrs in scripts), (url, scripts)
        assert not re.search(r"\son[a-z]+=", page), url  # no inline event handlers either
    js = api.client.get("/static/dashboard.js")
    assert js.status_code == 200 and "data-live" in js.text and "javascript" in js.headers["content-type"]


def test_forms_posted_from_another_site_are_refused(api: Api) -> None:
    form = {"prompt": "a loft", "scene_id": "x-site", "seed_count": "1"}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Referer": "http://evil.example/page"},
    ):
        assert api.client.post("/submit", data=form, headers=headers).status_code == 401, headers
    assert not api.rt.bucket.exists("scenes/x-site/prompts/scene_request.json")


# -- 5. Reads need the token when one is set -----------------------------------------------------


def test_with_a_token_every_route_but_healthz_needs_it(secured_api: Api) -> None:
    client, auth = secured_api.client, secured_api.auth()
    assert client.post("/api/scenes", json=REQUEST, headers=auth).status_code == 201
    spec = client.get("/openapi.json", headers=auth).json()
    gets = [
        re.sub(
            r"\{(\w+)(?::path)?\}",
            lambda m: {"scene_id": "h1", "run_id": "r1", "path": "prompts/scene_request.json"}[m.group(1)],
            p,
        )
        for p, ops in spec["paths"].items()
        if "get" in ops and p != "/healthz"
    ]
    assert len(gets) >= 15
    for url in [*gets, "/openapi.json", "/metrics", "/static/../openapi.json"]:
        resp = client.get(url, follow_redirects=False)
        if url.startswith(("/api/", "/openapi", "/metrics", "/static")):
            assert resp.status_code == 401, (url, resp.status_code)
        else:
            assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next="), (
                url,
                resp.status_code,
            )
        assert "a small hall" not in resp.text
    assert client.get("/healthz").status_code == 200
    assert (
        client.get("/api/scenes/h1/markers/prompts/scene_request.json", headers=auth).json()["body"]["prompt"]
        == "a small hall"
    )


def test_metrics_can_be_made_public(make_api: Any) -> None:
    api = make_api(BPFLOW_API_TOKEN=TOKEN, BPFLOW_METRICS_PUBLIC="true")
    assert api.client.get("/metrics").status_code == 200
    assert api.client.get("/api/scenes").status_code == 401


def test_session_cookies_expire_and_die_with_the_token(secured_api: Api) -> None:
    client = secured_api.client
    resp = client.post("/login", data={"token": TOKEN, "next": "/runs"}, follow_redirects=False)
    cookie = resp.cookies["bpflow_session"]
    assert "max-age=" in resp.headers["set-cookie"].lower()
    client.cookies.clear()
    client.cookies.set("bpflow_session", cookie)
    assert client.get("/runs").status_code == 200
    expires, _, sig = cookie.partition(".")
    guard = Guard(TOKEN)
    past = int(time.time()) - 1
    stale = f"{past}.{guard._session_sig(past)}"  # signed right, but expired
    for bad in (
        stale,
        f"{int(expires) + 10_000}.{sig}",
        Guard("another-token-0123456789").new_session(),
        "",
        "x.y",
        cookie + "0",
    ):
        client.cookies.clear()
        client.cookies.set("bpflow_session", bad)
        assert client.get("/api/scenes").status_code == 401, bad
    assert not Guard("another-token-0123456789").session_valid(cookie)  # a rotated token revokes it


def test_sign_in_is_rate_limited_per_client(secured_api: Api) -> None:
    client = secured_api.client
    for _ in range(10):
        assert client.post("/login", data={"token": "guess", "next": "/"}).status_code == 401
    blocked = client.post("/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
    assert blocked.status_code == 429 and "bpflow_session" not in blocked.cookies


def test_bpflow_up_refuses_a_short_token_beyond_loopback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import runtime_env

    env = runtime_env(tmp_path / "home", BPFLOW_API_TOKEN="short-token", BPFLOW_HTTP_PORT="1")
    out = subprocess.run(
        [sys.executable, "-m", "bpflow.cli", "up", "--host", "0.0.0.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "at least 16" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert "short-token" not in out.stdout + out.stderr
    assert os.environ.get("BPFLOW_API_TOKEN") != "short-token"


# -- 6. POST /events input limits -----------------------------------------------------------------


def storage_event(rt: Any, name: str, generation: Any, bucket: str | None = None) -> tuple[dict[str, str], bytes]:
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.storage.object.v1.finalized",
        "ce-id": f"e-{abs(hash((name, repr(generation))))}",
        "ce-source": "//storage.googleapis.com/projects/_/buckets/x",
        "content-type": "application/json",
    }
    data = {"bucket": bucket or Path(rt.bucket.root).name, "name": name, "generation": generation}
    return headers, json.dumps(data).encode()


def test_events_body_limits(api: Api) -> None:
    client = api.client
    structured = {"content-type": "application/cloudevents+json"}
    big = json.dumps(
        {"specversion": "1.0", "type": "x.big", "source": "t", "id": "1", "data": {"pad": "x" * (1024 * 1024)}}
    )
    assert client.post("/events", headers=structured, content=big).status_code == 413
    for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 200 + "1" + "}" * 200):
        for headers in (
            structured,
            {
                "content-type": "application/json",
                "ce-type": "x",
                "ce-id": "1",
                "ce-source": "s",
                "ce-specversion": "1.0",
            },
        ):
            resp = client.post("/events", headers=headers, content=deep)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == "json_too_deep", resp.text[:200]
    for ctype in ("text/plain", "application/x-www-form-urlencoded", ""):
        resp = client.post(
            "/events",
            headers={"content-type": ctype, "ce-type": "x", "ce-id": "1", "ce-source": "s", "ce-specversion": "1.0"},
            content=b'{"a": 1}',
        )
        assert resp.status_code == 415, (ctype, resp.status_code)
        assert resp.json()["error"]["field"] == "content-type"


@pytest.mark.parametrize(
    "generation", ["1_000", " 7 ", "١٢", "１２", "4" * 4300, "-1", "+5", "", "1e3", "0x10", True, 1.5, None, "1" * 21]
)
def test_events_generation_must_be_ascii_digits(api: Api, generation: Any) -> None:
    info = api.rt.bucket.write_json("scenes/g1/test/input.json", {})
    headers, body = storage_event(api.rt, info.key, generation)
    resp = api.client.post("/events", headers=headers, content=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] == "data.generation"


def test_events_for_another_bucket_or_no_trigger(api: Api) -> None:
    info = api.rt.bucket.write_json("scenes/g2/test/input.json", {})
    headers, body = storage_event(api.rt, info.key, str(info.generation), bucket="someone-elses-bucket")
    resp = api.client.post("/events", headers=headers, content=body)
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "data.bucket"
    # A name no trigger matches: accepted (Eventarc must not retry it), nothing started.
    headers, body = storage_event(api.rt, "scenes/g2/unrelated/file.bin", "7")
    resp = api.client.post("/events", headers=headers, content=body)
    assert resp.status_code == 202 and "no trigger matches" in resp.json()["ignored"]
    assert resp.json()["events"][0]["run_ids"] == []
    # The configured bucket's own name works.
    headers, body = storage_event(api.rt, info.key, str(info.generation))
    resp = api.client.post("/events", headers=headers, content=body)
    assert resp.status_code == 202 and resp.json()["events"][0]["run_ids"] and "ignored" not in resp.json()


@given(st.one_of(st.text(max_size=30), st.integers(min_value=-(10**25), max_value=10**25)))
def test_generation_parser_property(raw: Any) -> None:
    ok = (isinstance(raw, int) and 0 <= raw < 10**20) or (
        isinstance(raw, str) and re.fullmatch(r"[0-9]{1,20}", raw, flags=re.ASCII) is not None
    )
    try:
        value = parse_generation(raw)
    except InvalidCloudEvent as exc:
        assert not ok and exc.field == "data.generation"
    else:
        assert ok and value == int(raw)


def test_a_deeply_nested_request_neither_500s_nor_crashes_bpflow_status(api: Api) -> None:
    import os
    import subprocess
    import sys

    deep = '{"schema_version": "v1", "scene_id": "deep1", "prompt": ' + "[" * 50_000 + "]" * 50_000 + "}"
    resp = api.client.post("/api/scenes", content=deep, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "json_too_deep"
    api.rt.bucket.write("scenes/deep1/prompts/scene_request.json", deep)
    api.rt.bucket.write("scenes/deep1/test/a/.failed", '{"error": ' * 300 + "1" + "}" * 300)
    for url in (
        "/api/scenes/deep1",
        "/scenes/deep1",
        "/api/scenes",
        "/",
        "/api/scenes/deep1/markers/prompts/scene_request.json",
    ):
        assert api.client.get(url).status_code == 200, url
    env = {**os.environ, "COLUMNS": "200"}
    for args in (("status", "deep1"), ("status", "deep1", "--json"), ("status",)):
        out = subprocess.run(
            [sys.executable, "-m", "bpflow.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert "Traceback" not in out.stderr and "RecursionError" not in out.stderr, out.stderr[-2000:]
        assert out.returncode in (0, 1), (args, out.returncode, out.stderr[-500:])


# -- 7. Oversized forms -----------------------------------------------------------------------------


def test_oversized_forms_and_requests_are_413_not_emptied(api: Api) -> None:
    root = Path(api.rt.bucket.root)
    before = files_under(root)
    big_form = {"scene_id": "big1", "prompt": "p" * (70 * 1024), "seed_count": "1"}
    resp = api.client.post("/submit", data=big_form)
    assert resp.status_code == 413 and "larger than" in resp.text
    resp = api.client.post("/api/scenes", json={**REQUEST, "scene_id": "big2", "prompt": "p" * (1100 * 1024)})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_too_large"
    # Without a Content-Length (chunked upload) the limit holds too.
    chunks = (b"x" * 65536 for _ in range(20))
    resp = api.client.post("/api/scenes", content=chunks, headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert files_under(root) == before


# -- 9. /docs ---------------------------------------------------------------------------------------


def test_docs_are_off_by_default(api: Api) -> None:
    assert api.client.get("/docs").status_code == 404
    assert api.client.get("/redoc").status_code == 404


def test_docs_when_enabled_load_nothing_from_another_origin(make_api: Any) -> None:
    api = make_api(BPFLOW_API_DOCS="true")
    page = api.client.get("/docs")
    assert page.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(r.startswith("/") and not r.startswith("//") for r in refs), refs
    assert "<script>" not in page.text  # no inline script: the CSP's script-src 'self' holds
    for ref in refs:
        assert api.client.get(ref).status_code == 200, ref
    assert "SwaggerUIBundle" in api.client.get("/docs/assets/swagger-ui-bundle.js").text


def test_docs_when_enabled_still_need_the_token(make_api: Any) -> None:
    api = make_api(BPFLOW_API_DOCS="true", BPFLOW_API_TOKEN=TOKEN)
    assert api.client.get("/docs").status_code == 401
    assert api.client.get("/docs/assets/swagger-ui-bundle.js").status_code == 401
    assert api.client.get("/docs", headers=api.auth()).status_code == 200
