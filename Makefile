# bpflow — the two commands: `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Parallel test processes (pytest-xdist); 0 runs the suite in this process.
PYTEST_WORKERS ?= 3

.PHONY: install vendor system-deps venv-train lint test bench bench-physics bench-episodes bench-geniesim bench-learning bench-peers bench-scale bench-scale-scan demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The dashboard's front-end parts (three.js, htmx, uPlot), pinned in frontend/package-lock.json:
# npm ci, then copy the served files into src/bpflow/api/static/vendor/ (committed; install needs no node).
vendor:
	$(PY) tools/vendor_frontend.py

system-deps:
	./scripts/ensure-system-deps.sh

# LeRobot's own venv (CUDA torch, several GB), cached in ~/.cache/bpflow by the pinned
# requirements and linked as ./.venv-train: the tests load bpflow's datasets with LeRobot there.
venv-train:
	PY=$(PY) ./scripts/ensure-venv-train.sh

# The learning loop's long benchmark: 50 scripted episodes of one pick-and-place task → LeRobot
# ACT (CPU config) → closed-loop success rate in the same scene (tens of minutes on 2 cores).
bench-learning: install venv-train
	$(BIN)/python -m bench.learning

# The gate, before pytest: ruff lint, mypy (strict on core/ and blocks/), the import-layer and
# import-cycle tests, and `ruff format --check` (FORMAT_CHECK=0 skips it).
FORMAT_CHECK ?= 1
LINT_PATHS := src tests bench tools
lint: install
	$(BIN)/ruff check $(LINT_PATHS)
	@if [ "$(FORMAT_CHECK)" = "1" ]; then $(BIN)/ruff format --check $(LINT_PATHS); fi
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_import_layers.py tests/test_import_cycles.py

# pytest exit code 5 means "no tests collected": that is a failure here, never a pass.
test: install system-deps venv-train lint
	@$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --durations=25 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: install system-deps venv-train
	$(BIN)/python -m bench
	$(BIN)/python -m bench.job_start
	$(BIN)/python -m bench.episodes
	$(BIN)/python -m bench.demo
	$(BIN)/python -m bench.batch
	$(BIN)/python -m bench.automation
	$(BIN)/python -m bench.geniesim
	$(BIN)/python -m bench.learning --quick

# The physics acceptance batch: 30 prompts over 10 room types, simulated in MuJoCo (figures in bench/results.json).
bench-physics: install
	$(BIN)/python -m bench.physics

# Robot episodes across room types: the load test's 20 rooms through Stages 1-3, Genie Sim's export
# and its local runtime (2 episodes per task); per room type: scenes with a passing episode, pass
# rate, failure reasons (figures in bench/results.json). BENCH_EPISODES_ARGS="--physics" for 30 rooms.
bench-episodes: install
	nice -n 10 $(BIN)/python -m bench.episodes_rooms $(BENCH_EPISODES_ARGS)

# Genie Sim figures alone: export bundle time on the demo scene, poller scan over 10,000 scenes.
bench-geniesim: install
	$(BIN)/python -m bench.geniesim

# bpflow beside raw DBOS, Prefect 3 and Dagster on the same 6-stage no-op chain × 100 scenes, then
# event → run start latency. Each peer gets its own pinned venv (scripts/ensure-venv-peer.sh, cached
# in ~/.cache/bpflow); writes bench/peers.json and README's "How it compares" table. Not in `make test`.
bench-peers: install
	nice -n 10 $(BIN)/python -m bench.peers

# Scale-out on a throwaway PostgreSQL: one `bpflow up` + 1, 2, 4 `bpflow worker`s; runs/s of the
# no-op chain (jobs sleep, standing for remote work) and scenes/min of the text path. bench/scale.json.
bench-scale: install system-deps
	nice -n 10 $(BIN)/python -m bench.scale

# The reconciliation scan and the status listing over 100,000 scenes' markers, in a local bucket
# and in the S3 emulator (scan_100k_s, status_list_100k_s, peak RSS).
bench-scale-scan: install
	$(BIN)/python -m bench.scale_scan

# One text request through every stage this build has, on the embedded default (./bpflow-data/demo).
demo: install venv-train
	$(BIN)/bpflow demo

clean:
	rm -rf $(VENV) bpflow-data .pytest_cache
