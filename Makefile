# The two commands of a fresh clone: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint install evals evals-pending stress

# Reinstall when the project metadata changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/chatpay db upgrade
	$(BIN)/chatpay catalog load --demo
	$(BIN)/chatpay serve

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The scenario suite with the embedded offline model; fails unless every scenario passes.
evals: $(STAMP)
	mkdir -p var/evals
	$(BIN)/chatpay eval run evals/scenarios --report var/evals/report.json --html var/evals/report.html

# Known gaps (expected to fail until fixed); not part of `make evals` or CI.
evals-pending: $(STAMP)
	mkdir -p var/evals
	$(BIN)/chatpay eval run evals/pending --report var/evals/pending.json --html var/evals/pending.html

# Load test (issue 7): 200 shoppers at once against a freshly started `chatpay serve --workers 2`,
# then the money and storage checks; fails unless every check holds. On PostgreSQL when
# STRESS_DATABASE_URL (default: CHATPAY_TEST_DATABASE_URL) names a server (a throw-away database is
# created there and dropped), else on a new SQLite file. `python -m evals.load --help` for more.
STRESS_DATABASE_URL ?= $(CHATPAY_TEST_DATABASE_URL)
STRESS_ARGS ?= --shoppers 200 --concurrency 20
stress: $(STAMP)
	mkdir -p var/load
	$(BIN)/python -m evals.load --serve --workers 2 $(STRESS_ARGS) \
		$(if $(STRESS_DATABASE_URL),--database-url $(STRESS_DATABASE_URL)) --json var/load/report.json

# Benchmarks (issue 8): turn overhead beside openai-agents and pydantic-ai (the `bench` extra),
# tokens and model calls over the eval suite, memory after 10,000 conversations, and throughput
# when CHATPAY_TEST_DATABASE_URL names a PostgreSQL server. Prints a table, writes var/bench.json.
# BENCH_ARGS=--quick for a short try.
.PHONY: bench
BENCH_STAMP := $(VENV)/.bench-installed-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	mkdir -p var
	$(BIN)/python -m evals.bench --json var/bench.json $(BENCH_ARGS)
