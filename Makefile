# Two commands set this project up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: install demo test lint typecheck docs unit bench bench-poll bench-persistent bench-memory bench-scan profile fuzz simulator soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The peers the benchmarks compare against (tinytuya-async, rustuya) and uvloop: bench only.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tinytuya_asyncio.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The package, the tests, the examples, then every python block of the README and the docs.
typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/python -m tests.doc_blocks build/doc-blocks
	$(BIN)/mypy build/doc-blocks

# The guides, PROTOCOL.md and the API reference, built strictly: any warning, broken reference
# or public name without a docstring fails it (-E: docstrings are re-read every time).
docs: $(STAMP)
	$(BIN)/sphinx-build -b html -n -W --keep-going -E -q docs build/docs

unit: $(STAMP)
	$(BIN)/python -X dev -m pytest -n auto --cov --cov-report=term

test: lint typecheck docs unit

# Everything docs/BENCHMARKS.md reports, one benchmark at a time (about 15 minutes).
bench: bench-poll bench-persistent bench-memory

bench-poll: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --loops asyncio,uvloop
	$(BIN)/python -m bench.run --devices 100 --reply-delay 0.02 --loops asyncio,uvloop

bench-persistent: $(BENCH_STAMP)
	$(BIN)/python -m bench.persistent

bench-memory: $(BENCH_STAMP)
	$(BIN)/python -m bench.memory

bench-scan: $(STAMP)
	$(BIN)/python -m bench.scan

# 1,000 persistent devices under random faults for SOAK_MINUTES (make soak SOAK_MINUTES=1: smoke run).
SOAK_MINUTES ?= 10
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES) --output bench/results/soak-latest.md

profile: $(BENCH_STAMP)
	$(BIN)/python -m bench.profile

# A million hostile frames per version through each decode path (docs/FUZZING.md); FUZZ_ARGS to vary.
fuzz: $(STAMP)
	$(BIN)/python -m fuzz.run $(FUZZ_ARGS)

simulator: $(STAMP)
	$(BIN)/python -m tinytuya_asyncio.simulator --count 10 --versions mixed

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache .hypothesis
