//! The perp half of a health check: positions valued at their markets' oracle prices, after the
//! collateral (qd-collateral-state), in the health-account order of the crate docs.

use crate::state::{PerpMarket, TradingAccount};
use core::slice::Iter;
use qd_collateral_state::{add_collateral_from, pinned_price, CollateralBalances, CollateralConfig, CollateralStateError};
use qd_health::{Health, PerpInput};
use qd_oracle_reader::Action;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::sysvar::Clock;

/// A PerpMarket of qd-trading (owner, type and size checked).
pub fn load_market(info: &AccountInfo) -> Result<&PerpMarket, ProgramError> {
    info.load::<PerpMarket>(&qd_ids::QD_TRADING)
}

/// A TradingAccount of qd-trading (owner, type and size checked).
pub fn load_trading(info: &AccountInfo) -> Result<&TradingAccount, ProgramError> {
    info.load::<TradingAccount>(&qd_ids::QD_TRADING)
}

/// `margin_account`'s trading account as passed to a reader that must count its positions:
/// None when `info` is the canonical PDA [b"trading", margin_account] and qd-trading does not
/// own it (never opened, or closed), so no positions are skipped by passing another account.
pub fn trading_account_of<'a>(
    info: &'a AccountInfo,
    margin_account: &qd_runtime::pubkey::Pubkey,
) -> Result<Option<&'a TradingAccount>, ProgramError> {
    if info.owner() == &qd_ids::QD_TRADING {
        let trading = load_trading(info)?;
        trading.check_margin_account(margin_account)?;
        return Ok(Some(trading));
    }
    qd_runtime::pda::check_canonical(info.key(), &[crate::TRADING_SEED, margin_account], &qd_ids::QD_TRADING)?;
    Ok(None)
}

/// The guarded price of `market`'s oracle for `action` (pinned feed, full verification).
pub fn market_price(market: &PerpMarket, oracle: &AccountInfo, action: Action, clock: &Clock) -> Result<i64, ProgramError> {
    pinned_price(oracle, &market.oracle, &market.guards, &market.oracle_feed_id, action, clock)
}

/// Adds every position of `trading` to `health`, in position order. A position in `fixed`'s
/// market uses that market and price (the instruction's own, read with its guards) and takes
/// no account; any other takes its PerpMarket and its oracle from `next` (prices for `action`).
/// `visit` sees each position's market and the engine's input (liquidation needs them).
pub fn add_perps(
    health: &mut Health,
    trading: &TradingAccount,
    next: &mut Iter<AccountInfo>,
    fixed: Option<(&PerpMarket, i64)>,
    action: Action,
    clock: &Clock,
    mut visit: impl FnMut(&PerpMarket, &PerpInput),
) -> Result<(), ProgramError> {
    for position in trading.positions() {
        let (market, input) = match fixed {
            Some((market, price)) if market.index == position.market_index => (market, position.perp_input(market, price)?),
            _ => {
                let market = load_market(next.next().ok_or(RuntimeError::NotEnoughAccounts)?)?;
                if market.index != position.market_index {
                    return Err(CollateralStateError::MarketMismatch.into());
                }
                let price = market_price(market, next.next().ok_or(RuntimeError::NotEnoughAccounts)?, action, clock)?;
                (market, position.perp_input(market, price)?)
            }
        };
        health.add_perp(&input)?;
        visit(market, &input);
    }
    Ok(())
}

/// The health of a margin account: its collateral (`quote`: the quote config held as a fixed
/// account, see `add_collateral_from`), then its positions if it has a trading account
/// (`fixed_market`: see `add_perps`), all read from `next` in the health-account order. The
/// caller checks that no account is left over once every list it expects is read.
pub fn account_health(
    balances: &CollateralBalances,
    trading: Option<&TradingAccount>,
    next: &mut Iter<AccountInfo>,
    quote: Option<&CollateralConfig>,
    fixed_market: Option<(&PerpMarket, i64)>,
    action: Action,
    clock: &Clock,
) -> Result<Health, ProgramError> {
    let mut health = Health::new();
    add_collateral_from(&mut health, balances, next, quote, action, clock)?;
    if let Some(trading) = trading {
        add_perps(&mut health, trading, next, fixed_market, action, clock, |_, _| {})?;
    }
    Ok(health)
}
