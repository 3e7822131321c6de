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

## make run: the main job on the virtual bench (OCPP compliance set until the EOL station lands)
run: $(STAMP)
	@mkdir -p reports
	$(BIN)/pytest testcases/ocpp -n $(WORKERS) -q -m "not tethered" --rig rigs/sim.yaml \
	    --junitxml=reports/junit-ocpp.xml --alluredir=reports/allure-results
	$(BIN)/pytest testcases/ocpp -n $(WORKERS) -q -m "not socketed" --rig rigs/sim-t2.yaml \
	    --junitxml=reports/junit-ocpp-t2.xml --alluredir=reports/allure-results

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
