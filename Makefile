# The two commands of the README: 'make demo' and 'make test'. Both run 'make setup'
# first, which installs what is missing (Debian packages, .venv, pinned packages).
PY := .venv/bin/python
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup test demo demo-real install zip bench

setup:
	@bash scripts/setup.sh

test: setup
	.venv/bin/ruff check .
	$(PY) -m pytest -q tests

demo: setup
	$(PY) scripts/demo.py

demo-real: setup
	$(PY) scripts/demo.py --real --out demo-output-real

install: setup
	@bash scripts/install.sh

zip: setup
	@bash scripts/package.sh dist

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
