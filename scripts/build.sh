#!/usr/bin/env bash
# Builds every on-chain program to target/deploy/<name>.so and copies the IDLs to target/idl/.
# cargo drives the build; tools/sbf-ld (configured in .cargo/config.toml) links each program.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s%N)
# cargo does not track the linker's own source: pass its fingerprint as a link argument so a
# change to tools/sbf relinks every program (sbf-ld ignores the value).
toolchain=$(cat tools/sbf-ld tools/sbf/*.py | sha256sum | cut -c1-16)
export CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS="-C target-cpu=v2 -C link-arg=--toolchain=$toolchain"
/usr/bin/cargo build --quiet --release --target bpfel-unknown-none --workspace --exclude qd-idlgen
mkdir -p target/deploy target/idl
for so in target/bpfel-unknown-none/release/lib*.so; do
  name=$(basename "$so" .so); name=${name#lib}
  cp -p "$so" "target/deploy/$name.so"
done
cp -p idl/*.json target/idl/
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf 'build: %s programs in %d.%03d s -> target/deploy/\n' "$(ls target/deploy/*.so | wc -l)" $((ms / 1000)) $((ms % 1000))
