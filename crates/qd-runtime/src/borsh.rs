//! Borsh encoding for instruction arguments (read) and events / return data (write): little
//! endian integers, bool as one byte 0/1, fixed arrays as-is, Option as a 0/1 tag, strings and
//! vectors with a u32 length. Decoding never panics; bad input is `InvalidInstructionData`.

use crate::error::{ProgramError, RuntimeError};
use crate::pubkey::Pubkey;

fn bad() -> ProgramError {
    RuntimeError::InvalidInstructionData.into()
}

/// Splits instruction data into its 8-byte Anchor discriminator and a reader over the borsh
/// arguments; data shorter than a discriminator is `InvalidInstruction`.
pub fn instruction(data: &[u8]) -> Result<([u8; 8], Reader<'_>), ProgramError> {
    if data.len() < 8 {
        return Err(RuntimeError::InvalidInstruction.into());
    }
    let (tag, args) = data.split_at(8);
    Ok((<[u8; 8]>::try_from(tag).map_err(|_| RuntimeError::InvalidInstruction)?, Reader::new(args)))
}

/// Reads borsh values from instruction data, front to back.
pub struct Reader<'a> {
    data: &'a [u8],
}

macro_rules! read_int {
    ($($name:ident: $t:ty),*) => {$(
        pub fn $name(&mut self) -> Result<$t, ProgramError> {
            Ok(<$t>::from_le_bytes(self.array()?))
        }
    )*};
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], ProgramError> {
        if n > self.data.len() {
            return Err(bad());
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ProgramError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    read_int!(u8: u8, u16: u16, u32: u32, u64: u64, i8: i8, i16: i16, i32: i32, i64: i64, i128: i128);

    pub fn bool(&mut self) -> Result<bool, ProgramError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad()),
        }
    }

    pub fn pubkey(&mut self) -> Result<Pubkey, ProgramError> {
        self.array()
    }

    /// Borsh `Option<T>`: a 0/1 tag, then the value.
    pub fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T, ProgramError>) -> Result<Option<T>, ProgramError> {
        if self.bool()? {
            Ok(Some(read(self)?))
        } else {
            Ok(None)
        }
    }

    /// Borsh `Vec<u8>` / `String` bytes: u32 length then the bytes, at most `max` long.
    pub fn vec_u8(&mut self, max: usize) -> Result<&'a [u8], ProgramError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(bad());
        }
        self.bytes(len)
    }

    /// Rejects trailing bytes: an instruction is exactly its arguments.
    pub fn finish(self) -> Result<(), ProgramError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

/// Writes borsh values into a fixed buffer (events, return data). Overflowing the buffer is a
/// program bug caught in tests; it reports `InvalidInstructionData` rather than panicking.
pub struct Writer<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

macro_rules! write_int {
    ($($name:ident: $t:ty),*) => {$(
        pub fn $name(&mut self, v: $t) -> &mut Self {
            self.bytes(&v.to_le_bytes())
        }
    )*};
}

impl<const N: usize> Default for Writer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Writer<N> {
    pub fn new() -> Self {
        Writer { buf: [0u8; N], len: 0, overflow: false }
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        match self.buf.get_mut(self.len..self.len + b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.len += b.len();
            }
            None => self.overflow = true,
        }
        self
    }

    write_int!(u8: u8, u16: u16, u32: u32, u64: u64, i8: i8, i16: i16, i32: i32, i64: i64, i128: i128);

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v as u8)
    }

    pub fn pubkey(&mut self, k: &Pubkey) -> &mut Self {
        self.bytes(k)
    }

    /// What was written (for buffers sized by `BorshWrite::MAX_SIZE`, which cannot overflow).
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn finish(&self) -> Result<&[u8], ProgramError> {
        if self.overflow {
            Err(bad())
        } else {
            Ok(&self.buf[..self.len])
        }
    }
}

/// A value borsh-decodes from instruction data (instruction arguments, their structs).
pub trait BorshRead: Sized {
    fn read(r: &mut Reader) -> Result<Self, ProgramError>;
    /// `[Self; M]` element by element; bytes override it with one copy.
    fn read_array<const M: usize>(r: &mut Reader) -> Result<[Self; M], ProgramError>
    where
        Self: Copy,
    {
        if M == 0 {
            // No element to read: the closure never runs.
            return Ok([(); M].map(|()| unreachable!()));
        }
        let mut out = [Self::read(r)?; M];
        for item in out.iter_mut().skip(1) {
            *item = Self::read(r)?;
        }
        Ok(out)
    }
    /// Fills `items` element by element; bytes override it with one copy.
    fn read_slice(r: &mut Reader, items: &mut [Self]) -> Result<(), ProgramError> {
        for item in items {
            *item = Self::read(r)?;
        }
        Ok(())
    }
}

/// A value borsh-encodes into events and return data; `MAX_SIZE` bounds its encoding, so an
/// event's buffer is sized at compile time and never overflows.
pub trait BorshWrite {
    const MAX_SIZE: usize;
    fn write<const N: usize>(&self, w: &mut Writer<N>);
    /// `[Self]` element by element; bytes override it with one copy.
    fn write_slice<const N: usize>(items: &[Self], w: &mut Writer<N>)
    where
        Self: Sized,
    {
        for item in items {
            item.write(w);
        }
    }
}

macro_rules! borsh_int {
    ($($name:ident: $t:ty),*) => {$(
        impl BorshRead for $t {
            #[inline(always)]
            fn read(r: &mut Reader) -> Result<Self, ProgramError> {
                r.$name()
            }
        }
        impl BorshWrite for $t {
            const MAX_SIZE: usize = core::mem::size_of::<$t>();
            #[inline(always)]
            fn write<const N: usize>(&self, w: &mut Writer<N>) {
                w.$name(*self);
            }
        }
    )*};
}

borsh_int!(u16: u16, u32: u32, u64: u64, i8: i8, i16: i16, i32: i32, i64: i64, i128: i128);

impl BorshRead for u8 {
    #[inline(always)]
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        r.u8()
    }
    #[inline(always)]
    fn read_array<const M: usize>(r: &mut Reader) -> Result<[u8; M], ProgramError> {
        r.array()
    }
    #[inline(always)]
    fn read_slice(r: &mut Reader, items: &mut [u8]) -> Result<(), ProgramError> {
        items.copy_from_slice(r.bytes(items.len())?);
        Ok(())
    }
}

impl BorshWrite for u8 {
    const MAX_SIZE: usize = 1;
    #[inline(always)]
    fn write<const N: usize>(&self, w: &mut Writer<N>) {
        w.u8(*self);
    }
    #[inline(always)]
    fn write_slice<const N: usize>(items: &[u8], w: &mut Writer<N>) {
        w.bytes(items);
    }
}

impl BorshRead for bool {
    #[inline(always)]
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        r.bool()
    }
}

impl BorshWrite for bool {
    const MAX_SIZE: usize = 1;
    #[inline(always)]
    fn write<const N: usize>(&self, w: &mut Writer<N>) {
        w.bool(*self);
    }
}

impl<T: BorshRead + Copy, const M: usize> BorshRead for [T; M] {
    #[inline(always)]
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        T::read_array(r)
    }
}

impl<T: BorshWrite, const M: usize> BorshWrite for [T; M] {
    const MAX_SIZE: usize = M * T::MAX_SIZE;
    #[inline(always)]
    fn write<const N: usize>(&self, w: &mut Writer<N>) {
        T::write_slice(self, w);
    }
}

impl<T: BorshRead> BorshRead for Option<T> {
    #[inline(always)]
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        r.option(T::read)
    }
}

impl<T: BorshWrite> BorshWrite for Option<T> {
    const MAX_SIZE: usize = 1 + T::MAX_SIZE;
    #[inline(always)]
    fn write<const N: usize>(&self, w: &mut Writer<N>) {
        match self {
            Some(v) => {
                w.u8(1);
                v.write(w);
            }
            None => {
                w.u8(0);
            }
        }
    }
}

/// Borsh `Vec<T>` (u32 length, then the items) of at most `M` items, without an allocator.
/// A longer vector is `InvalidInstructionData`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundedVec<T, const M: usize> {
    items: [T; M],
    len: usize,
}

impl<T, const M: usize> BoundedVec<T, M> {
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Copy + Default, const M: usize> BoundedVec<T, M> {
    /// The first `M` of `items` (tests and CPI callers build arguments with it).
    pub fn from_slice(items: &[T]) -> Self {
        let mut v = BoundedVec { items: [T::default(); M], len: items.len().min(M) };
        v.items[..v.len].copy_from_slice(&items[..v.len]);
        v
    }
}

impl<T: BorshRead + Copy + Default, const M: usize> BorshRead for BoundedVec<T, M> {
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        let len = r.u32()? as usize;
        if len > M {
            return Err(bad());
        }
        let mut v = BoundedVec { items: [T::default(); M], len };
        T::read_slice(r, &mut v.items[..len])?;
        Ok(v)
    }
}

impl<T: BorshWrite, const M: usize> BorshWrite for BoundedVec<T, M> {
    const MAX_SIZE: usize = 4 + M * T::MAX_SIZE;
    fn write<const N: usize>(&self, w: &mut Writer<N>) {
        w.u32(self.len as u32);
        T::write_slice(self.as_slice(), w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = Writer::<64>::new();
        w.u8(7).i64(-5).bool(true).pubkey(&[3; 32]).u16(0xbeef);
        let bytes = w.finish().unwrap().to_vec();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.i64().unwrap(), -5);
        assert!(r.bool().unwrap());
        assert_eq!(r.pubkey().unwrap(), [3; 32]);
        assert_eq!(r.u16().unwrap(), 0xbeef);
        r.finish().unwrap();
    }

    #[test]
    fn rejects_short_trailing_and_bad_bool() {
        assert!(Reader::new(&[1, 2, 3]).u64().is_err());
        let mut r = Reader::new(&[1, 0]);
        r.u8().unwrap();
        assert!(r.finish().is_err());
        assert!(Reader::new(&[2]).bool().is_err());
        assert!(Reader::new(&[5, 0, 0, 0, 1]).vec_u8(16).is_err());
        assert!(Reader::new(&[9, 0, 0, 0]).vec_u8(8).is_err());
        assert_eq!(Reader::new(&[0]).option(|r| r.u8()).unwrap(), None);
        assert_eq!(Reader::new(&[1, 4]).option(|r| r.u8()).unwrap(), Some(4));
    }

    #[test]
    fn traits_round_trip_arrays_options_and_bounded_vecs() {
        let mut w = Writer::<64>::new();
        [7u8, 8, 9].write(&mut w);
        Some(-3i64).write(&mut w);
        None::<u16>.write(&mut w);
        BoundedVec::<u64, 4>::from_slice(&[5, 6]).write(&mut w);
        let bytes = w.finish().unwrap().to_vec();
        let mut r = Reader::new(&bytes);
        assert_eq!(<[u8; 3]>::read(&mut r).unwrap(), [7, 8, 9]);
        assert_eq!(Option::<i64>::read(&mut r).unwrap(), Some(-3));
        assert_eq!(Option::<u16>::read(&mut r).unwrap(), None);
        assert_eq!(BoundedVec::<u64, 4>::read(&mut r).unwrap().as_slice(), &[5, 6]);
        r.finish().unwrap();
        assert_eq!(<BoundedVec<u64, 4> as BorshWrite>::MAX_SIZE, 36);
        // Five items do not fit a vector of at most four.
        let mut w = Writer::<64>::new();
        BoundedVec::<u64, 8>::from_slice(&[1; 5]).write(&mut w);
        assert!(BoundedVec::<u64, 4>::read(&mut Reader::new(w.finish().unwrap())).is_err());
    }

    #[test]
    fn writer_overflow_is_an_error() {
        let mut w = Writer::<4>::new();
        w.u64(1);
        assert!(w.finish().is_err());
    }
}
