//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested); every malformed input is `InvalidInstruction` / `InvalidInstructionData`.

use crate::error::OracleProgramError;
use qd_oracle_reader::{Action, GuardConfig, OracleGuards, MAX_PUBLISHERS};
use qd_runtime::borsh::{self, Reader};
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

pub const INITIALIZE_FEED: [u8; 8] = discriminator("global", "initialize_feed");
pub const PUBLISH: [u8; 8] = discriminator("global", "publish");
pub const SET_PUBLISHERS: [u8; 8] = discriminator("global", "set_publishers");
pub const SET_AUTHORITY: [u8; 8] = discriminator("global", "set_authority");
pub const SET_GUARDS: [u8; 8] = discriminator("global", "set_guards");
pub const SET_STATUS: [u8; 8] = discriminator("global", "set_status");
pub const READ_PRICE: [u8; 8] = discriminator("global", "read_price");

/// A validated publisher list (1..=8 distinct keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publishers {
    pub keys: [Pubkey; MAX_PUBLISHERS],
    pub len: u8,
}

/// Longest a publisher's latest price may keep counting toward the aggregate.
pub const MAX_PUBLISHER_AGE_SECS: u32 = 3_600;

/// The aggregation rule: at least `min_publishers` (1..=publisher count) of the publishers must
/// have published within `max_publisher_age_secs` (1..=MAX_PUBLISHER_AGE_SECS) of the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quorum {
    pub min_publishers: u8,
    pub max_publisher_age_secs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleInstruction {
    /// Accounts: authority (signer, writable: pays rent; holds ORACLE_ADMIN), SecurityConfig,
    /// feed PDA (writable), system program.
    InitializeFeed { symbol: [u8; 16], expo: i32, ema_window_secs: u32, publishers: Publishers, quorum: Quorum },
    /// Accounts: publisher (signer), feed (writable).
    Publish { price: i64, conf: u64, publish_time: i64 },
    /// Accounts: authority (signer), SecurityConfig, feed (writable).
    SetPublishers { publishers: Publishers, quorum: Quorum },
    /// Accounts: authority (signer), SecurityConfig, feed (writable), new authority (signer).
    SetAuthority,
    /// Accounts: authority (signer), SecurityConfig, feed (writable).
    SetGuards { guards: OracleGuards },
    /// Accounts: authority (signer), SecurityConfig, feed (writable).
    SetStatus { status: u8 },
    /// Accounts: oracle account (any supported format).
    ReadPrice { action: Action, guard: Option<GuardConfig> },
}

fn publishers(r: &mut Reader) -> Result<Publishers, ProgramError> {
    let n = r.u32()? as usize;
    if n > MAX_PUBLISHERS {
        return Err(OracleProgramError::TooManyPublishers.into());
    }
    if n == 0 {
        return Err(OracleProgramError::NoPublishers.into());
    }
    let mut keys = [[0u8; 32]; MAX_PUBLISHERS];
    for i in 0..n {
        keys[i] = r.pubkey()?;
        if keys[i] == [0u8; 32] || keys[..i].contains(&keys[i]) {
            return Err(OracleProgramError::DuplicatePublisher.into());
        }
    }
    Ok(Publishers { keys, len: n as u8 })
}

/// Decoded after the publisher list it must fit.
fn quorum(r: &mut Reader, publishers: &Publishers) -> Result<Quorum, ProgramError> {
    let q = Quorum { min_publishers: r.u8()?, max_publisher_age_secs: r.u32()? };
    if q.min_publishers == 0 || q.min_publishers > publishers.len {
        return Err(OracleProgramError::InvalidQuorum.into());
    }
    if q.max_publisher_age_secs == 0 || q.max_publisher_age_secs > MAX_PUBLISHER_AGE_SECS {
        return Err(OracleProgramError::InvalidPublisherAge.into());
    }
    Ok(q)
}

impl OracleInstruction {
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let (tag, mut r) = borsh::instruction(data)?;
        let ix = match tag {
            INITIALIZE_FEED => {
                let (symbol, expo, ema_window_secs) = (r.array()?, r.i32()?, r.u32()?);
                let publishers = publishers(&mut r)?;
                OracleInstruction::InitializeFeed { symbol, expo, ema_window_secs, publishers, quorum: quorum(&mut r, &publishers)? }
            }
            PUBLISH => OracleInstruction::Publish { price: r.i64()?, conf: r.u64()?, publish_time: r.i64()? },
            SET_PUBLISHERS => {
                let publishers = publishers(&mut r)?;
                OracleInstruction::SetPublishers { publishers, quorum: quorum(&mut r, &publishers)? }
            }
            SET_AUTHORITY => OracleInstruction::SetAuthority,
            SET_GUARDS => OracleInstruction::SetGuards { guards: OracleGuards::read(&mut r)? },
            SET_STATUS => OracleInstruction::SetStatus { status: r.u8()? },
            READ_PRICE => {
                let action = Action::from_u8(r.u8()?).ok_or(OracleProgramError::InvalidAction)?;
                OracleInstruction::ReadPrice { action, guard: r.option(GuardConfig::read)? }
            }
            _ => return Err(RuntimeError::InvalidInstruction.into()),
        };
        r.finish()?;
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    #[test]
    fn decodes_publish() {
        let args = [&7i64.to_le_bytes()[..], &3u64.to_le_bytes(), &99i64.to_le_bytes()].concat();
        assert_eq!(
            OracleInstruction::unpack(&with(PUBLISH, &args)).unwrap(),
            OracleInstruction::Publish { price: 7, conf: 3, publish_time: 99 }
        );
        // Short and long argument data are both refused.
        assert!(OracleInstruction::unpack(&with(PUBLISH, &args[..23])).is_err());
        assert!(OracleInstruction::unpack(&with(PUBLISH, &[&args[..], &[0]].concat())).is_err());
    }

    fn publishers_args(keys: &[[u8; 32]], min_publishers: u8, max_age: u32) -> Vec<u8> {
        [&(keys.len() as u32).to_le_bytes()[..], &keys.concat(), &[min_publishers], &max_age.to_le_bytes()].concat()
    }

    #[test]
    fn publisher_lists_are_bounded_and_distinct() {
        let ok = OracleInstruction::unpack(&with(SET_PUBLISHERS, &publishers_args(&[[1; 32], [2; 32]], 2, 20))).unwrap();
        assert!(matches!(ok, OracleInstruction::SetPublishers { publishers, quorum }
            if publishers.len == 2 && quorum == Quorum { min_publishers: 2, max_publisher_age_secs: 20 }));
        let err = |keys: &[[u8; 32]]| OracleInstruction::unpack(&with(SET_PUBLISHERS, &publishers_args(keys, 1, 20))).unwrap_err();
        assert_eq!(err(&[[1; 32]; 9]), OracleProgramError::TooManyPublishers.into());
        assert_eq!(err(&[[1; 32], [1; 32]]), OracleProgramError::DuplicatePublisher.into());
        assert_eq!(err(&[]), OracleProgramError::NoPublishers.into());
    }

    #[test]
    fn quorum_fits_the_publisher_list() {
        let keys = [[1; 32], [2; 32], [3; 32]];
        let err = |min: u8, age: u32| OracleInstruction::unpack(&with(SET_PUBLISHERS, &publishers_args(&keys, min, age))).unwrap_err();
        assert_eq!(err(0, 20), OracleProgramError::InvalidQuorum.into());
        assert_eq!(err(4, 20), OracleProgramError::InvalidQuorum.into());
        assert_eq!(err(3, 0), OracleProgramError::InvalidPublisherAge.into());
        assert_eq!(err(3, MAX_PUBLISHER_AGE_SECS + 1), OracleProgramError::InvalidPublisherAge.into());
        assert!(OracleInstruction::unpack(&with(SET_PUBLISHERS, &publishers_args(&keys, 3, MAX_PUBLISHER_AGE_SECS))).is_ok());
    }

    #[test]
    fn unknown_or_short_discriminator() {
        assert_eq!(OracleInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(OracleInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }

    #[test]
    fn read_price_action_and_optional_guard() {
        assert_eq!(
            OracleInstruction::unpack(&with(READ_PRICE, &[2, 0])).unwrap(),
            OracleInstruction::ReadPrice { action: Action::Liquidation, guard: None }
        );
        assert_eq!(OracleInstruction::unpack(&with(READ_PRICE, &[4, 0])).unwrap_err(), OracleProgramError::InvalidAction.into());
        let g = [&10u32.to_le_bytes()[..], &20u32.to_le_bytes(), &30u16.to_le_bytes(), &0u16.to_le_bytes(), &[1, 0, 0, 0]].concat();
        let ix = OracleInstruction::unpack(&with(READ_PRICE, &[&[0u8, 1][..], &g].concat())).unwrap();
        assert_eq!(ix, OracleInstruction::ReadPrice { action: Action::Trade, guard: Some(GuardConfig::new(10, 20, 30, 0, true)) });
        // A guard that would accept anything is refused while decoding.
        let zero = [0u8; 16];
        assert!(OracleInstruction::unpack(&with(READ_PRICE, &[&[0u8, 1][..], &zero].concat())).is_err());
    }
}
