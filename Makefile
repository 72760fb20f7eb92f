# The two commands of the README: `make book` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch that this project's CI machine has on disk; installed before the
# project so that the range in pyproject.toml (torch>=2.4) is already satisfied and pip
# never pulls a multi-GB CUDA build. Elsewhere: `make test TORCH=torch` (any build you like).
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
# Quiet progress bars in builds and tests (kernels keep the inline matplotlib backend, so
# figures are captured; outside a kernel matplotlib picks Agg itself when there is no display).
export COURSE_QUIET := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test lint unit notebooks build-strict html-checks student clean help

help:
	@echo "make book   - set up .venv, execute the notebooks, build the HTML book into _build/html"
	@echo "make test   - lint, unit tests, every notebook under nbval, strict book build, HTML checks"
	@echo "make student CHAPTER=book/ch03_regression.ipynb - student version (solutions removed)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html
	@echo "Book written to _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check companion tests

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/html

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=300 -q -p no:cacheprovider \
		-p tests.notebook_budget book

build-strict: $(STAMP)
	rm -rf _build/html
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

html-checks: $(STAMP)
	$(BIN)/python -m pytest tests/html -q

test: lint unit notebooks build-strict html-checks
	@echo "make test: all checks passed"

student: $(STAMP)
	$(BIN)/python -m companion.instructor student $(CHAPTER) --out student/

clean:
	rm -rf _build student
