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
## virtual benches. Lint and type checks first (stops here if either fails); then every
## bench runs even if one fails, and make fails at the end naming the runs that failed.
## Each bench: rig file | marker expression (the connector kind it does not have) | name.
BENCHES := \
	"sim.yaml|not tethered|EV NET socketed" \
	"sim-t2.yaml|not socketed|EV NET tethered" \
	"sim-compact-3ph.yaml|not tethered|COMPACT 3-phase" \
	"sim-compact-1ph.yaml|not socketed|COMPACT 1-phase" \
	"sim-evplus-7s.yaml|not tethered|EV PLUS 7S" \
	"sim-evplus-22c.yaml|not socketed|EV PLUS 22C"
test: $(STAMP) typecheck-tree
	$(BIN)/ruff check .
	$(BIN)/mypy
	@mkdir -p reports
	@failed=""; first=1; \
	for bench in $(BENCHES); do \
	    rig=$${bench%%|*}; rest=$${bench#*|}; marks=$${rest%%|*}; name=$${rest#*|}; \
	    paths="testcases"; [ $$first -eq 1 ] && paths="tests testcases"; first=0; \
	    echo "== $$name: pytest $$paths --rig rigs/$$rig -m \"$$marks\""; \
	    $(BIN)/pytest $$paths -n $(WORKERS) --dist loadgroup -q -m "$$marks" \
	        --rig rigs/$$rig --junitxml=reports/junit-$${rig%.yaml}.xml \
	        --alluredir=reports/allure-results || failed="$$failed, $$name ($$?)"; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "make test: FAILED (bench, pytest exit code): $${failed#, }"; exit 1; \
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
