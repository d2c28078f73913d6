//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts, so a handler
//! only sees well-formed values; every malformed input is `InvalidInstruction` /
//! `InvalidInstructionData` or the named argument error.

use crate::error::OracleProgramError;
use crate::processor::{
    InitializeFeedAccounts, PublishAccounts, ReadPriceAccounts, SetAuthorityAccounts, SetStatusAccounts, TimelockAccounts,
};
#[cfg(not(target_arch = "bpf"))] // only the IDL names the return type
use qd_oracle_reader::NormalizedPrice;
use qd_oracle_reader::{GuardConfig, OracleGuards, FEED_STATUS_HALTED, FEED_STATUS_TRADING, MAX_PUBLISHERS};
use qd_runtime::borsh::{BorshRead, Reader};
use qd_runtime::error::ProgramError;
use qd_runtime::pubkey::Pubkey;

/// Longest a publisher's latest price may keep counting toward the aggregate.
pub const MAX_PUBLISHER_AGE_SECS: u32 = 3_600;
const MIN_EXPO: i32 = -12;
const MAX_EMA_WINDOW_SECS: u32 = 86_400;

/// `publishers`: a borsh `Vec<Pubkey>` of 1..=8 distinct, non-zero keys. Read here rather than as
/// a `BoundedVec<Pubkey, 8>` (a longer one is InvalidInstructionData) so a ninth key is TooManyPublishers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publishers {
    pub keys: [Pubkey; MAX_PUBLISHERS],
    pub len: u8,
}

impl BorshRead for Publishers {
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
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
}

#[cfg(not(target_arch = "bpf"))]
impl qd_runtime::idl::IdlType for Publishers {
    fn idl() -> qd_runtime::idl::Json {
        use qd_runtime::borsh::BoundedVec;
        qd_runtime::idl_ty!(BoundedVec<Pubkey, MAX_PUBLISHERS>)
    }
}

qd_runtime::instructions! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum OracleInstruction check check_args {
        /// An ORACLE_ADMIN holder creates the feed PDA ["feed", symbol] and becomes its authority; it pays rent.
        initialize_feed => InitializeFeed {
            symbol: [u8; 16],
            expo: i32,
            ema_window_secs: u32,
            publishers: Publishers,
            min_publishers: u8,
            max_publisher_age_secs: u32,
        } accounts InitializeFeedAccounts,
        /// A listed publisher posts its price: its own publish times increase and run at most 2 s ahead of the cluster
        /// clock. With a quorum of fresh publishers the feed's price becomes their median.
        publish => Publish { price: i64, conf: u64, publish_time: i64 } accounts PublishAccounts,
        /// Through the timelock only (an ORACLE_ADMIN's proposal in qd-security): replaces the publishers and the quorum;
        /// latest prices follow their keys.
        set_publishers => SetPublishers {
            publishers: Publishers,
            min_publishers: u8,
            max_publisher_age_secs: u32,
        } accounts TimelockAccounts,
        /// The feed's authority, or any ORACLE_ADMIN holder once the authority lost the role, hands the feed over; the
        /// new authority co-signs and holds ORACLE_ADMIN.
        set_authority => SetAuthority {} accounts SetAuthorityAccounts,
        /// Through the timelock only (an ORACLE_ADMIN's proposal): the guards per action consumers of this feed apply.
        set_guards => SetGuards { guards: OracleGuards } accounts TimelockAccounts,
        /// The feed's authority halts (0) or resumes (1) trading reads.
        set_status => SetStatus { status: u8 } accounts SetStatusAccounts,
        /// Reads any supported oracle account, applies the guard for the action, returns the normalized price.
        read_price => ReadPrice { action: u8, guard: Option<GuardConfig> } -> NormalizedPrice accounts ReadPriceAccounts,
    }
}

/// A symbol: 1 to 16 printable ASCII characters, then zero padding.
fn valid_symbol(symbol: &[u8; 16]) -> bool {
    let len = symbol.iter().position(|&b| b == 0).unwrap_or(16);
    len > 0 && symbol[..len].iter().all(|b| b.is_ascii_graphic()) && symbol[len..].iter().all(|&b| b == 0)
}

/// The aggregation rule: at least `min_publishers` (1..=publisher count) of the publishers must
/// have published within `max_publisher_age_secs` (1..=MAX_PUBLISHER_AGE_SECS) of the clock.
fn check_quorum(publishers: &Publishers, min_publishers: u8, max_publisher_age_secs: u32) -> Result<(), ProgramError> {
    if min_publishers == 0 || min_publishers > publishers.len {
        return Err(OracleProgramError::InvalidQuorum.into());
    }
    if max_publisher_age_secs == 0 || max_publisher_age_secs > MAX_PUBLISHER_AGE_SECS {
        return Err(OracleProgramError::InvalidPublisherAge.into());
    }
    Ok(())
}

/// The argument checks decoding runs (the publisher list checks itself as it is read; the action
/// is converted, and so checked, before its handler runs).
fn check_args(ix: &OracleInstruction) -> Result<(), ProgramError> {
    match ix {
        OracleInstruction::InitializeFeed { symbol, expo, ema_window_secs, publishers, min_publishers, max_publisher_age_secs } => {
            check_quorum(publishers, *min_publishers, *max_publisher_age_secs)?;
            if !valid_symbol(symbol) {
                return Err(OracleProgramError::InvalidSymbol.into());
            }
            if !(MIN_EXPO..=0).contains(expo) {
                return Err(OracleProgramError::InvalidExponent.into());
            }
            if *ema_window_secs == 0 || *ema_window_secs > MAX_EMA_WINDOW_SECS {
                return Err(OracleProgramError::InvalidEmaWindow.into());
            }
            Ok(())
        }
        OracleInstruction::SetPublishers { publishers, min_publishers, max_publisher_age_secs } => {
            check_quorum(publishers, *min_publishers, *max_publisher_age_secs)
        }
        OracleInstruction::SetStatus { status } if *status != FEED_STATUS_HALTED && *status != FEED_STATUS_TRADING => {
            Err(OracleProgramError::InvalidFeedStatus.into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_runtime::error::RuntimeError;
    use qd_runtime::hash::discriminator;

    const INITIALIZE_FEED: [u8; 8] = discriminator("global", "initialize_feed");
    const PUBLISH: [u8; 8] = discriminator("global", "publish");
    const SET_PUBLISHERS: [u8; 8] = discriminator("global", "set_publishers");
    const SET_GUARDS: [u8; 8] = discriminator("global", "set_guards");
    const SET_STATUS: [u8; 8] = discriminator("global", "set_status");
    const READ_PRICE: [u8; 8] = discriminator("global", "read_price");

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
        let mut keys = [[0; 32]; MAX_PUBLISHERS];
        keys[..2].copy_from_slice(&[[1; 32], [2; 32]]);
        assert_eq!(
            ok,
            OracleInstruction::SetPublishers { publishers: Publishers { keys, len: 2 }, min_publishers: 2, max_publisher_age_secs: 20 }
        );
        let err = |keys: &[[u8; 32]]| OracleInstruction::unpack(&with(SET_PUBLISHERS, &publishers_args(keys, 1, 20))).unwrap_err();
        assert_eq!(err(&[[1; 32]; 9]), OracleProgramError::TooManyPublishers.into());
        assert_eq!(err(&[[1; 32], [1; 32]]), OracleProgramError::DuplicatePublisher.into());
        assert_eq!(err(&[[0; 32]]), OracleProgramError::DuplicatePublisher.into());
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

    fn symbol(text: &[u8]) -> [u8; 16] {
        let mut s = [0u8; 16];
        s[..text.len()].copy_from_slice(text);
        s
    }

    #[test]
    fn initialize_feed_checks_symbol_exponent_window_and_quorum() {
        let ix = |symbol: [u8; 16], expo: i32, window: u32, min: u8| {
            let args = [&symbol[..], &expo.to_le_bytes(), &window.to_le_bytes(), &publishers_args(&[[1; 32]], min, 20)].concat();
            OracleInstruction::unpack(&with(INITIALIZE_FEED, &args))
        };
        let ok = ix(symbol(b"SOL/USD"), -6, 60, 1).unwrap();
        assert!(matches!(ok, OracleInstruction::InitializeFeed { expo: -6, ema_window_secs: 60, min_publishers: 1, .. }));
        assert!(ix([b'X'; 16], -12, 86_400, 1).is_ok());
        for bad in [symbol(b""), symbol(b"SOL USD"), symbol(b"SOL\0USD"), symbol(&[0xc3, 0xa9])] {
            assert_eq!(ix(bad, -6, 60, 1).unwrap_err(), OracleProgramError::InvalidSymbol.into());
        }
        assert_eq!(ix(symbol(b"SOL/USD"), 1, 60, 1).unwrap_err(), OracleProgramError::InvalidExponent.into());
        assert_eq!(ix(symbol(b"SOL/USD"), -13, 60, 1).unwrap_err(), OracleProgramError::InvalidExponent.into());
        assert_eq!(ix(symbol(b"SOL/USD"), -6, 0, 1).unwrap_err(), OracleProgramError::InvalidEmaWindow.into());
        assert_eq!(ix(symbol(b"SOL/USD"), -6, 86_401, 1).unwrap_err(), OracleProgramError::InvalidEmaWindow.into());
        // The quorum is checked first, as when it was decoded before the handler's checks.
        assert_eq!(ix(symbol(b""), -6, 0, 2).unwrap_err(), OracleProgramError::InvalidQuorum.into());
    }

    #[test]
    fn unknown_or_short_discriminator() {
        assert_eq!(OracleInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(OracleInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }

    fn guard_bytes(g: &GuardConfig) -> Vec<u8> {
        let (slots, secs, conf, ema) = (g.max_staleness_slots, g.max_staleness_secs, g.max_conf_bps, g.max_ema_deviation_bps);
        [&slots.to_le_bytes()[..], &secs.to_le_bytes(), &conf.to_le_bytes(), &ema.to_le_bytes(), &[g.require_trading], &g._pad].concat()
    }

    #[test]
    fn read_price_action_and_optional_guard() {
        assert_eq!(OracleInstruction::unpack(&with(READ_PRICE, &[2, 0])).unwrap(), OracleInstruction::ReadPrice { action: 2, guard: None });
        let g = GuardConfig::new(10, 20, 30, 0, true);
        let ix = OracleInstruction::unpack(&with(READ_PRICE, &[&[0u8, 1][..], &guard_bytes(&g)].concat())).unwrap();
        assert_eq!(ix, OracleInstruction::ReadPrice { action: 0, guard: Some(g) });
        // A guard that would accept anything is refused while decoding.
        let zero = [0u8; 16];
        let err = OracleInstruction::unpack(&with(READ_PRICE, &[&[0u8, 1][..], &zero].concat())).unwrap_err();
        assert_eq!(err, qd_oracle_reader::OracleError::InvalidGuardConfig.into());
    }

    #[test]
    fn set_guards_and_set_status_are_checked_while_decoding() {
        let good = GuardConfig::new(10, 20, 300, 500, true);
        let guards = |margin: GuardConfig| [good, margin, good, good].iter().flat_map(guard_bytes).collect::<Vec<u8>>();
        assert_eq!(
            OracleInstruction::unpack(&with(SET_GUARDS, &guards(good))).unwrap(),
            OracleInstruction::SetGuards { guards: OracleGuards { by_action: [good; 4] } }
        );
        for bad in [GuardConfig::new(10, 20, 10_001, 0, true), GuardConfig { require_trading: 2, ..good }] {
            let err = OracleInstruction::unpack(&with(SET_GUARDS, &guards(bad))).unwrap_err();
            assert_eq!(err, qd_oracle_reader::OracleError::InvalidGuardConfig.into());
        }
        assert_eq!(OracleInstruction::unpack(&with(SET_STATUS, &[1])).unwrap(), OracleInstruction::SetStatus { status: 1 });
        assert_eq!(OracleInstruction::unpack(&with(SET_STATUS, &[2])).unwrap_err(), OracleProgramError::InvalidFeedStatus.into());
    }
}
