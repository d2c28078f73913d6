//! Instruction handlers, by topic: markets (admin), trading accounts, orders, fills, funding
//! and settlement. Each validates its accounts (signer, owner, PDA or identity fields,
//! discriminator, writability, duplicates), the pause and freeze state and its arguments before
//! it changes anything; CPIs into qd-collateral come after every state change they depend on,
//! and health checks after the CPIs, so any failure leaves state untouched.

mod account;
mod fills;
mod funding;
mod market;
mod orders;

use crate::error::TradingError as E;
use crate::instruction::TradingInstruction;
use qd_access::AUTHORITY_SEED;
use qd_collateral_state::{load_config, CollateralBalances, CollateralConfig};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::validate;
use qd_trading_state::TradingAccount;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match TradingInstruction::unpack(data)? {
        TradingInstruction::CreateMarket { index, symbol, params, guards } => market::create_market(accounts, index, &symbol, &params, &guards),
        TradingInstruction::SetMarketParams { params } => market::set_market_params(accounts, &params),
        TradingInstruction::SetMarketStatus { status } => market::set_market_status(accounts, status),
        TradingInstruction::SetMarketOracle { guards } => market::set_market_oracle(accounts, &guards),
        TradingInstruction::OpenTradingAccount => account::open_trading_account(accounts),
        TradingInstruction::CloseTradingAccount => account::close_trading_account(accounts),
        TradingInstruction::PlaceOrder { params } => orders::place_order(accounts, &params),
        TradingInstruction::CancelOrders { scope } => orders::cancel_orders(accounts, scope),
        TradingInstruction::ModifyOrder { order_id, price, base_size } => orders::modify_order(accounts, order_id, price, base_size),
        TradingInstruction::PlaceAndMake { taker_order_id, maker } => fills::place_and_make(accounts, taker_order_id, &maker),
        TradingInstruction::FillOrder { taker_order_id, maker_order_ids, makers } => fills::fill_order(accounts, taker_order_id, &maker_order_ids[..makers]),
        TradingInstruction::UpdateFunding => funding::update_funding(accounts),
        TradingInstruction::SettlePnl { market_index } => funding::settle_pnl(accounts, market_index),
        TradingInstruction::ExpireOrders => orders::expire_orders(accounts),
    }
}

/// The trading authority's signer seeds ([b"authority"], canonical bump): qd-collateral
/// accepts balance adjustments signed by this PDA.
const AUTHORITY_SEEDS: &[&[u8]] = &[AUTHORITY_SEED, &[qd_ids::TRADING_AUTHORITY_BUMP]];

fn next_seq(seq: &mut u64) -> Result<u64, ProgramError> {
    *seq = seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    Ok(*seq)
}

/// `margin_account`'s trading account, writable.
fn trading_mut<'a>(info: &'a AccountInfo, margin_account: &Pubkey) -> Result<&'a mut TradingAccount, ProgramError> {
    let trading = info.load_mut::<TradingAccount>(&crate::ID)?;
    trading.check_margin_account(margin_account)?;
    Ok(trading)
}

/// `margin_account`'s collateral balances. Read here; `writable` when a CPI adjusts them.
fn balances_of<'a>(info: &'a AccountInfo, margin_account: &Pubkey, writable: bool) -> Result<&'a CollateralBalances, ProgramError> {
    if writable {
        validate::writable(info)?;
    }
    let balances = info.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?;
    balances.check_margin_account(margin_account)?;
    Ok(balances)
}

/// The quote mint's CollateralConfig (PnL and fees are counted in it; priced at 1).
fn quote_config(info: &AccountInfo) -> Result<&CollateralConfig, ProgramError> {
    let config = load_config(info)?;
    if !config.is_quote() {
        return Err(E::WrongQuoteConfig.into());
    }
    Ok(config)
}

/// The session slot: a qd-security Session, or this program's id for none (Anchor's
/// convention for an absent optional account).
fn session(info: &AccountInfo) -> Option<&AccountInfo> {
    if info.key() == &crate::ID {
        None
    } else {
        Some(info)
    }
}

/// The accounts a balance adjustment by CPI needs: qd-collateral itself and our authority PDA.
fn check_adjust_accounts(collateral_program: &AccountInfo, authority: &AccountInfo) -> ProgramResult {
    if collateral_program.key() != &qd_ids::QD_COLLATERAL {
        return Err(E::WrongCollateralProgram.into());
    }
    validate::address(authority, &qd_ids::TRADING_AUTHORITY)
}

/// Adds `delta` to `balances`' quote balance by CPI (nothing for zero).
fn adjust(authority: &AccountInfo, quote_config: &AccountInfo, balances: &AccountInfo, delta: i64) -> ProgramResult {
    if delta == 0 {
        return Ok(());
    }
    qd_collateral_state::adjust_balance(authority, quote_config, balances, delta, AUTHORITY_SEEDS)
}
