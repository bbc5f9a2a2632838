# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
BIN := $(VENV)/bin
export FLASK_APP := scheduler

.PHONY: run test lint install clean bench bench-quick profile fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The dev server, with a mail worker beside it that writes every mail to instance/mail/ as it
# is queued (or sends it, when MAIL_SERVER is set); stopping the server stops the worker.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	@echo "Mails: één .eml-bestand per mail in instance/mail/ (of naar MAIL_SERVER als die ingesteld is)."
	$(BIN)/flask mail send --loop --interval 2 & worker=$$!; \
	$(BIN)/flask run --debug --host 127.0.0.1 --port $(PORT) & server=$$!; \
	trap 'kill $$worker $$server 2>/dev/null' EXIT INT TERM; \
	wait $$server

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

# Not in `make test`: the state machine with many more random sequences than the normal run,
# then every public form and query string fed hostile input (10,000 per database).
fuzz: install
	SCHEDULER_STATE_MACHINE_EXAMPLES=$(or $(EXAMPLES),1000) $(BIN)/python -m pytest tests/test_places_lifecycle.py
	SCHEDULER_FUZZ_EXAMPLES=$(or $(FORM_EXAMPLES),10000) $(BIN)/python -m pytest -p tests.conftest fuzz/

# Needs wrk (Debian: apt-get install wrk). DSN=postgresql+psycopg://… measures on PostgreSQL.
bench: install
	$(BIN)/python -m bench.run --write $(if $(DSN),--dsn $(DSN))

bench-quick: install
	$(BIN)/python -m bench.run --quick $(if $(DSN),--dsn $(DSN))

profile: install
	$(BIN)/python -m bench.profile $(if $(ROW),--row $(ROW))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
