"""IR bodies of the helpers the legalizer calls in place of operations upstream llc refuses on
SBF. Every helper is `internal alwaysinline` and written against 64-bit operations only (the
driver inlines them before llc); names inside a body are local to it."""
from __future__ import annotations

import re


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


def definitions(names: set[str], declared: set[str]) -> list[str]:
    """IR text defining `names` and every helper they call, plus declarations of the syscalls
    they use that the module does not declare already."""
    pending = sorted(names)
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
    out.extend(SYSCALL_DECLS[sc] for sc in sorted(syscalls - declared))
    return out
