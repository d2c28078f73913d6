# The front door. `make demo` and `make test` do all set-up on a fresh machine (scripts/setup.sh).
PY := .venv/bin/python
export RUSTC := /usr/bin/rustc

.PHONY: setup build test test-rust test-py bench demo localnet clean

setup:
	@scripts/setup.sh

build: setup
	@scripts/build.sh

test-rust: setup
	/usr/bin/cargo test --quiet --workspace

test-py: build
	$(PY) -m pytest -q

test: test-rust test-py

bench: build
	$(PY) -m quantdesk.bench

demo: build
	$(PY) -m quantdesk demo

localnet: build
	$(PY) -m quantdesk localnet

clean:
	rm -rf target
