"""Item 2: a job process sees its env contract plus an allowlist, never the service's secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpflow.core.runners import JobSpec, SubprocessRunner
from bpflow.core.runners.job_env import job_process_env
from bpflow.jobs import JOBS
from bpflow.jobs.env_needs import LLM_KEY_ENV

REPO = Path(__file__).resolve().parents[2]
DUMP_MODULE = "tests.security.env_dump_job"

SERVICE_SECRETS = {
    "BPFLOW_API_TOKEN": "tok-SENTINEL-api-0123456789",
    "OPENAI_API_KEY": "sk-SENTINEL-openai",
    "TEXT_OPENROUTER_API_KEY": "or-SENTINEL-router",
    "AWS_SECRET_ACCESS_KEY": "aws-SENTINEL-secret",
    "AWS_SESSION_TOKEN": "aws-SENTINEL-session",
    "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/SENTINEL-gcp.json",
    "HF_TOKEN": "hf_SENTINEL",
    "SOME_VENDOR_PASSWORD": "pw-SENTINEL",
    "BPFLOW_EXTRA_SECRET": "bpflow-SENTINEL-secret",
    "UNRELATED_SETTING": "SENTINEL-unrelated",
}


def run_dump(job: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **contract: str) -> dict[str, str]:
    monkeypatch.setitem(JOBS, job, DUMP_MODULE)  # undone after the test: later tests run the real job
    env = {"PYTHONPATH": str(REPO), "BPFLOW_BUCKET_URL": f"file://{tmp_path / 'bucket'}", "SCENE_ID": "s1", **contract}
    result = SubprocessRunner().run(JobSpec(name=job, env=env, timeout_seconds=60))
    assert result.succeeded, result.stderr_tail
    return json.loads(result.stdout_tail.strip().splitlines()[-1])


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SERVICE_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BPFLOW_RUNNER_DOWN_FILE", "/nonexistent/down")  # a bpflow setting: passed on
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.delenv("BPFLOW_JOB_ENV_PASSTHROUGH", raising=False)


def test_a_job_that_dumps_its_env_sees_no_undeclared_secret(
    service_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = run_dump("env-dump-job", tmp_path, monkeypatch)
    leaked = {k for k, v in seen.items() if "SENTINEL" in v}
    assert leaked == set(), leaked
    # The contract and the allowlist are there.
    assert seen["SCENE_ID"] == "s1" and seen["BPFLOW_JOB_NAME"] == "env-dump-job" and seen["BPFLOW_EXECUTION_ID"]
    assert seen["PATH"] and seen["LC_ALL"] == "C.UTF-8" and seen["HTTPS_PROXY"] == "http://127.0.0.1:3128"
    assert seen["BPFLOW_RUNNER_DOWN_FILE"] == "/nonexistent/down"


def test_the_text_planner_gets_the_llm_keys_it_declares_but_never_the_api_token(
    service_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "OPENAI_API_KEY" in LLM_KEY_ENV
    seen = run_dump("text-scene-gen-job", tmp_path, monkeypatch)
    assert seen["OPENAI_API_KEY"] == SERVICE_SECRETS["OPENAI_API_KEY"]
    assert seen["TEXT_OPENROUTER_API_KEY"] == SERVICE_SECRETS["TEXT_OPENROUTER_API_KEY"]
    for name in ("BPFLOW_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "SOME_VENDOR_PASSWORD"):
        assert name not in seen, name


def test_operator_passthrough_adds_names_but_cannot_add_the_api_token(
    service_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BPFLOW_JOB_ENV_PASSTHROUGH", "UNRELATED_SETTING, BPFLOW_API_TOKEN")
    seen = run_dump("env-dump-job", tmp_path, monkeypatch, BPFLOW_API_TOKEN="from-the-contract")
    assert seen["UNRELATED_SETTING"] == "SENTINEL-unrelated"
    assert "BPFLOW_API_TOKEN" not in seen


def test_a_remote_bucket_job_gets_its_backends_credentials_only() -> None:
    service = {**SERVICE_SECRETS, "PATH": "/usr/bin", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:4443"}
    s3 = job_process_env("noop-job", {"BPFLOW_BUCKET_URL": "s3://scenes"}, service)
    assert s3["AWS_SECRET_ACCESS_KEY"] == "aws-SENTINEL-secret" and s3["AWS_SESSION_TOKEN"] == "aws-SENTINEL-session"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in s3 and "OPENAI_API_KEY" not in s3
    gs = job_process_env("noop-job", {"BPFLOW_BUCKET_URL": "gs://scenes"}, service)
    assert gs["GOOGLE_APPLICATION_CREDENTIALS"] == "/secrets/SENTINEL-gcp.json" and gs["STORAGE_EMULATOR_HOST"]
    assert "AWS_SECRET_ACCESS_KEY" not in gs
    local = job_process_env("noop-job", {"BPFLOW_BUCKET_URL": "file:///tmp/b"}, service)
    assert not {k for k, v in local.items() if "SENTINEL" in v}
