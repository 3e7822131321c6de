# The two commands. Each sets itself up on first use (.venv + install) and is
# quick once set up: the install re-runs only when pyproject.toml changes.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTHON ?= python3
WORKERS ?= 2

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## make run: the main job on the virtual bench: the end-of-line (EOL) station run of one
## unit (testcases/eol); record, certificate and trace under reports/units/SIM-0001/
run: $(STAMP)
	$(BIN)/rig run eol --serial SIM-0001 --operator make-run --rig rigs/sim.yaml

## make test: lint, the framework's tests, and every testcase against the virtual bench
test: $(STAMP)
	$(BIN)/ruff check .
	@mkdir -p reports
	$(BIN)/pytest tests testcases -n $(WORKERS) -q -m "not tethered" --rig rigs/sim.yaml \
	    --junitxml=reports/junit.xml --alluredir=reports/allure-results
	$(BIN)/pytest testcases -n $(WORKERS) -q -m "not socketed" --rig rigs/sim-t2.yaml \
	    --junitxml=reports/junit-t2.xml --alluredir=reports/allure-results

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) reports/allure-results reports/*.xml
