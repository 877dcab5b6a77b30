# bpflow — the two commands: `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install system-deps test bench demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	./scripts/ensure-system-deps.sh

# pytest exit code 5 means "no tests collected": that is a failure here, never a pass.
test: install system-deps
	@$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: install
	$(BIN)/python -m bench

demo: install
	@echo "make demo runs a text request through every stage; it arrives with the text path (Stage 1)."
	@echo "Today's runtime: '$(BIN)/bpflow up' starts it, '$(BIN)/bpflow triggers' shows the trigger map."
	@exit 2

clean:
	rm -rf $(VENV) bpflow-data .pytest_cache
