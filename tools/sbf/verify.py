"""Re-checks a finished SBPF v0 shared object against every rule the loader enforces (ELF
header, sections, file ranges, entrypoint, dynamic tables, relocations, instructions and call
targets). `postlink.link` calls it on its own output; it also catches a hand-made bad .so."""

from __future__ import annotations

from . import elf
from .elf import ElfFile, ElfFormatError, Relocation, Section, Symbol
from .sbpf import (
    INSN_SIZE,
    MAX_SECTION_NAME,
    MAX_DYNSTR_NAME,
    MAPPED_SECTIONS,
    SECTION_TYPES,
    OP_CALL,
    LinkError,
    instructions,
    first_problem,
)
from .syscalls import KNOWN_SYSCALLS, murmur3_32, syscall_hash



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
    for index, insn in instructions(code):
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
    found = first_problem(code)
    if found:
        index, (what, why) = found
        raise _rejected(f"{what} at instruction #{index} (.text+0x{index * INSN_SIZE:x}): {why}")
    _verify_calls(code, _verify_relocations(text, code, symbols, relocs))


