# ingest: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8700
# A stamp, not the venv directory: a venv whose install failed half-way is redone.
STAMP  := $(VENV)/.installed
# The compiled kernel (ingest.dedup._compiled): an editable install builds it once, so a change to its
# sources re-runs the install, which rebuilds it (a C compiler is needed).
KERNEL := setup.py src/ingest/dedup/_compiled.pyx src/ingest/dedup/_compiled.h

.PHONY: install demo test test-sqlite lint typecheck bench bench-scale clean

install: $(STAMP)

# The install's own chatter (build-backend notices) goes to a log, shown only if it fails.
$(STAMP): pyproject.toml $(KERNEL)
	@echo "installing ingest into $(VENV) (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/python -m pip install --quiet --upgrade pip && \
	   $(BIN)/python -m pip install --quiet -e ".[dev]"; } > $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@# The dev kit (src/ingest_dev: dev set, extraction bench) is on this venv's path only: no wheel has it.
	@echo "$(CURDIR)/src" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ingest-dev.pth"
	@touch $(STAMP)

# Serve the bundled sample web on 127.0.0.1:$(PORT)+, crawl it into the default SQLite store
# (data/ingest.sqlite), print the canonical articles with their sources, stop the server, and say
# how to browse the result (`ingest serve`).
# The server writes the sources file for the ports it actually serves (`make demo PORT=8710`).
DEMO_SOURCES := data/sample-sources.yaml
demo: install
	@set -e; mkdir -p data; rm -f $(DEMO_SOURCES); \
	$(BIN)/ingest sample-web --port $(PORT) --write-sources $(DEMO_SOURCES) > /dev/null 2> data/sample-web.log & server=$$!; \
	trap 'kill $$server 2>/dev/null || true' EXIT INT TERM; \
	for i in $$(seq 50); do \
	  [ -s $(DEMO_SOURCES) ] && $(BIN)/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$(PORT)/robots.txt', timeout=1)" \
	    2>/dev/null && break; \
	  kill -0 $$server 2>/dev/null || { cat data/sample-web.log >&2; exit 2; }; sleep 0.2; \
	done; \
	$(BIN)/ingest run-once --sources $(DEMO_SOURCES) --no-progress || [ $$? -eq 3 ]; \
	echo; echo "Canonical articles (each with every outlet that ran it):"; echo; \
	$(BIN)/ingest query --format table; \
	echo; echo "Browse it: $(BIN)/ingest serve --sources $(DEMO_SOURCES)   then open http://127.0.0.1:8080/"

# Lint and type-check first: CI runs this target, so a clean checkout stays ruff- and mypy-clean.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet src db tests bench
	$(BIN)/mypy src/ingest src/ingest_dev
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src db tests bench

typecheck: install
	$(BIN)/mypy src/ingest src/ingest_dev

bench: install
	$(BIN)/python bench/run.py

bench-scale: install
	$(BIN)/python bench/run.py --scale

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache build src/ingest/dedup/_compiled.c src/ingest/dedup/_compiled.*.so
