"""Scene generation: invent N new scenes on demand (spec §6), as scene requests.

The reference job rendered source images nobody listened for (§8.14: "downstream is triggered
automatically" did not hold). Here each generated scene is a scene request, drawn from the
same diverse prompt generator as the daily loop; the workflow publishes it to the scene's
trigger path, so the source orchestrator really runs it.
"""

from __future__ import annotations

from typing import Any

from bpflow.domain.automation.prompts import choose_prompt

PREFIX = "scene-generation"
FAILED_MARKER = f"{PREFIX}/.failed"
COMPLETE_MARKER = ".scene_generation_complete"


def run_dir(execution: str) -> str:
    return f"{PREFIX}/runs/{execution}"


def generate(run_key: str, count: int, *, stamp: str, text_backend: str, quality_tier: str) -> list[dict[str, Any]]:
    """``count`` distinct valid requests; ids ``<archetype>_<stamp>_<hash8>`` (the reference's shape)."""
    recent: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for slot in range(1, count + 1):
        cand = choose_prompt(run_key, slot, "scene-generation", recent)
        recent.append({"prompt": cand.prompt, "prompt_hash": cand.prompt_hash, "dimensions": cand.dimensions})
        archetype = cand.dimensions.get("archetype") or "generic_room"
        scene_id = f"{archetype}_{stamp}_{cand.prompt_hash[:8]}"
        out.append(
            {
                "schema_version": "v1",
                "scene_id": scene_id,
                "source_mode": "text",
                "text_backend": text_backend,
                "prompt": cand.prompt,
                "quality_tier": quality_tier,
                "seed_count": 1,
                "constraints": {
                    "room_type": archetype,
                    "generation": {
                        "source": "scene-generation-job",
                        "slot_index": slot,
                        "prompt_hash": cand.prompt_hash,
                        "dimensions": cand.dimensions,
                    },
                },
            }
        )
    return out
