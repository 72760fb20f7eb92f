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

.PHONY: book test lint unit notebooks build-strict html-checks bench student colab-check mathjax clean help

help:
	@echo "make book   - set up .venv, execute the notebooks, build the HTML book into _build/html"
	@echo "make test   - lint, unit tests, every notebook under nbval, strict book build, HTML checks"
	@echo "make bench  - time every notebook and the from-scratch vs fused kernels: _build/bench.json"
	@echo "make student - student notebooks and HTML book (solutions removed) in student/"
	@echo "make student CHAPTER=book/ch03_regression.ipynb - one chapter's student notebook"
	@echo "make colab-check - run every chapter as Colab would: alone, in a fresh venv"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP) mathjax
	$(BIN)/jupyter-book build . --builder html
	@echo "Book written to _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check companion tests

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/html

# Every notebook runs once per `make test`: nbval executes it (a per-cell timeout is the only
# limit: a hang guard; times are reported against the budget, never failed), and
# tests/nbval_cache.py stores each notebook that passed in the book's jupyter-cache, which
# build-strict (execute_notebooks: cache) then reads instead of executing it again. A notebook
# that failed is not stored: the strict build executes it and fails too.
notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=600 -q -p no:cacheprovider \
		-p tests.notebook_budget -p tests.nbval_cache --nb-cache=_build/.jupyter_cache book

build-strict: $(STAMP) mathjax
	rm -rf _build/html
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

html-checks: $(STAMP)
	$(BIN)/python -m pytest tests/html -q

test: lint unit notebooks build-strict html-checks
	@echo "make test: all checks passed"

# Optional: how fast the book runs on this machine (reported, never a test failure).
bench: $(STAMP)
	$(BIN)/python -m companion.benchmark --out _build/bench.json

# MathJax served by the book itself, not a CDN (offline readers, the browser checks): the
# npm package, unpacked into _build/static, which _config.yml adds to html_static_path.
MATHJAX := _build/static/mathjax/tex-mml-chtml.js
mathjax: $(MATHJAX)
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed to fetch MathJax (apt-get install npm)"; exit 1; }
	rm -rf _build/static/mathjax _build/npm && mkdir -p _build/static/mathjax _build/npm
	cd _build/npm && npm pack --silent "mathjax@3" >/dev/null
	tar -xzf _build/npm/mathjax-3*.tgz -C _build/static/mathjax --strip-components=2 package/es5
	test -f $(MATHJAX)

# Instructors: every chapter's student notebook and the student HTML book (solutions removed,
# not hidden) in student/; CHAPTER=... writes one chapter's student notebook only.
student: $(STAMP) mathjax
ifdef CHAPTER
	$(BIN)/python -m companion.instructor student $(CHAPTER) --out student/
else
	$(BIN)/python -m companion.instructor book --out student/
endif

# Every chapter as a Colab user runs it: alone in an empty folder, in a fresh venv, the
# companion installed by the notebook's own first cell (make test does one chapter).
colab-check: $(STAMP)
	COLAB_CHAPTERS=all $(BIN)/python -m pytest tests/test_colab.py -q -p no:cacheprovider

clean:
	rm -rf _build student
