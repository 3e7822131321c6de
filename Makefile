# The two commands. Each sets itself up on first use (.venv + install) and is
# quick once set up: the install re-runs only when pyproject.toml changes.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTHON ?= python3
WORKERS ?= 2

.PHONY: run test soak lint clean typecheck-tree

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## make run: the main job on the virtual bench: the end-of-line (EOL) station run of one
## unit (testcases/eol); record, certificate and trace under reports/units/SIM-0001/
run: $(STAMP)
	$(BIN)/rig run eol --serial SIM-0001 --operator make-run --rig rigs/sim.yaml

## make test: lint, type checks, the framework's tests, and every testcase against the
## virtual bench. Lint and type checks first (stops here if either fails); then every
## bench runs even if one fails, and make fails at the end naming the runs that failed.
test: $(STAMP) typecheck-tree
	$(BIN)/ruff check .
	$(BIN)/mypy
	@mkdir -p reports
	@socketed=0; tethered=0; compact3=0; compact1=0; \
	$(BIN)/pytest tests testcases -n $(WORKERS) --dist loadgroup -q -m "not tethered" \
	    --rig rigs/sim.yaml \
	    --junitxml=reports/junit.xml --alluredir=reports/allure-results || socketed=$$?; \
	$(BIN)/pytest testcases -n $(WORKERS) -q -m "not socketed" --rig rigs/sim-t2.yaml \
	    --junitxml=reports/junit-t2.xml --alluredir=reports/allure-results || tethered=$$?; \
	$(BIN)/pytest testcases -n $(WORKERS) -q -m "not tethered" --rig rigs/sim-compact-3ph.yaml \
	    --junitxml=reports/junit-compact-3ph.xml --alluredir=reports/allure-results \
	    || compact3=$$?; \
	$(BIN)/pytest testcases -n $(WORKERS) -q -m "not socketed" --rig rigs/sim-compact-1ph.yaml \
	    --junitxml=reports/junit-compact-1ph.xml --alluredir=reports/allure-results \
	    || compact1=$$?; \
	if [ $$socketed -ne 0 ] || [ $$tethered -ne 0 ] || [ $$compact3 -ne 0 ] \
	        || [ $$compact1 -ne 0 ]; then \
	    echo "make test: FAILED (pytest exit codes: EV NET socketed $$socketed, EV NET" \
	         "tethered $$tethered, COMPACT 3-phase $$compact3, COMPACT 1-phase $$compact1)"; \
	    exit 1; \
	fi

## make soak: the timing-sensitive testcases RUNS times (default 10) while two processes
## spin on the CPU; prints the failures per testcase (benchmarks/soak.py). Not in make test.
RUNS ?= 10
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --runs $(RUNS)

lint: $(STAMP) typecheck-tree
	$(BIN)/ruff check .
	$(BIN)/mypy

# mypy cannot follow the package-dir mapping (setup.py): it reads evrig.* through links.
typecheck-tree:
	@mkdir -p $(VENV)/typecheck/evrig
	@ln -sfn ../../../evrig/__init__.py $(VENV)/typecheck/evrig/__init__.py
	@for folder in rig rigs drivers sim fixtures testcases; do \
	    ln -sfn ../../../$$folder $(VENV)/typecheck/evrig/$$folder; done

clean:
	rm -rf $(VENV) reports/allure-results reports/*.xml
