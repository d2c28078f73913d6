# The front door. `make demo` and `make test` do all set-up on a fresh machine (scripts/setup.sh).
PY := .venv/bin/python
export RUSTC := /usr/bin/rustc

.PHONY: setup idl build lint test test-rust test-py bench demo localnet clean

setup:
	@scripts/setup.sh

# The IDLs are generated from the programs' declarations (tools/idlgen); a test fails when the
# committed idl/ differs.
idl: setup
	/usr/bin/cargo run --quiet -p qd-idlgen -- idl

build: idl
	@scripts/build.sh

# Debian's cargo-fmt and clippy (the rustup ones first on PATH are another Rust version).
lint: setup
	PATH=/usr/bin:$$PATH /usr/bin/cargo fmt --all --check
	PATH=/usr/bin:$$PATH /usr/bin/cargo clippy --quiet --workspace --all-targets -- -D warnings
	$(PY) -m ruff check clients keeper quantdesk tests
	@scripts/typecheck.sh

test-rust: setup
	/usr/bin/cargo test --quiet --workspace

test-py: build
	$(PY) -m pytest -q

test: lint test-rust test-py

bench: build
	$(PY) -m quantdesk.bench

demo: build
	$(PY) -m quantdesk demo

localnet: build
	$(PY) -m quantdesk localnet

clean:
	rm -rf target
