//! Reading the three oracle formats into one normalized price.
//!
//! Fields are read at fixed offsets with `from_le_bytes` on sub-slices: no account is copied, no
//! alignment is assumed (PriceUpdateV2 fields are unaligned), and every access is a checked `get`.

use crate::error::OracleError;
use crate::feed::{PriceFeed, FEED_STATUS_TRADING, PRICE_FEED_VERSION};
use core::mem::offset_of;
use core::num::NonZeroU64;
use qd_ids::{PYTH_ORACLE_DEVNET, PYTH_ORACLE_MAINNET, PYTH_RECEIVER, QD_ORACLE};
use qd_runtime::account::AccountType;
use qd_runtime::borsh::{BorshRead, BorshWrite, Reader, Writer};
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

/// Which program's format a price came from (borsh and IDL: its u8 code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum OracleSource {
    /// Our `PriceFeed`, owned by qd-oracle.
    QuantDesk,
    /// Pyth v2 push price account, owned by the Pyth oracle program (mainnet or devnet id).
    PythLegacy,
    /// Pyth `PriceUpdateV2`, owned by the Pyth Solana Receiver.
    PythReceiver,
}

impl OracleSource {
    /// The source whose format an account owned by `owner` must have. The owner check is what
    /// makes a price trustworthy: bytes that look like a Pyth account but are owned by any other
    /// program are refused.
    pub fn from_owner(owner: &Pubkey) -> Result<Self, OracleError> {
        if key_eq(owner, &QD_ORACLE) {
            Ok(OracleSource::QuantDesk)
        } else if key_eq(owner, &PYTH_ORACLE_MAINNET) || key_eq(owner, &PYTH_ORACLE_DEVNET) {
            Ok(OracleSource::PythLegacy)
        } else if key_eq(owner, &PYTH_RECEIVER) {
            Ok(OracleSource::PythReceiver)
        } else {
            Err(OracleError::WrongOracleOwner)
        }
    }
}

impl BorshWrite for OracleSource {
    const MAX_SIZE: usize = 1;
    fn write<const N: usize>(&self, w: &mut Writer<N>) {
        w.u8(*self as u8);
    }
}

impl BorshRead for OracleSource {
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        match r.u8()? {
            0 => Ok(OracleSource::QuantDesk),
            1 => Ok(OracleSource::PythLegacy),
            2 => Ok(OracleSource::PythReceiver),
            _ => Err(RuntimeError::InvalidInstructionData.into()),
        }
    }
}

#[cfg(not(target_arch = "bpf"))]
impl qd_runtime::idl::IdlType for OracleSource {
    fn idl() -> qd_runtime::idl::Json {
        qd_runtime::idl::Json::str("u8")
    }
}

/// Pubkey equality as four 64-bit compares. `==` on `[u8; 32]` becomes a memcmp call, which on
/// SBF is a syscall (more compute units than the compares, per key).
fn key_eq(a: &Pubkey, b: &Pubkey) -> bool {
    let (a, _) = a.as_chunks::<8>();
    let (b, _) = b.as_chunks::<8>();
    a.iter().zip(b).all(|(x, y)| u64::from_le_bytes(*x) == u64::from_le_bytes(*y))
}

qd_runtime::borsh! {
    /// A price normalized to 6 decimals (`PRICE_DECIMALS`), whatever the source's exponent.
    /// `price` and `ema_price` are rounded toward zero; `conf` and `ema_conf` are rounded up, so the
    /// uncertainty is never understated.
    /// Also `read_price`'s return data (borsh, this field order).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct NormalizedPrice {
        pub price: i64,
        pub conf: u64,
        pub ema_price: i64,
        pub ema_conf: u64,
        /// Unix seconds of the price (Pyth: publisher time; QuantDesk: cluster time of the latest
        /// aggregate update, so no publisher's stamp can make it look fresher).
        pub publish_time: i64,
        /// Solana slot: QuantDesk `publish_slot` (of the aggregate update), Pyth legacy `agg.pub_slot`, PriceUpdateV2
        /// `posted_slot` (when the update was posted, not when Pythnet produced it).
        pub publish_slot: u64,
        /// QuantDesk: status == trading; Pyth legacy: agg.status == Trading. PriceUpdateV2 carries no
        /// status (only trading prices are signed), so always true.
        pub trading: bool,
        /// False only for a PriceUpdateV2 posted with `Partial` Wormhole verification (fewer guardian
        /// signatures checked). Guards do not judge it: a consumer that refuses partially verified
        /// updates checks this flag itself.
        pub verified_full: bool,
        /// 0 QuantDesk, 1 Pyth legacy, 2 Pyth receiver
        pub source: OracleSource,
    }
}

/// Decimals of every normalized price and confidence.
pub const PRICE_DECIMALS: u32 = 6;
/// Smallest and largest source exponent accepted: beyond these a 6-decimal value is either all
/// rounding or cannot hold a realistic price.
pub const MIN_EXPO: i32 = -18;
pub const MAX_EXPO: i32 = 6;
const TARGET_EXPO: i32 = -(PRICE_DECIMALS as i32);
/// 10^0 ..= 10^12: the factors for shifts between MIN_EXPO/MAX_EXPO and TARGET_EXPO. Non-zero
/// by type, so dividing by them needs no runtime zero check (and has no panic path).
const POW10: [NonZeroU64; 13] = {
    let mut table = [NonZeroU64::MIN; 13];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1].saturating_mul(NonZeroU64::new(10).unwrap());
        i += 1;
    }
    table
};

// Pyth legacy v2 price account (pyth-sdk-solana `PriceAccount`, pythclient `PythPriceAccount`):
// header u32 magic, ver, atype, size; then ptype u32, expo i32, num u32, num_qt u32, last_slot,
// valid_slot, ema_price {val, numer, denom}, ema_conf {val, numer, denom}, timestamp, ..., prod,
// next, prev_*, then agg {price i64, conf u64, status u32, corp_act u32, pub_slot u64} and the
// publisher components, which we do not read.
const LEGACY_MAGIC: usize = 0;
const LEGACY_VERSION: usize = 4;
const LEGACY_ATYPE: usize = 8;
const LEGACY_HEADER_LEN: usize = 16;
const LEGACY_EXPO: usize = 20;
const LEGACY_EMA_PRICE: usize = 48;
const LEGACY_EMA_CONF: usize = 72;
const LEGACY_TIMESTAMP: usize = 96;
const LEGACY_AGG_PRICE: usize = 208;
const LEGACY_AGG_CONF: usize = 216;
const LEGACY_AGG_STATUS: usize = 224;
const LEGACY_AGG_PUB_SLOT: usize = 232;
/// End of `agg`: all we read. Real accounts are 3312 bytes (32 components follow).
const LEGACY_MIN_LEN: usize = 240;
const LEGACY_MAGIC_VALUE: u32 = 0xa1b2_c3d4;
const LEGACY_VERSION_2: u32 = 2;
const LEGACY_ATYPE_PRICE: u32 = 3;
const LEGACY_STATUS_TRADING: u32 = 1;

// Pyth Receiver PriceUpdateV2 (Anchor, borsh, packed): discriminator, write_authority Pubkey,
// verification_level enum (tag 0 = Partial { num_signatures: u8 } is 2 bytes, tag 1 = Full is
// 1 byte, so the message starts at 42 or 41), PriceFeedMessage {feed_id [u8;32], price i64,
// conf u64, exponent i32, publish_time i64, prev_publish_time i64, ema_price i64, ema_conf u64},
// posted_slot u64. Message-relative offsets below.
const RECEIVER_VERIFICATION: usize = 40;
const RECEIVER_MESSAGE_FULL: usize = 41;
const RECEIVER_MESSAGE_PARTIAL: usize = 42;
const MSG_FEED_ID: usize = 0;
const MSG_PRICE: usize = 32;
const MSG_CONF: usize = 40;
const MSG_EXPONENT: usize = 48;
const MSG_PUBLISH_TIME: usize = 52;
const MSG_EMA_PRICE: usize = 68;
const MSG_EMA_CONF: usize = 76;
const MSG_POSTED_SLOT: usize = 84;
/// Allocated size (PriceUpdateV2::LEN, sized for Partial). A Full account leaves its last byte
/// unused but is allocated at the same size, so both encodings require it.
const RECEIVER_LEN: usize = 134;
const RECEIVER_PARTIAL: u8 = 0;
const RECEIVER_FULL: u8 = 1;
/// The Pyth Receiver's Anchor account discriminator.
const PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = discriminator("account", "PriceUpdateV2");

// Our PriceFeed, from the struct itself (+8 for the discriminator).
const FEED_VERSION: usize = 8 + offset_of!(PriceFeed, version);
const FEED_STATUS: usize = 8 + offset_of!(PriceFeed, status);
const FEED_EXPO: usize = 8 + offset_of!(PriceFeed, expo);
const FEED_AUTHORITY: usize = 8 + offset_of!(PriceFeed, authority);
const FEED_PRICE: usize = 8 + offset_of!(PriceFeed, price);
const FEED_CONF: usize = 8 + offset_of!(PriceFeed, conf);
const FEED_EMA_PRICE: usize = 8 + offset_of!(PriceFeed, ema_price);
const FEED_EMA_CONF: usize = 8 + offset_of!(PriceFeed, ema_conf);
const FEED_PUBLISH_TIME: usize = 8 + offset_of!(PriceFeed, publish_time);
const FEED_PUBLISH_SLOT: usize = 8 + offset_of!(PriceFeed, publish_slot);

/// Reads the price in an oracle account owned by `owner`, normalized to 6 decimals. Does not
/// judge it: pass the result to `check`, or use `read_guarded`.
///
/// Consumers must also pin the account's address (in their market or collateral config): the
/// owner check proves who wrote the data, not which asset it prices. For PriceUpdateV2 accounts
/// whose write authority is not the Pyth push oracle, compare `price_update_feed_id` too.
pub fn read_price(owner: &Pubkey, data: &[u8]) -> Result<NormalizedPrice, OracleError> {
    match OracleSource::from_owner(owner)? {
        OracleSource::QuantDesk => read_quantdesk(data),
        OracleSource::PythLegacy => read_legacy(data),
        OracleSource::PythReceiver => read_receiver(data),
    }
}

/// The Pyth feed id in a PriceUpdateV2 account (validated like `read_price` up to the message).
pub fn price_update_feed_id<'a>(owner: &Pubkey, data: &'a [u8]) -> Result<&'a [u8; 32], OracleError> {
    if !key_eq(owner, &PYTH_RECEIVER) {
        return Err(OracleError::WrongOracleOwner);
    }
    let (msg, _) = receiver_message(data)?;
    data.get(msg + MSG_FEED_ID..).and_then(<[u8]>::first_chunk::<32>).ok_or(OracleError::OracleAccountTooShort)
}

/// The `authority` of a QuantDesk feed (validated like `read_price`): listings check that it
/// holds ORACLE_ADMIN, so only the oracle admins' feeds can price a market or a collateral.
pub fn feed_authority<'a>(owner: &Pubkey, data: &'a [u8]) -> Result<&'a Pubkey, OracleError> {
    if !key_eq(owner, &QD_ORACLE) {
        return Err(OracleError::WrongOracleOwner);
    }
    check_quantdesk(data)?;
    data.get(FEED_AUTHORITY..).and_then(<[u8]>::first_chunk::<32>).ok_or(OracleError::OracleAccountTooShort)
}

/// Discriminator, size and layout version of a PriceFeed.
fn check_quantdesk(data: &[u8]) -> Result<(), OracleError> {
    if u64_at(data, 0)? != u64::from_le_bytes(PriceFeed::DISCRIMINATOR) {
        return Err(OracleError::UnknownOracleFormat);
    }
    if data.len() < PriceFeed::LEN {
        return Err(OracleError::OracleAccountTooShort);
    }
    if u8_at(data, FEED_VERSION)? != PRICE_FEED_VERSION {
        return Err(OracleError::BadOracleVersion);
    }
    Ok(())
}

/// The aggregate (the only price of a feed readers use; per-publisher prices are not read).
fn read_quantdesk(data: &[u8]) -> Result<NormalizedPrice, OracleError> {
    check_quantdesk(data)?;
    let scale = Scale::from_expo(i32_at(data, FEED_EXPO)?)?;
    Ok(NormalizedPrice {
        price: scale.price(i64_at(data, FEED_PRICE)?)?,
        conf: scale.conf(u64_at(data, FEED_CONF)?)?,
        ema_price: scale.price(i64_at(data, FEED_EMA_PRICE)?)?,
        ema_conf: scale.conf(u64_at(data, FEED_EMA_CONF)?)?,
        publish_time: i64_at(data, FEED_PUBLISH_TIME)?,
        publish_slot: u64_at(data, FEED_PUBLISH_SLOT)?,
        trading: u8_at(data, FEED_STATUS)? == FEED_STATUS_TRADING,
        verified_full: true,
        source: OracleSource::QuantDesk,
    })
}

fn read_legacy(data: &[u8]) -> Result<NormalizedPrice, OracleError> {
    if data.len() < LEGACY_HEADER_LEN {
        return Err(OracleError::OracleAccountTooShort);
    }
    if u32_at(data, LEGACY_MAGIC)? != LEGACY_MAGIC_VALUE {
        return Err(OracleError::UnknownOracleFormat);
    }
    if u32_at(data, LEGACY_VERSION)? != LEGACY_VERSION_2 {
        return Err(OracleError::BadOracleVersion);
    }
    if u32_at(data, LEGACY_ATYPE)? != LEGACY_ATYPE_PRICE {
        return Err(OracleError::WrongOracleAccountType);
    }
    if data.len() < LEGACY_MIN_LEN {
        return Err(OracleError::OracleAccountTooShort);
    }
    let scale = Scale::from_expo(i32_at(data, LEGACY_EXPO)?)?;
    // The EMA confidence is stored as a signed rational value; negative is corrupt data.
    let ema_conf = u64::try_from(i64_at(data, LEGACY_EMA_CONF)?).map_err(|_| OracleError::MalformedOracleData)?;
    Ok(NormalizedPrice {
        price: scale.price(i64_at(data, LEGACY_AGG_PRICE)?)?,
        conf: scale.conf(u64_at(data, LEGACY_AGG_CONF)?)?,
        ema_price: scale.price(i64_at(data, LEGACY_EMA_PRICE)?)?,
        ema_conf: scale.conf(ema_conf)?,
        publish_time: i64_at(data, LEGACY_TIMESTAMP)?,
        publish_slot: u64_at(data, LEGACY_AGG_PUB_SLOT)?,
        trading: u32_at(data, LEGACY_AGG_STATUS)? == LEGACY_STATUS_TRADING,
        verified_full: true,
        source: OracleSource::PythLegacy,
    })
}

/// Validates a PriceUpdateV2 up to its message: returns the message offset and whether the
/// verification level is Full.
fn receiver_message(data: &[u8]) -> Result<(usize, bool), OracleError> {
    if u64_at(data, 0)? != u64::from_le_bytes(PRICE_UPDATE_V2_DISCRIMINATOR) {
        return Err(OracleError::UnknownOracleFormat);
    }
    if data.len() < RECEIVER_LEN {
        return Err(OracleError::OracleAccountTooShort);
    }
    match u8_at(data, RECEIVER_VERIFICATION)? {
        RECEIVER_FULL => Ok((RECEIVER_MESSAGE_FULL, true)),
        RECEIVER_PARTIAL => Ok((RECEIVER_MESSAGE_PARTIAL, false)),
        _ => Err(OracleError::MalformedOracleData),
    }
}

fn read_receiver(data: &[u8]) -> Result<NormalizedPrice, OracleError> {
    let (msg, verified_full) = receiver_message(data)?;
    let scale = Scale::from_expo(i32_at(data, msg + MSG_EXPONENT)?)?;
    Ok(NormalizedPrice {
        price: scale.price(i64_at(data, msg + MSG_PRICE)?)?,
        conf: scale.conf(u64_at(data, msg + MSG_CONF)?)?,
        ema_price: scale.price(i64_at(data, msg + MSG_EMA_PRICE)?)?,
        ema_conf: scale.conf(u64_at(data, msg + MSG_EMA_CONF)?)?,
        publish_time: i64_at(data, msg + MSG_PUBLISH_TIME)?,
        publish_slot: u64_at(data, msg + MSG_POSTED_SLOT)?,
        trading: true,
        verified_full,
        source: OracleSource::PythReceiver,
    })
}

/// Conversion from a source exponent to 6 decimals: multiply or divide by a power of ten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Up(NonZeroU64),
    Down(NonZeroU64),
}

impl Scale {
    fn from_expo(expo: i32) -> Result<Self, OracleError> {
        if !(MIN_EXPO..=MAX_EXPO).contains(&expo) {
            return Err(OracleError::ExponentOutOfRange);
        }
        // In -12..=12 after the range check.
        let shift = expo - TARGET_EXPO;
        let factor = POW10.get(shift.unsigned_abs() as usize).copied().ok_or(OracleError::ExponentOutOfRange)?;
        Ok(if shift >= 0 { Scale::Up(factor) } else { Scale::Down(factor) })
    }

    /// Scales a magnitude; scaling down truncates, or rounds up if `round_up`.
    /// Works on u64 magnitudes so SBF only ever does native unsigned 64-bit division.
    fn magnitude(self, m: u64, round_up: bool) -> Option<u64> {
        match self {
            Scale::Up(f) => m.checked_mul(f.get()),
            // f >= 10 here, so m / f + 1 cannot overflow.
            Scale::Down(f) => Some(m / f + u64::from(round_up && m % f != 0)),
        }
    }

    /// A price, rounded toward zero.
    fn price(self, v: i64) -> Result<i64, OracleError> {
        let m = self.magnitude(v.unsigned_abs(), false).ok_or(OracleError::PriceOverflow)?;
        if v < 0 { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() }.ok_or(OracleError::PriceOverflow)
    }

    /// A confidence, rounded up.
    fn conf(self, c: u64) -> Result<u64, OracleError> {
        self.magnitude(c, true).ok_or(OracleError::PriceOverflow)
    }
}

fn bytes<const N: usize>(data: &[u8], at: usize) -> Result<[u8; N], OracleError> {
    data.get(at..).and_then(<[u8]>::first_chunk::<N>).copied().ok_or(OracleError::OracleAccountTooShort)
}

fn u8_at(data: &[u8], at: usize) -> Result<u8, OracleError> {
    data.get(at).copied().ok_or(OracleError::OracleAccountTooShort)
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, OracleError> {
    bytes(data, at).map(u32::from_le_bytes)
}

fn i32_at(data: &[u8], at: usize) -> Result<i32, OracleError> {
    bytes(data, at).map(i32::from_le_bytes)
}

fn u64_at(data: &[u8], at: usize) -> Result<u64, OracleError> {
    bytes(data, at).map(u64::from_le_bytes)
}

fn i64_at(data: &[u8], at: usize) -> Result<i64, OracleError> {
    bytes(data, at).map(i64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow10_table() {
        for (i, f) in POW10.iter().enumerate() {
            assert_eq!(f.get(), 10u64.pow(i as u32));
        }
    }
}
