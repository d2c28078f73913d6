//! Funding (a permissionless crank per market and period) and PnL settlement (realized PnL and
//! funding into the quote balance by CPI; in a settlement market, positions close first).

use super::orders::{drop_order, finish};
use super::{adjust, balances_of, check_adjust_accounts, next_seq, quote_config, trading_mut};
use crate::error::{overflow, TradingError as E};
use crate::events::{FundingUpdated, PnlSettled, CANCEL_SETTLEMENT};
use qd_access::{check_not_paused, load_config as load_security, Operation};
use qd_core_state::load_margin;
use qd_oracle_reader::Action as OracleAction;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::ProgramResult;
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
    market.cumulative_funding = market.cumulative_funding.checked_add(delta).ok_or_else(overflow)?;
    market.last_funding_delta = delta;
    market.last_funding_ts = now;
    FundingUpdated {
        market_index: market.index,
        mark_twap: market.mark_twap,
        oracle_twap: market.oracle_twap,
        delta,
        cumulative_funding: market.cumulative_funding,
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
    quote_config(quote_info)?;
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    if market.index != market_index {
        return Err(E::WrongMarket.into());
    }
    check_not_paused(load_security(security_config)?, Operation::Settle, market_index)?;
    load_margin(margin_info)?;
    let trading = trading_mut(trading_info, margin_info.key())?;
    balances_of(balances_info, margin_info.key())?;
    let clock = Clock::get()?;
    let p = trading.position_index(market_index).ok_or(E::NoPosition)?;
    let funding = trading.positions[p].settle_funding(market.cumulative_funding)?;
    market.total_funding_settled = market.total_funding_settled.checked_add(funding).ok_or_else(overflow)?;
    let mut closed_base = 0;
    if market.status == MARKET_STATUS_SETTLEMENT {
        // The market is over: its orders leave the book and the position closes at the
        // settlement price (a tick multiple: the closing quote is exact).
        let mut i = 0;
        while i < trading.orders().len() {
            if trading.orders[i].market_index == market_index {
                drop_order(trading, i, CANCEL_SETTLEMENT, clock.slot)?;
            } else {
                i += 1;
            }
        }
        let position = &mut trading.positions[p];
        closed_base = position.base;
        if closed_base != 0 {
            position.apply_fill(-closed_base, market.settlement_price)?;
            let size = closed_base.unsigned_abs();
            let side = if closed_base > 0 { &mut market.open_interest_long } else { &mut market.open_interest_short };
            *side = side.checked_sub(size).ok_or_else(overflow)?;
        }
    }
    let pnl = trading.positions[p].realized_pnl;
    trading.positions[p].realized_pnl = 0;
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
        settled_pnl: trading.settled_pnl,
        slot: clock.slot,
        seq,
    }
    .emit();
    Ok(())
}
