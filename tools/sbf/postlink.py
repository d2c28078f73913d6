"""SBPF v0 post-linker: turn llc's relocatable BPF object into a .so the Solana loader accepts.

`link(obj)` merges every executable section into one `.text` and all read-only data into one
`.rodata`, resolves relocations statically (only syscall calls stay dynamic), rewrites the
encodings SBPF v0 reads differently from upstream BPF (callx) and refuses what v0 cannot run.
`link` ends by calling `verify.verify` on its output (sbf/verify.py); instruction rules and
SBPF v0 constants shared with it are in sbf/sbpf.py.

CLI: PYTHONPATH=tools python3 -m sbf.postlink IN.o -o OUT.so
"""

from __future__ import annotations

import argparse
import struct
import sys
from dataclasses import dataclass, field

from . import elf
from .elf import ElfFile, ElfFormatError, Relocation, Section, Symbol
from .sbpf import (
    INSN_SIZE,
    PROGRAM_BASE,
    TEXT_ADDR,
    DYNAMIC_SECTIONS,
    OP_LDDW,
    OP_CALL,
    OP_CALLX,
    LinkError,
    decode,
    set_imm,
    set_src,
    align,
    instructions,
    first_problem,
)
from .syscalls import resolve_syscall
from .verify import verify

ENTRYPOINT = "entrypoint"

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
        return align(TEXT_ADDR + len(self.text), self.rodata_align)

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
            layout.rodata += bytes(align(len(layout.rodata), alignment) - len(layout.rodata))
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
        found = first_problem(code)
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
            set_imm(text, index, -1)
            set_src(text, index, 0)
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
        set_imm(text, index, delta // INSN_SIZE)
        set_src(text, index, 1)

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
    for index, insn in instructions(text):
        if insn.opc == OP_CALLX and insn.imm == 0:
            set_imm(text, index, insn.dst)


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
        section.addr = align(cursor, section.align)
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
    shoff = align(_place(sections), 8)
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

