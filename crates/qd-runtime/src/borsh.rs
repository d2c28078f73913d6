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

    read_int!(u8: u8, u16: u16, u32: u32, u64: u64, i8: i8, i16: i16, i32: i32, i64: i64);

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

    pub fn finish(&self) -> Result<&[u8], ProgramError> {
        if self.overflow {
            Err(bad())
        } else {
            Ok(&self.buf[..self.len])
        }
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
    fn writer_overflow_is_an_error() {
        let mut w = Writer::<4>::new();
        w.u64(1);
        assert!(w.finish().is_err());
    }
}
