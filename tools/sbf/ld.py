"""The link step rustc calls for bpfel-unknown-none: bitcode in, SBPF v0 shared object out.

rustc passes bitcode objects and rlibs (whose members are bitcode for this target) with
bpf-linker-style flags. We merge them with llvm-link, optimise the whole program with opt,
legalize the IR for upstream llc (sbf.legalize), compile with llc and post-link (sbf.postlink).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import legalize
from .postlink import LinkError, link

LLVM_SUFFIX = "-22"
BITCODE_MAGIC = b"BC\xc0\xde"
ENTRYPOINT = "entrypoint"
OPT_PASSES = (
    "internalize,globaldce,default<O2>,require<libcall-lowering-info>,expand-ir-insts<O2>,instnamer"
)


class ToolError(Exception):
    """A pipeline stage failed; the message names the stage and carries its output."""


@dataclass
class Inputs:
    objects: list[Path] = field(default_factory=list)
    archives: list[Path] = field(default_factory=list)
    output: Path = Path("a.out")
    cpu: str = "v2"


def parse_args(argv: list[str]) -> Inputs:
    """Understands the flags rustc's bpf linker flavor passes; ignores the ones we don't need."""
    parser = argparse.ArgumentParser(prog="sbf-ld", add_help=False)
    parser.add_argument("-o", dest="output", type=Path, required=True)
    parser.add_argument("--cpu", default="v2")
    parser.add_argument("--cpu-features")
    parser.add_argument("--export-symbols")
    parser.add_argument("-L", action="append")
    parser.add_argument("-O", dest="opt", nargs="?")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--fatal-warnings", action="store_true")
    parser.add_argument("--allow-bpf-trap", action="store_true")
    parser.add_argument("--toolchain", help="fingerprint of this linker; only makes cargo relink on change")
    parser.add_argument("inputs", nargs="*")
    ns, unknown = parser.parse_known_args(argv)
    stray = [u for u in unknown if not u.startswith("-O")]
    if stray:
        raise ToolError(f"sbf-ld: unexpected linker arguments {stray}")
    inputs = Inputs(output=ns.output, cpu=ns.cpu)
    for name in ns.inputs:
        path = Path(name)
        (inputs.archives if path.suffix == ".rlib" or path.suffix == ".a" else inputs.objects).append(path)
    if inputs.cpu != "v2":
        raise ToolError(f"sbf-ld: target cpu must be v2 (SBPF v0 has no JMP32/ALU32 of v3), got {inputs.cpu}")
    return inputs


def tool(name: str) -> str:
    path = shutil.which(name + LLVM_SUFFIX)
    if path is None:
        raise ToolError(f"sbf-ld: {name}{LLVM_SUFFIX} not found; run scripts/setup.sh (installs llvm-22)")
    return path


def run(stage: str, cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError(f"sbf-ld: {stage} failed:\n{proc.stderr.strip()}")


def extract_bitcode(archive: Path, into: Path) -> list[Path]:
    """Bitcode members of an rlib/ar archive (skipping metadata and non-bitcode members)."""
    into.mkdir(parents=True, exist_ok=True)
    run("llvm-ar x", [tool("llvm-ar"), "x", "--output", str(into), str(archive)])
    members = []
    for member in sorted(into.iterdir()):
        with member.open("rb") as f:
            if f.read(4) == BITCODE_MAGIC:
                members.append(member)
    return members


def build(inputs: Inputs, work: Path) -> bytes:
    objects = [p for p in inputs.objects if p.read_bytes()[:4] == BITCODE_MAGIC]
    if not objects:
        raise ToolError("sbf-ld: no bitcode objects among the inputs")
    libraries: list[Path] = []
    for i, archive in enumerate(inputs.archives):
        # compiler_builtins' mem* byte loops would shadow the syscalls the legalizer routes
        # them to (and opt specializes their signatures); its i128/float libcalls cannot run
        # on SBPF v0 anyway, so any symbol we miss fails loudly in the post-linker.
        if archive.name.startswith("libcompiler_builtins"):
            continue
        libraries += extract_bitcode(archive, work / f"ar{i}")

    merged = work / "merged.bc"
    cmd = [tool("llvm-link"), "-o", str(merged), *map(str, objects)]
    for lib in libraries:  # only what the program reaches, one archive member at a time
        cmd += ["--only-needed", str(lib)]
    run("llvm-link", cmd)

    optimized = work / "opt.ll"
    run("opt", [tool("opt"), "-mtriple=bpfel", "-mcpu=v2", f"-internalize-public-api-list={ENTRYPOINT}",
                f"-passes={OPT_PASSES}", "-expand-div-rem-bits=64", "-S", "-o", str(optimized), str(merged)])

    legal = work / "legal.ll"
    legal.write_text(legalize.legalize(optimized.read_text()))
    # The helpers legalize inserts are always-inline; fold them in before codegen.
    inlined = work / "inlined.bc"
    run("opt (inline helpers)", [tool("opt"), "-mtriple=bpfel", "-mcpu=v2",
                                 "-passes=always-inline,globaldce", "-o", str(inlined), str(legal)])

    obj = work / "prog.o"
    # SBPF has no alignment requirement; without this, every unaligned field read from
    # account bytes is split into single-byte loads.
    run("llc", [tool("llc"), "-march=bpfel", "-mcpu=v2", "-mattr=+allows-misaligned-mem-access", "-O2", "-bpf-stack-size=4096",
                "-filetype=obj", "-o", str(obj), str(inlined)])
    return link(obj.read_bytes())


def main(argv: list[str] | None = None) -> int:
    try:
        inputs = parse_args(sys.argv[1:] if argv is None else argv)
        keep = os.environ.get("SBF_LD_KEEP")  # a directory to keep intermediate files in
        if keep:
            work = Path(keep) / inputs.output.stem
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            so = build(inputs, work)
        else:
            with tempfile.TemporaryDirectory(prefix="sbf-ld-") as tmp:
                so = build(inputs, Path(tmp))
        inputs.output.write_bytes(so)
        return 0
    except (ToolError, LinkError, legalize.LegalizeError) as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
