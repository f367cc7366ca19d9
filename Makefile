# coursenet: `make lab` opens the course, `make test` checks everything,
# `make check` is the fast inner loop (ruff and the unit tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.coursenet-installed
LAB_ARGS ?=  # e.g. make lab LAB_ARGS="--no-browser --port 8890"

.PHONY: setup lab check test bench notebooks student clean

setup: $(STAMP)

# Re-install only when the dependency list changes; the package itself is
# installed in editable mode, so code edits need no reinstall.
$(STAMP): pyproject.toml setup.py $(wildcard jupyter-config/*.json jupyter-config/*/*.json jupyter-config/*/*/*.js)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Where `make lab` keeps what Jupyter, IPython, matplotlib, npm and the
# completer (jedi, through XDG_CACHE_HOME) would write into the home folder:
# runtime files, the notebook-signing secret, IPython's history, caches,
# JupyterLab's settings and workspace. A folder of the course, ignored by git;
# delete it to start afresh. Absolute, because kernels run in the notebook's
# folder. The MNIST download cache stays where it is documented (START_HERE.md,
# shared by every copy of the course): COURSENET_DATA is pinned to it before
# XDG_CACHE_HOME moves.
LAB_STATE ?= .lab
LAB_DIR    = $(abspath $(LAB_STATE))
LAB_ENV    = COURSENET_DATA="$$($(BIN)/python -c 'from coursenet.mnist import \
	default_cache_dir as d; print(d())')" \
	JUPYTER_CONFIG_DIR="$(LAB_DIR)/config" JUPYTER_DATA_DIR="$(LAB_DIR)/data" \
	JUPYTER_RUNTIME_DIR="$(LAB_DIR)/runtime" IPYTHONDIR="$(LAB_DIR)/ipython" \
	MPLCONFIGDIR="$(LAB_DIR)/matplotlib" npm_config_cache="$(LAB_DIR)/npm" \
	XDG_CACHE_HOME="$(LAB_DIR)/cache" JUPYTERLAB_WORKSPACES_DIR="$(LAB_DIR)/workspaces"

# opens the course's start page; the file browser shows student/ and notebooks/.
# default_url: the address the server prints (and / redirects to) is the start
# page too, so `make lab LAB_ARGS=--no-browser` on a remote machine or in a
# container prints a link that opens the course, not the Launcher.
# The workspace (the tabs left open) is not restored: JupyterLab would start a
# kernel for every notebook tab at once (7 after a second `make lab`), and has
# no setting to open them without one; the start page opens instead.
lab: setup
	rm -rf "$(LAB_DIR)/workspaces"
	$(LAB_ENV) $(BIN)/jupyter lab START_HERE.md --LabApp.default_url=/lab/tree/START_HERE.md $(LAB_ARGS)

# the inner loop, under a minute (docs/testing.md, Speed): ruff and the unit
# tests on every core (pytest-xdist),
# without what executes notebooks or servers (nbval, the workbook runs, nbgrader
# round trips and the sandboxed grader's, the browser, the hub, notebook
# kernels), without the 45-second meta-test that re-runs the exercise tests once
# per mistake id, and without the unit tests marked `slow` (2 s or more each);
# `make test` runs all of them
CHECK_SKIP := tests/browser tests/hub tests/test_nbgrader.py tests/test_student.py \
	tests/test_grading.py tests/test_grading_attacks.py \
	tests/test_workbook_runs.py tests/test_workbook_runs_04_06.py \
	tests/test_run_fashion.py tests/test_hermetic.py \
	tests/test_exercises_mistake_ids.py
check: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests -q -n auto -m 'not browser and not hub and not server and not slow' \
		$(addprefix --ignore=,$(CHECK_SKIP))

# everything, on every core (pytest-xdist): each test file on one worker, the
# files that share a session fixture together, the heaviest first (the root
# conftest.py says which and why; docs/testing.md, Speed, has the times)
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: setup
	$(BIN)/python benchmarks/bench_train.py

# re-execute every notebook in place (after changing a notebook or the package),
# then regenerate the student edition from them
notebooks: setup
	$(BIN)/python scripts/execute_notebooks.py
	$(BIN)/python scripts/make_student.py

# student/ (the workbook): nbgrader's release of notebooks/ (the worked
# solutions) plus a banner, and docs/instructors.md's points table; never edit by hand
student: setup
	$(BIN)/python scripts/make_student.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .hypothesis
