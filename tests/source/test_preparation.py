"""dream2flow- and dwm-preparation-pipeline: off → SKIPPED with no I/O; on → bundles rendered in
the simulation core from the assembled scene (decoded: 49 frames of 720x480 at 24 fps), then
inference against a configured endpoint, or a FAILED result with the markers when there is none."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from dbos import DBOS

from tests.conftest import wait_until
from tests.source.conftest import finished, read_json, result_of
from tests.stage2.helpers import trigger
from tests.textgen.openai_local_server import Reply, running

WORKFLOWS = ("dream2flow-preparation-pipeline", "dwm-preparation-pipeline")


def test_disabled_is_skipped_before_any_io(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime(ENABLE_DWM="1", ENABLE_DREAM2FLOW="yes")  # only exactly "true" turns them on
    b = rt.bucket
    b.write_json("scenes/off/assets/.regen3d_complete", {"scene_id": "off", "status": "completed", "objects_count": 1})
    before = sorted(i.key for i in b.list(""))
    for wf, title, flag in zip(WORKFLOWS, ("Dream2Flow", "DWM"), ("ENABLE_DREAM2FLOW", "ENABLE_DWM"), strict=True):
        run_id = rt.dispatcher.start_manual(
            wf, {"data": {"bucket": b.url, "name": "scenes/off/assets/.regen3d_complete"}}
        ).run_ids[0]
        out = result_of(run_id)
        assert out["status"] == "SKIPPED" and out["message"] == f"{title} disabled for scene off", out
        # not even a lock step: only the recorded enable flag (a replay takes the same branch)
        assert [s["function_name"] for s in DBOS.list_workflow_steps(run_id)] == [f"read {flag}"]
        other = rt.dispatcher.start_manual(
            wf, {"data": {"bucket": b.url, "name": "scenes/off/usd/.usd_complete"}}
        ).run_ids[0]
        assert result_of(other)["message"] == "Not a completion marker file: scenes/off/usd/.usd_complete"
    after = sorted(i.key for i in b.list(""))
    assert not [k for k in after if k not in before and ("dream2flow" in k or "dwm" in k or "-prep" in k)]
    wait_until(
        lambda: not DBOS.list_workflows(status=["PENDING", "ENQUEUED"]), timeout=300
    )  # usd-assembly, started by the marker


def _video(data: bytes) -> tuple[int, int, int, float]:
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
        return len(frames), frames[0].width, frames[0].height, float(stream.average_rate)


def test_enabled_bundles_are_rendered_and_inference_is_judged(make_runtime: Callable[..., Any]) -> None:
    with running() as model:
        model.script("/dwm/infer", Reply(200, {"status": "ok", "interaction_frames": 49}))
        rt = make_runtime(
            ENABLE_EXPERIMENTAL="true",
            DREAM2FLOW_NUM_TASKS="1",
            DWM_NUM_TRAJECTORIES="1",
            DWM_API_ENDPOINT=model.base_url + "/dwm/infer",
        )
        b, scene = rt.bucket, "prep-kitchen"
        trigger(b, scene)
        rows = wait_until(
            lambda: (
                [r for wf in WORKFLOWS for r in finished(wf, scene)()]
                if all(finished(wf, scene)() for wf in WORKFLOWS)
                else []
            ),
            timeout=600,
        )
        outs = {r.name: result_of(r.workflow_id) for r in rows}
        base = f"scenes/{scene}/"
        # DWM: bundles, then inference through the endpoint
        dwm = outs["dwm-preparation-pipeline"]
        assert dwm["status"] == "SUCCESS", dwm
        index = read_json(rt, base + "dwm/dwm_bundles_manifest.json")
        assert index["num_bundles"] == 1 and index["resolution"] == {"width": 720, "height": 480}
        bundle = read_json(rt, index["bundles"][0]["manifest"])
        assert (
            bundle["status"] == "inferred"
            and len(bundle["hand"]["wrist_trajectory"]) == 49
            and len(bundle["camera_trajectory"]) == 49
        )
        assert _video(b.read(index["bundles"][0]["video"])) == (49, 720, 480, 24.0)
        assert read_json(rt, base + "dwm/.dwm_inference_complete")["status"] == "completed"
        assert model.received("/dwm/infer")[0]["body"]["bundle"]["bundle_id"] == "bundle_000"
        # Dream2Flow: the robot's motion is rendered; no video model configured → FAILED, markers, prep kept
        d2f = outs["dream2flow-preparation-pipeline"]
        assert d2f["status"] == "FAILED" and d2f.get("stage") == "inference", (
            json.dumps({k: d2f[k] for k in ("message", "markers")})
            + json.dumps(b.read_json_or_none(base + "dream2flow/.failed"))[:1500]
        )
        index = read_json(rt, base + "dream2flow/dream2flow_bundles_manifest.json")
        bundle = read_json(rt, index["bundles"][0]["manifest"])
        assert len(bundle["robot"]["joint_trajectory"]) == 49 and len(bundle["robot"]["joint_trajectory"][0]) == 7
        assert bundle["robot"]["joint_trajectory"][0] != bundle["robot"]["joint_trajectory"][-1]
        assert _video(b.read(index["bundles"][0]["video"])) == (49, 720, 480, 24.0)
        failed = read_json(rt, base + "dream2flow/.failed")
        assert failed["error"]["code"] == "dream2flow_inference_failed"
        assert failed["context"]["config_context"]["job_error"]["code"] == "dream2flow_model_unavailable"
        assert read_json(rt, base + "dream2flow/.dream2flow_inference_failed")["status"] == "failed"
        assert b.exists(base + "dream2flow/.dream2flow_complete") and not b.exists(
            base + "dream2flow/.dream2flow_inference_complete"
        )
        assert not list(b.list(base + "locks/"))
        # A later event does not redo the preparation
        again = rt.dispatcher.start_manual(
            "dream2flow-preparation-pipeline", {"data": {"bucket": b.url, "name": base + "assets/.regen3d_complete"}}
        ).run_ids[0]
        assert "already prepared" in result_of(again)["message"]
        json.dumps(outs)
        wait_until(lambda: not DBOS.list_workflows(status=["PENDING", "ENQUEUED"]), timeout=300)
