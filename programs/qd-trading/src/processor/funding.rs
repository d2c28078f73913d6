//! Funding (a permissionless crank per market and period) and PnL settlement through the
//! market's PnL pool: a loss is paid from the quote balance into the pool, a profit out of it,
//! and only up to what losers have paid in (fees first: they are senior claims on the pool), so
//! no winner can withdraw other users' deposits; what cannot move yet waits in the position.
//! In a settlement market positions close first.

use super::orders::{drop_order, finish};
use super::{adjust, balances_of, check_adjust_accounts, next_seq, quote_config, trading_mut};
use crate::error::{overflow, TradingError as E};
use crate::events::{FundingUpdated, PnlSettled, CANCEL_SETTLEMENT};
use qd_access::{check_not_paused, load_config as load_security, Operation};
use qd_core_state::load_margin;
use qd_oracle_reader::Action as OracleAction;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::sysvar::Clock;
use qd_trading_state::{market_price, PerpMarket, MARKET_STATUS_SETTLEMENT};

qd_runtime::accounts! {
    pub struct UpdateFundingAccounts {
        security_config,
        market(mut),
        oracle,
    }
}

pub(super) fn update_funding(accounts: &[AccountInfo]) -> ProgramResult {
    let UpdateFundingAccounts { security_config, market: market_info, oracle, .. } = UpdateFundingAccounts::parse(accounts)?;
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    check_not_paused(load_security(security_config)?, Operation::Funding, market.index)?;
    if market.status == MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketSettled.into());
    }
    let clock = Clock::get()?;
    let now = clock.unix_timestamp;
    if now < market.last_funding_ts.checked_add(market.funding_period_secs).ok_or_else(overflow)? {
        return Err(E::FundingTooEarly.into());
    }
    let oracle_price = market_price(market, oracle, OracleAction::Margin, &clock)?;
    market.sample_twaps(oracle_price, now)?;
    // Each period's premium comes from its own fills: a trade long ago does not set the mark.
    market.mark_premium = 0;
    let delta = market.funding_delta()?;
    // Both indices move alike: longs and shorts pay and receive the same per unit (zero-sum).
    market.cumulative_funding_long = market.cumulative_funding_long.checked_add(delta).ok_or_else(overflow)?;
    market.cumulative_funding_short = market.cumulative_funding_short.checked_add(delta).ok_or_else(overflow)?;
    market.last_funding_delta = delta;
    market.last_funding_ts = now;
    FundingUpdated {
        market_index: market.index,
        mark_twap: market.mark_twap,
        oracle_twap: market.oracle_twap,
        delta,
        cumulative_funding_long: market.cumulative_funding_long,
        cumulative_funding_short: market.cumulative_funding_short,
        ts: now,
        slot: clock.slot,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SettlePnlAccounts {
        /// Anyone: keepers settle for everyone, also while the account is frozen
        signer(signer),
        security_config,
        margin_account,
        trading_account(mut),
        balances(mut),
        market(mut),
        quote_config(mut),
        collateral_program,
        trading_authority,
    }
}

pub(super) fn settle_pnl(accounts: &[AccountInfo], market_index: u16) -> ProgramResult {
    let SettlePnlAccounts {
        security_config,
        margin_account: margin_info,
        trading_account: trading_info,
        balances: balances_info,
        market: market_info,
        quote_config: quote_info,
        collateral_program,
        trading_authority: authority,
        ..
    } = SettlePnlAccounts::parse(accounts)?;
    check_adjust_accounts(collateral_program, authority)?;
    let quote_mint = quote_config(quote_info)?.mint;
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    if market.index != market_index {
        return Err(E::WrongMarket.into());
    }
    check_not_paused(load_security(security_config)?, Operation::Settle, market_index)?;
    load_margin(margin_info)?;
    let trading = trading_mut(trading_info, margin_info.key())?;
    let held = balances_of(balances_info, margin_info.key())?.balance_of(&quote_mint);
    let clock = Clock::get()?;
    let p = trading.position_index(market_index).ok_or(E::NoPosition)?;
    let funding = trading.positions[p].settle_market_funding(market)?;
    market.total_funding_settled = market.total_funding_settled.checked_add(funding).ok_or_else(overflow)?;
    let mut closed_base = 0;
    if market.status == MARKET_STATUS_SETTLEMENT {
        // The market is over: its orders leave the book and the position closes at the
        // settlement price (a tick multiple: the closing quote is exact).
        // A removal may take linked orders with it: each pass looks again from the start.
        while let Some(i) = trading.orders().iter().position(|o| o.market_index == market_index) {
            drop_order(trading, i, CANCEL_SETTLEMENT, clock.slot)?;
        }
        let position = &mut trading.positions[p];
        closed_base = position.base;
        if closed_base != 0 {
            position.fill(market, -closed_base, market.settlement_price)?;
            let size = closed_base.unsigned_abs();
            let side = if closed_base > 0 { &mut market.open_interest_long } else { &mut market.open_interest_short };
            *side = side.checked_sub(size).ok_or_else(overflow)?;
        }
    }
    let realized = trading.positions[p].realized_pnl;
    let pnl = pool_settlement(market, realized, held)?;
    let unsettled = realized.checked_sub(pnl).ok_or_else(overflow)?;
    trading.positions[p].realized_pnl = unsettled;
    trading.settled_pnl = trading.settled_pnl.checked_add(pnl).ok_or_else(overflow)?;
    market.total_pnl_settled = market.total_pnl_settled.checked_add(pnl).ok_or_else(overflow)?;
    finish(trading, clock.slot);
    let seq = next_seq(&mut trading.seq)?;
    adjust(authority, quote_info, balances_info, pnl)?;
    PnlSettled {
        margin_account: *margin_info.key(),
        market_index,
        funding,
        closed_base,
        pnl,
        unsettled,
        settled_pnl: trading.settled_pnl,
        slot: clock.slot,
        seq,
    }
    .emit();
    Ok(())
}

/// What of `realized` moves into the quote balance (`held`: the balance now) through the
/// market's PnL pool, which it updates. A loss is paid up to the balance (never below zero);
/// a profit up to what the pool holds beyond the fees, which are senior claims on it.
fn pool_settlement(market: &mut PerpMarket, realized: i64, held: i64) -> Result<i64, ProgramError> {
    if realized < 0 {
        let pay = i64::try_from(realized.unsigned_abs().min(held.max(0) as u64)).map_err(|_| overflow())?;
        market.pnl_pool = market.pnl_pool.checked_add(pay).ok_or_else(overflow)?;
        return Ok(-pay);
    }
    let fees = market.fee_pool.checked_add(market.liquidation_fee_pool).ok_or_else(overflow)?;
    let pay = realized.min(market.pnl_pool.checked_sub(fees).ok_or_else(overflow)?.max(0));
    market.pnl_pool = market.pnl_pool.checked_sub(pay).ok_or_else(overflow)?;
    Ok(pay)
}
