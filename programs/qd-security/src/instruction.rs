//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts or the clock;
//! malformed data is `InvalidInstruction` / `InvalidInstructionData`.

use crate::error::SecurityError;
use qd_access::{Action, RateLimit, Request, Role, ALL_OPERATIONS, ALL_SCOPES, MAX_MARKETS, NO_MARKET};
use qd_runtime::borsh::{self, Reader};
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

pub const INITIALIZE: [u8; 8] = discriminator("global", "initialize");
pub const PROPOSE_SUPER_ADMIN: [u8; 8] = discriminator("global", "propose_super_admin");
pub const ACCEPT_SUPER_ADMIN: [u8; 8] = discriminator("global", "accept_super_admin");
pub const GRANT_ROLE: [u8; 8] = discriminator("global", "grant_role");
pub const REVOKE_ROLE: [u8; 8] = discriminator("global", "revoke_role");
pub const SET_PAUSE: [u8; 8] = discriminator("global", "set_pause");
pub const SET_RATE_LIMIT: [u8; 8] = discriminator("global", "set_rate_limit");
pub const FREEZE_ACCOUNT: [u8; 8] = discriminator("global", "freeze_account");
pub const UNFREEZE_ACCOUNT: [u8; 8] = discriminator("global", "unfreeze_account");
pub const CREATE_SESSION: [u8; 8] = discriminator("global", "create_session");
pub const REVOKE_SESSION: [u8; 8] = discriminator("global", "revoke_session");
pub const CLOSE_SESSION: [u8; 8] = discriminator("global", "close_session");
pub const CHECK_ACTION: [u8; 8] = discriminator("global", "check_action");
pub use qd_access::RECORD_SESSION_FILL;

/// `create_session` arguments; the expiry is checked against the clock by the processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionArgs {
    pub session_key: Pubkey,
    pub scopes: u8,
    pub markets: u64,
    pub max_notional: u64,
    pub expires_at: i64,
    /// Quote notional the session's fills may trade over its life (>= max_notional).
    pub budget: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityInstruction {
    /// Accounts: super_admin (signer, writable: pays rent), config (writable), system program,
    /// program (qd-security), program_data (its ProgramData).
    Initialize,
    /// Accounts: super_admin (signer), config (writable). Zero key cancels a proposal.
    ProposeSuperAdmin { new_super_admin: Pubkey },
    /// Accounts: new_super_admin (signer), config (writable).
    AcceptSuperAdmin,
    /// Accounts: authority (signer), config (writable).
    GrantRole { role: Role, holder: Pubkey },
    /// Accounts: authority (signer), config (writable).
    RevokeRole { role: Role, holder: Pubkey },
    /// Accounts: authority (signer), config (writable).
    SetPause { market: u16, operations: u8, paused: bool },
    /// Accounts: authority (signer), config (writable).
    SetRateLimit { limit: RateLimit },
    /// Accounts: compliance (signer), config, margin account (writable), security authority
    /// PDA, qd-core program. `frozen`: freeze_account (true) or unfreeze_account (false).
    SetFrozen { frozen: bool, reason: u16 },
    /// Accounts: owner (signer, writable: pays rent), session PDA (writable), system program.
    CreateSession(SessionArgs),
    /// Accounts: owner or session key (signer), session (writable).
    RevokeSession,
    /// Accounts: owner (signer, writable: receives the rent), session (writable).
    CloseSession,
    /// Accounts: signer (signer), config, margin account; the Session as first remaining
    /// account when the signer is a session key.
    CheckAction { request: Request },
    /// CPI only. Accounts: qd-trading's authority PDA (signer), session (writable).
    RecordSessionFill { notional: u64 },
}

fn role_and_holder(r: &mut Reader) -> Result<(Role, Pubkey), ProgramError> {
    let role = Role::from_u8(r.u8()?).ok_or(SecurityError::InvalidRole)?;
    let holder = r.pubkey()?;
    if holder == [0; 32] {
        return Err(SecurityError::InvalidHolder.into());
    }
    Ok((role, holder))
}

fn reason(r: &mut Reader) -> Result<u16, ProgramError> {
    match r.u16()? {
        0 => Err(SecurityError::InvalidReason.into()),
        reason => Ok(reason),
    }
}

fn session_args(r: &mut Reader) -> Result<SessionArgs, ProgramError> {
    let args = SessionArgs { session_key: r.pubkey()?, scopes: r.u8()?, markets: r.u64()?, max_notional: r.u64()?, expires_at: r.i64()?, budget: r.u64()? };
    if args.session_key == [0; 32] {
        return Err(SecurityError::InvalidSessionKey.into());
    }
    if args.scopes == 0 || args.scopes & !ALL_SCOPES != 0 {
        return Err(SecurityError::InvalidScopes.into());
    }
    if args.markets == 0 {
        return Err(SecurityError::InvalidMarkets.into());
    }
    if args.max_notional == 0 {
        return Err(SecurityError::InvalidMaxNotional.into());
    }
    if args.budget < args.max_notional {
        return Err(SecurityError::InvalidBudget.into());
    }
    Ok(args)
}

impl SecurityInstruction {
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let (tag, mut r) = borsh::instruction(data)?;
        let ix = match tag {
            INITIALIZE => SecurityInstruction::Initialize,
            PROPOSE_SUPER_ADMIN => SecurityInstruction::ProposeSuperAdmin { new_super_admin: r.pubkey()? },
            ACCEPT_SUPER_ADMIN => SecurityInstruction::AcceptSuperAdmin,
            GRANT_ROLE => {
                let (role, holder) = role_and_holder(&mut r)?;
                SecurityInstruction::GrantRole { role, holder }
            }
            REVOKE_ROLE => {
                let (role, holder) = role_and_holder(&mut r)?;
                SecurityInstruction::RevokeRole { role, holder }
            }
            SET_PAUSE => {
                let (market, operations, paused) = (r.u16()?, r.u8()?, r.bool()?);
                if market != NO_MARKET && market as usize >= MAX_MARKETS {
                    return Err(SecurityError::InvalidMarket.into());
                }
                if operations == 0 || operations & !ALL_OPERATIONS != 0 {
                    return Err(SecurityError::InvalidOperations.into());
                }
                SecurityInstruction::SetPause { market, operations, paused }
            }
            SET_RATE_LIMIT => {
                let limit = RateLimit { capacity: r.u32()?, refill_milli_per_slot: r.u32()? };
                if !limit.is_valid() {
                    return Err(SecurityError::InvalidRateLimit.into());
                }
                SecurityInstruction::SetRateLimit { limit }
            }
            FREEZE_ACCOUNT => SecurityInstruction::SetFrozen { frozen: true, reason: reason(&mut r)? },
            UNFREEZE_ACCOUNT => SecurityInstruction::SetFrozen { frozen: false, reason: reason(&mut r)? },
            CREATE_SESSION => SecurityInstruction::CreateSession(session_args(&mut r)?),
            REVOKE_SESSION => SecurityInstruction::RevokeSession,
            CLOSE_SESSION => SecurityInstruction::CloseSession,
            CHECK_ACTION => {
                let action = Action::from_u8(r.u8()?)?;
                SecurityInstruction::CheckAction { request: Request::new(action, r.u16()?, r.u64()?) }
            }
            RECORD_SESSION_FILL => SecurityInstruction::RecordSessionFill { notional: r.u64()? },
            _ => return Err(RuntimeError::InvalidInstruction.into()),
        };
        r.finish()?;
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_access::AccessError;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    fn err(tag: [u8; 8], args: &[u8]) -> ProgramError {
        SecurityInstruction::unpack(&with(tag, args)).unwrap_err()
    }

    #[test]
    fn decodes_roles_and_refuses_bad_ones() {
        let args = [&[2u8][..], &[7; 32]].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(GRANT_ROLE, &args)).unwrap(),
            SecurityInstruction::GrantRole { role: Role::Compliance, holder: [7; 32] }
        );
        assert_eq!(
            SecurityInstruction::unpack(&with(REVOKE_ROLE, &args)).unwrap(),
            SecurityInstruction::RevokeRole { role: Role::Compliance, holder: [7; 32] }
        );
        assert_eq!(err(GRANT_ROLE, &[&[4u8][..], &[7; 32]].concat()), SecurityError::InvalidRole.into());
        assert_eq!(err(REVOKE_ROLE, &[&[0u8][..], &[0; 32]].concat()), SecurityError::InvalidHolder.into());
        assert_eq!(err(GRANT_ROLE, &args[..32]), RuntimeError::InvalidInstructionData.into());
        assert_eq!(err(GRANT_ROLE, &[&args[..], &[0]].concat()), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn pause_market_and_operations_are_bounded() {
        let pause = |market: u16, ops: u8, paused: u8| [&market.to_le_bytes()[..], &[ops, paused]].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(SET_PAUSE, &pause(63, 0x7f, 1))).unwrap(),
            SecurityInstruction::SetPause { market: 63, operations: 0x7f, paused: true }
        );
        assert_eq!(
            SecurityInstruction::unpack(&with(SET_PAUSE, &pause(NO_MARKET, 1, 0))).unwrap(),
            SecurityInstruction::SetPause { market: NO_MARKET, operations: 1, paused: false }
        );
        assert_eq!(err(SET_PAUSE, &pause(64, 1, 1)), SecurityError::InvalidMarket.into());
        assert_eq!(err(SET_PAUSE, &pause(NO_MARKET - 1, 1, 1)), SecurityError::InvalidMarket.into());
        assert_eq!(err(SET_PAUSE, &pause(0, 0, 1)), SecurityError::InvalidOperations.into());
        assert_eq!(err(SET_PAUSE, &pause(0, 0x80, 1)), SecurityError::InvalidOperations.into());
        assert_eq!(err(SET_PAUSE, &pause(0, 1, 2)), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn rate_limit_reason_and_action() {
        let limit = |c: u32, r: u32| [c.to_le_bytes(), r.to_le_bytes()].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(SET_RATE_LIMIT, &limit(10, 250))).unwrap(),
            SecurityInstruction::SetRateLimit { limit: RateLimit { capacity: 10, refill_milli_per_slot: 250 } }
        );
        assert!(SecurityInstruction::unpack(&with(SET_RATE_LIMIT, &limit(0, 0))).is_ok());
        assert_eq!(err(SET_RATE_LIMIT, &limit(10, 0)), SecurityError::InvalidRateLimit.into());
        assert_eq!(err(SET_RATE_LIMIT, &limit(0, 5)), SecurityError::InvalidRateLimit.into());
        assert_eq!(
            SecurityInstruction::unpack(&with(UNFREEZE_ACCOUNT, &9u16.to_le_bytes())).unwrap(),
            SecurityInstruction::SetFrozen { frozen: false, reason: 9 }
        );
        assert_eq!(err(FREEZE_ACCOUNT, &0u16.to_le_bytes()), SecurityError::InvalidReason.into());
        let check = [&[3u8][..], &5u16.to_le_bytes(), &77u64.to_le_bytes()].concat();
        assert_eq!(
            SecurityInstruction::unpack(&with(CHECK_ACTION, &check)).unwrap(),
            SecurityInstruction::CheckAction { request: Request::new(Action::PlaceOrder, 5, 77) }
        );
        assert_eq!(err(CHECK_ACTION, &[&[7u8][..], &check[1..]].concat()), AccessError::UnknownAction.into());
    }

    #[test]
    fn session_arguments_are_validated() {
        let budgeted = |key: [u8; 32], scopes: u8, markets: u64, max: u64, budget: u64| {
            [&key[..], &[scopes], &markets.to_le_bytes(), &max.to_le_bytes(), &1_000i64.to_le_bytes(), &budget.to_le_bytes()].concat()
        };
        let args = |key, scopes, markets, max| budgeted(key, scopes, markets, max, 10);
        assert_eq!(
            SecurityInstruction::unpack(&with(CREATE_SESSION, &args([5; 32], 3, 1, 2))).unwrap(),
            SecurityInstruction::CreateSession(SessionArgs { session_key: [5; 32], scopes: 3, markets: 1, max_notional: 2, expires_at: 1_000, budget: 10 })
        );
        assert_eq!(err(CREATE_SESSION, &budgeted([5; 32], 3, 1, 2, 1)), SecurityError::InvalidBudget.into());
        assert_eq!(
            SecurityInstruction::unpack(&with(RECORD_SESSION_FILL, &7u64.to_le_bytes())).unwrap(),
            SecurityInstruction::RecordSessionFill { notional: 7 }
        );
        assert_eq!(err(CREATE_SESSION, &args([0; 32], 3, 1, 2)), SecurityError::InvalidSessionKey.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 0, 1, 2)), SecurityError::InvalidScopes.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 4, 1, 2)), SecurityError::InvalidScopes.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 1, 0, 2)), SecurityError::InvalidMarkets.into());
        assert_eq!(err(CREATE_SESSION, &args([5; 32], 1, 1, 0)), SecurityError::InvalidMaxNotional.into());
    }

    #[test]
    fn argument_free_instructions_and_unknown_tags() {
        assert_eq!(SecurityInstruction::unpack(&INITIALIZE).unwrap(), SecurityInstruction::Initialize);
        assert_eq!(SecurityInstruction::unpack(&CLOSE_SESSION).unwrap(), SecurityInstruction::CloseSession);
        assert_eq!(err(REVOKE_SESSION, &[0]), RuntimeError::InvalidInstructionData.into());
        assert_eq!(SecurityInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(SecurityInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }
}
