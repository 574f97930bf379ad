# Two entry points: `make demo` (the main job: reproduce the paper's S5 results from the
# shipped zoo) and `make test`. Each sets itself up from scratch. `make docs` builds the
# documentation site into site/ (offline); `make notebook` runs the tutorial notebook.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs serve-docs notebook bench clean

# mkdocs plugins print a long notice about MkDocs 2 on every build; these silence it
export NO_MKDOCS_2_WARNING := 1
export DISABLE_MKDOCS_2_WARNING := true

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rhoproof reproduce --group S5 --zoo

test: $(STAMP)
	$(PY) -m pytest

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

serve-docs: docs
	$(PY) -m http.server --directory site 8000

notebook: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider --nbmake --nbmake-timeout=300 docs/tutorial.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench docs/gen
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/train_speed.py
	$(PY) bench/certify_speed.py
	test -d runs/zoo-s5 || $(VENV)/bin/rhoproof zoo export S5 --out runs/zoo-s5
	$(PY) bench/certify_s5.py runs/zoo-s5
	$(PY) bench/soundness_stress.py runs/zoo-s5
	$(PY) bench/adversarial.py
	$(PY) bench/zoo_certificates.py
	$(PY) bench/proof_time_before_after.py
	$(PY) bench/sweep_overhead.py
	$(PY) bench/sweep_study.py

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache
