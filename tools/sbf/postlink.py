"""SBPF v0 post-linker: turn llc's relocatable BPF object into a .so the Solana loader accepts.

`link(obj)` merges every executable section into one `.text` and all read-only data into one
`.rodata`, resolves relocations statically (only syscall calls stay dynamic), rewrites the
encodings SBPF v0 reads differently from upstream BPF (callx) and refuses what v0 cannot run.
`verify(so)` re-checks a finished shared object against the loader's rules; `link` calls it.

CLI: PYTHONPATH=tools python3 -m sbf.postlink IN.o -o OUT.so
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from . import elf
from .elf import ElfFile, ElfFormatError, Relocation, Section, Symbol
from .syscalls import KNOWN_SYSCALLS, murmur3_32, resolve_syscall, syscall_hash

ENTRYPOINT = "entrypoint"
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


def _set_imm(code: bytearray, index: int, imm: int) -> None:
    struct.pack_into("<i", code, index * INSN_SIZE + 4, imm)


def _set_src(code: bytearray, index: int, src: int) -> None:
    at = index * INSN_SIZE + 1
    code[at] = (code[at] & 0x0F) | (src << 4)


def _align(value: int, alignment: int) -> int:
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


def _instructions(code: bytes | bytearray) -> Iterator[tuple[int, Insn]]:
    """(index, instruction) for each instruction, skipping the second slot of lddw."""
    index, count = 0, len(code) // INSN_SIZE
    while index < count:
        insn = decode(code, index)
        yield index, insn
        index += 2 if insn.opc == OP_LDDW else 1


def _first_problem(code: bytes | bytearray) -> tuple[int, Problem] | None:
    for index, insn in _instructions(code):
        problem = _v0_encoding_problem(insn) or _operand_problem(code, index, insn)
        if problem:
            return index, problem
    return None


# --------------------------------------------------------------------------------------------
# Link


@dataclass
class Placement:
    """Where an input section lands: which output section, at which offset within it."""

    section: Section
    output: str
    start: int


@dataclass
class Layout:
    text: bytearray = field(default_factory=bytearray)
    rodata: bytearray = field(default_factory=bytearray)
    rodata_align: int = INSN_SIZE
    placements: dict[int, Placement] = field(default_factory=dict)

    @property
    def rodata_addr(self) -> int:
        return _align(TEXT_ADDR + len(self.text), self.rodata_align)

    def address(self, shndx: int, value: int) -> int:
        """File address (== sh_addr) of `value` within input section `shndx`."""
        placed = self.placements[shndx]
        base = TEXT_ADDR if placed.output == ".text" else self.rodata_addr
        return base + placed.start + value


@dataclass
class LinkResult:
    so: bytes
    text_size: int
    rodata_size: int
    relocations: int
    syscalls: list[str]

    def summary(self) -> str:
        used = ", ".join(self.syscalls) or "none"
        return (
            f"text {self.text_size} B, rodata {self.rodata_size} B, "
            f"{self.relocations} relocations, syscalls: {used}"
        )


class _Object:
    """The input object with its symbol table, and helpers that name things in messages."""

    def __init__(self, data: bytes) -> None:
        self.elf = ElfFile(data)
        tables = [s for s in self.elf.sections if s.sh_type == elf.SHT_SYMTAB]
        if len(tables) != 1:
            raise LinkError(f"expected one symbol table in the object, found {len(tables)}")
        self.symbols = self.elf.symbols(tables[0])
        header = self.elf.header
        if header.e_type != elf.ET_REL or header.machine != elf.EM_BPF:
            raise LinkError(
                f"input must be a relocatable BPF object (e_type 1, e_machine 247), "
                f"got e_type {header.e_type}, e_machine {header.machine}"
            )

    def section_name(self, shndx: int) -> str:
        if shndx < len(self.elf.sections):
            return self.elf.sections[shndx].name
        return f"special section 0x{shndx:x}"

    def symbol_name(self, sym: Symbol) -> str:
        return self.section_name(sym.shndx) if sym.sym_type == elf.STT_SECTION else sym.name

    def where(self, section: Section, offset: int) -> str:
        """`'function'+0x18 (.text.function)` for an offset inside an input section."""
        funcs = [s for s in self.symbols
                 if s.shndx == section.index and s.sym_type == elf.STT_FUNC and s.value <= offset]
        if not funcs:
            return f"{section.name}+0x{offset:x}"
        func = max(funcs, key=lambda s: s.value)
        return f"'{func.name}'+0x{offset - func.value:x} ({section.name})"


def _writable_error(obj: _Object, section: Section) -> LinkError:
    named = sorted((s for s in obj.symbols if s.shndx == section.index and s.name and s.sym_type != elf.STT_SECTION),
                   key=lambda s: s.value)
    holder = f"'{named[0].name}'" if named else "no named symbol"
    return LinkError(
        f"writable data in section '{section.name}' (holds {holder}): SBPF v0 has no mutable "
        f"statics, keep mutable state in account data or on the stack"
    )


def _layout(obj: _Object) -> Layout:
    """Classify input sections, refuse writable ones and concatenate the rest."""
    for sym in obj.symbols:
        if sym.shndx == elf.SHN_COMMON:
            raise LinkError(f"writable data: common symbol '{sym.name}' is an uninitialised mutable global, "
                            f"SBPF v0 has no mutable statics")
    layout = Layout()
    for section in obj.elf.sections:
        if not section.is_alloc:
            continue  # debug info, BTF, symbol and relocation tables are not part of the program
        read_only = not section.is_write or section.name.startswith(".data.rel.ro")
        if section.sh_type == elf.SHT_NOBITS or not read_only:
            if section.size:
                raise _writable_error(obj, section)
            continue
        data = obj.elf.section_data(section)
        if section.is_exec:
            if len(data) % INSN_SIZE:
                raise LinkError(f"executable section '{section.name}' is {len(data)} bytes, "
                                f"not a whole number of instructions")
            layout.placements[section.index] = Placement(section, ".text", len(layout.text))
            layout.text += data
        else:
            alignment = max(section.addralign, 1)
            layout.rodata_align = max(layout.rodata_align, alignment)
            layout.rodata += bytes(_align(len(layout.rodata), alignment) - len(layout.rodata))
            layout.placements[section.index] = Placement(section, ".rodata", len(layout.rodata))
            layout.rodata += data
    return layout


def _entrypoint(obj: _Object, layout: Layout) -> Symbol:
    for sym in obj.symbols:
        placed = layout.placements.get(sym.shndx)
        if sym.name == ENTRYPOINT and placed is not None and placed.output == ".text":
            return sym
    raise LinkError(
        f"undefined entrypoint: no function '{ENTRYPOINT}' is defined in an executable section "
        f"(export `{ENTRYPOINT}(input: *mut u8) -> u64`)"
    )


def _check_code(obj: _Object, layout: Layout) -> None:
    """Refuse instructions SBPF v0 rejects or runs differently, naming function and offset."""
    for placed in layout.placements.values():
        if placed.output != ".text":
            continue
        code = obj.elf.section_data(placed.section)
        found = _first_problem(code)
        if found:
            index, (what, why) = found
            raise LinkError(f"{what} at {obj.where(placed.section, index * INSN_SIZE)}: {why}")


class _Relocator:
    """Applies the object's relocations to the merged image; collects syscall call sites."""

    def __init__(self, obj: _Object, layout: Layout) -> None:
        self.obj = obj
        self.layout = layout
        self.applied = 0
        self.syscall_sites: list[tuple[int, str]] = []  # (.text offset of the call, syscall)

    def run(self) -> None:
        for table in self.obj.elf.sections:
            if table.sh_type not in (elf.SHT_REL, elf.SHT_RELA):
                continue
            placed = self.layout.placements.get(table.info)
            if placed is None:
                continue  # relocations of dropped sections (debug info, BTF)
            for reloc in self.obj.elf.relocations(table):
                self._apply(placed, reloc)

    def _describe(self, placed: Placement, reloc: Relocation) -> str:
        name = elf.RELOCATION_NAMES.get(reloc.r_type, f"relocation type {reloc.r_type}")
        return f"{name} at {self.obj.where(placed.section, reloc.offset)}"

    def _symbol(self, placed: Placement, reloc: Relocation) -> Symbol:
        if reloc.sym >= len(self.obj.symbols):
            raise LinkError(f"{self._describe(placed, reloc)} refers to missing symbol #{reloc.sym}")
        return self.obj.symbols[reloc.sym]

    def _address(self, placed: Placement, reloc: Relocation, sym: Symbol) -> int:
        name = self.obj.symbol_name(sym)
        if not sym.is_defined:
            raise LinkError(f"undefined symbol '{name}' referenced by {self._describe(placed, reloc)}")
        if sym.shndx not in self.layout.placements:
            raise LinkError(
                f"{self._describe(placed, reloc)} refers to '{name}' in "
                f"{self.obj.section_name(sym.shndx)}, which is not part of the program image"
            )
        return self.layout.address(sym.shndx, sym.value)

    def _apply(self, placed: Placement, reloc: Relocation) -> None:
        if reloc.r_type == elf.R_BPF_NONE:
            return
        handlers = {
            (elf.R_BPF_64_64, ".text"): self._lddw,
            (elf.R_BPF_64_32, ".text"): self._call,
            (elf.R_BPF_64_ABS64, ".rodata"): self._abs64,
        }
        handler = handlers.get((reloc.r_type, placed.output))
        if handler is None:
            raise LinkError(
                f"unsupported {self._describe(placed, reloc)} against "
                f"'{self.obj.symbol_name(self._symbol(placed, reloc))}': only R_BPF_64_64 (lddw) and "
                f"R_BPF_64_32 (call) in code and R_BPF_64_ABS64 in read-only data can be linked"
            )
        handler(placed, reloc)
        self.applied += 1

    def _insn_index(self, placed: Placement, reloc: Relocation, opcode: int) -> int:
        if reloc.offset % INSN_SIZE or reloc.offset >= placed.section.size:
            raise LinkError(f"{self._describe(placed, reloc)} is not on an instruction boundary")
        index = (placed.start + reloc.offset) // INSN_SIZE
        if self.layout.text[index * INSN_SIZE] != opcode:
            raise LinkError(f"{self._describe(placed, reloc)} expects opcode 0x{opcode:02x}")
        return index

    def _lddw(self, placed: Placement, reloc: Relocation) -> None:
        index = self._insn_index(placed, reloc, OP_LDDW)
        text = self.layout.text
        at = index * INSN_SIZE + 4
        addend = reloc.addend if reloc.addend is not None else struct.unpack_from("<I", text, at)[0]
        value = PROGRAM_BASE + self._address(placed, reloc, self._symbol(placed, reloc)) + addend
        struct.pack_into("<I", text, at, value & 0xFFFFFFFF)
        struct.pack_into("<I", text, at + INSN_SIZE, value >> 32)

    def _call(self, placed: Placement, reloc: Relocation) -> None:
        index = self._insn_index(placed, reloc, OP_CALL)
        text = self.layout.text
        sym = self._symbol(placed, reloc)
        if not sym.is_defined:
            syscall = resolve_syscall(sym.name)
            if syscall is None:
                where = self.obj.where(placed.section, reloc.offset)
                raise LinkError(f"unknown syscall or undefined symbol '{sym.name}' (called at {where})")
            # v0 syscalls: imm -1 marks "resolve by dynamic relocation"; the loader writes the hash.
            _set_imm(text, index, -1)
            _set_src(text, index, 0)
            self.syscall_sites.append((index * INSN_SIZE, syscall))
            return
        address = self._address(placed, reloc, sym)
        if self.layout.placements[sym.shndx].output != ".text":
            name = self.obj.symbol_name(sym)
            raise LinkError(f"{self._describe(placed, reloc)} calls '{name}', which is not code")
        # LLVM's implicit call addend is stored as (A / 8 - 1): -1 for a function symbol,
        # the function's offset for a call through a section symbol.
        addend = reloc.addend if reloc.addend is not None else (decode(text, index).imm + 1) * INSN_SIZE
        target = address + addend
        delta = target - (TEXT_ADDR + (index + 1) * INSN_SIZE)
        if delta % INSN_SIZE:
            raise LinkError(f"{self._describe(placed, reloc)} targets a misaligned address")
        # The v0 loader registers every call whose imm is not -1 as a pc-relative internal call.
        _set_imm(text, index, delta // INSN_SIZE)
        _set_src(text, index, 1)

    def _abs64(self, placed: Placement, reloc: Relocation) -> None:
        at = placed.start + reloc.offset
        rodata = self.layout.rodata
        if reloc.offset + 8 > placed.section.size:
            raise LinkError(f"{self._describe(placed, reloc)} runs past the end of its section")
        addend = reloc.addend if reloc.addend is not None else struct.unpack_from("<Q", rodata, at)[0]
        value = PROGRAM_BASE + self._address(placed, reloc, self._symbol(placed, reloc)) + addend
        struct.pack_into("<Q", rodata, at, value)


def _fix_callx(text: bytearray) -> None:
    """SBPF v0 reads callx's register from imm; upstream LLVM encodes it in dst with imm 0."""
    for index, insn in _instructions(text):
        if insn.opc == OP_CALLX and insn.imm == 0:
            _set_imm(text, index, insn.dst)


# --------------------------------------------------------------------------------------------
# Writing the shared object


@dataclass
class _OutSection:
    name: str
    sh_type: int
    flags: int
    data: bytes
    align: int
    link: str = ""  # name of the linked section
    info: int = 0
    entsize: int = 0
    addr: int = 0  # file offset, and for loaded sections also sh_addr

    @property
    def end(self) -> int:
        return self.addr + len(self.data)


def _strtab(names: list[str]) -> tuple[bytes, dict[str, int]]:
    table, offsets = bytearray(b"\0"), {"": 0}
    for name in names:
        if name not in offsets:
            offsets[name] = len(table)
            table += name.encode() + b"\0"
    return bytes(table), offsets


def _dynamic_tables(
    entry_size: int, entry_addr: int, sites: list[tuple[int, str]]
) -> tuple[list[_OutSection], list[str]]:
    """.dynsym, .dynstr and .rel.dyn: `entrypoint` exported, one undefined symbol per syscall,
    one R_BPF_64_32 per syscall call site. Also returns the syscall names in first-use order."""
    syscalls = list(dict.fromkeys(name for _, name in sites))
    dynstr, offsets = _strtab([ENTRYPOINT, *syscalls])
    text_index = 1
    global_func, global_notype = elf.STB_GLOBAL << 4 | elf.STT_FUNC, elf.STB_GLOBAL << 4 | elf.STT_NOTYPE
    symbols = [
        bytes(elf.SYM.size),
        elf.SYM.pack(offsets[ENTRYPOINT], global_func, 0, text_index, entry_addr, entry_size),
        *(elf.SYM.pack(offsets[name], global_notype, 0, elf.SHN_UNDEF, 0, 0) for name in syscalls),
    ]
    first_syscall = 2
    rel = b"".join(
        elf.REL.pack(TEXT_ADDR + offset, (first_syscall + syscalls.index(name)) << 32 | elf.R_BPF_64_32)
        for offset, name in sites
    )
    tables = [
        _OutSection(".dynsym", elf.SHT_DYNSYM, elf.SHF_ALLOC, b"".join(symbols), 8, ".dynstr", 1, elf.SYM.size),
        _OutSection(".dynstr", elf.SHT_STRTAB, elf.SHF_ALLOC, dynstr, 1),
    ]
    if rel:  # the loader refuses a DT_REL table of size 0, so omit it entirely
        tables.append(_OutSection(".rel.dyn", elf.SHT_REL, elf.SHF_ALLOC, rel, 8, ".dynsym", 0, elf.REL.size))
    return tables, syscalls


def _dynamic_section(tables: dict[str, _OutSection]) -> bytes:
    """.dynamic contents for already placed tables (DT_RELCOUNT 0: no R_BPF_64_RELATIVE)."""
    entries = [
        (elf.DT_SYMTAB, tables[".dynsym"].addr), (elf.DT_SYMENT, elf.SYM.size),
        (elf.DT_STRTAB, tables[".dynstr"].addr), (elf.DT_STRSZ, len(tables[".dynstr"].data)),
    ]
    if ".rel.dyn" in tables:
        rel = tables[".rel.dyn"]
        entries += [(elf.DT_REL, rel.addr), (elf.DT_RELSZ, len(rel.data)), (elf.DT_RELENT, elf.REL.size),
                    (elf.DT_RELCOUNT, 0), (elf.DT_FLAGS, elf.DF_TEXTREL)]
    return b"".join(elf.DYN.pack(tag, value) for tag, value in [*entries, (elf.DT_NULL, 0)])


def _place(sections: list[_OutSection]) -> int:
    """Assign file offsets (== addresses) in order from TEXT_ADDR; returns the end offset."""
    cursor = TEXT_ADDR
    for section in sections:
        section.addr = _align(cursor, section.align)
        cursor = section.end
    return cursor


def _section_headers(sections: list[_OutSection], shstrtab_names: dict[str, int]) -> bytes:
    index = {s.name: i for i, s in enumerate(sections, start=1)}
    headers = [bytes(elf.SHDR.size)]
    for s in sections:
        loaded_addr = s.addr if s.flags & elf.SHF_ALLOC else 0
        headers.append(elf.SHDR.pack(shstrtab_names[s.name], s.sh_type, s.flags, loaded_addr, s.addr, len(s.data),
                                     index.get(s.link, 0), s.info, s.align, s.entsize))
    return b"".join(headers)


def _program_headers(by_name: dict[str, _OutSection]) -> list[bytes]:
    """PT_LOAD for code and read-only data, PT_LOAD for the dynamic tables, PT_DYNAMIC."""
    code_end = by_name[".rodata"].end if ".rodata" in by_name else by_name[".text"].end
    dynamic = by_name[".dynamic"]
    tables_end = max(by_name[name].end for name in DYNAMIC_SECTIONS if name in by_name)
    segments = [
        (elf.PT_LOAD, elf.PF_R | elf.PF_X, TEXT_ADDR, code_end - TEXT_ADDR, 0x1000),
        (elf.PT_LOAD, elf.PF_R, dynamic.addr, tables_end - dynamic.addr, 0x1000),
        (elf.PT_DYNAMIC, elf.PF_R, dynamic.addr, len(dynamic.data), 8),
    ]
    return [elf.PHDR.pack(kind, flags, addr, addr, addr, size, size, align)
            for kind, flags, addr, size, align in segments]


def _build_so(layout: Layout, entry_addr: int, tables: list[_OutSection]) -> bytes:
    code_flags = elf.SHF_ALLOC | elf.SHF_EXECINSTR
    sections = [_OutSection(".text", elf.SHT_PROGBITS, code_flags, bytes(layout.text), INSN_SIZE)]
    if layout.rodata:
        rodata = _OutSection(".rodata", elf.SHT_PROGBITS, elf.SHF_ALLOC, bytes(layout.rodata), layout.rodata_align)
        sections.append(rodata)
    by_name = {s.name: s for s in tables}
    # .dynamic's size does not depend on addresses: place it with placeholder contents, then fill.
    dynamic = _OutSection(".dynamic", elf.SHT_DYNAMIC, elf.SHF_ALLOC, _dynamic_section(by_name), 8, ".dynstr", 0,
                          elf.DYN.size)
    sections += [dynamic, *tables]
    shstrtab, shstrtab_names = _strtab([s.name for s in sections] + [".shstrtab"])
    sections.append(_OutSection(".shstrtab", elf.SHT_STRTAB, 0, shstrtab, 1))
    shoff = _align(_place(sections), 8)
    dynamic.data = _dynamic_section(by_name)
    by_name.update({s.name: s for s in sections})

    image = bytearray(shoff)
    for section in sections:
        image[section.addr : section.end] = section.data
    image += _section_headers(sections, shstrtab_names)
    phdrs = _program_headers(by_name)
    image[elf.EHDR.size : TEXT_ADDR] = b"".join(phdrs)
    ident = (elf.ELF_MAGIC, elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EV_CURRENT, elf.ELFOSABI_NONE, 0, bytes(7))
    e_flags = 0  # SBPF v0
    elf.EHDR.pack_into(image, 0, *ident, elf.ET_DYN, elf.EM_BPF, elf.EV_CURRENT, entry_addr, elf.EHDR.size, shoff,
                       e_flags, elf.EHDR.size, elf.PHDR.size, len(phdrs), elf.SHDR.size,
                       len(sections) + 1, len(sections))  # shstrtab is the last section
    return bytes(image)


def link_report(obj_bytes: bytes) -> LinkResult:
    """Link and also report sizes, relocation count and syscalls used."""
    try:
        obj = _Object(obj_bytes)
        layout = _layout(obj)
        entry = _entrypoint(obj, layout)
        _check_code(obj, layout)
        relocator = _Relocator(obj, layout)
        relocator.run()
    except ElfFormatError as err:  # section or relocation data outside the file
        raise LinkError(f"input is not a readable ELF object: {err}") from err
    _fix_callx(layout.text)
    entry_addr = layout.address(entry.shndx, entry.value)
    tables, syscalls = _dynamic_tables(entry.size, entry_addr, relocator.syscall_sites)
    so = _build_so(layout, entry_addr, tables)
    verify(so)
    return LinkResult(so, len(layout.text), len(layout.rodata), relocator.applied, syscalls)


def link(obj: bytes) -> bytes:
    """The SBPF v0 shared object for llc's relocatable BPF object `obj`; raises LinkError."""
    return link_report(obj).so


# --------------------------------------------------------------------------------------------
# Verify


def _rejected(message: str) -> LinkError:
    return LinkError(f"SBPF v0 loader would reject the .so: {message}")


def _verify_header(so: ElfFile) -> None:
    h = so.header
    expected = {
        "OSABI": (h.osabi, elf.ELFOSABI_NONE), "e_type": (h.e_type, elf.ET_DYN), "e_flags": (h.flags, 0),
        "e_version": (h.version, elf.EV_CURRENT), "e_ehsize": (h.ehsize, elf.EHDR.size),
        "e_phentsize": (h.phentsize, elf.PHDR.size),
    }
    for field_name, (actual, wanted) in expected.items():
        if actual != wanted:
            raise _rejected(f"{field_name} is {actual}, expected {wanted}")
    if h.machine not in (elf.EM_BPF, elf.EM_SBPF):
        raise _rejected(f"e_machine is {h.machine}, expected {elf.EM_BPF} or {elf.EM_SBPF}")
    if not so.sections or so.sections[0].sh_type != elf.SHT_NULL:
        raise _rejected("section 0 is not SHT_NULL")


def _verify_sections(so: ElfFile) -> Section:
    """Section rules; returns the single .text section."""
    for section in so.sections:
        if len(section.name.encode()) > MAX_SECTION_NAME:
            raise _rejected(f"section name '{section.name}' is longer than {MAX_SECTION_NAME} bytes")
    texts = so.sections_named(".text")
    if len(texts) != 1:
        raise _rejected(f"expected exactly one .text section, found {len(texts)}")
    seen: set[str] = set()
    for section in so.sections:
        if section.is_alloc:
            _verify_loaded_section(section, seen)
    return texts[0]


def _verify_loaded_section(section: Section, seen: set[str]) -> None:
    if section.name not in SECTION_TYPES:
        mapped = ", ".join(sorted(MAPPED_SECTIONS))
        raise _rejected(f"section '{section.name}' is not one the loader maps ({mapped})")
    if section.name in seen:
        raise _rejected(f"section '{section.name}' appears twice")
    seen.add(section.name)
    # The loader treats .data.rel.ro as read-only whatever its flags; other mapped data must not be writable.
    writable = section.is_write and section.name in MAPPED_SECTIONS - {".data.rel.ro"}
    if section.sh_type == elf.SHT_NOBITS or writable:
        raise _rejected(f"writable section '{section.name}' is not supported")
    if section.sh_type != SECTION_TYPES[section.name]:
        expected = SECTION_TYPES[section.name]
        raise _rejected(f"section '{section.name}' has type {section.sh_type}, expected {expected}")
    if section.addr != section.offset:
        raise _rejected(
            f"section '{section.name}' has sh_addr 0x{section.addr:x} != sh_offset 0x{section.offset:x}")


def _verify_file_ranges(so: ElfFile) -> None:
    h = so.header
    tables = [
        (0, elf.EHDR.size),
        (h.phoff, h.phoff + h.phnum * elf.PHDR.size),
        (h.shoff, h.shoff + h.shnum * elf.SHDR.size),
    ]
    for start, end in tables:
        if end > len(so.data):
            raise _rejected("header tables run past the end of the file")
    previous_end = 0
    for section in so.sections[1:]:
        if section.sh_type == elf.SHT_NOBITS:
            continue
        if section.offset < previous_end:
            raise _rejected(f"section '{section.name}' is not in ascending, non-overlapping file order")
        if section.file_end > len(so.data):
            raise _rejected(f"section '{section.name}' runs past the end of the file")
        if any(section.offset < end and start < section.file_end for start, end in tables if section.size):
            raise _rejected(f"section '{section.name}' overlaps the ELF or program/section header tables")
        previous_end = section.file_end
    vaddr = 0
    for phdr in so.program_headers:
        if phdr.p_type == elf.PT_LOAD:
            if phdr.vaddr < vaddr or phdr.offset + phdr.filesz > len(so.data):
                raise _rejected("PT_LOAD program headers are not ascending or run past the file")
            vaddr = phdr.vaddr


def _verify_entry(so: ElfFile, text: Section) -> None:
    entry = so.header.entry
    if not text.addr <= entry < text.addr + text.size:
        raise _rejected(f"e_entry 0x{entry:x} is outside .text")
    if (entry - text.addr) % INSN_SIZE:
        raise _rejected(f"e_entry 0x{entry:x} is not on an instruction boundary")


def _dynamic_table(so: ElfFile) -> dict[int, int]:
    sections = [s for s in so.sections if s.sh_type == elf.SHT_DYNAMIC]
    if not sections:
        return {}
    return dict(so.dynamic_entries(sections[0]))


def _verify_dynamic(so: ElfFile) -> tuple[list[Symbol], list[Relocation]]:
    """DT_* rules; returns the dynamic symbols and relocations."""
    dynamic = _dynamic_table(so)
    symbols: list[Symbol] = []
    if dynamic.get(elf.DT_SYMTAB):
        matches = [s for s in so.sections if s.addr == dynamic[elf.DT_SYMTAB] and s.is_alloc]
        if not matches or matches[0].sh_type != elf.SHT_DYNSYM:
            raise _rejected("DT_SYMTAB does not equal the address of a .dynsym section")
        if dynamic.get(elf.DT_SYMENT, elf.SYM.size) != elf.SYM.size:
            raise _rejected(f"DT_SYMENT is {dynamic[elf.DT_SYMENT]}, expected {elf.SYM.size}")
        symbols = so.symbols(matches[0])
        if matches[0].offset % 8 or matches[0].size % elf.SYM.size:
            raise _rejected(".dynsym is misaligned or not a whole number of symbols")
    for sym in symbols:
        if len(sym.name.encode()) > MAX_DYNSTR_NAME:
            raise _rejected(f"dynamic symbol name '{sym.name}' is longer than {MAX_DYNSTR_NAME} bytes")
    relocs: list[Relocation] = []
    if dynamic.get(elf.DT_REL):
        if dynamic.get(elf.DT_RELENT) != elf.REL.size:
            raise _rejected(f"DT_RELENT is {dynamic.get(elf.DT_RELENT)}, expected {elf.REL.size}")
        size, start = dynamic.get(elf.DT_RELSZ, 0), dynamic[elf.DT_REL]
        if size == 0 or size % elf.REL.size or start % 8 or start + size > len(so.data):
            raise _rejected("DT_REL/DT_RELSZ do not describe an aligned table inside the file")
        rows = [elf.REL.unpack_from(so.data, start + i) for i in range(0, size, elf.REL.size)]
        relocs = [Relocation(off, info & 0xFFFFFFFF, info >> 32, None) for off, info in rows]
    return symbols, relocs


def _verify_relocations(text: Section, code: bytes, symbols: list[Symbol], relocs: list[Relocation]) -> set[int]:
    """Dynamic relocation rules; returns the .text offsets of syscall calls."""
    syscall_sites = set()
    for reloc in relocs:
        if reloc.r_type != elf.R_BPF_64_32:
            name = elf.RELOCATION_NAMES.get(reloc.r_type, str(reloc.r_type))
            raise _rejected(
                f"dynamic relocation {name} at 0x{reloc.offset:x}: only R_BPF_64_32 syscall relocations are expected")
        offset = reloc.offset - text.offset
        if not 0 <= offset < text.size or offset % INSN_SIZE or code[offset] != OP_CALL:
            raise _rejected(f"R_BPF_64_32 at 0x{reloc.offset:x} is not on a call instruction in .text")
        if reloc.sym >= len(symbols):
            raise _rejected(f"R_BPF_64_32 at 0x{reloc.offset:x} refers to missing dynamic symbol #{reloc.sym}")
        sym = symbols[reloc.sym]
        if sym.sym_type == elf.STT_FUNC and sym.value:
            continue  # loader-resolved internal call
        if sym.name not in KNOWN_SYSCALLS:
            raise _rejected(f"unknown syscall '{sym.name}' would fail at run time")
        syscall_sites.add(offset)
    return syscall_sites


def _verify_calls(code: bytes, syscall_sites: set[int]) -> None:
    """The loader's view of `call`: imm -1 needs a relocation, anything else is pc-relative."""
    count = len(code) // INSN_SIZE
    reserved = {syscall_hash(name): name for name in KNOWN_SYSCALLS}
    for index, insn in _instructions(code):
        if insn.opc != OP_CALL:
            continue
        if insn.imm == -1:
            if index * INSN_SIZE not in syscall_sites:
                raise _rejected(f"call at instruction #{index} has imm -1 but no syscall relocation")
            continue
        target = index + 1 + insn.imm
        if not 0 <= target < count:
            raise _rejected(f"call at instruction #{index} targets #{target}, outside .text")
        # v0 keys internal functions by murmur3 of the target pc; a clash with a syscall fails the load.
        key = murmur3_32(target.to_bytes(8, "little"))
        if key in reserved:
            raise _rejected(f"function at instruction #{target} hashes like syscall '{reserved[key]}'")


def verify(so_bytes: bytes) -> None:
    """Raise LinkError unless `so_bytes` satisfies the SBPF v0 loader's rules."""
    try:
        so = ElfFile(so_bytes)
        _verify_header(so)
        text = _verify_sections(so)
        _verify_file_ranges(so)
        _verify_entry(so, text)
        symbols, relocs = _verify_dynamic(so)
    except ElfFormatError as err:
        raise _rejected(str(err)) from err
    code = so.section_data(text)
    if not code or len(code) % INSN_SIZE:
        raise _rejected(f".text is {len(code)} bytes, not a nonzero whole number of instructions")
    found = _first_problem(code)
    if found:
        index, (what, why) = found
        raise _rejected(f"{what} at instruction #{index} (.text+0x{index * INSN_SIZE:x}): {why}")
    _verify_calls(code, _verify_relocations(text, code, symbols, relocs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m sbf.postlink", description=__doc__.splitlines()[0])
    parser.add_argument("input", help="relocatable BPF object from llc")
    parser.add_argument("-o", "--output", required=True, help="SBPF v0 shared object to write")
    args = parser.parse_args(argv)
    with open(args.input, "rb") as f:
        obj = f.read()
    try:
        result = link_report(obj)
    except LinkError as err:
        print(f"{args.input}: error: {err}", file=sys.stderr)
        return 1
    with open(args.output, "wb") as f:
        f.write(result.so)
    print(f"{args.output}: {result.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
