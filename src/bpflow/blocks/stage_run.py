"""One run of a multi-job stage: launch each step's job with the stage's timeout and retry
profile, trust only outputs this very execution wrote, and end a failed step with the standard
failure marker and :class:`StageFailed` (the one failure idiom of such workflows).

A job that cannot start is handled by ``run_job`` itself (rollback, marker, then the error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.blocks.jobs import JobOutcome, StartFailure, run_job
from bpflow.core.engine.durable import step
from bpflow.core.errors import JobStartError, StageFailed
from bpflow.core.policy.timeouts import stage_job_name, stage_retry_profile, stage_timeout

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


class StageRun:
    def __init__(self, run: Run, workflow: str) -> None:
        self.run = run
        self.workflow = workflow
        self.scene_id = run.scene_id or ""

    def env(self, *prefixes: str, **extra: Any) -> dict[str, Any]:
        """``<NAME>_PREFIX`` for each scene folder named, plus the step's own options."""
        return {**{f"{n.upper()}_PREFIX": self.run.scene(n) for n in prefixes}, **extra}

    def launch(
        self, name: str, env: dict[str, Any], *, rollback: str, marker: str, code: str, fatal: bool = True
    ) -> JobOutcome | None:
        """Run the step's job; one that cannot start leaves ``marker`` (``rollback`` emptied)
        and raises, or returns None when the caller tolerates it (``fatal=False``)."""
        failure = StartFailure(
            marker=self.run.scene(marker), code=code, rollback=rollback, stage=name, context={"output_prefix": rollback}
        )
        try:
            return run_job(
                self.run,
                stage_job_name(self.workflow, name),
                timeout_seconds=stage_timeout(self.workflow, name),
                env=env,
                retry=stage_retry_profile(self.workflow, name),
                on_start_failure=failure,
            )
        except JobStartError:
            if fatal:
                raise
            return None

    def job(self, name: str, env: dict[str, Any], marker: str, what: str, code: str) -> JobOutcome:
        """A required step: its job must start and succeed (``<code>_start_failed`` /
        ``<code>_failed`` in ``marker``, whose folder is the step's output prefix)."""
        r = self.launch(
            name, env, rollback=self.run.scene(marker.split("/")[0]), marker=marker, code=f"{code}_start_failed"
        )
        assert r is not None
        if r.failed:
            self.fail(name, marker, f"{code}_failed", f"{what} job FAILED for scene {self.scene_id}", r)
        return r

    def checked(
        self,
        name: str,
        env: dict[str, Any],
        required: bool,
        messages: tuple[str, str],
        rel: str,
        *extra: str,
        ok: Callable[[dict[str, Any]], bool] = bool,
    ) -> tuple[JobOutcome, dict[str, Any] | None]:
        """A step whose failed job or missing outputs (``rel``, fresh and ``ok``, plus ``extra``)
        is fatal when ``required``, else a tolerated failure; ``messages``: job failed, outputs missing.
        The folder of ``rel`` names the prefix, the ``.failed`` marker and the codes."""
        folder = rel.split("/")[0]
        r = self.launch(
            name, env, rollback=self.run.scene(folder), marker=f"{folder}/.failed", code=f"{folder}_start_failed"
        )
        assert r is not None
        doc = None if r.failed else self.fresh(rel, r)
        if r.failed or doc is None or not ok(doc) or self.missing(*extra):
            self.fail(
                name,
                f"{folder}/.failed",
                f"{folder}_failed" if r.failed else f"{folder}_outputs_missing",
                messages[0 if r.failed else 1],
                r,
                tolerated=not required,
            )
            return r, None
        return r, doc

    def fail(
        self,
        name: str,
        marker: str,
        code: str,
        message: str,
        result: JobOutcome | None = None,
        *,
        tolerated: bool = False,
        cause: str | None = None,
    ) -> None:
        """Write the step's failure marker (the job's end in context); raise unless tolerated."""
        context: dict[str, Any] = {"cause": cause} if cause else {}
        if result is not None:
            code = code.replace("_failed", "_timeout") if result.timed_out else code
            ended = result.fields()
            context.update(
                exit_code=ended["exit_code"],
                timed_out=ended["timed_out"],
                timeout_seconds=result.timeout_seconds,
                log=ended["log"],
                job_error=ended["job_error"],
            )
        markers.write_failure(
            self.run,
            self.run.scene(marker),
            job_name=result.job if result else stage_job_name(self.workflow, name),
            code=code,
            message=message,
            error_type="tolerated_failure" if tolerated else "workflow_failure",
            stage=name,
            execution_id=result.execution_id if result else None,
            config_context=context,
        )
        if not tolerated:
            raise StageFailed(message, code=code, details={"step": name, "marker": self.run.scene(marker)})

    def doc(self, rel: str) -> Any:
        """A JSON object of the scene, or None when it is absent or not JSON (a job's garbage
        must end in the stage's failure marker, not in a crashed run)."""

        def _do() -> Any:
            try:
                return self.run.bucket.read_json_or_none(self.run.scene(rel))
            except ValueError:
                return None

        return step(f"read {rel}", _do)

    def fresh(self, rel: str, result: JobOutcome) -> dict[str, Any] | None:
        """The JSON output ``rel`` if this very execution wrote it, else None."""
        doc = self.doc(rel)
        if isinstance(doc, dict) and (doc.get("written_by") or {}).get("execution_id") == result.execution_id:
            return doc
        return None

    def missing(self, *rels: str) -> list[str]:
        return [k for k in rels if not markers.exists(self.run, self.run.scene(k))]
