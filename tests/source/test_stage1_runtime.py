"""Stage 1 runtime selection on the real runtime: remote runtimes this build cannot reach fail
with ``stage1_runtime_unavailable`` naming what is missing, and only a transient vm / runpod
failure falls back to cloudrun (spec-source-and-scheduling §2.3.E)."""

from __future__ import annotations

from typing import Any

import pytest

from bpflow.core import runners
from bpflow.core.errors import JobStartError
from bpflow.core.runners import SubprocessRunner
from bpflow.core.runners.base import JobResult, JobSpec
from tests.source.conftest import GATED_GEN_JOB, REQUEST, read_json, request_body, wait_for_run

FELL_BACK = "fell back to cloudrun"


class UnreachableVM:
    """Stands in for a VM this machine cannot reach: every launch fails, as an SSH/Cloud Build
    launch to a missing host does. (There is no VM here to use for real.)"""

    name = "vm"

    def run(self, spec: JobSpec) -> JobResult:
        raise JobStartError(f"cannot reach VM for {spec.name}", code="vm_unreachable", retryable=True)


def _fail_marker(rt: Any, scene: str) -> dict[str, Any]:
    rt.bucket.write_json(REQUEST.format(scene), request_body(scene))
    result = wait_for_run("source-orchestrator", scene)
    assert result["status"] == "FAILED"
    marker = read_json(rt, f"scenes/{scene}/.source_orchestrator_failed")
    assert marker["error"]["code"] == "text_stage_failed" and marker["failed_stage"] == "text_source_generation"
    return marker


def test_vm_without_a_runner_falls_back_to_cloudrun_which_is_unavailable_too(source_runtime: Any) -> None:
    rt = source_runtime(TEXT_GEN_RUNTIME="vm")
    marker = _fail_marker(rt, "rt-vm")
    cause = marker["error"]["cause"]
    assert cause["code"] == "stage1_runtime_unavailable" and cause["field"] == "TEXT_GEN_RUNTIME"
    message = marker["error"]["message"]
    assert FELL_BACK in message and "'cloudrun' job runner" in message
    assert "[vm_transient]" in cause["details"]["fallback_reason"]
    assert "rt-vm" in message and marker["context"]["completed_variants"] == 0


def test_cloudrun_without_a_runner_fails_at_once(source_runtime: Any) -> None:
    rt = source_runtime(TEXT_GEN_RUNTIME="cloudrun")
    marker = _fail_marker(rt, "rt-cloudrun")
    assert marker["error"]["cause"]["code"] == "stage1_runtime_unavailable"
    assert FELL_BACK not in marker["error"]["message"] and "register_runner('cloudrun'" in marker["error"]["message"]


def test_runpod_without_a_key_is_not_transient(source_runtime: Any) -> None:
    rt = source_runtime(TEXT_GEN_RUNTIME="runpod")
    marker = _fail_marker(rt, "rt-runpod")
    assert marker["error"]["field"] == "RUNPOD_API_KEY" and marker["error"]["cause"]["field"] == "RUNPOD_API_KEY"
    assert "[runpod_non_transient] RUNPOD_API_KEY is required" in marker["error"]["message"]
    assert FELL_BACK not in marker["error"]["message"]


def test_runpod_with_a_key_but_no_runner_falls_back_and_never_leaks_the_key(source_runtime: Any) -> None:
    secret = "rp-sentinel-3f1e9c"
    rt = source_runtime(TEXT_GEN_RUNTIME="runpod", RUNPOD_API_KEY=secret)
    marker = _fail_marker(rt, "rt-runpod-key")
    assert FELL_BACK in marker["error"]["message"]
    assert "[runpod_transient]" in marker["error"]["cause"]["details"]["fallback_reason"]
    for info in rt.bucket.list("scenes/rt-runpod-key/"):
        assert secret.encode() not in rt.bucket.read(info.key), info.key


def test_vm_job_failure_is_final_no_cloudrun_retry(source_runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(runners.RUNNERS, "vm", SubprocessRunner)
    monkeypatch.setitem(runners.RUNNERS, "cloudrun", SubprocessRunner)
    rt = source_runtime(TEXT_GEN_RUNTIME="vm", TEXT_SCENE_GEN_JOB_NAME=GATED_GEN_JOB, BPFLOW_TEST_FAIL_SCENES="*")
    marker = _fail_marker(rt, "rt-vm-fails")
    cause = marker["error"]["cause"]
    assert cause["code"] == "stage1_job_failed"
    assert "[vm]" in marker["error"]["message"] and "test_seed_rejected" in marker["error"]["message"]
    assert FELL_BACK not in marker["error"]["message"]


def test_vm_launch_failure_is_transient_and_falls_back_to_cloudrun(
    source_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(runners.RUNNERS, "vm", UnreachableVM)
    monkeypatch.setitem(runners.RUNNERS, "cloudrun", SubprocessRunner)
    rt = source_runtime(TEXT_GEN_RUNTIME="vm", TEXT_SCENE_GEN_JOB_NAME=GATED_GEN_JOB, BPFLOW_TEST_FAIL_SCENES="*")
    marker = _fail_marker(rt, "rt-vm-down")
    message = marker["error"]["message"]
    # cloudrun really ran the job (it is the one that failed, with the job's own error) ...
    assert message.startswith("text source failed for scene rt-vm-down: [cloudrun]") and "test_seed_rejected" in message
    # ... after the vm launch failed transiently.
    assert FELL_BACK in message
    details = marker["error"]["cause"]["details"]
    assert details["fallback_from"] == "vm" and "vm_unreachable" in details["fallback_reason"]
