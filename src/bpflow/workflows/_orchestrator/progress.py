"""What one source-orchestrator run has done so far, and how it ends.

Every handled end writes ``source_orchestrator_status.json`` (per child, per stage), plus exactly
one of: ``.source_orchestrator_failed`` (a failure), ``.source_orchestrator_complete`` (every
stage ran and passed), or nothing more (``incomplete``: the stages this build implements passed
but some stages were not run, so completion is not claimed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpflow.blocks import markers
from bpflow.core.engine.registry import Outcome
from bpflow.workflows._orchestrator.downstream import NOT_IMPLEMENTED
from bpflow.workflows._orchestrator.intake import Intake
from bpflow.workflows._orchestrator.markers import (
    COMPLETE,
    FAILED,
    INCOMPLETE,
    STATUS,
    failure_body,
    status_body,
    write_body,
)

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run


@dataclass
class RunRecord:
    run: Run
    intake: Intake
    lock_key: str
    children: list[dict[str, Any]] = field(default_factory=list)
    cloudrun_fallback_count: int = 0
    fallback_used: bool = False
    image: dict[str, Any] | None = None

    @property
    def scene_id(self) -> str:
        return self.run.scene_id or ""

    @property
    def seed_count(self) -> int:
        return int((self.intake.request or {}).get("seed_count") or 1)

    @property
    def completed_variants(self) -> int:
        return len(self.children)

    @property
    def stages_not_run(self) -> list[dict[str, Any]]:
        rows = [row for child in self.children for row in child.get("not_run", [])]
        return rows + list((self.image or {}).get("stages_not_run", []))

    def child_done(self, child: dict[str, Any]) -> None:
        self.children.append(child)
        if child["stage1"].get("fallback_to_cloudrun"):
            self.cloudrun_fallback_count += 1

    def _status(self, status: str, source_type: str | None, error: dict[str, Any] | None = None) -> None:
        body = status_body(
            scene_id=self.scene_id,
            run_id=self.run.run_id,
            input_object=self.run.object_name,
            input_generation=self.run.generation,
            status=status,
            source_type=source_type,
            seed_count=self.seed_count,
            completed_variants=self.completed_variants,
            fallback_used=self.fallback_used,
            cloudrun_fallback_count=self.cloudrun_fallback_count,
            children=self.children,
            image=self.image,
            stages_not_run=self.stages_not_run,
            error=error,
        )
        write_body(self.run, self.run.scene(STATUS), body)

    def summary(self, source_type: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source_type": source_type,
            "scene_id": self.scene_id,
            "seed_count": self.seed_count,
            "completed_variants": self.completed_variants,
            "fallback_used": self.fallback_used,
            "cloudrun_fallback_count": self.cloudrun_fallback_count,
            "stages_not_run": self.stages_not_run,
        }
        if self.image is not None:
            out.update(image_path_mode=self.image.get("mode"), image_workflow=self.image.get("workflow_name"))
        return out

    def fail(
        self, *, code: str, stage: str, message: str, field: str | None = None, cause: dict[str, Any] | None = None
    ) -> Outcome:
        """§2.3.G: the failure marker (no traceback, ever), then the status record."""
        body = failure_body(
            scene_id=self.scene_id,
            input_object=self.run.object_name,
            input_generation=self.run.generation,
            source_mode=self.intake.source_mode,
            text_backend=self.intake.text_backend,
            stage=stage,
            code=code,
            message=message,
            field=field,
            run_id=self.run.run_id,
            completed_variants=self.completed_variants,
            fallback_used=self.fallback_used,
            lock_object=self.lock_key,
            lock_acquired=True,
            cause=cause,
        )
        write_body(self.run, self.run.scene(FAILED), body)
        self._status("failed", None, error=body["error"])
        return Outcome.failed(
            f"[{stage}] {message}", markers=[self.run.scene(FAILED)], error_code=code, field=field, **self.summary(None)
        )

    def finish(self, source_type: str) -> Outcome:
        """Completion only when nothing was left unrun; otherwise an honest INCOMPLETE."""
        not_run = self.stages_not_run
        if not_run:
            self._status("incomplete", source_type)
            missing = ", ".join(sorted({row["workflow"] for row in not_run if row["state"] == NOT_IMPLEMENTED}))
            message = f"scene {self.scene_id}: every stage that ran succeeded; stopped before {missing} (not in this build); no completion marker"
            return Outcome(
                INCOMPLETE, message, [], {"status_object": self.run.scene(STATUS), **self.summary(source_type)}
            )
        markers.write_marker(self.run, self.run.scene(COMPLETE), source_type=source_type)
        self._status("completed", source_type)
        return Outcome.success(
            f"source {source_type} completed for scene {self.scene_id}",
            markers=[self.run.scene(COMPLETE)],
            **self.summary(source_type),
        )
