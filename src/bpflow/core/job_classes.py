"""Which kind of machine a job needs: its resource class, one table for every job.

A worker takes the classes it is given (``BPFLOW_WORKER_CLASSES``, default all), so a machine
with a GPU or much memory runs the heavy jobs and small machines the rest. A stage run needs
the class of the heaviest job it runs (its jobs are those of its workflow in
``policy/timeouts.yaml``); the queue it is enqueued on follows (``engine.queues``).

* ``cpu``: everything light: parsing, planning, USD assembly, checks, bookkeeping (the default);
* ``sim``: physics simulation and rendering of robot episodes (MuJoCo, many cores, memory);
* ``train``: policy training (long, all cores, much memory);
* ``gpu``: the jobs a real deployment runs on a GPU (Genie Sim's runtime).
"""

from __future__ import annotations

from collections.abc import Iterable

from bpflow.core.errors import ConfigError

CPU, SIM, TRAIN, GPU = "cpu", "sim", "train", "gpu"
#: Lightest first: a stage run with jobs of several classes needs the heaviest.
CLASSES: tuple[str, ...] = (CPU, SIM, TRAIN, GPU)

JOB_CLASS: dict[str, str] = {
    "episode-generation-job": SIM,
    "genie-sim-export-job": SIM,  # settles the scene with the robot in MuJoCo to find its tasks
    "policy-evaluation-job": SIM,  # closed-loop rollouts of the trained policy
    "training-job": TRAIN,
    "genie-sim-gpu-job": GPU,
}

#: Workflows whose class is not that of jobs in the timeouts table (plug-ins, tests).
WORKFLOW_CLASS: dict[str, str] = {}


def check_class(name: str, field: str = "class") -> str:
    if name not in CLASSES:
        raise ConfigError(f"unknown job class {name!r} (known: {', '.join(CLASSES)})", field=field)
    return name


def declare_job_class(job: str, job_class: str) -> None:
    JOB_CLASS[job] = check_class(job_class)


def declare_workflow_class(workflow: str, job_class: str) -> None:
    WORKFLOW_CLASS[workflow] = check_class(job_class)


def job_class(job: str) -> str:
    return JOB_CLASS.get(job, CPU)


def heaviest(classes: Iterable[str]) -> str:
    return max(classes, key=CLASSES.index, default=CPU)


def workflow_class(workflow: str) -> str:
    """The class of the heaviest job ``workflow`` runs (``cpu`` when it runs none we know)."""
    if workflow in WORKFLOW_CLASS:
        return WORKFLOW_CLASS[workflow]
    from bpflow.core.policy.timeouts import workflow_jobs

    return heaviest(job_class(job) for job in workflow_jobs(workflow))


def parse_classes(raw: str, field: str = "BPFLOW_WORKER_CLASSES") -> tuple[str, ...]:
    """``"sim, gpu"`` → ``("sim", "gpu")``; empty or unknown names are a configuration error."""
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"{field} names no job class (known: {', '.join(CLASSES)})", field=field)
    return tuple(check_class(n, field) for n in dict.fromkeys(names))
