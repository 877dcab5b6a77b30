"""Schemathesis against a live ``bpflow up`` (real process, real port): whatever the fuzzer sends
to the operations ``/openapi.json`` publishes, positive and negative, no answer is a 5xx.

Bounded: about 200 generated requests in all (a few per operation and mode), so the run takes
well under a minute on 2 cores. With the token set, so requests reach the handlers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.ui.conftest import LiveServer, start_server, stop_server

TOKEN = "fuzz-token-0123456789abcdef"
TOTAL_EXAMPLES = 200


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path, BPFLOW_API_TOKEN=TOKEN, BPFLOW_API_DOCS="true")
    try:
        yield server
    finally:
        stop_server(server)


def _call(case: Any, base_url: str, auth: dict[str, str]) -> Any:
    """The answer to ``case``: a request that times out on a loaded machine is sent again (a
    slow answer is not what this test looks for, and an exception would make hypothesis call
    the same input flaky)."""
    for attempt in range(3):
        try:
            return case.call(base_url=base_url, headers=auth, timeout=60)
        except requests.exceptions.Timeout:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def test_no_operation_answers_5xx_to_generated_requests(live: LiveServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json", headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    per_run = max(4, 2 * TOTAL_EXAMPLES // (len(operations) * len(modes)))  # many runs end early: few distinct inputs
    failures: list[str] = []
    sent = 0

    for operation in operations:
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=per_run,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def probe(case: Any) -> None:
                nonlocal sent
                response = _call(case, live.url, auth)
                sent += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                    )

            try:
                probe()
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"schemathesis: {sent} requests to {len(operations)} operations")
    assert 100 <= sent <= 2 * TOTAL_EXAMPLES, sent
    assert not failures, "\n".join(failures[:20])
    assert live.get("/healthz").status_code == 200
