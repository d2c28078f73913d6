"""Rewrites optimised LLVM IR (text) into IR that upstream llc-22 can compile for SBPF v0.

Upstream's BPF backend refuses libcalls (__multi3, __ashlti3, __muloti4, memcpy...), signed
division on cpu v1-v3, aggregate (sret) returns and more than five register arguments. Each
refused operation is replaced by a call to an `internal alwaysinline` IR helper built only from
operations the backend supports (64-bit multiply, 64-bit shifts, udiv/urem, selects); the
driver then runs `always-inline`, so helpers cost no call and may return aggregates freely.

The input must have every value named (opt's `instnamer` pass): inserting instructions into
text with numbered values would break the numbering.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import irhelpers

# A constant this size or smaller is expanded inline by llc; larger or variable -> syscalls.
MAX_INLINE_MEM_BYTES = 64
MAX_REGISTER_ARGS = 5


class LegalizeError(Exception):
    """IR that cannot be legalized; the message names the function and the construct."""


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Splits on `sep` outside (), [], {}, <> and quotes; strips each part."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def matching_paren(text: str, open_index: int) -> int:
    """Index of the ')' closing the '(' at open_index, skipping quoted names."""
    depth = 0
    quoted = False
    for i in range(open_index, len(text)):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise LegalizeError(f"unbalanced parentheses in: {text.strip()[:200]}")


def strip_sret(line: str) -> str:
    """Drops every `sret(<type>)` attribute; the pointer stays an ordinary argument."""
    while True:
        i = line.find("sret(")
        if i < 0:
            return line
        end = matching_paren(line, i + 4)
        line = line[:i] + line[end + 1:].lstrip(" ")


INT_LITERAL = re.compile(r"-?\d+$")
BINOP = re.compile(
    r"^(?P<lhs>\s*%[-\w.$\"]+ = )(?P<op>mul|shl|lshr|ashr|sdiv|srem)(?P<flags>(?: nuw| nsw| exact)*)"
    r" (?P<ty>i\d+) (?P<args>.+?)(?P<meta>(?:, ![\w.]+ ![\w.]+)*)$"
)
CALL = re.compile(r"^(?P<head>.*?\bcall\b[^@%]*?)(?P<callee>@[-\w.$]+|%[-\w.$]+)\((?P<rest>.*)$")
DECLARE = re.compile(r"^declare .*?@(?P<name>[-\w.$]+)\(")
DEFINE = re.compile(r"^define (?P<pre>[^@]*?)@(?P<name>[-\w.$\"]+)\((?P<rest>.*)$")

# Intrinsics whose every use becomes a same-signature helper.
RENAMED_INTRINSICS = {
    "llvm.umul.with.overflow.i128": "qd.umulo.i128",
    "llvm.smul.with.overflow.i128": "qd.smulo.i128",
    "llvm.umul.with.overflow.i64": "qd.umulo.i64",
    "llvm.smul.with.overflow.i64": "qd.smulo.i64",
}
MEM_INTRINSICS = {
    "llvm.memcpy.p0.p0.i64": "qd.memcpy",
    "llvm.memmove.p0.p0.i64": "qd.memmove",
    "llvm.memset.p0.i64": "qd.memset",
}
# Plain libc calls Rust may emit directly; routed to the syscalls as well.
LIBC_CALLS = {"memcpy": "qd.libc.memcpy", "memmove": "qd.libc.memmove", "memset": "qd.libc.memset",
              "memcmp": "qd.libc.memcmp", "bcmp": "qd.libc.memcmp"}


@dataclass
class Module:
    lines: list[str]
    helpers: set[str] = field(default_factory=set)
    declared: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)
    counter: int = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"%qd.{stem}.{self.counter}"


def register_count(ty: str) -> int:
    ty = ty.strip()
    if ty == "i128":
        return 2
    if ty.startswith("[") or ty.startswith("{"):
        raise LegalizeError(f"aggregate passed by value ({ty}) is not supported on SBF")
    return 1


def rewrite_binop(m: re.Match[str], module: Module) -> str | None:
    op, ty, lhs = m["op"], m["ty"], m["lhs"]
    args = split_top_level(m["args"])
    if len(args) != 2:
        return None
    a, b = args
    width = int(ty[1:])
    if op == "mul":
        if width != 128:
            return None
        helper = "qd.mul128"
    elif op in ("shl", "lshr", "ashr"):
        if width != 128 or INT_LITERAL.match(b):
            return None  # constant i128 shifts are expanded by llc; narrower shifts are native
        helper = f"qd.{op}128"
    else:  # sdiv / srem: no signed division before cpu v4
        if width == 128:
            raise LegalizeError("i128 sdiv/srem left after expand-ir-insts (expected a udiv loop)")
        helper = f"qd.{op}.i{width}"
    module.helpers.add(helper)
    return f"{lhs}call {ty} @{helper}({ty} {a}, {ty} {b}){m['meta']}"


def call_args(rest: str) -> tuple[list[str], str]:
    """Splits `args...) tail` into the argument list and what follows the closing paren."""
    end = matching_paren("(" + rest, 0) - 1
    return split_top_level(rest[:end]), rest[end + 1:]


def rewrite_call(line: str, module: Module) -> str:
    m = CALL.match(line)
    if m is None:
        return line
    callee = m["callee"][1:]
    if callee in RENAMED_INTRINSICS:
        helper = RENAMED_INTRINSICS[callee]
        module.helpers.add(helper)
        return line.replace("@" + callee + "(", "@" + helper + "(", 1)
    if callee in MEM_INTRINSICS:
        args, _ = call_args(m["rest"])
        length = args[2].split()[-1]
        if INT_LITERAL.match(length) and int(length) <= MAX_INLINE_MEM_BYTES:
            return line
        helper = MEM_INTRINSICS[callee]
        module.helpers.add(helper)
        return line.replace("@" + callee + "(", "@" + helper + "(", 1)
    if callee in LIBC_CALLS:
        if callee in module.defined:
            raise LegalizeError(f"@{callee} is defined in the module; its calls cannot be routed to a syscall")
        helper = LIBC_CALLS[callee]
        module.helpers.add(helper)
        return line.replace("@" + callee + "(", "@" + helper + "(", 1)
    return line


@dataclass
class Spill:
    """How one function's arguments are split: a register prefix, the rest in a struct."""
    kept: int
    types: list[str]

    @property
    def struct(self) -> str:
        return "{ " + ", ".join(self.types) + " }"


def param_type(param: str) -> str:
    """The type of a parameter or argument: everything before attributes and the name."""
    ty = param.split()[0]
    if ty.startswith("{") or ty.startswith("["):
        raise LegalizeError(f"aggregate passed by value ({param}) is not supported on SBF")
    return ty


def plan_spills(lines: list[str]) -> dict[str, Spill]:
    """Functions whose arguments need more than five registers. Only internal definitions can
    be changed (every caller is in this module)."""
    plans: dict[str, Spill] = {}
    for line in lines:
        m = DEFINE.match(line)
        if m is None:
            continue
        params, _ = call_args(m["rest"])
        types = [param_type(p) for p in params if p != "..."]
        if sum(register_count(t) for t in types) <= MAX_REGISTER_ARGS:
            continue
        if "internal" not in m["pre"].split() and "private" not in m["pre"].split():
            raise LegalizeError(f"exported function @{m['name']} takes more than {MAX_REGISTER_ARGS} argument registers")
        used, kept = 0, 0
        while used + register_count(types[kept]) <= MAX_REGISTER_ARGS - 1:
            used += register_count(types[kept])
            kept += 1
        plans[m["name"]] = Spill(kept=kept, types=types[kept:])
    return plans


# Words that may precede a parenthesised constant expression operand, e.g.
# `inttoptr (i64 8 to ptr)` or `getelementptr inbounds nuw (i8, ptr @x, i64 4)`.
CONSTEXPR_WORDS = {"inttoptr", "ptrtoint", "bitcast", "addrspacecast", "getelementptr", "inbounds",
                   "nuw", "nusw", "nsw", "trunc", "add", "sub", "mul", "shl", "xor"}


def arg_value(arg: str) -> str:
    """The value of a call argument (`<type> <attributes> <value>`), constant expressions included."""
    tokens = [t for t in split_top_level(arg, " ") if t]
    if not tokens[-1].startswith("("):
        return tokens[-1]
    i = len(tokens) - 2
    while i > 0 and tokens[i] in CONSTEXPR_WORDS:
        i -= 1
    return " ".join(tokens[i + 1:])


def spill_arguments(lines: list[str], module: Module) -> list[str]:
    """Rewrites functions with more than five argument registers to take the tail of their
    arguments through a pointer to a struct the caller allocates (SBF has no stack arguments)."""
    plans = plan_spills(lines)
    if not plans:
        return lines
    out: list[str] = []
    entry_index = -1  # where allocas go in the current function's entry block
    allocas: dict[str, str] = {}  # callee -> alloca name, per caller
    pending_entry: list[str] = []

    def flush_allocas() -> None:
        if allocas:
            out[entry_index:entry_index] = [f"  {name} = alloca {plans[callee].struct}, align 16" for callee, name in allocas.items()]
        allocas.clear()

    for line in lines:
        d = DEFINE.match(line)
        if d is not None:
            entry_index = -1
            name = d["name"]
            if name in plans:
                plan = plans[name]
                params, tail = call_args(d["rest"])
                spilled = params[plan.kept:]
                line = f"define {d['pre']}@{name}({', '.join(params[:plan.kept] + ['ptr noundef %qd.spill'])}){tail}"
                pending_entry = []
                for j, (ty, param) in enumerate(zip(plan.types, spilled)):
                    gep = module.fresh("spill.gep")
                    pending_entry.append(f"  {gep} = getelementptr inbounds {plan.struct}, ptr %qd.spill, i32 0, i32 {j}")
                    pending_entry.append(f"  {param.split()[-1]} = load {ty}, ptr {gep}")
            out.append(line)
            if line.rstrip().endswith("{"):
                entry_index = len(out)
            continue
        if entry_index == len(out) and line.strip() and line.rstrip().endswith(":") and not line.startswith(" "):
            out.append(line)  # the entry block's label: allocas and loads go after it
            entry_index = len(out)
            continue
        if pending_entry and entry_index == len(out):
            out.extend(pending_entry)
            entry_index = len(out)
            pending_entry = []
        if line.startswith("}"):
            flush_allocas()
            out.append(line)
            continue
        m = CALL.match(line)
        if m is not None and m["callee"][1:] in plans:
            callee = m["callee"][1:]
            plan = plans[callee]
            args, tail = call_args(m["rest"])
            slot = allocas.setdefault(callee, module.fresh("spill.slot"))
            for j, (ty, arg) in enumerate(zip(plan.types, args[plan.kept:])):
                gep = module.fresh("spill.arg")
                out.append(f"  {gep} = getelementptr inbounds {plan.struct}, ptr {slot}, i32 0, i32 {j}")
                out.append(f"  store {ty} {arg_value(arg)}, ptr {gep}")
            # `tail` would promise the callee does not read our stack, and it now does.
            head = re.sub(r"\b(tail|musttail|notail) call\b", "call", m["head"])
            out.append(f"{head}{m['callee']}({', '.join(args[:plan.kept] + [f'ptr {slot}'])}){tail}")
            continue
        for name in plans:
            if "@" + name in line and not line.lstrip().startswith(";"):
                raise LegalizeError(f"@{name} takes more than {MAX_REGISTER_ARGS} argument registers and is used other than by a direct call: {line.strip()[:160]}")
        out.append(line)
    return out


def check_arguments(lines: list[str]) -> None:
    """After spilling, no call may still need stack arguments (indirect calls, declarations).
    Intrinsics are exempt: llc expands them in place (e.g. `llvm.fshl.i128` from
    `u128::rotate_left` takes six registers' worth of operands but is never a call)."""
    for line in lines:
        m = DEFINE.match(line) or DECLARE.match(line)
        if m is None or m["name"].startswith("llvm."):
            continue
        rest = line[line.index("@" + m["name"]) + len(m["name"]) + 2:]
        params, _ = call_args(rest)
        regs = sum(register_count(param_type(p)) for p in params if p != "...")
        if regs > MAX_REGISTER_ARGS:
            raise LegalizeError(
                f"function @{m['name']} takes {regs} argument registers (SBF allows {MAX_REGISTER_ARGS}); "
                "pass the extra arguments in a struct by reference"
            )


def legalize(ir: str) -> str:
    lines = ir.splitlines()
    module = Module(lines=lines)
    module.defined = {m["name"] for m in map(DEFINE.match, lines) if m is not None}
    out: list[str] = []
    for line in lines:
        d = DECLARE.match(line)
        if d is not None:
            name = d["name"]
            if name in RENAMED_INTRINSICS or name in MEM_INTRINSICS or name in LIBC_CALLS:
                continue  # replaced by helpers; an unused declaration would be harmless but noisy
            module.declared.add(name)
            out.append(line)
            continue
        line = strip_sret(line)
        b = BINOP.match(line)
        if b is not None:
            rewritten = rewrite_binop(b, module)
            if rewritten is not None:
                out.append(rewritten)
                continue
        if "call " in line:
            line = rewrite_call(line, module)
        out.append(line)
    out = spill_arguments(out, module)
    check_arguments(out)
    out.extend(irhelpers.definitions(module.helpers, module.declared))
    return "\n".join(out) + "\n"
