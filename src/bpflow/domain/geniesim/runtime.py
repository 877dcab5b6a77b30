"""The Genie Sim runtime behind ``genie-sim-gpu-job``: where a bundle's tasks become episodes.

``local`` (default) runs the bundle's tasks in bpflow's MuJoCo core on this machine (the same
simulation, recorder and LeRobot writer as episode generation), so the whole Genie Sim path
can run for real without a GPU cluster. ``remote`` stands for the seed's GKE / Isaac Sim job:
it is a runner that refuses to start until it is configured, so choosing it by mistake ends in
a clear start failure instead of a silent local run.
"""

from __future__ import annotations

import os

from bpflow.core.errors import JobStartError
from bpflow.core.runners import RUNNERS, register_runner
from bpflow.core.runners.base import JobResult, JobSpec

LOCAL, REMOTE = "local", "remote"
REMOTE_RUNNER = "geniesim-remote"
REMOTE_ENDPOINT_ENV = "GENIESIM_REMOTE_ENDPOINT"


class RemoteGenieSimRunner:
    """The GKE/Isaac Sim submission. No cluster client ships with bpflow: until one is plugged in
    (``register_runner("geniesim-remote", ...)``), every start fails, non-retryably, saying so."""

    name = REMOTE_RUNNER

    def run(self, spec: JobSpec) -> JobResult:
        endpoint = os.environ.get(REMOTE_ENDPOINT_ENV)
        why = (
            f"{REMOTE_ENDPOINT_ENV} is not set"
            if not endpoint
            else f"no remote Genie Sim client is installed for {endpoint}"
        )
        raise JobStartError(
            f"GENIESIM_RUNTIME=remote: the remote Genie Sim runtime is not configured ({why}); use GENIESIM_RUNTIME=local",
            code="geniesim_remote_not_configured",
            retryable=False,
            details={"job": spec.name},
        )


def ensure_registered() -> None:
    if REMOTE_RUNNER not in RUNNERS:
        register_runner(REMOTE_RUNNER, RemoteGenieSimRunner)
