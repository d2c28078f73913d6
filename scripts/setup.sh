#!/usr/bin/env bash
# Idempotent machine set-up: Debian toolchain packages for SBF builds and the project virtualenv.
# Fast when everything is already there (two dpkg queries and a stamp comparison).
set -euo pipefail
cd "$(dirname "$0")/.."

# rust-web-clippy and rustfmt-web match rustc-web (make test runs clippy and the format check).
# postgresql: the indexer's tests and benchmark run the store against a throw-away server too.
# redis-server: the gateway's shared rate limits are tested against a throw-away server.
APT_PACKAGES=(rustc-web cargo-web libstd-rust-web-dev-bpf llvm-22 clang-22 lld-22 rust-web-clippy rustfmt-web postgresql redis-server)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.quantdesk-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages (pinned in pyproject.toml)"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi
