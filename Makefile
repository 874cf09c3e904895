# Two commands a newcomer needs: `make run` and `make test`. Everything else is installed from this repo.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= examples/config.yaml
HOST ?= 127.0.0.1
PORT ?= 4000

.PHONY: run test lint typecheck bench fuzz emulator check-config clean browser

$(BIN)/python:
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "livegate needs Python >= 3.11 with venv: make PY=python3.12 ..."; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

node_modules/.installed: package.json
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' || \
		{ echo "the test suite needs Node >= 18 with npm (its openai-node and Agents SDK clients)"; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

# The browser tests drive Debian's Chromium, installed with apt when running as root. Otherwise Playwright's
# own Chromium is downloaded (it needs its download host; where that fails, the browser tests skip with one line).
browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else timeout 600 $(BIN)/python -m playwright install chromium >/dev/null 2>&1 || \
	    echo "make: no chromium (not root, and Playwright's download failed): the browser tests will skip"; fi; }

run: $(STAMP)
	$(BIN)/livegate serve --config $(CONFIG) --host $(HOST) --port $(PORT)

emulator: $(STAMP)
	$(BIN)/livegate emulator --host $(HOST) --port 4100

check-config: $(STAMP)
	$(BIN)/livegate check-config --verbose $(CONFIG)

test: $(STAMP) node_modules/.installed browser
	$(BIN)/ruff check .
	$(BIN)/mypy translators schemas gateway bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy translators schemas gateway bench

# make bench BENCH_ARGS=--scale: sustained audio sessions for --workers 1 and 2 (bench/scale.py)
BENCH_ARGS ?=
bench: $(STAMP)
	@$(MAKE) --no-print-directory $(LITELLM_STAMP) || \
		echo "make: LiteLLM's proxy could not be installed: the bench runs without its baseline"
	$(BIN)/python -m bench $(BENCH_ARGS)

# The bench's peer baseline, LiteLLM's proxy (bench/peers/litellm.txt), in a venv of its own.
LITELLM_VENV := .venv-litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed
$(LITELLM_STAMP): bench/peers/litellm.txt
	$(PY) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install -q -r bench/peers/litellm.txt
	touch $(LITELLM_STAMP)

# 100k fuzzed client frames against a fresh gateway + emulator (tests/fuzz); failing inputs: fuzz-failures.jsonl
FUZZ_FRAMES ?= 100000
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --frames $(FUZZ_FRAMES)

clean:
	rm -rf $(VENV) $(LITELLM_VENV) node_modules
