"""README's comparison table comes from bench/peers.json: what it shows and where it goes."""

from __future__ import annotations

from pathlib import Path

from bench.peers.__main__ import ratios, targets
from bench.peers.render import BEGIN, END, render, splice, update_readme

RESULTS = {
    "bpflow-inprocess": {
        "status": "ok",
        "name": "bpflow (inprocess runner)",
        "version": "0.1.0",
        "load_before": 3.1,
        "load_after": 3.4,
        "chain": {"per_stage_ms": 4.0, "wall_s": 2.4},
    },
    "bpflow-zygote": {
        "status": "ok",
        "name": "bpflow (zygote runner)",
        "version": "0.1.0",
        "load_before": 3.0,
        "load_after": 3.0,
        "chain": {"per_stage_ms": 20.0, "wall_s": 12.0},
        "latency": {
            "api_write_to_start_ms_p50": 11.0,
            "api_write_to_start_ms_p95": 15.0,
            "dropped_file_to_start_ms_p50": 100.0,
            "dropped_file_to_start_ms_p95": 300.0,
        },
    },
    "dbos": {"status": "ok", "name": "DBOS (raw)", "version": "3.4.0", "chain": {"per_stage_ms": 2.0, "wall_s": 1.2}},
    "prefect": {
        "status": "ok",
        "name": "Prefect (8 threads)",
        "version": "3.9.1",
        "chain": {"per_stage_ms": 80.0, "wall_s": 48.0},
    },
    "dagster-memory": {
        "status": "not_installable",
        "pinned": "dagster==1.13.29",
        "error": "pip failed\nERROR: No matching distribution",
    },
    "dagster-sensor": {
        "status": "ok",
        "version": "1.13.29",
        "latency": {
            "dropped_file_to_start_ms_p50": 17000.0,
            "dropped_file_to_start_ms_max": 31000.0,
            "events": 4,
            "sensor_interval_s": 30,
        },
    },
}


def report() -> dict:
    ratio = ratios(RESULTS)
    return {
        "measured_at": "2026-01-01T00:00:00+00:00",
        "machine": {"cpus": 2, "memory_gb": 23.4, "python": "3.11.7"},
        "workload": {"scenes": 100, "stages": 6, "repetitions": 3},
        "results": RESULTS,
        "ratio_bpflow_to_peer": ratio,
        "targets": targets(RESULTS, ratio),
        "rerun": "make bench-peers",
    }


def test_ratios_and_targets_follow_the_per_stage_figures() -> None:
    ratio = ratios(RESULTS)
    assert ratio["bpflow-inprocess"] == {"dbos": 2.0, "prefect": 0.05}
    assert ratio["bpflow-zygote"] == {"dbos": 10.0, "prefect": 0.25}
    assert targets(RESULTS, ratio) == {
        "inprocess_per_stage_ms<=5": True,
        "default_isolated_per_stage_ms<=10": False,
        "inprocess<=prefect/3": True,
        "inprocess<=3x_dbos": True,
    }


def test_the_table_names_every_contender_its_version_ratio_and_load() -> None:
    text = render(report())
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "| 3.9.1 | 80.00 | 48.0 | 0.05 | 0.25 | — |" in rows["Prefect (8 threads)"]
    assert "| 0.1.0 | 4.00 | 2.4 | — | — | 3.1–3.4 |" in rows["bpflow (inprocess runner)"]
    dropped = "bpflow (zygote runner): file dropped by another process"
    assert rows[dropped].startswith(f"| {dropped} | 100.0 | 300.0 (p95)")
    assert "17,000.0 | 31,000.0 (max of 4)" in text
    # a peer that could not install is said so, with pip's last line, not dropped
    assert "- dagster-memory (dagster==1.13.29): not_installable: `ERROR: No matching distribution`" in text
    assert "`default_isolated_per_stage_ms<=10` not met" in text and "make bench-peers" in text


def test_splicing_replaces_only_the_generated_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# bpflow\n\nintro\n")
    update_readme(report(), readme)
    first = readme.read_text()
    assert first.startswith("# bpflow\n\nintro\n\n## How it compares") and first.count(BEGIN) == 1
    again = splice(first + "\n## Later section\nkept\n", "new table")
    assert (
        again.count(BEGIN) == 1 and f"{BEGIN}\nnew table\n{END}" in again and again.endswith("## Later section\nkept\n")
    )
    assert "intro" in again and "Prefect" not in again


def test_the_dbos_floor_says_what_dbos_itself_spends_on_bpflows_shape() -> None:
    from bench.peers.__main__ import floor

    results = {
        **RESULTS,
        "dbos-shape": {
            "status": "ok",
            "name": "DBOS (raw, in bpflow's shape)",
            "version": "3.4.0",
            "chain": {"per_stage_ms": 3.2, "wall_s": 1.9},
        },
    }
    assert floor(results) == {"dbos_shape_over_dbos": 1.6, "bpflow_inprocess_over_dbos_shape": 1.25}
    assert floor(RESULTS) == {}  # no shape row: nothing to say
    text = render({**report(), "results": results, "dbos_floor": floor(results)})
    assert "takes 1.60× its plain chain per stage; bpflow in-process takes 1.25× that shape." in text
    assert "| DBOS (raw, in bpflow's shape) | 3.4.0 | 3.20 |" in text
