"""Tier-dependent analytics of a scene's LeRobot dataset (read with pyarrow and PyAV).

* ``pro``: per-task success rate and episode duration statistics, failure reasons, the
  action and state distributions per joint, the end-effector's reach over the work surface;
* ``enterprise`` (and any higher tier): plus camera coverage — per camera, frames decoded,
  resolution, brightness and how much of the picture changes over an episode (a camera that
  sees nothing move covers nothing).

Each section is JSON; the charts are SVG files named in ``charts``."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean, pstdev
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from bpflow.core.errors import ValidationFailed
from bpflow.domain.upsell import charts

TIERS_WITH_CAMERAS = ("enterprise", "foundation")


class DatasetUnreadable(ValidationFailed):
    code = "upsell_dataset_unreadable"


def _stats(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"count": 0, "mean": None, "std": None, "min": None, "max": None}
    return {
        "count": len(xs),
        "mean": round(mean(xs), 4),
        "std": round(pstdev(xs), 4),
        "min": round(min(xs), 4),
        "max": round(max(xs), 4),
    }


def _read(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    try:
        info = json.loads((root / "meta" / "info.json").read_text())
        episodes = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
        data = pq.read_table(root / "data" / "chunk-000" / "file-000.parquet")
    except (OSError, ValueError) as exc:
        raise DatasetUnreadable(
            f"the episodes' LeRobot dataset does not open: {exc}", field="episodes/lerobot"
        ) from None
    return info, episodes, data


def task_stats(info: dict[str, Any], episodes: list[dict[str, Any]], summary: dict[str, Any] | None) -> dict[str, Any]:
    fps = float(info.get("fps") or 25)
    reasons = {r["episode_index"]: r.get("reason") for r in (summary or {}).get("episode_results", [])}
    by_task: dict[str, list[dict[str, Any]]] = {}
    for ep in episodes:
        tid = str(ep.get("task_id") or (ep.get("tasks") or ["?"])[0])
        by_task.setdefault(tid, []).append(ep)
    out = {}
    for tid, eps in sorted(by_task.items()):
        durations = [e["length"] / fps for e in eps]
        ok = [e for e in eps if e.get("success")]
        failures: dict[str, int] = {}
        for e in eps:
            if not e.get("success"):
                why = str(reasons.get(e["episode_index"]) or "unknown").split(" (")[0]
                failures[why] = failures.get(why, 0) + 1
        out[tid] = {
            "task": (eps[0].get("tasks") or [""])[0],
            "episodes": len(eps),
            "successful": len(ok),
            "success_rate": round(len(ok) / len(eps), 4),
            "duration_s": _stats(durations),
            "success_duration_s": _stats([e["length"] / fps for e in ok]),
            "failure_reasons": failures,
        }
    return out


def distributions(info: dict[str, Any], data: Any) -> dict[str, Any]:
    out = {}
    for key in ("action", "observation.state", "observation.velocity"):
        if key not in data.column_names:
            continue
        arr = np.asarray(data.column(key).to_pylist(), dtype=np.float64)
        names = (info["features"].get(key) or {}).get("names") or [f"{key}[{i}]" for i in range(arr.shape[1])]
        per = {}
        for i, name in enumerate(names):
            col = arr[:, i]
            hist, edges = np.histogram(col, bins=12)
            per[str(name)] = {
                "mean": round(float(col.mean()), 5),
                "std": round(float(col.std()), 5),
                "min": round(float(col.min()), 5),
                "max": round(float(col.max()), 5),
                "p05": round(float(np.percentile(col, 5)), 5),
                "p95": round(float(np.percentile(col, 95)), 5),
                "histogram": {"counts": hist.tolist(), "edges": [round(float(e), 5) for e in edges]},
            }
        out[key] = per
    return out


def workspace(data: Any) -> dict[str, Any]:
    if "observation.ee_pose" not in data.column_names:
        return {}
    ee = np.asarray(data.column("observation.ee_pose").to_pylist(), dtype=np.float64)[:, :3]
    lo, hi = ee.min(axis=0), ee.max(axis=0)
    return {
        "ee_min_m": [round(float(v), 4) for v in lo],
        "ee_max_m": [round(float(v), 4) for v in hi],
        "ee_extent_m": [round(float(v), 4) for v in hi - lo],
        "frames": int(len(ee)),
        "_xy": ee[:, :2],
    }


def camera_coverage(root: Path, info: dict[str, Any], episodes: list[dict[str, Any]]) -> dict[str, Any]:
    import av

    out = {}
    for key, feat in info["features"].items():
        if feat.get("dtype") != "video":
            continue
        decoded, brightness, motion = 0, [], []
        for ep in episodes:
            path = root / info["video_path"].format(
                video_key=key, chunk_index=ep[f"videos/{key}/chunk_index"], file_index=ep[f"videos/{key}/file_index"]
            )
            try:
                with av.open(str(path)) as c:
                    frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
            except Exception:  # noqa: BLE001 - an unreadable video is what coverage reports
                frames = []
            decoded += len(frames)
            if frames:
                stack = np.stack(frames).astype(np.float32)
                brightness.append(float(stack.mean() / 255))
                changed = np.abs(stack - stack[0]).max(axis=-1) > 12
                motion.append(float(changed.any(axis=0).mean()))
        expected = sum(int(e["length"]) for e in episodes)
        out[key] = {
            "resolution": feat["shape"][:2],
            "frames_expected": expected,
            "frames_decoded": decoded,
            "decoded_fraction": round(decoded / expected, 4) if expected else 0.0,
            "mean_brightness": round(mean(brightness), 4) if brightness else None,
            "changing_pixel_fraction": round(mean(motion), 4) if motion else None,
        }
    return out


def analyse(root: Path, summary: dict[str, Any] | None, tier: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(the analytics document, ``{chart file name: svg}``)."""
    info, episodes, data = _read(root)
    if not episodes:
        raise DatasetUnreadable("the dataset has no episodes", field="episodes")
    tasks = task_stats(info, episodes, summary)
    dists = distributions(info, data)
    ws = workspace(data)
    svgs: dict[str, str] = {}
    labels = list(tasks)
    svgs["success_by_task.svg"] = charts.bar_chart(
        "success rate per task", labels, [tasks[t]["success_rate"] * 100 for t in labels], unit="%", vmax=100
    )
    svgs["duration_by_task.svg"] = charts.bar_chart(
        "episode duration per task (mean ± std)",
        labels,
        [tasks[t]["duration_s"]["mean"] or 0 for t in labels],
        unit=" s",
        errors=[tasks[t]["duration_s"]["std"] or 0 for t in labels],
    )
    for key, fname in (("action", "action_distribution.svg"), ("observation.state", "state_distribution.svg")):
        if key in dists:
            names = list(dists[key])
            svgs[fname] = charts.range_chart(
                f"{key}: range per joint (bar) and mean (tick)",
                names,
                [dists[key][n]["min"] for n in names],
                [dists[key][n]["max"] for n in names],
                [dists[key][n]["mean"] for n in names],
            )
    xy = ws.pop("_xy", None)
    if xy is not None:
        step = max(1, len(xy) // 2000)
        spots = [tuple(t["place_xy"]) for t in (summary or {}).get("tasks", []) if t.get("place_xy")]
        svgs["ee_workspace.svg"] = charts.scatter_xy(
            "end-effector path, top view", xy[::step, 0].tolist(), xy[::step, 1].tolist(), marks=spots
        )
    doc: dict[str, Any] = {
        "bundle_tier": tier,
        "dataset": {
            "episodes": len(episodes),
            "frames": int(info.get("total_frames") or data.num_rows),
            "fps": info.get("fps"),
            "codebase_version": info.get("codebase_version"),
        },
        "overall": {
            "success_rate": round(sum(1 for e in episodes if e.get("success")) / len(episodes), 4),
            "duration_s": _stats([e["length"] / float(info.get("fps") or 25) for e in episodes]),
        },
        "tasks": tasks,
        "distributions": dists,
        "workspace": ws,
    }
    if tier in TIERS_WITH_CAMERAS:
        cov = camera_coverage(root, info, episodes)
        doc["camera_coverage"] = cov
        cams = list(cov)
        svgs["camera_coverage.svg"] = charts.bar_chart(
            "camera coverage: share of the picture that changes during an episode",
            [c.removeprefix("observation.images.") for c in cams],
            [(cov[c]["changing_pixel_fraction"] or 0) * 100 for c in cams],
            unit="%",
            vmax=100,
        )
    doc["charts"] = sorted(svgs)
    return doc, svgs
