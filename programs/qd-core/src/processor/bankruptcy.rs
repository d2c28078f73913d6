//! Bankruptcy: an account liquidation left with nothing but a debt (the negative PnL of a flat
//! position) has it paid by the quote mint's insurance fund, up to the market's insurance cap,
//! and the rest socialized over the market's open positions (qd-trading moves the two funding
//! indices apart; accounts without a position never pay).

use super::insurance::pay_bankruptcy;
use super::insurance::AUTHORITY_SEEDS;
use super::liquidation::{check_programs, is_bankrupt, Account};
use crate::error::CoreError as E;
use crate::events::BankruptcyResolved;
use qd_access::{check_not_paused, load_config as load_security, Operation};
use qd_core_state::{STATUS_BANKRUPT, STATUS_BEING_LIQUIDATED};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::ProgramResult;
use qd_runtime::sysvar::Clock;
use qd_runtime::validate;
use qd_trading_state::{cpi, load_market, load_trading};

qd_runtime::accounts! {
    pub struct ResolveBankruptcyAccounts {
        /// Anyone: keepers resolve bankruptcies
        signer(signer),
        security_config,
        /// The bankrupt account
        margin_account(mut),
        trading_account(mut),
        balances,
        market(mut),
        /// qd-core's InsuranceFund of the quote mint
        insurance_fund(mut),
        insurance_vault(mut),
        /// The quote CollateralConfig and its vault: the payment lands in the market's PnL pool
        quote_config(mut),
        vault(mut),
        quote_mint,
        token_program,
        collateral_program,
        trading_program,
        /// qd-core's [b"authority"] PDA (signs the CPIs and the insurance vault's transfer)
        core_authority,
    }
}

pub(super) fn resolve_bankruptcy(accounts: &[AccountInfo], market_index: u16) -> ProgramResult {
    let ResolveBankruptcyAccounts {
        security_config,
        margin_account,
        trading_account,
        balances,
        market: market_info,
        insurance_fund,
        insurance_vault,
        quote_config: quote_info,
        vault,
        quote_mint,
        token_program,
        collateral_program,
        trading_program,
        core_authority,
        ..
    } = ResolveBankruptcyAccounts::parse(accounts)?;
    check_programs(trading_program, core_authority)?;
    validate::program(collateral_program, &qd_ids::QD_COLLATERAL)?;
    check_not_paused(load_security(security_config)?, Operation::Liquidate, market_index)?;
    let account = Account::load(margin_account, trading_account, balances)?;
    if !is_bankrupt(account.balances, Some(account.trading)) {
        return Err(E::NotBankrupt.into());
    }
    if !account.trading.orders().is_empty() {
        return Err(E::OpenOrders.into());
    }
    let market = load_market(market_info)?;
    if market.index != market_index {
        return Err(E::MarketIndexMismatch.into());
    }
    let debt = account.trading.positions().iter().find(|p| p.market_index == market_index).map_or(0, |p| -p.realized_pnl);
    if debt <= 0 {
        return Err(E::NotBankrupt.into());
    }
    let (socialized_before, unbacked_before) = (market.socialized_loss, market.unbacked_loss);
    let cap_left = market.insurance_cap.saturating_sub(market.insurance_paid);
    let clock = Clock::get()?;
    let (insurance, fund_balance) = pay_bankruptcy(
        insurance_fund,
        insurance_vault,
        quote_info,
        vault,
        quote_mint,
        token_program,
        core_authority,
        (account.key, market_index, (debt as u64).min(cap_left)),
        &clock,
    )?;
    cpi::resolve_bankrupt_position(core_authority, market_info, trading_account, insurance as i64, AUTHORITY_SEEDS)?;
    let market = load_market(market_info)?;
    // Other markets' debts keep it bankrupt until they are resolved too.
    let owes = load_trading(trading_account)?.positions().iter().any(|p| p.realized_pnl < 0);
    if !owes {
        account.margin.status &= !(STATUS_BEING_LIQUIDATED | STATUS_BANKRUPT);
    }
    BankruptcyResolved {
        liquidation_id: market.liquidation_seq,
        market_index,
        margin_account: *account.key,
        debt,
        insurance: insurance as i64,
        socialized: (market.socialized_loss - socialized_before) as i64,
        unbacked: (market.unbacked_loss - unbacked_before) as i64,
        fund_balance,
        slot: clock.slot,
    }
    .emit();
    Ok(())
}
