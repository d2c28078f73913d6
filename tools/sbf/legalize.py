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


# ---- helper bodies -------------------------------------------------------------------------
# Every helper is written against 64-bit operations only. Names are local to each body.

MUL64_WIDE = """
define internal { i64, i64 } @qd.mul64wide(i64 %a, i64 %b) alwaysinline {
  %a0 = and i64 %a, 4294967295
  %a1 = lshr i64 %a, 32
  %b0 = and i64 %b, 4294967295
  %b1 = lshr i64 %b, 32
  %p00 = mul i64 %a0, %b0
  %p01 = mul i64 %a0, %b1
  %p10 = mul i64 %a1, %b0
  %p11 = mul i64 %a1, %b1
  %p00h = lshr i64 %p00, 32
  %p01l = and i64 %p01, 4294967295
  %p10l = and i64 %p10, 4294967295
  %mid0 = add i64 %p00h, %p01l
  %mid = add i64 %mid0, %p10l
  %p00l = and i64 %p00, 4294967295
  %midl = shl i64 %mid, 32
  %lo = or i64 %p00l, %midl
  %p01h = lshr i64 %p01, 32
  %p10h = lshr i64 %p10, 32
  %midh = lshr i64 %mid, 32
  %h0 = add i64 %p11, %p01h
  %h1 = add i64 %h0, %p10h
  %hi = add i64 %h1, %midh
  %r0 = insertvalue { i64, i64 } poison, i64 %lo, 0
  %r = insertvalue { i64, i64 } %r0, i64 %hi, 1
  ret { i64, i64 } %r
}
"""

SPLIT128 = """
define internal { i64, i64 } @qd.split128(i128 %x) alwaysinline {
  %lo = trunc i128 %x to i64
  %h = lshr i128 %x, 64
  %hi = trunc i128 %h to i64
  %r0 = insertvalue { i64, i64 } poison, i64 %lo, 0
  %r = insertvalue { i64, i64 } %r0, i64 %hi, 1
  ret { i64, i64 } %r
}

define internal i128 @qd.join128(i64 %lo, i64 %hi) alwaysinline {
  %l = zext i64 %lo to i128
  %h0 = zext i64 %hi to i128
  %h = shl i128 %h0, 64
  %r = or i128 %h, %l
  ret i128 %r
}
"""

MUL128 = """
define internal i128 @qd.mul128(i128 %a, i128 %b) alwaysinline {
  %as = call { i64, i64 } @qd.split128(i128 %a)
  %bs = call { i64, i64 } @qd.split128(i128 %b)
  %al = extractvalue { i64, i64 } %as, 0
  %ah = extractvalue { i64, i64 } %as, 1
  %bl = extractvalue { i64, i64 } %bs, 0
  %bh = extractvalue { i64, i64 } %bs, 1
  %w = call { i64, i64 } @qd.mul64wide(i64 %al, i64 %bl)
  %lo = extractvalue { i64, i64 } %w, 0
  %hi0 = extractvalue { i64, i64 } %w, 1
  %c1 = mul i64 %al, %bh
  %c2 = mul i64 %ah, %bl
  %hi1 = add i64 %hi0, %c1
  %hi = add i64 %hi1, %c2
  %r = call i128 @qd.join128(i64 %lo, i64 %hi)
  ret i128 %r
}
"""

# Overflow iff the 256-bit product needs more than 128 bits: both high halves non-zero, or the
# one cross product (ah*bl or al*bh) exceeds 64 bits, or adding it to the high half carries.
UMULO128 = """
define internal { i128, i1 } @qd.umulo.i128(i128 %a, i128 %b) alwaysinline {
  %as = call { i64, i64 } @qd.split128(i128 %a)
  %bs = call { i64, i64 } @qd.split128(i128 %b)
  %al = extractvalue { i64, i64 } %as, 0
  %ah = extractvalue { i64, i64 } %as, 1
  %bl = extractvalue { i64, i64 } %bs, 0
  %bh = extractvalue { i64, i64 } %bs, 1
  %ahnz = icmp ne i64 %ah, 0
  %bhnz = icmp ne i64 %bh, 0
  %both = and i1 %ahnz, %bhnz
  %w = call { i64, i64 } @qd.mul64wide(i64 %al, i64 %bl)
  %lo = extractvalue { i64, i64 } %w, 0
  %hi0 = extractvalue { i64, i64 } %w, 1
  %x1 = select i1 %ahnz, i64 %ah, i64 %bh
  %x2 = select i1 %ahnz, i64 %bl, i64 %al
  %c = call { i64, i64 } @qd.mul64wide(i64 %x1, i64 %x2)
  %cl = extractvalue { i64, i64 } %c, 0
  %ch = extractvalue { i64, i64 } %c, 1
  %chnz = icmp ne i64 %ch, 0
  %hi = add i64 %hi0, %cl
  %carry = icmp ult i64 %hi, %hi0
  %o1 = or i1 %both, %chnz
  %o = or i1 %o1, %carry
  %r = call i128 @qd.join128(i64 %lo, i64 %hi)
  %t0 = insertvalue { i128, i1 } poison, i128 %r, 0
  %t = insertvalue { i128, i1 } %t0, i1 %o, 1
  ret { i128, i1 } %t
}
"""

UMULO64 = """
define internal { i64, i1 } @qd.umulo.i64(i64 %a, i64 %b) alwaysinline {
  %w = call { i64, i64 } @qd.mul64wide(i64 %a, i64 %b)
  %lo = extractvalue { i64, i64 } %w, 0
  %hi = extractvalue { i64, i64 } %w, 1
  %o = icmp ne i64 %hi, 0
  %t0 = insertvalue { i64, i1 } poison, i64 %lo, 0
  %t = insertvalue { i64, i1 } %t0, i1 %o, 1
  ret { i64, i1 } %t
}
"""

def smulo(width: int) -> str:
    """Signed multiply-with-overflow: multiply magnitudes, then the product must fit the signed
    range for its sign (a negative one may reach -2^(w-1), a positive one 2^(w-1) - 1)."""
    ty = f"i{width}"
    half = 2 ** (width - 1)
    return f"""
define internal {{ {ty}, i1 }} @qd.smulo.{ty}({ty} %a, {ty} %b) alwaysinline {{
  %an = icmp slt {ty} %a, 0
  %bn = icmp slt {ty} %b, 0
  %na = sub {ty} 0, %a
  %nb = sub {ty} 0, %b
  %ua = select i1 %an, {ty} %na, {ty} %a
  %ub = select i1 %bn, {ty} %nb, {ty} %b
  %p = call {{ {ty}, i1 }} @qd.umulo.{ty}({ty} %ua, {ty} %ub)
  %pv = extractvalue {{ {ty}, i1 }} %p, 0
  %po = extractvalue {{ {ty}, i1 }} %p, 1
  %neg = xor i1 %an, %bn
  %limit = select i1 %neg, {ty} {half}, {ty} {half - 1}
  %big = icmp ugt {ty} %pv, %limit
  %o = or i1 %po, %big
  %npv = sub {ty} 0, %pv
  %r = select i1 %neg, {ty} %npv, {ty} %pv
  %t0 = insertvalue {{ {ty}, i1 }} poison, {ty} %r, 0
  %t = insertvalue {{ {ty}, i1 }} %t0, i1 %o, 1
  ret {{ {ty}, i1 }} %t
}}
"""



def shift128(op: str) -> str:
    """Variable i128 shift from i64 shifts; amounts >= 128 are poison in IR, masked here."""
    if op == "shl":
        body = """
  %big = icmp uge i64 %n, 64
  %nb = sub i64 %n, 64
  %bhi = shl i64 %lo, %nb
  %slo = shl i64 %lo, %n
  %shi0 = shl i64 %hi, %n
  %back = sub i64 64, %n
  %carry0 = lshr i64 %lo, %back
  %carry = select i1 %zero, i64 0, i64 %carry0
  %shi = or i64 %shi0, %carry
  %rlo = select i1 %big, i64 0, i64 %slo
  %rhi = select i1 %big, i64 %bhi, i64 %shi"""
    else:
        inst = "lshr" if op == "lshr" else "ashr"
        fill = "0" if op == "lshr" else "%sign"
        body = f"""
  %sign = ashr i64 %hi, 63
  %big = icmp uge i64 %n, 64
  %nb = sub i64 %n, 64
  %blo = {inst} i64 %hi, %nb
  %shi = {inst} i64 %hi, %n
  %slo0 = lshr i64 %lo, %n
  %back = sub i64 64, %n
  %carry0 = shl i64 %hi, %back
  %carry = select i1 %zero, i64 0, i64 %carry0
  %slo = or i64 %slo0, %carry
  %rlo = select i1 %big, i64 %blo, i64 %slo
  %rhi = select i1 %big, i64 {fill}, i64 %shi"""
    return f"""
define internal i128 @qd.{op}128(i128 %x, i128 %amount) alwaysinline {{
  %xs = call {{ i64, i64 }} @qd.split128(i128 %x)
  %lo = extractvalue {{ i64, i64 }} %xs, 0
  %hi = extractvalue {{ i64, i64 }} %xs, 1
  %n0 = trunc i128 %amount to i64
  %n = and i64 %n0, 127
  %zero = icmp eq i64 %n, 0{body}
  %r = call i128 @qd.join128(i64 %rlo, i64 %rhi)
  ret i128 %r
}}
"""


def signed_divrem(op: str, width: int) -> str:
    """sdiv/srem via udiv/urem on magnitudes (computed in i64); the quotient takes the sign of
    a XOR b, the remainder the sign of a, as LLVM's sdiv/srem define."""
    ty = f"i{width}"
    if width < 64:
        params = f"{ty} %a0, {ty} %b0"
        widen = f"  %a = sext {ty} %a0 to i64\n  %b = sext {ty} %b0 to i64\n"
        narrow = f"  %out = trunc i64 %r to {ty}\n  ret {ty} %out\n"
    else:
        params, widen, narrow = "i64 %a, i64 %b", "", "  ret i64 %r\n"
    if op == "sdiv":
        core = """  %q = udiv i64 %ua, %ub
  %sx = xor i64 %a, %b
  %neg = icmp slt i64 %sx, 0
  %nq = sub i64 0, %q
  %r = select i1 %neg, i64 %nq, i64 %q
"""
    else:
        core = """  %q = urem i64 %ua, %ub
  %nq = sub i64 0, %q
  %r = select i1 %an, i64 %nq, i64 %q
"""
    return f"""
define internal {ty} @qd.{op}.{ty}({params}) alwaysinline {{
{widen}  %an = icmp slt i64 %a, 0
  %bn = icmp slt i64 %b, 0
  %na = sub i64 0, %a
  %nb = sub i64 0, %b
  %ua = select i1 %an, i64 %na, i64 %a
  %ub = select i1 %bn, i64 %nb, i64 %b
{core}{narrow}}}
"""


# name -> (return type, parameters, body, syscall). LLVM's memcpy allows dst == src and the
# runtime's sol_memcpy_ refuses any overlap, so copies go through sol_memmove_ (same cost).
MEM_HELPERS: dict[str, tuple[str, str, str, str]] = {
    "qd.memcpy": ("void", "ptr %d, ptr %s, i64 %n, i1 %v", "call void @sol_memmove_(ptr %d, ptr %s, i64 %n)\n  ret void", "sol_memmove_"),
    "qd.memmove": ("void", "ptr %d, ptr %s, i64 %n, i1 %v", "call void @sol_memmove_(ptr %d, ptr %s, i64 %n)\n  ret void", "sol_memmove_"),
    "qd.memset": ("void", "ptr %d, i8 %c, i64 %n, i1 %v", "call void @sol_memset_(ptr %d, i8 %c, i64 %n)\n  ret void", "sol_memset_"),
    "qd.libc.memcpy": ("ptr", "ptr %d, ptr %s, i64 %n", "call void @sol_memmove_(ptr %d, ptr %s, i64 %n)\n  ret ptr %d", "sol_memmove_"),
    "qd.libc.memmove": ("ptr", "ptr %d, ptr %s, i64 %n", "call void @sol_memmove_(ptr %d, ptr %s, i64 %n)\n  ret ptr %d", "sol_memmove_"),
    "qd.libc.memset": ("ptr", "ptr %d, i32 %c, i64 %n", "%b = trunc i32 %c to i8\n  call void @sol_memset_(ptr %d, i8 %b, i64 %n)\n  ret ptr %d", "sol_memset_"),
    "qd.libc.memcmp": ("i32", "ptr %a, ptr %b, i64 %n",
                       "%out = alloca i32, align 4\n  call void @sol_memcmp_(ptr %a, ptr %b, i64 %n, ptr %out)\n"
                       "  %r = load i32, ptr %out, align 4\n  ret i32 %r", "sol_memcmp_"),
}


def mem_helper(name: str) -> tuple[str, list[str]]:
    """Body of a memory helper and the syscall it needs."""
    ret, params, body, syscall = MEM_HELPERS[name]
    return f"\ndefine internal {ret} @{name}({params}) alwaysinline {{\n  {body}\n}}\n", [syscall]


SYSCALL_DECLS = {
    "sol_memmove_": "declare void @sol_memmove_(ptr, ptr, i64)",
    "sol_memset_": "declare void @sol_memset_(ptr, i8, i64)",
    "sol_memcmp_": "declare void @sol_memcmp_(ptr, ptr, i64, ptr)",
}
HELPER_DEPENDENCIES = {
    "qd.mul128": ["qd.split128", "qd.mul64wide"],
    "qd.umulo.i128": ["qd.split128", "qd.mul64wide"],
    "qd.smulo.i128": ["qd.umulo.i128"],
    "qd.umulo.i64": ["qd.mul64wide"],
    "qd.smulo.i64": ["qd.umulo.i64"],
    "qd.shl128": ["qd.split128"],
    "qd.lshr128": ["qd.split128"],
    "qd.ashr128": ["qd.split128"],
}


def helper_text(name: str) -> tuple[str, list[str]]:
    fixed = {"qd.mul64wide": MUL64_WIDE, "qd.mul128": MUL128, "qd.umulo.i128": UMULO128, "qd.umulo.i64": UMULO64}
    if name in fixed:
        return fixed[name], []
    if name == "qd.split128":
        return SPLIT128, []  # defines qd.join128 too
    m = re.fullmatch(r"qd\.smulo\.i(64|128)", name)
    if m:
        return smulo(int(m[1])), []
    m = re.fullmatch(r"qd\.(shl|lshr|ashr)128", name)
    if m:
        return shift128(m[1]), []
    m = re.fullmatch(r"qd\.(sdiv|srem)\.i(\d+)", name)
    if m:
        return signed_divrem(m[1], int(m[2])), []
    return mem_helper(name)


def emit_helpers(module: Module) -> list[str]:
    pending = sorted(module.helpers)
    done: set[str] = set()
    out: list[str] = []
    syscalls: set[str] = set()
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        text, needs = helper_text(name)
        out.append(text)
        syscalls.update(needs)
        pending.extend(HELPER_DEPENDENCIES.get(name, []))
    for sc in sorted(syscalls - module.declared):
        out.append(SYSCALL_DECLS[sc])
    return out


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
    out.extend(emit_helpers(module))
    return "\n".join(out) + "\n"
