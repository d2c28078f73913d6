//! The read side of qd-security. qd-security writes `SecurityConfig` and `Session`; every program
//! that acts on a margin account decides "may this signer do this now?" here, from read-only
//! accounts, with one call:
//!
//! ```text
//! let config = load_config(config_info)?;             // address + owner + type: 32-byte compares
//! let margin = qd_core_state::load_margin(margin_info)?;
//! authorize(config, margin, signer, session_info, &Request::place(market, notional), now)?;
//! ```
//!
//! `authorize` checks, in order: the pause bit of the action's operation (global and market),
//! the account's freeze, the owner's market limit, then who signed (owner, trade-only delegate, or
//! a session key within its scopes). Rate limiting is separate (`TokenBucket`), because its
//! state must be written by the program that executes order actions: see `rate_limit`.
#![cfg_attr(target_arch = "bpf", no_std)]

mod error;
mod rate_limit;
mod state;

pub use error::AccessError;
pub use rate_limit::{RateLimit, TokenBucket, MILLI};
pub use state::*;

use qd_core_state::MarginAccount;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::ProgramError;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::validate;

/// Operations that can be paused, globally or per market: bit `op as u8` of a pause mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Operation {
    Deposit = 0,
    /// Also pauses transfers between sub-accounts (collateral leaving an account).
    Withdraw = 1,
    PlaceOrder = 2,
    Fill = 3,
    Liquidate = 4,
    Funding = 5,
    Settle = 6,
}

/// Every pause bit.
pub const ALL_OPERATIONS: u8 = 0x7f;

impl Operation {
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// What a signer asks to do to a margin account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Action {
    Deposit = 0,
    Withdraw = 1,
    /// Collateral to another sub-account of the same owner.
    Transfer = 2,
    PlaceOrder = 3,
    CancelOrder = 4,
    /// Filling another order with this account as maker (place-and-make).
    Fill = 5,
    Settle = 6,
}

impl Action {
    pub fn from_u8(code: u8) -> Result<Action, AccessError> {
        Ok(match code {
            0 => Action::Deposit,
            1 => Action::Withdraw,
            2 => Action::Transfer,
            3 => Action::PlaceOrder,
            4 => Action::CancelOrder,
            5 => Action::Fill,
            6 => Action::Settle,
            _ => return Err(AccessError::UnknownAction),
        })
    }

    /// The pause bit that stops this action. Cancels are never paused: they only reduce risk.
    pub const fn operation(self) -> Option<Operation> {
        match self {
            Action::Deposit => Some(Operation::Deposit),
            Action::Withdraw | Action::Transfer => Some(Operation::Withdraw),
            Action::PlaceOrder => Some(Operation::PlaceOrder),
            Action::CancelOrder => None,
            Action::Fill => Some(Operation::Fill),
            Action::Settle => Some(Operation::Settle),
        }
    }

    /// A frozen account may still receive deposits, cancel orders and settle PnL (none moves
    /// value out or adds risk); liquidation does not go through `authorize` at all.
    pub const fn allowed_when_frozen(self) -> bool {
        matches!(self, Action::Deposit | Action::CancelOrder | Action::Settle)
    }

    /// Actions a trade-only delegate may take.
    pub const fn delegable(self) -> bool {
        matches!(self, Action::PlaceOrder | Action::CancelOrder | Action::Fill | Action::Settle)
    }

    /// The session scope bit that allows this action; `None`: never allowed to a session
    /// (withdraw, transfer, and everything that is not an order action).
    pub const fn session_scope(self) -> Option<u8> {
        match self {
            Action::PlaceOrder | Action::Fill => Some(SCOPE_PLACE),
            Action::CancelOrder => Some(SCOPE_CANCEL),
            _ => None,
        }
    }

    /// Whether the action opens risk in a market (market limits and session notional apply).
    const fn trades(self) -> bool {
        matches!(self, Action::PlaceOrder | Action::Fill)
    }
}

/// An instruction argument as its u8 code (`check_action`): an unknown code is `UnknownAction`.
impl qd_runtime::borsh::BorshRead for Action {
    fn read(r: &mut qd_runtime::borsh::Reader) -> Result<Self, ProgramError> {
        Ok(Action::from_u8(r.u8()?)?)
    }
}

#[cfg(not(target_arch = "bpf"))]
impl qd_runtime::idl::IdlType for Action {
    fn idl() -> qd_runtime::idl::Json {
        qd_runtime::idl::Json::str("u8")
    }
}

/// One request to `authorize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub action: Action,
    /// Perp market index for order actions; `NO_MARKET` otherwise.
    pub market: u16,
    /// Order notional in quote units (order actions; 0 otherwise).
    pub notional: u64,
}

/// `Request::market` of actions that are not about one market.
pub const NO_MARKET: u16 = u16::MAX;

impl Request {
    pub const fn new(action: Action, market: u16, notional: u64) -> Self {
        Request { action, market, notional }
    }
}

/// Who was authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Actor {
    Owner = 0,
    Delegate = 1,
    Session = 2,
}

/// The SecurityConfig (address, owner program, discriminator and size checked).
pub fn load_config(info: &AccountInfo) -> Result<&SecurityConfig, ProgramError> {
    validate::address(info, &qd_ids::SECURITY_CONFIG)?;
    info.load::<SecurityConfig>(&qd_ids::QD_SECURITY)
}

/// A Session of qd-security (owner program, discriminator and size checked). Identity is by its
/// fields (`owner`, `session_key`): qd-security creates a Session only at the PDA
/// [b"session", owner, session_key] and never changes either field, so re-deriving the address
/// (1,500 CU) would prove nothing more.
pub fn load_session(info: &AccountInfo) -> Result<&Session, ProgramError> {
    info.load::<Session>(&qd_ids::QD_SECURITY)
}

/// Fails if `op` is paused globally or, for `market` (not `NO_MARKET`), in that market.
pub fn check_not_paused(config: &SecurityConfig, op: Operation, market: u16) -> Result<(), AccessError> {
    if config.is_paused(op, market) {
        return Err(AccessError::Paused);
    }
    Ok(())
}

/// Fails unless `signer` signed and holds `role` (the super-admin holds every role).
pub fn require_role(config: &SecurityConfig, role: Role, signer: &AccountInfo) -> Result<(), ProgramError> {
    validate::signer(signer)?;
    if !config.has_role(role, signer.key()) {
        return Err(AccessError::MissingRole.into());
    }
    Ok(())
}

/// Fails unless `signer` is qd-security's authority PDA, signing: it signs only when qd-security
/// executes a proposal whose delay has passed, so a change checked here went through the
/// timelock (qd-security checked the proposer's role when it was proposed and again when run).
pub fn require_timelock(signer: &AccountInfo) -> Result<(), ProgramError> {
    validate::signer(signer)?;
    if signer.key() != &qd_ids::SECURITY_AUTHORITY {
        return Err(AccessError::NotTimelock.into());
    }
    Ok(())
}

/// Whether `signer` may take `req` on `margin` now (`now`: the Clock's unix timestamp, which
/// the caller reads once per instruction). `session` is the Session account when the signer is
/// a session key. Checks pause, freeze, the owner's market limit and the signer's authority.
pub fn authorize(
    config: &SecurityConfig,
    margin: &MarginAccount,
    signer: &AccountInfo,
    session: Option<&AccountInfo>,
    req: &Request,
    now: i64,
) -> Result<Actor, ProgramError> {
    validate::signer(signer)?;
    if let Some(actor) = check_request(config, margin, signer.key(), req)? {
        return Ok(actor);
    }
    let info = session.ok_or(AccessError::NotAuthorized)?;
    check_session(load_session(info)?, &margin.owner, signer.key(), req, now)?;
    Ok(Actor::Session)
}

/// Pause, freeze and market-limit checks, then whether `key` is the owner or (for delegable
/// actions) the delegate. `Ok(None)`: neither, so only a session can authorize `key`.
pub fn check_request(config: &SecurityConfig, margin: &MarginAccount, key: &Pubkey, req: &Request) -> Result<Option<Actor>, AccessError> {
    if let Some(op) = req.action.operation() {
        check_not_paused(config, op, req.market)?;
    }
    if margin.is_frozen() && !req.action.allowed_when_frozen() {
        return Err(AccessError::AccountFrozen);
    }
    if req.action.trades() && !margin.allows_market(req.market) {
        return Err(AccessError::MarketNotAllowed);
    }
    if key == &margin.owner {
        return Ok(Some(Actor::Owner));
    }
    if margin.has_delegate() && key == &margin.delegate {
        if !req.action.delegable() {
            return Err(AccessError::DelegateNotPermitted);
        }
        return Ok(Some(Actor::Delegate));
    }
    Ok(None)
}

/// A session of `owner` for `session_key`, live at `now`, allows `req`.
pub fn check_session(s: &Session, owner: &Pubkey, session_key: &Pubkey, req: &Request, now: i64) -> Result<(), AccessError> {
    if &s.owner != owner || &s.session_key != session_key {
        return Err(AccessError::SessionMismatch);
    }
    if s.revoked != 0 {
        return Err(AccessError::SessionRevoked);
    }
    if now >= s.expires_at {
        return Err(AccessError::SessionExpired);
    }
    match req.action.session_scope() {
        Some(bit) if s.scopes & bit != 0 => {}
        _ => return Err(AccessError::SessionScope),
    }
    if req.action.trades() {
        if req.market >= MAX_MARKETS as u16 || s.markets & (1u64 << req.market) == 0 {
            return Err(AccessError::SessionMarket);
        }
        if req.notional > s.max_notional {
            return Err(AccessError::SessionNotional);
        }
        if req.notional > s.budget.saturating_sub(s.spent) {
            return Err(AccessError::SessionBudgetExceeded);
        }
    }
    Ok(())
}

/// Counts a fill of `notional` (quote, at the fill price) that a session-placed order traded
/// against `s`'s budget, at `now`. A revoked or expired session's orders no longer fill; a fill
/// is at most the per-order maximum, and the fills together at most the budget.
pub fn spend_session(s: &mut Session, notional: u64, now: i64) -> Result<(), AccessError> {
    if s.revoked != 0 {
        return Err(AccessError::SessionRevoked);
    }
    if now >= s.expires_at {
        return Err(AccessError::SessionExpired);
    }
    if notional > s.max_notional {
        return Err(AccessError::SessionNotional);
    }
    let spent = s.spent.checked_add(notional).filter(|&t| t <= s.budget).ok_or(AccessError::SessionBudgetExceeded)?;
    s.spent = spent;
    Ok(())
}

/// qd-security's `record_session_fill(notional)` by CPI: `authority` is qd-trading's
/// [b"authority"] PDA (signing with `authority_seeds`), the only caller qd-security accepts.
pub fn record_session_fill(
    authority: &AccountInfo,
    session: &AccountInfo,
    notional: u64,
    authority_seeds: &[&[u8]],
) -> Result<(), ProgramError> {
    use qd_runtime::cpi::{invoke_signed, AccountMeta};
    let mut data = qd_runtime::borsh::Writer::<16>::new();
    data.bytes(&RECORD_SESSION_FILL).u64(notional);
    invoke_signed(
        &qd_ids::QD_SECURITY,
        &[AccountMeta::readonly(authority.key(), true), AccountMeta::writable(session.key(), false)],
        &[authority, session],
        data.finish()?,
        &[authority_seeds],
    )
}

/// qd-security's instruction discriminator for `record_session_fill`.
pub const RECORD_SESSION_FILL: [u8; 8] = qd_runtime::hash::discriminator("global", "record_session_fill");

#[cfg(test)]
mod tests;
