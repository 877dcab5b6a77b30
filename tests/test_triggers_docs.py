"""docs/architecture.md's workflow table is true: one row per trigger-map row, naming what starts
it, the module that implements it, its stage and the jobs it runs, so a newcomer goes from a
trigger (or a job) to its file in one look, and a moved or renamed module fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bpflow.core.engine.registry import find_workflow, import_workflow_modules
from bpflow.core.errors import JobStartError
from bpflow.core.policy.timeouts import workflow_jobs
from bpflow.core.stages import STAGES
from bpflow.core.triggers import Trigger, TriggerMap
from bpflow.jobs import job_module

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"


def started_by(row: Trigger) -> str:
    """What starts a row, as ``bpflow triggers`` says it (patterns, cron and zone, event type)."""
    if row.patterns:
        return ", ".join(f"`{p}`" for p in row.patterns)
    if row.schedule:
        return f"cron `{row.schedule}` ({row.timezone})"
    return f"event `{row.event_type}`" if row.event_type else "by hand"


def _doc_rows() -> dict[str, list[str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- workflow table -->", 2)[1]
    rows: dict[str, list[str]] = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def _job_file(job: str) -> Path:
    return ROOT / "src" / Path(*job_module(job).split(".")).with_suffix(".py")


@pytest.fixture(scope="module")
def doc_rows() -> dict[str, list[str]]:
    import_workflow_modules()
    return _doc_rows()


def test_one_row_per_workflow_in_map_order(doc_rows: dict[str, list[str]]) -> None:
    assert list(doc_rows) == TriggerMap.load().names()


@pytest.mark.parametrize("row", TriggerMap.load(), ids=lambda r: r.workflow)
def test_the_row_names_the_real_trigger_module_stage_and_jobs(row: Trigger, doc_rows: dict[str, list[str]]) -> None:
    trigger, module, stage, jobs = doc_rows[row.workflow]
    assert trigger == started_by(row)
    wf = find_workflow(row.workflow)
    assert wf is not None, f"{row.workflow}: no implementation registered"
    assert module == f"`{wf.body.__module__.removeprefix('bpflow.workflows.')}.py`"
    assert stage == ", ".join(f"`{s.name}`" for s in STAGES.values() if s.workflow == row.workflow)
    listed = re.findall(r"`([a-z0-9-]+-job)`", jobs)
    for job in listed:
        assert _job_file(job).is_file(), f"{row.workflow}: {job} has no module"
    runnable = []
    for job in workflow_jobs(row.workflow):
        try:
            job_module(job)
        except JobStartError:
            continue  # a budget step of the timeouts table, not a job (image-to-scene)
        runnable.append(job)
    assert set(runnable) <= set(listed), f"{row.workflow}: jobs of core/policy/timeouts.yaml missing from the doc"


def test_every_job_follows_the_file_rule() -> None:
    """The doc says a job ``x-y-job`` is ``jobs/x_y.py``: true of every job a workflow runs."""
    for row in TriggerMap.load():
        for job in workflow_jobs(row.workflow):
            try:
                path = _job_file(job)
            except JobStartError:
                continue
            assert path.name == job.removesuffix("-job").replace("-", "_") + ".py", job


def quoted_modules(text: str) -> list[tuple[str, str]]:
    """(file, code) of each ```python block, the file being the last ``src/bpflow/...py`` named
    in the paragraph before it."""
    parts = text.split("```python\n")
    out = []
    for before, part in zip(parts, parts[1:]):
        named = re.findall(r"`(src/bpflow/[\w/]+\.py)`", before.rstrip().rsplit("\n\n", 1)[-1])
        out.append((named[-1] if named else "", part.split("```", 1)[0]))
    return out


def test_developing_md_quotes_real_modules() -> None:
    """docs/developing.md's examples are real modules, quoted as written: each ```python block is
    a piece of the file its paragraph names, verbatim."""
    quotes = quoted_modules((ROOT / "docs" / "developing.md").read_text(encoding="utf-8"))
    assert len(quotes) >= 2, "the workflow and the job example"
    for path, block in quotes:
        assert path, f"a python block names no module: {block[:60]!r}"
        assert block in (ROOT / path).read_text(encoding="utf-8"), (
            f"docs/developing.md: the quote of {path} is not what the file says"
        )
    # the check itself: a changed line is caught
    path, block = quotes[0]
    assert block.replace("\n", "\n ", 1) not in (ROOT / path).read_text(encoding="utf-8")
