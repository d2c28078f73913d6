//! Trading accounts: one per margin account, opened and closed by its owner.

use super::{next_seq, trading_mut};
use crate::error::TradingError as E;
use crate::events::TradingAccountOpened;
use qd_access::load_config as load_security;
use qd_core_state::load_owned_margin;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::ProgramResult;
use qd_runtime::sysvar::Clock;
use qd_runtime::{system, validate};
use qd_trading_state::{TradingAccount, TRADING_ACCOUNT_VERSION, TRADING_SEED};

qd_runtime::accounts! {
    pub struct OpenTradingAccountAccounts {
        /// Pays rent
        owner(mut, signer),
        margin_account,
        /// PDA [b"trading", margin_account]
        trading_account(mut),
        system_program,
    }
}

pub(super) fn open_trading_account(accounts: &[AccountInfo]) -> ProgramResult {
    let OpenTradingAccountAccounts { owner, margin_account: margin_info, trading_account: trading_info, system_program, .. } =
        OpenTradingAccountAccounts::parse(accounts)?;
    load_owned_margin(margin_info, owner)?;
    validate::program(system_program, &system::ID)?;
    let margin_key = margin_info.key();
    let (trading, bump) = system::create_pda::<TradingAccount>(owner, trading_info, &[TRADING_SEED, margin_key], &crate::ID)?;
    trading.version = TRADING_ACCOUNT_VERSION;
    trading.bump = bump;
    trading.margin_account = *margin_key;
    trading.owner = *owner.key();
    trading.next_order_id = 1;
    trading.seq = 1;
    TradingAccountOpened {
        trading: *trading_info.key(),
        margin_account: *margin_key,
        owner: *owner.key(),
        open: true,
        slot: Clock::get()?.slot,
        seq: 1,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct CloseTradingAccountAccounts {
        /// Receives the rent
        owner(mut, signer),
        security_config,
        margin_account,
        trading_account(mut),
    }
}

pub(super) fn close_trading_account(accounts: &[AccountInfo]) -> ProgramResult {
    let CloseTradingAccountAccounts { owner, security_config, margin_account: margin_info, trading_account: trading_info, .. } =
        CloseTradingAccountAccounts::parse(accounts)?;
    load_owned_margin(margin_info, owner)?;
    let trading = trading_mut(trading_info, margin_info.key())?;
    if trading.position_count != 0 || trading.order_count != 0 {
        return Err(E::TradingAccountNotEmpty.into());
    }
    // A reopened account starts with a full bucket: closing one that is not full yet would
    // turn close-and-reopen into a rate-limit reset.
    let clock = Clock::get()?;
    if !trading.bucket.is_full(&load_security(security_config)?.rate_limit, clock.slot) {
        return Err(E::RateLimitRefilling.into());
    }
    let seq = next_seq(&mut trading.seq)?;
    // Zeroes the data and hands the account to the System program (no revival in the same
    // transaction); qd-core's close_margin_account then sees it closed.
    trading_info.close(owner)?;
    TradingAccountOpened {
        trading: *trading_info.key(),
        margin_account: *margin_info.key(),
        owner: *owner.key(),
        open: false,
        slot: clock.slot,
        seq,
    }
    .emit();
    Ok(())
}
