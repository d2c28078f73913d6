#!/usr/bin/env bash
# mypy over the `quantdesk` package as installed: pyproject maps clients/ and keeper/ into
# quantdesk.*, which mypy cannot follow, so it reads a tree of links laid out as the package is.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=target/typecheck
rm -rf "$tree" && mkdir -p "$tree/quantdesk"
for f in quantdesk/*; do ln -s "$PWD/$f" "$tree/quantdesk/"; done
ln -s "$PWD/clients" "$tree/quantdesk/clients"
ln -s "$PWD/keeper" "$tree/quantdesk/keeper"
cd "$tree" && ../../.venv/bin/mypy --config-file ../../pyproject.toml -p quantdesk | sed "s|^quantdesk/clients/|clients/|; s|^quantdesk/keeper/|keeper/|"
