"""SBPF v0 facts shared by the post-linker and the verifier: where the loader maps sections,
which sections a .so may load, instruction encodings, and the instruction rules the v0 loader
and verifier apply (each problem is named, with the reason)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from . import elf

INSN_SIZE = 8
# The loader maps `.text`/`.rodata` at this base plus their file address (MM_REGION_SIZE).
PROGRAM_BASE = 0x1_0000_0000
# ELF header plus our three program headers; `.text` starts right after them.
TEXT_ADDR = elf.EHDR.size + 3 * elf.PHDR.size
# The loader reads section names through a 16-byte window and dynstr names through 64 bytes,
# both NUL included.
MAX_SECTION_NAME = 15
MAX_DYNSTR_NAME = 63
# Sections the v0 loader maps into program memory; data anywhere else faults when read.
MAPPED_SECTIONS = frozenset({".text", ".rodata", ".data.rel.ro", ".eh_frame"})
DYNAMIC_SECTIONS = frozenset({".dynamic", ".dynsym", ".dynstr", ".rel.dyn"})
# The only sections a .so may load, with the type each must have.
SECTION_TYPES = {
    **{name: elf.SHT_PROGBITS for name in MAPPED_SECTIONS},
    ".dynamic": elf.SHT_DYNAMIC, ".dynsym": elf.SHT_DYNSYM, ".dynstr": elf.SHT_STRTAB, ".rel.dyn": elf.SHT_REL,
}

# Opcode classes and fields
CLS_LD, CLS_LDX, CLS_ST, CLS_STX, CLS_ALU, CLS_JMP, CLS_JMP32, CLS_ALU64 = range(8)
OP_LDDW = 0x18
OP_JA = 0x05
OP_CALL = 0x85
OP_CALLX = 0x8D
OP_EXIT = 0x95
OP_LE, OP_BE = 0xD4, 0xDC
ALU_DIV, ALU_MOD, ALU_MOV = 0x30, 0x90, 0xB0
ATOMIC_OPCODES = frozenset({0xC3, 0xDB})  # BPF_STX | BPF_ATOMIC, 32- and 64-bit
MODE_MEMSX = 0x80
V4_NAMES = {0xD7: "bswap", 0x81: "ldsxw", 0x89: "ldsxh", 0x91: "ldsxb"}
V4_ALU_NAMES = {
    ALU_DIV: "signed division (sdiv)",
    ALU_MOD: "signed modulo (smod)",
    ALU_MOV: "sign-extending move (movsx)",
}


def _v0_opcodes() -> frozenset[int]:
    """Every opcode the SBPF v0 verifier accepts (sbpf src/verifier.rs with V0's feature flags)."""
    alu_ops = (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0)
    jmp_ops = (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)
    ops = {OP_LDDW, OP_JA, OP_CALL, OP_CALLX, OP_EXIT, OP_LE, OP_BE, 0x84, 0x87}  # neg32/neg64
    ops |= {cls | 0x60 | size for cls in (CLS_LDX, CLS_ST, CLS_STX) for size in (0x00, 0x08, 0x10, 0x18)}
    ops |= {cls | src | op for cls in (CLS_ALU, CLS_ALU64) for src in (0, 8) for op in alu_ops}
    ops |= {CLS_JMP | src | op for src in (0, 8) for op in jmp_ops}
    return frozenset(ops)


V0_OPCODES = _v0_opcodes()
SHIFT_BITS = {0x64: 32, 0x74: 32, 0xC4: 32, 0x67: 64, 0x77: 64, 0xC7: 64}
DIV_BY_IMM = frozenset({0x34, 0x94, 0x37, 0x97})
STORE_CLASSES = frozenset({CLS_ST, CLS_STX})


class LinkError(Exception):
    """The object cannot become a working SBPF v0 program; the message says which rule failed."""


class Insn(NamedTuple):
    opc: int
    dst: int
    src: int
    off: int
    imm: int


def decode(code: bytes | bytearray, index: int) -> Insn:
    opc, regs, off, imm = struct.unpack_from("<BBhi", code, index * INSN_SIZE)
    return Insn(opc, regs & 0xF, regs >> 4, off, imm)


def set_imm(code: bytearray, index: int, imm: int) -> None:
    struct.pack_into("<i", code, index * INSN_SIZE + 4, imm)


def set_src(code: bytearray, index: int, src: int) -> None:
    at = index * INSN_SIZE + 1
    code[at] = (code[at] & 0x0F) | (src << 4)


def align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


# --------------------------------------------------------------------------------------------
# Instruction rules shared by link (per input section, named by function) and verify (.text)


# A problem is (what, why): "JMP32 instruction (opcode 0x16)", "SBPF v0 has no JMP32 class".
Problem = tuple[str, str]


def _v0_encoding_problem(insn: Insn) -> Problem | None:
    """Why SBPF v0 cannot run this opcode as the compiler meant it, or None."""
    opc, cls = insn.opc, insn.opc & 0x07
    if cls == CLS_JMP32:
        return f"JMP32 instruction (opcode 0x{opc:02x})", "SBPF v0 has no JMP32 class, build with -mcpu=v2"
    if opc in ATOMIC_OPCODES:
        return f"atomic instruction (opcode 0x{opc:02x})", "SBPF v0 has no atomics, use plain loads and stores"
    if cls in (CLS_ALU, CLS_ALU64) and insn.off != 0:
        # BPF v4 reuses the offset field: off=1 makes div/mod signed, off=8/16/32 makes mov
        # sign-extend. The v0 verifier ignores `off`, so these would load and compute wrongly.
        what = V4_ALU_NAMES.get(opc & 0xF0, "ALU encoding with a nonzero offset")
        why = "SBPF v0 ignores the offset and would run the unsigned/plain form"
        return f"v4 {what} (opcode 0x{opc:02x}, off={insn.off})", why
    if (cls == CLS_LDX and opc & 0xE0 == MODE_MEMSX) or opc in V4_NAMES:
        return f"v4 instruction {V4_NAMES.get(opc, 'ldsx')} (opcode 0x{opc:02x})", "not part of SBPF v0"
    if opc not in V0_OPCODES:
        return f"opcode 0x{opc:02x}", "not part of SBPF v0"
    return None


def _operand_problem(code: bytes | bytearray, index: int, insn: Insn) -> Problem | None:
    """The v0 verifier's operand checks (registers, immediates, jump targets), or None."""
    what = f"instruction (opcode 0x{insn.opc:02x})"
    count = len(code) // INSN_SIZE
    if insn.opc == OP_LDDW and (index + 1 >= count or code[(index + 1) * INSN_SIZE] != 0):
        return what, "lddw is missing its second slot (opcode 0)"
    if insn.src > 10:
        return what, f"invalid source register r{insn.src}"
    if insn.dst > 10 or (insn.dst == 10 and insn.opc & 0x07 not in STORE_CLASSES):
        return what, f"invalid destination register r{insn.dst}"
    if insn.opc in DIV_BY_IMM and insn.imm == 0:
        return what, "division by immediate zero"
    if insn.opc in SHIFT_BITS and not 0 <= insn.imm < SHIFT_BITS[insn.opc]:
        return what, f"shift by {insn.imm} overflows a {SHIFT_BITS[insn.opc]}-bit value"
    if insn.opc in (OP_LE, OP_BE) and insn.imm not in (16, 32, 64):
        return what, f"byte swap width {insn.imm} is not 16, 32 or 64"
    if insn.opc == OP_CALLX and not 0 <= insn.imm <= 9:
        return what, f"callx register r{insn.imm} (SBPF v0 reads it from imm) is not r0-r9"
    if insn.opc & 0x07 == CLS_JMP and insn.opc not in (OP_CALL, OP_CALLX, OP_EXIT):
        target = index + 1 + insn.off
        if not 0 <= target < count:
            return what, f"jump target #{target} is outside the code"
        if code[target * INSN_SIZE] == 0:
            return what, f"jump target #{target} is the middle of an lddw"
    return None


def instructions(code: bytes | bytearray) -> Iterator[tuple[int, Insn]]:
    """(index, instruction) for each instruction, skipping the second slot of lddw."""
    index, count = 0, len(code) // INSN_SIZE
    while index < count:
        insn = decode(code, index)
        yield index, insn
        index += 2 if insn.opc == OP_LDDW else 1


def first_problem(code: bytes | bytearray) -> tuple[int, Problem] | None:
    for index, insn in instructions(code):
        problem = _v0_encoding_problem(insn) or _operand_problem(code, index, insn)
        if problem:
            return index, problem
    return None


