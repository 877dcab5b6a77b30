"""The LLM path on the real runtime: a request dropped into the bucket starts the
source-orchestrator, which runs text-scene-gen-job as a subprocess through the job runner; the job
plans through the local OpenAI-compatible server, and ``textgen/.textgen_complete`` appears."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bpflow.domain.scene.obb import Footprint, UprightBox, upright_penetration
from tests.conftest import wait_until
from tests.source.conftest import REQUEST, request_body, stage1_only, wait_for_run  # noqa: F401 - fixture
from tests.textgen.openai_local_server import GOOD_KITCHEN, ChatServer, plan_reply, rate_limited

KEY = "sk-runtime-test-key-5a4b3c2d1e"


def layout_interpenetrations(layout: dict[str, Any]) -> list[tuple[str, str]]:
    """Pairs of the adapter's layout OBBs (yaw-only R) that overlap by more than 0.2 mm."""
    boxes = {}
    for o in layout["objects"]:
        (cx, cy, cz), (hx, hy, hz), r = o["obb"]["center"], o["obb"]["extents"], o["obb"]["R"]
        fp = Footprint(cx, cz, hx, hz, math.atan2(r[0][2], r[0][0]))
        boxes[o["id"]] = UprightBox(fp, cy - hy, cy + hy)
    ids = sorted(boxes)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if upright_penetration(boxes[a], boxes[b]) > 2e-4]


def test_request_in_bucket_runs_llm_planning_on_the_runtime(
    make_runtime: Any,
    stage1_only: None,  # noqa: F811 - the fixture imported above
    llm_server: ChatServer,
) -> None:
    llm_server.script_chat(rate_limited("0"), plan_reply(GOOD_KITCHEN))
    rt = make_runtime(
        TEXT_GEN_USE_LLM="true",
        TEXT_BACKEND_DEFAULT="internal",
        TEXT_ASSET_RETRIEVAL_MODE="lexical_primary",
        TEXT_ASSET_GENERATION_ENABLED="false",
        TEXT_ASSET_REPLICATION_ENABLED="false",
        TEXT_OPENROUTER_API_KEY=KEY,
        TEXT_OPENROUTER_BASE_URL=llm_server.openai_base_url,
        TEXT_OPENROUTER_MODEL_CHAIN="llm_server/planner",
        TEXT_OPENROUTER_INCLUDE_LEGACY_FALLBACK="false",
        TEXT_GEN_LLM_RETRY_BACKOFF_SECONDS="0",
    )
    scene = "rt_llm_kitchen"
    rt.bucket.write_json(REQUEST.format(scene), request_body(scene))
    marker_key = f"scenes/{scene}/textgen/.textgen_complete"
    wait_until(lambda: rt.bucket.exists(marker_key), timeout=120)
    marker = json.loads(rt.bucket.read(marker_key))
    assert (marker["generation_mode"], marker["llm_attempts"], marker["provider_used"]) == (
        "llm",
        2,
        "openrouter:llm_server/planner",
    )
    package = json.loads(rt.bucket.read(f"scenes/{scene}/textgen/package.json"))
    assert package["quality_gate_report"]["metrics"]["interpenetrating_pairs"] == 0
    wait_for_run("source-orchestrator", scene)
    layout = json.loads(rt.bucket.read(f"scenes/{scene}/layout/scene_layout_scaled.json"))
    assert layout_interpenetrations(layout) == []
    for info in rt.bucket.list(""):
        assert KEY.encode() not in rt.bucket.read(info.key), info.key
    logs = list((Path(rt.settings.bpflow_home) / "logs").rglob("*.log"))
    assert logs
    for log in logs:
        assert KEY.encode() not in log.read_bytes(), log
