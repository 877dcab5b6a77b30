"""The source orchestrator's configuration, read once per run and recorded as a durable step.

A workflow replayed after a crash must take the same decisions it took the first time, even if
the worker that replays it was started with different environment variables; so the orchestrator
captures everything it decides on (runtime, fallbacks, job names, budgets) in one snapshot at
the start of the run instead of consulting the settings along the way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpflow.core.config import RETRIEVAL, Settings, env_fields
from bpflow.core.engine.durable import step
from bpflow.core.engine.registry import find_workflow
from bpflow.core.policy import shared_policy
from bpflow.core.policy.timeouts import stage_retry_profile, stage_timeout
from bpflow.core.stages import STAGES

if TYPE_CHECKING:
    from bpflow.core.engine.registry import Run

WORKFLOW = STAGES["source-orchestrator"].workflow

#: Stage workflows the orchestrator may start, with the budget of each when its own workflow
#: declares no timeout (the sum of its jobs' timeouts in timeouts.yaml).
DOWNSTREAM_WORKFLOWS = tuple(
    STAGES[s].workflow
    for s in ("usd-assembly", "variation-assets", "genie-sim-export", "genie-sim-import", "arena-export")
)

#: Our own setting (not the seed's): which image reconstructor the image path uses.
RECONSTRUCTOR_ENV = "BPFLOW_IMAGE_RECONSTRUCTOR"


def env_value(value: Any) -> str | None:
    """A setting as a job sees it: every env value is a string, booleans in the reference's
    lower-case spelling, lists comma-joined."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def retrieval_env(settings: Settings) -> dict[str, str]:
    """Every non-secret retrieval setting (TEXT_ASSET_*, VECTOR_STORE_*, VERTEX_*, TEXT_SAM3D_*,
    TEXT_HUNYUAN_*), passed to the adapter job as the reference workflow does. Keys stay out:
    a job inherits them from its runner, they never enter a run's recorded inputs."""
    out: dict[str, str] = {}
    for f in env_fields():
        if f.group != RETRIEVAL or f.secret:
            continue
        value = env_value(getattr(settings, f.attr))
        if value is not None:
            out[f.env] = value
    return out


def workflow_budget_seconds(workflow: str) -> float:
    """How long the orchestrator waits for one stage: the stage's own workflow timeout, else the
    sum of its jobs' timeouts, else the policy default. Never unbounded."""
    wf = find_workflow(workflow)
    if wf is not None and wf.timeout_seconds:
        return float(wf.timeout_seconds)
    policy = shared_policy("timeouts")
    spec = policy.get("workflows", {}).get(workflow)
    if isinstance(spec, dict) and spec.get("jobs"):
        return float(sum(stage_timeout(workflow, job) for job in spec["jobs"]))
    return float(policy["default_timeout_seconds"])


@dataclass(frozen=True)
class SourceOptions:
    """Plain data (it is a step's output): the settings of §2.2 the orchestrator acts on."""

    bucket_name: str
    default_source_mode: str
    text_backend_default: str
    text_backend_allowlist: list[str]
    text_gen_max_seeds: int
    enable_image_fallback: bool
    arena_export_required: bool
    image_path_mode: str
    image_orchestrator_workflow: str
    image_legacy_workflow: str
    image_legacy_chain_wait_seconds: float
    text_gen_runtime: str
    gen_job: str
    adapter_job: str
    gen_timeout_seconds: float
    adapter_timeout_seconds: float
    job_retry_profile: str
    gen_env: dict[str, str]
    adapter_env: dict[str, str]
    vm: dict[str, str]
    runpod_key_set: bool
    runpod_timeout_seconds: float
    stage_budgets: dict[str, float]
    reconstructor: str | None
    per_seed_budget_seconds: float
    image_budget_seconds: float

    def lock_ttl_seconds(self, seed_count: int | None = None) -> float:
        """How long a lock of this run may live: the longest the run can take, for ``seed_count``
        seeds (default the most a request may ask for). A crash never locks a scene for longer."""
        seeds = self.text_gen_max_seeds if seed_count is None else max(1, seed_count)
        return seeds * self.per_seed_budget_seconds + self.image_budget_seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceOptions:
        return cls(**data)


def gen_job_env(settings: Settings) -> dict[str, str]:
    """The text-scene-gen job's options (§2.3.E); per-child values are added by the caller."""
    values: dict[str, Any] = {
        "DEFAULT_SOURCE_MODE": "text",
        "TEXT_GEN_MAX_SEEDS": settings.text_gen_max_seeds,
        "TEXT_GEN_STANDARD_PROFILE": settings.text_gen_standard_profile,
        "TEXT_GEN_PREMIUM_PROFILE": settings.text_gen_premium_profile,
        "TEXT_GEN_USE_LLM": settings.text_gen_use_llm,
        "TEXT_GEN_LLM_MAX_ATTEMPTS": settings.text_gen_llm_max_attempts,
        "TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS": settings.text_gen_llm_retry_backoff_seconds,
        "TEXT_BACKEND_DEFAULT": settings.text_backend_default,
        "TEXT_BACKEND_ALLOWLIST": settings.text_backend_allowlist,
        "SAGE_RUNTIME_MODE": settings.sage_runtime_mode,
        "SAGE_SERVER_URL": settings.sage_server_url,
        "SAGE_TIMEOUT_SECONDS": settings.sage_timeout_seconds,
        "SCENESMITH_RUNTIME_MODE": settings.scenesmith_runtime_mode,
        "SCENESMITH_SERVER_URL": settings.scenesmith_server_url,
        "SCENESMITH_TIMEOUT_SECONDS": settings.scenesmith_timeout_seconds,
        "TEXT_SAGE_ACTION_DEMO_ENABLED": settings.text_sage_action_demo_enabled,
    }
    return {k: v for k, v in ((k, env_value(v)) for k, v in values.items()) if v is not None}


def load_options(settings: Settings, env: dict[str, str], bucket_name: str) -> SourceOptions:
    """Build the snapshot; called inside a step by the workflow."""
    gen_job, adapter_job = settings.text_scene_gen_job_name, settings.text_scene_adapter_job_name
    # Timeouts are keyed by the seed's job names; a renamed job keeps the policy's numbers.
    gen_timeout = stage_timeout(WORKFLOW, "text-scene-gen-job")
    adapter_timeout = stage_timeout(WORKFLOW, "text-scene-adapter-job")
    budgets = {wf: workflow_budget_seconds(wf) for wf in DOWNSTREAM_WORKFLOWS}
    downstream = sum(budgets[wf] for wf in DOWNSTREAM_WORKFLOWS)
    # The image orchestrator runs Stages 2-5 itself, so waiting on it takes their budget too.
    budgets[settings.image_orchestrator_workflow_name] = (
        workflow_budget_seconds(settings.image_orchestrator_workflow_name) + downstream
    )
    budgets[settings.image_legacy_workflow_name] = workflow_budget_seconds(settings.image_legacy_workflow_name)
    per_seed = gen_timeout + adapter_timeout + downstream
    image_budget = max(budgets[settings.image_orchestrator_workflow_name], budgets[settings.image_legacy_workflow_name])
    image_budget += float(settings.image_legacy_chain_wait_seconds)
    reconstructor = (env.get(RECONSTRUCTOR_ENV) or "").strip() or None
    return SourceOptions(
        bucket_name=bucket_name,
        default_source_mode=settings.default_source_mode,
        text_backend_default=settings.text_backend_default,
        text_backend_allowlist=list(settings.text_backend_allowlist),
        text_gen_max_seeds=settings.text_gen_max_seeds,
        enable_image_fallback=settings.text_gen_enable_image_fallback,
        arena_export_required=settings.arena_export_required,
        image_path_mode=settings.image_path_mode,
        image_orchestrator_workflow=settings.image_orchestrator_workflow_name,
        image_legacy_workflow=settings.image_legacy_workflow_name,
        image_legacy_chain_wait_seconds=float(settings.image_legacy_chain_wait_seconds),
        text_gen_runtime=settings.text_gen_runtime,
        gen_job=gen_job,
        adapter_job=adapter_job,
        gen_timeout_seconds=float(gen_timeout),
        adapter_timeout_seconds=float(adapter_timeout),
        job_retry_profile=stage_retry_profile(WORKFLOW, "text-scene-gen-job"),
        gen_env=gen_job_env(settings),
        adapter_env=retrieval_env(settings),
        vm={
            "TEXT_GEN_VM_NAME": settings.text_gen_vm_name,
            "TEXT_GEN_VM_ZONE": settings.text_gen_vm_zone,
            "TEXT_GEN_VM_REPO_DIR": settings.text_gen_vm_repo_dir,
            "TEXT_GEN_VM_TIMEOUT_SECONDS": str(settings.text_gen_vm_timeout_seconds),
        },
        runpod_key_set=bool(settings.runpod_api_key and settings.runpod_api_key.get_secret_value()),
        runpod_timeout_seconds=float(settings.runpod_text_stage_timeout_seconds),
        stage_budgets=budgets,
        reconstructor=reconstructor,
        per_seed_budget_seconds=per_seed,
        image_budget_seconds=image_budget,
    )


def options_step(run: Run) -> SourceOptions:
    """The snapshot, taken once per run as a durable step (a replay reads the recorded one)."""

    def _load() -> dict[str, Any]:
        return load_options(run.settings, dict(run.context.env), run.bucket_name).to_dict()

    return SourceOptions.from_dict(step("source options", _load))
