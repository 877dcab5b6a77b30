"""Item 8: secrets bpflow does not declare itself (cloud SDK variables, any ``*_KEY`` /
``*_TOKEN`` / ``*_SECRET`` / ``*_PASSWORD``, a credential file's contents) are masked in markers,
pages, API answers and service logs, like the declared ones."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bpflow.blocks import markers
from bpflow.core.engine.registry import Run
from bpflow.core.secret_env import env_secret_values
from tests.api.conftest import Api

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCSENTINELpemline1\nSENTINELpemline2AAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n"
ENV = {
    "AWS_SECRET_ACCESS_KEY": "aws/SENTINEL+secretaccesskey",
    "AWS_SESSION_TOKEN": "aws-SENTINEL-sessiontoken",
    "VENDOR_X_API_KEY": "vendorx-SENTINEL-key",
    "REPORTING_DB_PASSWORD": "db-SENTINEL-pass",
    "WEBHOOK_SECRET": "whsec-SENTINEL",
    "SOME_FLAG_KEY": "true",  # short values matched by name only are left alone
}


def credential_file(tmp_path: Path) -> Path:
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "bot@example.iam",
                "private_key_id": "SENTINELkeyid0123456789",
                "private_key": PEM,
                "client_secret": "cs-SENTINEL-client",
            }
        )
    )
    return path


def test_environment_and_credential_file_secrets_are_found(tmp_path: Path) -> None:
    env = {**ENV, "GOOGLE_APPLICATION_CREDENTIALS": str(credential_file(tmp_path)), "PATH": "/usr/bin"}
    found = env_secret_values(env)
    for name in (
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "VENDOR_X_API_KEY",
        "REPORTING_DB_PASSWORD",
        "WEBHOOK_SECRET",
    ):
        assert ENV[name] in found, name
    assert "true" not in found and "/usr/bin" not in found
    assert PEM in found and "SENTINELpemline2AAAAAAAAAAAAAAAAAAAAAAAAAAAA" in found and "cs-SENTINEL-client" in found
    assert "service_account" not in found and "bot@example.iam" not in found
    aws = tmp_path / "credentials"
    aws.write_text("[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = SENTINEL/from+file\n")
    assert "SENTINEL/from+file" in env_secret_values({"AWS_SHARED_CREDENTIALS_FILE": str(aws)})


def test_markers_pages_answers_and_logs_mask_them(make_api: Any, tmp_path: Path, caplog: Any) -> None:
    api: Api = make_api(GOOGLE_APPLICATION_CREDENTIALS=str(credential_file(tmp_path)), **ENV)
    rt, client = api.rt, api.client
    leak = " ".join([*(v for k, v in ENV.items() if k != "SOME_FLAG_KEY"), PEM, "cs-SENTINEL-client"])
    run = Run(
        run_id="test-stage-a:scenes/sc1/test/input.json@1",
        workflow="test-stage-a",
        payload={"scene_id": "sc1", "data": {"name": "scenes/sc1/test/input.json", "generation": "1"}},
    )
    # bpflow's own marker writers scrub what they write into the bucket.
    markers.write_failure(
        run, "scenes/sc1/test/a/.failed", job_name="test-copy-job", code="boom", message=f"job printed {leak}"
    )
    markers.write_marker(run, "scenes/sc1/test/a/.a_complete", note=leak)
    for key in ("scenes/sc1/test/a/.failed", "scenes/sc1/test/a/.a_complete"):
        raw = rt.bucket.read(key).decode()
        assert "SENTINEL" not in raw and "***" in raw, raw
    # A marker someone else wrote is masked on the way out.
    rt.bucket.write_json("scenes/sc1/test/b/notes.json", {"env": leak, "secret_key": ENV["VENDOR_X_API_KEY"]})
    for url in (
        "/api/scenes/sc1",
        "/scenes/sc1",
        "/api/scenes/sc1/markers/test/b/notes.json",
        "/scenes/sc1/markers/test/b/notes.json",
        "/api/scenes",
    ):
        resp = client.get(url)
        assert resp.status_code == 200 and "SENTINEL" not in resp.text, url
    assert "true" in client.get("/api/dag").text  # short name-matched values are not masked
    # Service logs go through the same scrubber.
    from bpflow.cli.serve import _ScrubbingFormatter

    record = logging.LogRecord(
        "bpflow.test", logging.INFO, __file__, 1, "token in a log line: %s", (ENV["AWS_SESSION_TOKEN"],), None
    )
    assert "SENTINEL" not in _ScrubbingFormatter("%(message)s").format(record)
