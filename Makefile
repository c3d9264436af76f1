# Shortcuts for the README's commands; the README stays the reference.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-services lint fuzz ci

$(VENV)/bin/python:
	python3 -m venv $(VENV)

run: $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e . && $(VENV)/bin/authserver demo && $(VENV)/bin/authserver run

test: $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]' && $(VENV)/bin/pytest -n auto

test-services: $(VENV)/bin/python
	AUTHSERVER_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
	AUTHSERVER_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
	$(VENV)/bin/pytest -n auto

lint:
	$(VENV)/bin/ruff check authserver tests conformance benchmarks tppkit examples .ci/wheel_smoke.py .ci/dependency_audit.py .ci/fuzz.py wsgi.py
	$(VENV)/bin/ruff format --check authserver tests conformance benchmarks tppkit examples .ci/wheel_smoke.py .ci/dependency_audit.py .ci/fuzz.py wsgi.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fuzz:
	$(PY) .ci/fuzz.py

ci:
	bash .ci/run
