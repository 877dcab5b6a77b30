# bpflow — the two commands: `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install system-deps venv-train test bench bench-physics bench-episodes bench-geniesim bench-learning demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

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

# pytest exit code 5 means "no tests collected": that is a failure here, never a pass.
test: install system-deps venv-train
	@$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: install system-deps venv-train
	$(BIN)/python -m bench
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

# One text request through every stage this build has, on the embedded default (./bpflow-data/demo).
demo: install venv-train
	$(BIN)/bpflow demo

clean:
	rm -rf $(VENV) bpflow-data .pytest_cache
