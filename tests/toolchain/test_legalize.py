"""The IR legalizer (tools/sbf/legalize.py), proved by execution and by llc.

Execution: tests/programs/qd-test-math evaluates every operation the legalizer rewrites (i128
multiply, variable i128 shifts, sdiv/srem i8..i64, {u,s}mul.with.overflow.{i64,i128},
runtime-length memcpy/memmove/memset/memcmp, a call spilling arguments) inside LiteSVM, and the
results are compared with Python's exact integers over edge cases and seeded random operands.
Many operations share one instruction, returned together as return data.

Unit: small IR modules show each rewrite is what makes llc-22 accept the code, and that the
legalizer refuses what it cannot fix with a message naming the function.

Needs target/deploy/qd_test_math.so (`make build`), llc-22 and opt-22.
"""
from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from quantdesk.chain import DEPLOY_DIR, MAX_COMPUTE_UNITS, ROOT, Chain

sys.path.insert(0, str(ROOT / "tools"))
from sbf import legalize  # noqa: E402

PROGRAM_ID = Pubkey.from_string("5BETverTFXPa1jiE5zNXjv8FWDMjxybzCzi3KWgWATT5")
MAX_RETURN_DATA = 1024
# Instruction data that still fits a legacy transaction (1232 bytes) with one signature, three
# account keys and the compute-budget instruction.
MAX_INPUT = 960
MAX_OPS = 255  # the count is one byte
RANDOM_CASES = 200
BUF = 100  # the program's memory-op buffer


@dataclass(frozen=True)
class Int:
    bits: int
    signed: bool

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def encode(self, v: int) -> bytes:
        return v.to_bytes(self.bits // 8, "little", signed=self.signed)

    def decode(self, b: bytes) -> int:
        return int.from_bytes(b, "little", signed=self.signed)

    def fits(self, v: int) -> int | None:
        return v if self.min <= v <= self.max else None

    def edges(self) -> list[int]:
        """Boundary values of this type and of every narrower width the helpers split into."""
        magnitudes = {0, 1, 2, 3, 7, 1 << 31, 1 << 32, 1 << 63, 1 << 64, 1 << 96, 1 << 127}
        around = {m + d for m in magnitudes for d in (-1, 0, 1)}
        values = around | {-v for v in around} | {self.min, self.min + 1, self.max, self.max - 1}
        return sorted(v for v in values if self.min <= v <= self.max)

    def random(self, rng: random.Random) -> int:
        """Uniform bit length first, so small and large magnitudes are equally likely."""
        v = rng.getrandbits(rng.randint(1, self.bits))
        if self.signed and rng.random() < 0.5:
            v = -v
        return min(max(v, self.min), self.max)


U64, I64, U128, I128 = Int(64, False), Int(64, True), Int(128, False), Int(128, True)
I32, I16, I8 = Int(32, True), Int(16, True), Int(8, True)
SHIFT_AMOUNTS = [0, 1, 2, 31, 32, 33, 63, 64, 65, 96, 126, 127, 128, 129, 191, 255]


def trunc_div(a: int, b: int) -> int:
    """Division rounding toward zero, as LLVM's sdiv (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def checked_div(t: Int) -> Callable[[int, int], int | None]:
    return lambda a, b: None if b == 0 or (t.signed and a == t.min and b == -1) else trunc_div(a, b)


def checked_rem(t: Int) -> Callable[[int, int], int | None]:
    return lambda a, b: None if b == 0 or (t.signed and a == t.min and b == -1) else a - b * trunc_div(a, b)


@dataclass(frozen=True)
class Arith:
    """An op whose operands are two `ty` values (or a value and a u8 amount, if `shift`);
    the program returns a flag byte and a `ty` value."""
    code: int
    ty: Int
    model: Callable[[int, int], int | None]
    shift: bool = False

    def cases(self, rng: random.Random) -> Iterator[tuple[int, int]]:
        seconds = SHIFT_AMOUNTS if self.shift else self.ty.edges()
        for a in self.ty.edges():
            for b in seconds:
                yield a, b
        for _ in range(RANDOM_CASES):
            yield self.ty.random(rng), (rng.randrange(256) if self.shift else self.ty.random(rng))

    def encode(self, a: int, b: int) -> bytes:
        return bytes([self.code]) + self.ty.encode(a) + (bytes([b]) if self.shift else self.ty.encode(b))

    def decode(self, out: bytes) -> int | None:
        assert out[0] in (0, 1), out
        return self.ty.decode(out[1:]) if out[0] else None


ARITH = {
    "mul_u128": Arith(0, U128, lambda a, b: a * b % (1 << 128)),
    "checked_mul_u128": Arith(1, U128, lambda a, b: U128.fits(a * b)),
    "checked_mul_i128": Arith(2, I128, lambda a, b: I128.fits(a * b)),
    "checked_mul_u64": Arith(3, U64, lambda a, b: U64.fits(a * b)),
    "checked_mul_i64": Arith(4, I64, lambda a, b: I64.fits(a * b)),
    "shl_u128": Arith(5, U128, lambda x, n: (x << (n & 127)) % (1 << 128), shift=True),
    "lshr_u128": Arith(6, U128, lambda x, n: x >> (n & 127), shift=True),
    "ashr_i128": Arith(7, I128, lambda x, n: x >> (n & 127), shift=True),
    "sdiv_i64": Arith(8, I64, checked_div(I64)),
    "srem_i64": Arith(9, I64, checked_rem(I64)),
    "sdiv_i32": Arith(10, I32, checked_div(I32)),
    "srem_i32": Arith(11, I32, checked_rem(I32)),
    "sdiv_i16": Arith(12, I16, checked_div(I16)),
    "srem_i16": Arith(13, I16, checked_rem(I16)),
    "sdiv_i8": Arith(14, I8, checked_div(I8)),
    "srem_i8": Arith(15, I8, checked_rem(I8)),
    "sdiv_i128": Arith(16, I128, checked_div(I128)),
    "srem_i128": Arith(17, I128, checked_rem(I128)),
    "udiv_u128": Arith(18, U128, checked_div(U128)),
    "urem_u128": Arith(19, U128, checked_rem(U128)),
}
MEMCPY, MEMMOVE, MEMSET, MEMCMP, SPILL = 20, 21, 22, 23, 24


@pytest.fixture(scope="module")
def chain() -> Chain:
    c = Chain()
    c.deploy("qd_test_math", PROGRAM_ID)
    return c


def evaluate(chain: Chain, ops: list[tuple[bytes, int]]) -> list[bytes]:
    """Runs encoded ops (with their result lengths), packing as many into one instruction as
    the transaction size, return data and count byte allow; returns each op's result."""
    results: list[bytes] = []
    start = 0
    while start < len(ops):
        end, size, out = start, 1, 0
        while end < len(ops) and end - start < MAX_OPS and size + len(ops[end][0]) <= MAX_INPUT and out + ops[end][1] <= MAX_RETURN_DATA:
            size += len(ops[end][0])
            out += ops[end][1]
            end += 1
        data = bytes([end - start]) + b"".join(op for op, _ in ops[start:end])
        result = chain.send([Instruction(PROGRAM_ID, data, [])], cu_limit=MAX_COMPUTE_UNITS)
        assert result.ok, (result.error, result.logs[-3:])
        assert len(result.return_data) == out
        at = 0
        for _, length in ops[start:end]:
            results.append(result.return_data[at:at + length])
            at += length
        start = end
    return results


@pytest.mark.parametrize("name", ARITH)
def test_arithmetic_matches_exact_integers(chain: Chain, name: str) -> None:
    op = ARITH[name]
    cases = list(op.cases(random.Random(name)))
    outs = evaluate(chain, [(op.encode(a, b), 1 + op.ty.bits // 8) for a, b in cases])
    wrong = [(a, b, op.model(a, b), op.decode(out)) for (a, b), out in zip(cases, outs) if op.decode(out) != op.model(a, b)]
    assert not wrong, f"{name}: {len(wrong)}/{len(cases)} wrong, first (a, b, expected, got): {wrong[:3]}"


def rotl(x: int, n: int, bits: int) -> int:
    mask = (1 << bits) - 1
    return ((x << n) | (x >> (bits - n))) & mask


def spill_model(a: int, b: int, c: int, d: int, e: int, f: int) -> int:
    low = a ^ rotl(b, 13, 64) ^ rotl(c, 26, 64) ^ rotl(d, 39, 64) ^ rotl(e, 52, 64)
    return rotl(f, 7, 128) ^ low ^ ((a + e) % (1 << 64)) << 64


def test_spilled_call_receives_every_argument(chain: Chain) -> None:
    """`spill(a, b, c, d, e: u64, f: u128)` needs seven argument registers; the legalizer passes
    the tail through a struct. Distinct random arguments expose a dropped or swapped one."""
    rng = random.Random("spill")
    cases = [[rng.getrandbits(64) for _ in range(5)] + [rng.getrandbits(128)] for _ in range(50)]
    ops = [(bytes([SPILL]) + b"".join(U64.encode(v) for v in args[:5]) + U128.encode(args[5]), 17) for args in cases]
    for args, out in zip(cases, evaluate(chain, ops)):
        assert out == b"\x01" + U128.encode(spill_model(*args)), args


def pattern() -> bytes:
    return bytes((i * 31 + 7) & 0xFF for i in range(BUF))


def memory_cases(rng: random.Random) -> Iterator[tuple[int, int, int]]:
    """(length, first offset, second offset) inside the buffer: lengths around the 64-byte
    inline limit and the 8-byte word, offsets at both ends, overlapping both ways, random."""
    for n in (0, 1, 7, 8, 9, 31, 63, 64, 65, 99, 100):
        room = BUF - n
        for a, b in {(0, 0), (0, room), (room, 0), (room, room), (min(1, room), 0), (0, min(1, room)), (room // 2, room // 3)}:
            yield n, a, b
    for _ in range(60):
        n = rng.randrange(BUF + 1)
        yield n, rng.randrange(BUF - n + 1), rng.randrange(BUF - n + 1)


def test_memcpy_and_memmove_of_runtime_lengths(chain: Chain) -> None:
    cases = list(memory_cases(random.Random("copy")))
    ops = [(bytes([code, n, src, dst]), BUF) for code in (MEMCPY, MEMMOVE) for n, src, dst in cases]
    outs = evaluate(chain, ops)
    for (op, _), out in zip(ops, outs):
        code, n, src, dst = op
        expected = bytearray(b"\xee" * BUF if code == MEMCPY else pattern())
        expected[dst:dst + n] = pattern()[src:src + n]  # memmove: the source as it was before
        assert out == bytes(expected), ("memcpy" if code == MEMCPY else "memmove", n, src, dst)


def test_memset_of_runtime_lengths(chain: Chain) -> None:
    rng = random.Random("set")
    cases = [(n, at, rng.choice([0, 0x7F, 0x80, 0xFF, rng.randrange(256)])) for n, at, _ in memory_cases(rng)]
    outs = evaluate(chain, [(bytes([MEMSET, n, at, value]), BUF) for n, at, value in cases])
    for (n, at, value), out in zip(cases, outs):
        expected = bytearray(pattern())
        expected[at:at + n] = bytes([value]) * n
        assert out == bytes(expected), (n, at, value)


def test_memcmp_of_runtime_lengths(chain: Chain) -> None:
    """Ordering (memcmp) and equality (bcmp); bytes compare unsigned, so 0x80 > 0x7f."""
    rng = random.Random("cmp")
    cases: list[tuple[bytes, bytes]] = []
    for n in (0, 1, 2, 7, 8, 9, 33, 64, 65, 100):
        a = bytes(rng.randrange(256) for _ in range(n))
        cases.append((a, a))
        for at in {0, n // 2, n - 1} if n else set():
            for x, y in ((0x80, 0x7F), (0x7F, 0x80), (0x00, 0xFF), (0x01, 0x00)):
                cases.append((a[:at] + bytes([x]) + a[at + 1:], a[:at] + bytes([y]) + a[at + 1:]))
    outs = evaluate(chain, [(bytes([MEMCMP, len(a)]) + a + b, 2) for a, b in cases])
    for (a, b), out in zip(cases, outs):
        order = (a > b) - (a < b)  # Python compares bytes unsigned, lexicographically
        assert (int.from_bytes(out[:1], signed=True), out[1]) == (order, int(a == b)), (a.hex(), b.hex())


def test_runtime_length_memory_ops_link_to_syscalls() -> None:
    """The legalizer sends variable-length mem* to the runtime's syscalls (llc cannot call
    libc); their names are in the program's dynamic symbol table. Copies use sol_memmove_,
    because sol_memcpy_ refuses the dst == src copies LLVM's memcpy allows."""
    so = (DEPLOY_DIR / "qd_test_math.so").read_bytes()
    for name in (b"sol_memmove_", b"sol_memset_", b"sol_memcmp_"):
        assert b"\x00" + name + b"\x00" in so, name
    assert b"\x00sol_memcpy_\x00" not in so


# ---- unit tests on IR ------------------------------------------------------------------------


def llc(ir: str, tmp_path: Path) -> str:
    """Compiles `ir` as the linker does after legalizing (always-inline, then llc-22); returns
    llc's error output, "" on success."""
    src, inlined = tmp_path / "in.ll", tmp_path / "inlined.bc"
    src.write_text(ir)
    opt = subprocess.run(["opt-22", "-mtriple=bpfel", "-mcpu=v2", "-passes=always-inline,globaldce", "-o", str(inlined), str(src)],
                         capture_output=True, text=True)
    assert opt.returncode == 0, opt.stderr
    proc = subprocess.run(["llc-22", "-march=bpfel", "-mcpu=v2", "-O2", "-filetype=obj", "-o", str(tmp_path / "out.o"), str(inlined)],
                          capture_output=True, text=True)
    return "" if proc.returncode == 0 else proc.stderr


HEADER = 'target triple = "bpfel"\n'
# Each body reads operands from %p and stores the result back: i128 arguments and returns
# would hit other llc limits than the one under test.
REWRITES = {
    "mul i128": ("__multi3", """
  %a = load i128, ptr %p
  %r = mul i128 %a, %a
  store i128 %r, ptr %p"""),
    "shl i128": ("__ashlti3", """
  %a = load i128, ptr %p
  %n = zext i64 %x to i128
  %r = shl i128 %a, %n
  store i128 %r, ptr %p"""),
    "ashr i128": ("__ashrti3", """
  %a = load i128, ptr %p
  %n = zext i64 %x to i128
  %r = ashr i128 %a, %n
  store i128 %r, ptr %p"""),
    "sdiv i32": ("unsupported signed division", """
  %a = trunc i64 %x to i32
  %h = lshr i64 %x, 32
  %b = trunc i64 %h to i32
  %r = sdiv i32 %a, %b
  store i32 %r, ptr %p"""),
    "umulo i128": ("__multi3", """
  %a = load i128, ptr %p
  %r = call { i128, i1 } @llvm.umul.with.overflow.i128(i128 %a, i128 %a)
  %v = extractvalue { i128, i1 } %r, 0
  store i128 %v, ptr %p"""),
    "memset": ("memset", """
  call void @llvm.memset.p0.i64(ptr %p, i8 0, i64 %x, i1 false)"""),
}
DECLARATIONS = """
declare { i128, i1 } @llvm.umul.with.overflow.i128(i128, i128)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
"""


@pytest.mark.parametrize("name", REWRITES)
def test_rewrite_is_what_makes_llc_accept(name: str, tmp_path: Path) -> None:
    refusal, body = REWRITES[name]
    ir = f"{HEADER}define void @entrypoint(ptr %p, i64 %x) {{\nstart:{body}\n  ret void\n}}\n{DECLARATIONS}"
    assert refusal in llc(ir, tmp_path)
    legal = legalize.legalize(ir)
    assert llc(legal, tmp_path) == ""


def test_sret_attributes_are_stripped(tmp_path: Path) -> None:
    ir = HEADER + """
define internal void @make(ptr sret([32 x i8]) align 8 %out, i64 %x) {
start:
  store i64 %x, ptr %out
  ret void
}
define void @entrypoint(ptr %p, i64 %x) {
start:
  call void @make(ptr sret([32 x i8]) align 8 %p, i64 %x)
  ret void
}
"""
    assert "aggregate returns are not supported" in llc(ir, tmp_path)
    legal = legalize.legalize(ir)
    assert "sret" not in legal
    assert "call void @make(ptr align 8 %p, i64 %x)" in legal
    assert llc(legal, tmp_path) == ""


SIX_ARGUMENTS = HEADER + """
define {linkage}i64 @six(i64 %a, i64 %b, i64 %c, i64 %d, i64 %e, i64 %f) {{
start:
  %s = sub i64 %a, %f
  ret i64 %s
}}
define void @entrypoint(ptr %p, i64 %x) {{
start:
  %r = tail call i64 @six(i64 1, i64 2, i64 3, i64 4, i64 5, i64 %x)
  store i64 %r, ptr %p
  ret void
}}
"""


def test_internal_function_with_six_arguments_is_spilled(tmp_path: Path) -> None:
    ir = SIX_ARGUMENTS.format(linkage="internal ")
    assert "too many arguments" in llc(ir, tmp_path)
    legal = legalize.legalize(ir)
    # Four register arguments and a pointer to the fifth and sixth, stored by the caller.
    assert "define internal i64 @six(i64 %a, i64 %b, i64 %c, i64 %d, ptr noundef %qd.spill)" in legal
    assert "store i64 %x, ptr" in legal
    assert "tail call" not in legal  # the callee now reads the caller's stack
    assert llc(legal, tmp_path) == ""


def test_exported_function_with_too_many_arguments_is_refused() -> None:
    with pytest.raises(legalize.LegalizeError, match=r"exported function @six takes more than 5 argument registers"):
        legalize.legalize(SIX_ARGUMENTS.format(linkage=""))


def test_intrinsic_operands_are_not_argument_registers(tmp_path: Path) -> None:
    """`u128::rotate_left` becomes `llvm.fshl.i128` (three i128 operands): llc expands it in
    place, so its declaration must not be refused as a six-register call."""
    ir = HEADER + """
declare i128 @llvm.fshl.i128(i128, i128, i128)
define void @entrypoint(ptr %p, i64 %x) {
start:
  %a = load i128, ptr %p
  %n = zext i64 %x to i128
  %r = call i128 @llvm.fshl.i128(i128 %a, i128 %a, i128 %n)
  store i128 %r, ptr %p
  ret void
}
"""
    assert llc(legalize.legalize(ir), tmp_path) == ""
