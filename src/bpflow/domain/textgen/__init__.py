"""Stage 1 text scene generation: prompt → a planned, physically placed, gated scene package.

Pipeline (one module each): ``prompt_parser`` (objects and counts the prompt names) →
``template_planner`` / ``llm_planner`` (what is in the room) → ``room`` (the room box, door,
window) → ``packing`` (where everything goes: inside the room, on the floor or a support, no
interpenetration) → ``records`` / ``reports`` / ``package`` (the files of spec §1.6) →
``quality_gate``. ``backends`` wraps the core (``generate``) as internal / sage / scenesmith /
hybrid_serial, calling live services through ``remote`` when configured. ``layout_check`` is the
independent check every layout is judged by. The job is ``bpflow.jobs.text_scene_gen``.
"""

from __future__ import annotations

from bpflow.domain.textgen.backends import BackendConfig, resolve_backend, run_backend
from bpflow.domain.textgen.errors import PlacementFailed, QualityGateFailed, RequestNotFound, TextgenInputError
from bpflow.domain.textgen.generate import GenerationRequest, LLMOptions, generate_scene
from bpflow.domain.textgen.layout_check import LayoutReport, check_layout
from bpflow.domain.textgen.quality_gate import GateThresholds, generate_with_gate

__all__ = [
    "BackendConfig",
    "GateThresholds",
    "GenerationRequest",
    "LLMOptions",
    "LayoutReport",
    "PlacementFailed",
    "QualityGateFailed",
    "RequestNotFound",
    "TextgenInputError",
    "check_layout",
    "generate_scene",
    "generate_with_gate",
    "resolve_backend",
    "run_backend",
]
