//! Operation evaluator. Each Rust expression below is chosen to produce exactly one of the IR
//! operations the legalizer rewrites; operands come from instruction data, so nothing folds.
//!
//! Arithmetic results are a flag byte (1 = Some) and the value (zero bytes for None). Memory
//! operations return the whole 100-byte buffer they worked on, so a write outside the intended
//! range shows up too.

use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{Reader, Writer};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;

/// The runtime's return data limit.
type Out = Writer<1024>;

// IR produced:                                   operands -> result
const MUL_U128: u8 = 0; //          mul i128                 a, b: u128 -> u128
const CHECKED_MUL_U128: u8 = 1; //  umul.with.overflow.i128  a, b: u128 -> u128?
const CHECKED_MUL_I128: u8 = 2; //  smul.with.overflow.i128  a, b: i128 -> i128?
const CHECKED_MUL_U64: u8 = 3; //   umul.with.overflow.i64   a, b: u64 -> u64?
const CHECKED_MUL_I64: u8 = 4; //   smul.with.overflow.i64   a, b: i64 -> i64?
const SHL_U128: u8 = 5; //          shl i128 (variable)      x: u128, n: u8 -> u128
const SHR_U128: u8 = 6; //          lshr i128 (variable)     x: u128, n: u8 -> u128
const SHR_I128: u8 = 7; //          ashr i128 (variable)     x: i128, n: u8 -> i128
const DIV_I64: u8 = 8; //           sdiv i64                 a, b: i64 -> i64?
const REM_I64: u8 = 9; //           srem i64
const DIV_I32: u8 = 10; //          sdiv i32
const REM_I32: u8 = 11; //          srem i32
const DIV_I16: u8 = 12; //          sdiv i16
const REM_I16: u8 = 13; //          srem i16
const DIV_I8: u8 = 14; //           sdiv i8
const REM_I8: u8 = 15; //           srem i8
const DIV_I128: u8 = 16; //         sdiv i128 (opt expands to a loop)
const REM_I128: u8 = 17; //         srem i128
const DIV_U128: u8 = 18; //         udiv i128
const REM_U128: u8 = 19; //         urem i128
const MEMCPY: u8 = 20; //           memcpy, runtime length   n, src, dst: u8 -> [u8; 100]
const MEMMOVE: u8 = 21; //          memmove, runtime length  n, src, dst: u8 -> [u8; 100]
const MEMSET: u8 = 22; //           memset, runtime length   n, at, value: u8 -> [u8; 100]
const MEMCMP: u8 = 23; //           memcmp and bcmp          n: u8, a, b: [u8; n] -> i8, u8
const SPILL: u8 = 24; //            a call with 7 argument registers (legalizer spills 3)
                      //                                                           a..e: u64, f: u128 -> u128?

const BUF: usize = 100;

fn bad() -> ProgramError {
    RuntimeError::InvalidInstructionData.into()
}

fn put<const N: usize>(out: &mut Out, value: Option<[u8; N]>) {
    match value {
        Some(bytes) => out.u8(1).bytes(&bytes),
        None => out.u8(0).bytes(&[0; N]),
    };
}

/// Two `$t` operands through `$f: fn($t, $t) -> Option<$t>`.
macro_rules! binary {
    ($r:expr, $out:expr, $t:ty, $f:expr) => {{
        let a = <$t>::from_le_bytes($r.array()?);
        let b = <$t>::from_le_bytes($r.array()?);
        let f: fn($t, $t) -> Option<$t> = $f;
        put($out, f(a, b).map(<$t>::to_le_bytes));
    }};
}

/// A `$t` operand and a u8 shift amount through `$f: fn($t, u32) -> $t`.
macro_rules! shift {
    ($r:expr, $out:expr, $t:ty, $f:expr) => {{
        let x = <$t>::from_le_bytes($r.array()?);
        let n = $r.u8()? as u32;
        let f: fn($t, u32) -> $t = $f;
        put($out, Some(f(x, n).to_le_bytes()));
    }};
}

/// Seven argument registers (the u128 takes two): more than SBF's five, so the legalizer passes
/// `e` and `f` through a struct. Each argument lands in distinct bits of the result, so a
/// dropped or swapped argument shows.
#[inline(never)]
fn spill(a: u64, b: u64, c: u64, d: u64, e: u64, f: u128) -> u128 {
    let low = a ^ b.rotate_left(13) ^ c.rotate_left(26) ^ d.rotate_left(39) ^ e.rotate_left(52);
    f.rotate_left(7) ^ low as u128 ^ ((a.wrapping_add(e) as u128) << 64)
}

/// A recognisable, position-dependent fill, so a copy from the wrong offset is visible.
fn pattern() -> [u8; BUF] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
}

/// `at..at + n` if it lies inside the buffer.
fn range(at: usize, n: usize) -> Result<core::ops::Range<usize>, ProgramError> {
    if at + n > BUF {
        return Err(bad());
    }
    Ok(at..at + n)
}

fn eval(r: &mut Reader, out: &mut Out) -> ProgramResult {
    match r.u8()? {
        MUL_U128 => binary!(r, out, u128, |a, b| Some(a.wrapping_mul(b))),
        CHECKED_MUL_U128 => binary!(r, out, u128, u128::checked_mul),
        CHECKED_MUL_I128 => binary!(r, out, i128, i128::checked_mul),
        CHECKED_MUL_U64 => binary!(r, out, u64, u64::checked_mul),
        CHECKED_MUL_I64 => binary!(r, out, i64, i64::checked_mul),
        // wrapping_sh* mask the amount to 0..127 (what `<<` does with overflow checks off).
        SHL_U128 => shift!(r, out, u128, u128::wrapping_shl),
        SHR_U128 => shift!(r, out, u128, u128::wrapping_shr),
        SHR_I128 => shift!(r, out, i128, i128::wrapping_shr),
        DIV_I64 => binary!(r, out, i64, i64::checked_div),
        REM_I64 => binary!(r, out, i64, i64::checked_rem),
        DIV_I32 => binary!(r, out, i32, i32::checked_div),
        REM_I32 => binary!(r, out, i32, i32::checked_rem),
        DIV_I16 => binary!(r, out, i16, i16::checked_div),
        REM_I16 => binary!(r, out, i16, i16::checked_rem),
        DIV_I8 => binary!(r, out, i8, i8::checked_div),
        REM_I8 => binary!(r, out, i8, i8::checked_rem),
        DIV_I128 => binary!(r, out, i128, i128::checked_div),
        REM_I128 => binary!(r, out, i128, i128::checked_rem),
        DIV_U128 => binary!(r, out, u128, u128::checked_div),
        REM_U128 => binary!(r, out, u128, u128::checked_rem),
        MEMCPY => {
            let [n, src, dst] = r.array::<3>()?.map(usize::from);
            let from = pattern();
            let mut to = [0xee; BUF];
            to[range(dst, n)?].copy_from_slice(&from[range(src, n)?]);
            out.bytes(&to);
        }
        MEMMOVE => {
            let [n, src, dst] = r.array::<3>()?.map(usize::from);
            let mut buf = pattern();
            range(dst, n)?;
            buf.copy_within(range(src, n)?, dst);
            out.bytes(&buf);
        }
        MEMSET => {
            let [n, at, value] = r.array::<3>()?;
            let mut buf = pattern();
            buf[range(at.into(), n.into())?].fill(value);
            out.bytes(&buf);
        }
        MEMCMP => {
            let n = r.u8()? as usize;
            let (a, b) = (r.bytes(n)?, r.bytes(n)?);
            out.u8(a.cmp(b) as i8 as u8).u8((a == b) as u8);
        }
        SPILL => {
            let [a, b, c, d, e] = [r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?];
            let f = u128::from_le_bytes(r.array()?);
            put(out, Some(spill(a, b, c, d, e, f).to_le_bytes()));
        }
        _ => return Err(RuntimeError::InvalidInstruction.into()),
    }
    Ok(())
}

pub fn process(program_id: &Pubkey, _accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    let mut r = Reader::new(data);
    let mut out = Out::new();
    for _ in 0..r.u8()? {
        eval(&mut r, &mut out)?;
    }
    r.finish()?;
    set_return_data(out.finish()?);
    Ok(())
}
