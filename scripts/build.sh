#!/usr/bin/env bash
# Builds every on-chain program to target/deploy/<name>.so and copies the IDLs to target/idl/.
# cargo drives the build; tools/sbf-ld (configured in .cargo/config.toml) links each program.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s%N)
/usr/bin/cargo build --quiet --release --target bpfel-unknown-none --workspace
mkdir -p target/deploy target/idl
for so in target/bpfel-unknown-none/release/lib*.so; do
  name=$(basename "$so" .so); name=${name#lib}
  cp -p "$so" "target/deploy/$name.so"
done
cp -p idl/*.json target/idl/
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf 'build: %s programs in %d.%03d s -> target/deploy/\n' "$(ls target/deploy/*.so | wc -l)" $((ms / 1000)) $((ms % 1000))
