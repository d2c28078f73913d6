//! Trading accounts: one per margin account, opened and closed by its owner.

use super::{next_seq, trading_mut};
use crate::error::TradingError as E;
use crate::events::TradingAccountOpened;
use qd_access::load_config as load_security;
use qd_core_state::load_margin;
use qd_runtime::account::{init, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::ProgramResult;
use qd_runtime::log::emit;
use qd_runtime::sysvar::Clock;
use qd_runtime::{pda, system, validate};
use qd_trading_state::{TradingAccount, TRADING_ACCOUNT_VERSION, TRADING_SEED};

/// The signer owns the margin account.
fn check_owner(owner: &AccountInfo, margin_info: &AccountInfo) -> ProgramResult {
    validate::signer(owner)?;
    validate::writable(owner)?;
    if &load_margin(margin_info)?.owner != owner.key() {
        return Err(qd_core_state::MarginError::NotOwner.into());
    }
    Ok(())
}

pub(super) fn open_trading_account(accounts: &[AccountInfo]) -> ProgramResult {
    let [owner, margin_info, trading_info, system_program] = validate::accounts::<4>(accounts)?;
    check_owner(owner, margin_info)?;
    validate::writable(trading_info)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[owner, trading_info])?;
    let margin_key = margin_info.key();
    let bump = pda::check_canonical(trading_info.key(), &[TRADING_SEED, margin_key], &crate::ID)?;
    system::create_account(owner, trading_info, TradingAccount::LEN, &crate::ID, &[&[TRADING_SEED, margin_key, &[bump]]])?;
    let trading = init::<TradingAccount>(trading_info.data_mut())?;
    trading.version = TRADING_ACCOUNT_VERSION;
    trading.bump = bump;
    trading.margin_account = *margin_key;
    trading.owner = *owner.key();
    trading.next_order_id = 1;
    trading.seq = 1;
    emit(
        TradingAccountOpened { trading: *trading_info.key(), margin_account: *margin_key, owner: *owner.key(), open: true, slot: Clock::get()?.slot, seq: 1 }
            .encode()
            .finish()?,
    );
    Ok(())
}

pub(super) fn close_trading_account(accounts: &[AccountInfo]) -> ProgramResult {
    let [owner, security, margin_info, trading_info] = validate::accounts::<4>(accounts)?;
    check_owner(owner, margin_info)?;
    let trading = trading_mut(trading_info, margin_info.key())?;
    if trading.position_count != 0 || trading.order_count != 0 {
        return Err(E::TradingAccountNotEmpty.into());
    }
    // A reopened account starts with a full bucket: closing one that is not full yet would
    // turn close-and-reopen into a rate-limit reset.
    let clock = Clock::get()?;
    if !trading.bucket.is_full(&load_security(security)?.rate_limit, clock.slot) {
        return Err(E::RateLimitRefilling.into());
    }
    let seq = next_seq(&mut trading.seq)?;
    // Zeroes the data and hands the account to the System program (no revival in the same
    // transaction); qd-core's close_margin_account then sees it closed.
    trading_info.close(owner)?;
    emit(
        TradingAccountOpened { trading: *trading_info.key(), margin_account: *margin_info.key(), owner: *owner.key(), open: false, slot: clock.slot, seq }
            .encode()
            .finish()?,
    );
    Ok(())
}
