"""ELF64 little-endian reading, enough for llc's BPF objects and for SBPF shared objects.

Only the structures the post-linker needs are decoded: the file header, program headers,
section headers with their names, symbol tables and REL/RELA relocation tables.
Malformed input raises `ElfFormatError` instead of struct or index errors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# e_ident and file header
ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
EV_CURRENT = 1
ELFOSABI_NONE = 0
ET_REL = 1
ET_DYN = 3
EM_BPF = 247
EM_SBPF = 263

# Section header types and flags
SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_DYNAMIC = 6
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

# Special section indices
SHN_UNDEF = 0
SHN_COMMON = 0xFFF2

# Symbol binding and types
STB_GLOBAL = 1
STT_NOTYPE = 0
STT_FUNC = 2
STT_SECTION = 3

# Program headers
PT_LOAD = 1
PT_DYNAMIC = 2
PF_X = 0x1
PF_R = 0x4

# Dynamic tags
DT_NULL = 0
DT_STRTAB = 5
DT_SYMTAB = 6
DT_STRSZ = 10
DT_SYMENT = 11
DT_REL = 17
DT_RELSZ = 18
DT_RELENT = 19
DT_FLAGS = 30
DT_RELCOUNT = 0x6FFFFFFA
DF_TEXTREL = 0x4

# BPF relocation types (LLVM's numbering; the Solana loader reads the same numbers as x86-64 ones)
R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_RELATIVE = 8
R_BPF_64_32 = 10

RELOCATION_NAMES = {
    R_BPF_NONE: "R_BPF_NONE",
    R_BPF_64_64: "R_BPF_64_64",
    R_BPF_64_ABS64: "R_BPF_64_ABS64",
    R_BPF_64_ABS32: "R_BPF_64_ABS32",
    R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32",
    R_BPF_64_RELATIVE: "R_BPF_64_RELATIVE",
    R_BPF_64_32: "R_BPF_64_32",
}

# Structure layouts (little-endian)
EHDR = struct.Struct("<4sBBBBB7sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
SHDR = struct.Struct("<IIQQQQIIQQ")
SYM = struct.Struct("<IBBHQQ")
REL = struct.Struct("<QQ")
RELA = struct.Struct("<QQq")
DYN = struct.Struct("<qQ")


class ElfFormatError(ValueError):
    """The bytes are not a well-formed ELF64 little-endian file."""


@dataclass(frozen=True)
class Header:
    osabi: int
    abiversion: int
    e_type: int
    machine: int
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


@dataclass(frozen=True)
class ProgramHeader:
    p_type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    sh_name: int
    sh_type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int

    @property
    def is_alloc(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def is_exec(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def is_write(self) -> bool:
        return bool(self.flags & SHF_WRITE)

    @property
    def file_end(self) -> int:
        return self.offset + (0 if self.sh_type == SHT_NOBITS else self.size)


@dataclass(frozen=True)
class Symbol:
    index: int
    name: str
    value: int
    size: int
    bind: int
    sym_type: int
    shndx: int

    @property
    def is_defined(self) -> bool:
        return self.shndx != SHN_UNDEF


@dataclass(frozen=True)
class Relocation:
    offset: int
    r_type: int
    sym: int
    addend: int | None  # None for REL: the addend is implicit in the relocated bytes


def _unpack(layout: struct.Struct, data: bytes, offset: int) -> tuple:
    if offset < 0 or offset + layout.size > len(data):
        raise ElfFormatError(f"structure at 0x{offset:x} runs past the end of the file")
    return layout.unpack_from(data, offset)


def c_string(table: bytes, offset: int) -> str:
    """The NUL-terminated string at `offset` of a string table."""
    end = table.find(b"\0", offset)
    if offset >= len(table) or end < 0:
        raise ElfFormatError(f"string at offset {offset} is outside its string table or unterminated")
    return table[offset:end].decode("utf-8", errors="replace")


class ElfFile:
    """A parsed ELF64 little-endian file (relocatable object or shared object)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.header = self._parse_header()
        self.program_headers = self._parse_program_headers()
        self.sections = self._parse_sections()

    def _parse_header(self) -> Header:
        fields = _unpack(EHDR, self.data, 0)
        magic, elf_class, encoding, ident_version, osabi, abiversion, _pad = fields[:7]
        if magic != ELF_MAGIC:
            raise ElfFormatError("not an ELF file (bad magic)")
        if elf_class != ELFCLASS64 or encoding != ELFDATA2LSB:
            raise ElfFormatError("not an ELF64 little-endian file")
        if ident_version != EV_CURRENT:
            raise ElfFormatError(f"unsupported ELF ident version {ident_version}")
        return Header(osabi, abiversion, *fields[7:])

    def _parse_program_headers(self) -> list[ProgramHeader]:
        h = self.header
        if h.phnum and h.phentsize != PHDR.size:
            raise ElfFormatError(f"e_phentsize is {h.phentsize}, expected {PHDR.size}")
        return [ProgramHeader(*_unpack(PHDR, self.data, h.phoff + i * PHDR.size)) for i in range(h.phnum)]

    def _parse_sections(self) -> list[Section]:
        h = self.header
        if h.shentsize != SHDR.size:
            raise ElfFormatError(f"e_shentsize is {h.shentsize}, expected {SHDR.size}")
        raw = [_unpack(SHDR, self.data, h.shoff + i * SHDR.size) for i in range(h.shnum)]
        if h.shstrndx >= len(raw):
            raise ElfFormatError("e_shstrndx does not name a section")
        names = self._bytes_of(raw[h.shstrndx][4], raw[h.shstrndx][5])
        return [Section(i, c_string(names, r[0]), *r) for i, r in enumerate(raw)]

    def _bytes_of(self, offset: int, size: int) -> bytes:
        if offset + size > len(self.data):
            raise ElfFormatError(f"range 0x{offset:x}+0x{size:x} runs past the end of the file")
        return self.data[offset : offset + size]

    def section_data(self, section: Section) -> bytes:
        if section.sh_type == SHT_NOBITS:
            return b""
        return self._bytes_of(section.offset, section.size)

    def sections_named(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    def symbols(self, table: Section) -> list[Symbol]:
        """Symbols of a SHT_SYMTAB or SHT_DYNSYM section, names read from its linked string table."""
        if table.link >= len(self.sections):
            raise ElfFormatError(f"symbol table {table.name} links to a missing string table")
        names = self.section_data(self.sections[table.link])
        data = self.section_data(table)
        result = []
        for index in range(len(data) // SYM.size):
            st_name, info, _other, shndx, value, size = SYM.unpack_from(data, index * SYM.size)
            result.append(Symbol(index, c_string(names, st_name), value, size, info >> 4, info & 0xF, shndx))
        return result

    def relocations(self, table: Section) -> list[Relocation]:
        """Entries of a SHT_REL or SHT_RELA section."""
        data = self.section_data(table)
        if table.sh_type == SHT_RELA:
            rows = [RELA.unpack_from(data, i) for i in range(0, len(data) - RELA.size + 1, RELA.size)]
            return [Relocation(off, info & 0xFFFFFFFF, info >> 32, addend) for off, info, addend in rows]
        rows = [REL.unpack_from(data, i) for i in range(0, len(data) - REL.size + 1, REL.size)]
        return [Relocation(off, info & 0xFFFFFFFF, info >> 32, None) for off, info in rows]

    def dynamic_entries(self, section: Section) -> list[tuple[int, int]]:
        """(tag, value) pairs of a .dynamic section, up to and excluding DT_NULL."""
        data = self.section_data(section)
        entries = []
        for i in range(0, len(data) - DYN.size + 1, DYN.size):
            tag, value = DYN.unpack_from(data, i)
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        return entries
