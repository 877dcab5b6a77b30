"""Stage 1 text scene generation: prompt → a planned, physically placed, gated scene package.

Pipeline (one module each): ``prompt_parser`` (objects and counts the prompt names) →
``template_planner`` / ``llm_planner`` (what is in the room) → ``room`` (the room box, door,
window) → ``placement`` (where everything goes: inside the room, on the floor or a support, no
interpenetration) → ``records`` / ``reports`` / ``package`` (the files of spec §1.6) →
``quality_gate``. ``backends`` wraps the core (``core``) as internal / sage / scenesmith /
hybrid_serial, calling live services through ``remote`` when configured. ``physics`` is the
independent check every layout is judged by. The job is ``bpflow.jobs.text_scene_gen``.
"""

from __future__ import annotations

from bpflow.textgen.backends import BackendConfig, resolve_backend, run_backend
from bpflow.textgen.core import GenerationRequest, LLMOptions, generate_scene
from bpflow.textgen.errors import PlacementFailed, QualityGateFailed, RequestNotFound, TextgenInputError
from bpflow.textgen.physics import LayoutReport, check_layout
from bpflow.textgen.quality_gate import GateThresholds, generate_with_gate

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
