"""The SBPF v0 post-linker: its output loads and runs in the real runtime, and each rule it
enforces fails with a specific message.

Fixtures are small C programs compiled with the system clang-22 for bpfel; the linked programs
run in `solders.litesvm.LiteSVM`, which embeds the Solana loader and runtime.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
sys.path.insert(0, str(TOOLS))

from sbf import elf  # noqa: E402
from sbf.postlink import LinkError, link, link_report, verify  # noqa: E402
from sbf.syscalls import KNOWN_SYSCALLS, murmur3_32, resolve_syscall, syscall_hash  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

CompileFn = Callable[..., bytes]


@pytest.fixture(scope="module")
def compile_c(tmp_path_factory: pytest.TempPathFactory) -> CompileFn:
    """Compile fixtures/<name>.c to a BPF object with clang-22, caching by arguments."""
    out_dir = tmp_path_factory.mktemp("objects")
    cache: dict[tuple[str, str, tuple[str, ...]], bytes] = {}

    def compile_fixture(name: str, cpu: str = "v2", *flags: str) -> bytes:
        key = (name, cpu, flags)
        if key not in cache:
            out = out_dir / f"{name}-{cpu}-{len(cache)}.o"
            cmd = ["clang-22", "-target", "bpfel", f"-mcpu={cpu}", "-O2", "-ffunction-sections", *flags,
                   "-c", str(FIXTURES / f"{name}.c"), "-o", str(out)]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            cache[key] = out.read_bytes()
        return cache[key]

    return compile_fixture


@dataclass
class Run:
    ok: bool
    logs: list[str]
    return_data: bytes


def run_program(so: bytes, data: bytes = b"") -> Run:
    """Deploy `so` in a fresh LiteSVM and send one instruction with no accounts."""
    svm = LiteSVM()
    program_id = Pubkey.new_unique()
    svm.add_program(program_id, so)
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 1_000_000_000)
    message = MessageV0.try_compile(payer.pubkey(), [Instruction(program_id, data, [])], [], svm.latest_blockhash())
    result = svm.send_transaction(VersionedTransaction(message, [payer]))
    ok = not hasattr(result, "err")
    meta = result if ok else result.meta()
    return Run(ok, list(meta.logs()), bytes(meta.return_data().data))


def section(so: bytes, name: str) -> elf.Section:
    (found,) = elf.ElfFile(so).sections_named(name)
    return found


def dynamic_symbol_names(so: bytes) -> list[str]:
    parsed = elf.ElfFile(so)
    return [s.name for s in parsed.symbols(section(so, ".dynsym"))][1:]


# ---------------------------------------------------------------------------------------------
# Syscall names and hashes


def test_murmur3_matches_the_loader() -> None:
    assert murmur3_32(b"") == 0
    assert murmur3_32(b"hello") == 0x248BFA47  # MurmurHash3_x86_32 reference value
    assert syscall_hash("sol_log_") == 544561597  # sbpf doc/syscalls.md
    assert syscall_hash("abort") == 0xB6FC1A11


def test_syscall_names_and_trap_alias() -> None:
    assert {"sol_log_", "sol_log_64_", "sol_set_return_data", "sol_invoke_signed_c", "abort"} <= KNOWN_SYSCALLS
    assert resolve_syscall("__bpf_trap") == "abort"
    assert resolve_syscall("memcpy") is None


# ---------------------------------------------------------------------------------------------
# Linked programs load and run


def test_linked_program_runs_in_litesvm(compile_c: CompileFn) -> None:
    run = run_program(link(compile_c("hello")))
    assert run.ok, run.logs
    assert "Program log: hello from postlink" in run.logs  # .rodata string via lddw
    # apply() through the callx table: add 13, mul 42, sub 1; thrice(twice(1)) via section-symbol calls
    assert "Program log: 0xd, 0x2a, 0x1, 0x6, 0x0" in run.logs
    assert run.return_data == (13 + 42 + 1 + 6).to_bytes(8, "little")


def test_linked_layout_merges_code_and_fixes_callx(compile_c: CompileFn) -> None:
    obj = compile_c("hello")
    result = link_report(obj)
    so = result.so
    verify(so)
    parsed = elf.ElfFile(obj)
    code_sections = [s for s in parsed.sections if s.is_alloc and s.is_exec]
    assert len(code_sections) >= 6  # -ffunction-sections: one per function, plus .text.helpers
    text = section(so, ".text")
    assert text.size == result.text_size == sum(s.size for s in code_sections)
    assert [s.name for s in elf.ElfFile(so).sections if s.is_alloc] == [
        ".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn"]
    assert result.syscalls == ["sol_log_", "sol_log_64_", "sol_set_return_data"]
    assert dynamic_symbol_names(so) == ["entrypoint", *result.syscalls]
    code = so[text.offset : text.offset + text.size]
    callx = [code[i : i + 8] for i in range(0, len(code), 8) if code[i] == 0x8D]
    assert callx and all(struct.unpack_from("<i", insn, 4)[0] == insn[1] & 0xF for insn in callx)


def test_program_without_rodata_or_syscalls(compile_c: CompileFn) -> None:
    result = link_report(compile_c("minimal"))
    assert result.rodata_size == 0 and result.syscalls == []
    names = {s.name for s in elf.ElfFile(result.so).sections}
    assert ".rodata" not in names and ".rel.dyn" not in names
    assert run_program(result.so, b"\x00").ok
    failed = run_program(result.so, b"\x05")  # nonzero return value = custom program error 5
    assert not failed.ok
    assert any("custom program error: 0x5" in line for line in failed.logs)


def test_debug_info_is_dropped(compile_c: CompileFn) -> None:
    plain = link_report(compile_c("hello"))
    with_debug = link_report(compile_c("hello", "v2", "-g"))  # adds .BTF (NODYLD32) and DWARF
    assert with_debug.text_size == plain.text_size
    assert run_program(with_debug.so).ok


def test_bpf_trap_binds_to_abort(compile_c: CompileFn) -> None:
    result = link_report(compile_c("trap"))
    assert result.syscalls == ["abort"]
    assert run_program(result.so, b"\x01").ok
    trapped = run_program(result.so, b"\x07")
    assert not trapped.ok
    assert any("SBF program panicked" in line for line in trapped.logs)


def test_cli_prints_summary(compile_c: CompileFn, tmp_path: Path) -> None:
    obj, out = tmp_path / "hello.o", tmp_path / "hello.so"
    obj.write_bytes(compile_c("hello"))
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    done = subprocess.run([sys.executable, "-m", "sbf.postlink", str(obj), "-o", str(out)],
                          env=env, capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "text 704 B" in lines[0] and "rodata 44 B" in lines[0] and "relocations" in lines[0]
    assert lines[0].endswith("syscalls: sol_log_, sol_log_64_, sol_set_return_data")
    assert out.read_bytes() == link(obj.read_bytes())


def test_cli_reports_link_errors(compile_c: CompileFn, tmp_path: Path) -> None:
    obj = tmp_path / "writable.o"
    obj.write_bytes(compile_c("writable"))
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    done = subprocess.run([sys.executable, "-m", "sbf.postlink", str(obj), "-o", str(tmp_path / "x.so")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "error: writable data in section '.bss'" in done.stderr
    assert not (tmp_path / "x.so").exists()


# ---------------------------------------------------------------------------------------------
# Link-time rules


@pytest.mark.parametrize(
    ("fixture", "cpu", "flags", "expected"),
    [
        ("writable", "v2", (), "writable data in section '.bss' (holds 'counter')"),
        ("writable", "v2", ("-fcommon",), "writable data: common symbol 'counter'"),
        ("jmp32", "v3", (), "JMP32 instruction (opcode 0xa6) at 'entrypoint'+0x8"),
        ("atomic", "v3", (), "atomic instruction (opcode 0xdb) at 'entrypoint'+0x8"),
        ("sdiv", "v4", (), "v4 signed division (sdiv) (opcode 0x3f, off=1) at 'entrypoint'+0x10"),
        ("unknown_call", "v2", (), "unknown syscall or undefined symbol 'foo'"),
        ("no_entry", "v2", (), "undefined entrypoint: no function 'entrypoint'"),
    ],
    ids=["bss", "common", "jmp32", "atomic", "sdiv", "unknown-call", "no-entrypoint"],
)
def test_link_refuses(compile_c: CompileFn, fixture: str, cpu: str, flags: tuple[str, ...], expected: str) -> None:
    with pytest.raises(LinkError) as err:
        link(compile_c(fixture, cpu, *flags))
    assert expected in str(err.value)


def test_unhandled_relocation_names_type_and_section(compile_c: CompileFn) -> None:
    obj = bytearray(compile_c("hello"))
    rel_rodata = section(bytes(obj), ".rel.rodata")
    # Turn the vtable's first R_BPF_64_ABS64 into an R_BPF_64_ABS32, which cannot hold a program address.
    struct.pack_into("<I", obj, rel_rodata.offset + 8, elf.R_BPF_64_ABS32)
    with pytest.raises(LinkError) as err:
        link(bytes(obj))
    assert "unsupported R_BPF_64_ABS32 at .rodata+0x0" in str(err.value)


def test_input_must_be_a_bpf_object() -> None:
    with pytest.raises(LinkError, match="not a readable ELF object"):
        link(b"not an elf file")


# ---------------------------------------------------------------------------------------------
# verify() on crafted shared objects


def _patch_section_name(so: bytearray, victim: str, new_name: str) -> None:
    """Point `victim`'s sh_name at the existing shstrtab entry for `new_name`."""
    parsed = elf.ElfFile(bytes(so))
    target = section(bytes(so), new_name)
    index = section(bytes(so), victim).index
    struct.pack_into("<I", so, parsed.header.shoff + index * elf.SHDR.size, target.sh_name)


def test_verify_rejects_two_text_sections(compile_c: CompileFn) -> None:
    so = bytearray(link(compile_c("hello")))
    _patch_section_name(so, ".rodata", ".text")
    with pytest.raises(LinkError, match=r"expected exactly one \.text section, found 2"):
        verify(bytes(so))


def _mutate_header(field_offset: int, fmt: str, value: int) -> Callable[[bytearray], None]:
    return lambda so: struct.pack_into(fmt, so, field_offset, value)


def _unfix_callx(so: bytearray) -> None:
    text = section(bytes(so), ".text")
    for at in range(text.offset, text.offset + text.size, 8):
        if so[at] == 0x8D:
            struct.pack_into("<i", so, at + 4, 11)


def _rename_syscall(so: bytearray) -> None:
    dynstr = section(bytes(so), ".dynstr")
    at = bytes(so).index(b"sol_log_64_\0", dynstr.offset)
    so[at : at + 11] = b"sol_log_99_"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_mutate_header(0x30, "<I", 2), "e_flags is 2, expected 0"),
        (_mutate_header(0x10, "<H", elf.ET_REL), "e_type is 1, expected 3"),
        (_mutate_header(0x18, "<Q", 0xE8 + 4), "is not on an instruction boundary"),
        (_mutate_header(0x18, "<Q", 0x10), "is outside .text"),
        (_unfix_callx, "callx register r11"),
        (_rename_syscall, "unknown syscall 'sol_log_99_'"),
        (lambda so: _patch_section_name(so, ".rodata", ".dynamic"), "section '.dynamic' has type 1, expected 6"),
        (lambda so: _patch_section_name(so, ".rel.dyn", ".dynsym"), "section '.dynsym' appears twice"),
    ],
    ids=["e_flags", "e_type", "entry-misaligned", "entry-outside-text", "callx", "unknown-syscall", "section-type",
         "duplicate-section"],
)
def test_verify_rejects(compile_c: CompileFn, mutate: Callable[[bytearray], None], expected: str) -> None:
    so = bytearray(link(compile_c("hello")))
    mutate(so)
    with pytest.raises(LinkError) as err:
        verify(bytes(so))
    assert expected in str(err.value)


def test_verify_rejects_writable_sections(compile_c: CompileFn) -> None:
    so = bytearray(link(compile_c("hello")))
    parsed = elf.ElfFile(bytes(so))
    index = section(bytes(so), ".rodata").index
    flags_at = parsed.header.shoff + index * elf.SHDR.size + 8
    struct.pack_into("<Q", so, flags_at, elf.SHF_ALLOC | elf.SHF_WRITE)
    with pytest.raises(LinkError, match=r"writable section '\.rodata'"):
        verify(bytes(so))
