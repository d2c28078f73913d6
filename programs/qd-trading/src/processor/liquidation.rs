//! qd-trading's half of qd-core's liquidation instructions: CPI only, signed by qd-core's
//! `[b"authority"]` PDA after qd-core has judged the account liquidatable and priced the step
//! (crates/qd-health `liquidation`). These move positions, PnL and pools exactly as told, with
//! the bookkeeping a fill does (funding settled first, cost basis, open interest, keeper flags).

use super::next_seq;
use super::orders::finish;
use crate::error::{overflow, TradingError as E};
use crate::events::{LossSocialized, OrdersCancelled, CANCEL_LIQUIDATION};
use crate::rules;
use qd_core_state::require_core_authority;
use qd_health::{BASE_SCALE, FUNDING_SCALE};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::BoundedVec;
use qd_runtime::error::ProgramResult;
use qd_runtime::sysvar::Clock;
use qd_trading_state::{Order, PerpMarket, Position, TradingAccount, MARKET_STATUS_SETTLEMENT, MAX_ORDERS};

/// The market being liquidated in, writable; a market in settlement closes positions by
/// settle_pnl instead.
fn live_market(info: &AccountInfo) -> Result<&mut PerpMarket, qd_runtime::error::ProgramError> {
    let market = info.load_mut::<PerpMarket>(&crate::ID)?;
    if market.status == MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketSettled.into());
    }
    Ok(market)
}

fn next_id(market: &mut PerpMarket) -> Result<u64, qd_runtime::error::ProgramError> {
    market.liquidation_seq = market.liquidation_seq.checked_add(1).ok_or_else(overflow)?;
    Ok(market.liquidation_seq)
}

qd_runtime::accounts! {
    pub struct LiquidateOrdersAccounts {
        /// qd-core's [b"authority"] PDA
        core_authority(signer),
        trading_account(mut),
    }
}

/// Takes every open order of the account off the book in one pass (the order totals of every
/// position go to zero with them) and one event naming them: a liquidation cancels up to 32
/// orders, and an event per order would cost more than the rest of the step.
#[inline(never)]
pub(super) fn liquidate_orders(accounts: &[AccountInfo]) -> ProgramResult {
    let LiquidateOrdersAccounts { core_authority, trading_account, .. } = LiquidateOrdersAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    let trading = trading_account.load_mut::<TradingAccount>(&crate::ID)?;
    let slot = Clock::get()?.slot;
    let mut ids = [0u64; MAX_ORDERS];
    let count = trading.orders().len();
    for (id, order) in ids.iter_mut().zip(trading.orders()) {
        *id = order.order_id;
    }
    for position in trading.positions_mut() {
        *position = Position { open_orders: 0, bids_base: 0, bids_quote: 0, asks_base: 0, asks_quote: 0, ..*position };
    }
    trading.orders_mut().fill(Order::default());
    trading.order_count = 0;
    let seq = next_seq(&mut trading.seq)?;
    OrdersCancelled {
        margin_account: trading.margin_account,
        reason: CANCEL_LIQUIDATION,
        order_ids: BoundedVec::from_slice(&ids[..count]),
        slot,
        seq,
    }
    .emit();
    finish(trading, slot);
    Ok(())
}

qd_runtime::accounts! {
    pub struct LiquidatePositionAccounts {
        /// qd-core's [b"authority"] PDA
        core_authority(signer),
        market(mut),
        /// The liquidated account's trading account
        trading_account(mut),
        liquidator_trading_account(mut),
    }
}

/// Moves `base` (the liquidated position's change: toward zero) to the liquidator at `price`;
/// the account pays `liquidator_fee` to the liquidator and `insurance_fee` into the market's
/// liquidation fee pool, both through the positions' realized PnL.
#[inline(never)]
pub(super) fn liquidate_position(
    accounts: &[AccountInfo],
    base: i64,
    price: i64,
    liquidator_fee: i64,
    insurance_fee: i64,
) -> ProgramResult {
    let LiquidatePositionAccounts { core_authority, market: market_info, trading_account, liquidator_trading_account, .. } =
        LiquidatePositionAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    let market = live_market(market_info)?;
    let account = trading_account.load_mut::<TradingAccount>(&crate::ID)?;
    let liquidator = liquidator_trading_account.load_mut::<TradingAccount>(&crate::ID)?;
    let index = market.index;
    let p = account.position_index(index).ok_or(E::NoPosition)?;
    let held = account.positions[p].base;
    // A step only reduces the position, never past zero; the fees are what qd-core computed.
    if base == 0
        || (base > 0) == (held > 0)
        || base.unsigned_abs() > held.unsigned_abs()
        || liquidator_fee < 0
        || insurance_fee < 0
        || price <= 0
    {
        return Err(E::InvalidLiquidation.into());
    }
    let q = liquidator.open_position(index, market.funding_index(-base)).ok_or(E::TooManyPositions)?;
    let liquidator_base = liquidator.positions[q].base;
    let (account_funding, _) = account.positions[p].fill(market, base, price)?;
    let (liquidator_funding, _) = liquidator.positions[q].fill(market, -base, price)?;
    let funding = account_funding.checked_add(liquidator_funding).ok_or_else(overflow)?;
    market.total_funding_settled = market.total_funding_settled.checked_add(funding).ok_or_else(overflow)?;
    let (long, short) = rules::open_interest(market, [held, liquidator_base], [account.positions[p].base, liquidator.positions[q].base])?;
    market.open_interest_long = long;
    market.open_interest_short = short;
    let fees = liquidator_fee.checked_add(insurance_fee).ok_or_else(overflow)?;
    let position = &mut account.positions[p];
    position.realized_pnl = position.realized_pnl.checked_sub(fees).ok_or_else(overflow)?;
    let taker = &mut liquidator.positions[q];
    taker.realized_pnl = taker.realized_pnl.checked_add(liquidator_fee).ok_or_else(overflow)?;
    market.liquidation_fee_pool = market.liquidation_fee_pool.checked_add(insurance_fee).ok_or_else(overflow)?;
    next_id(market)?;
    let slot = Clock::get()?.slot;
    finish(account, slot);
    finish(liquidator, slot);
    Ok(())
}

qd_runtime::accounts! {
    pub struct RepayPnlAccounts {
        /// qd-core's [b"authority"] PDA
        core_authority(signer),
        market(mut),
        trading_account(mut),
    }
}

/// A liquidator paid `amount` of the account's negative PnL in this market: the quote is in the
/// market's PnL pool now (qd-core debited the liquidator's quote balance).
#[inline(never)]
pub(super) fn repay_pnl(accounts: &[AccountInfo], amount: i64) -> ProgramResult {
    let RepayPnlAccounts { core_authority, market: market_info, trading_account, .. } = RepayPnlAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    let market = live_market(market_info)?;
    let account = trading_account.load_mut::<TradingAccount>(&crate::ID)?;
    let p = account.position_index(market.index).ok_or(E::NoPosition)?;
    let position = &mut account.positions[p];
    if amount <= 0 || position.base != 0 || position.realized_pnl > -amount {
        return Err(E::InvalidLiquidation.into());
    }
    position.realized_pnl += amount;
    // A settlement of the account's PnL, paid from the liquidator's balance.
    market.pnl_pool = market.pnl_pool.checked_add(amount).ok_or_else(overflow)?;
    market.total_pnl_settled = market.total_pnl_settled.checked_sub(amount).ok_or_else(overflow)?;
    next_id(market)?;
    finish(account, Clock::get()?.slot);
    Ok(())
}

qd_runtime::accounts! {
    pub struct ResolveBankruptPositionAccounts {
        /// qd-core's [b"authority"] PDA
        core_authority(signer),
        market(mut),
        trading_account(mut),
    }
}

/// The bankrupt account's flat position owes its negative PnL: `insurance` of it arrived in the
/// PnL pool from the insurance fund (qd-core moved the tokens), the rest is socialized over the
/// open positions by moving the two funding indices apart (longs pay as the long index rises,
/// shorts as the short index falls, `ceil(loss * 1e15 / open interest)` per unit, so together
/// they owe at least the loss), or recorded as unbacked when no position is open. The position
/// is then empty and freed.
#[inline(never)]
pub(super) fn resolve_bankrupt_position(accounts: &[AccountInfo], insurance: i64) -> ProgramResult {
    let ResolveBankruptPositionAccounts { core_authority, market: market_info, trading_account, .. } =
        ResolveBankruptPositionAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    // Also in a settlement market: its positions are flat or about to be.
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    let account = trading_account.load_mut::<TradingAccount>(&crate::ID)?;
    let p = account.position_index(market.index).ok_or(E::NoPosition)?;
    let position = &mut account.positions[p];
    let debt = position.realized_pnl.checked_neg().ok_or_else(overflow)?;
    if position.base != 0 || position.open_orders != 0 || debt <= 0 || insurance < 0 || insurance > debt {
        return Err(E::InvalidLiquidation.into());
    }
    position.realized_pnl = 0;
    market.pnl_pool = market.pnl_pool.checked_add(insurance).ok_or_else(overflow)?;
    market.insurance_paid = market.insurance_paid.checked_add(insurance as u64).ok_or_else(overflow)?;
    let loss = (debt - insurance) as u64;
    let open_interest = market.open_interest_long as u128 + market.open_interest_short as u128;
    // Per unit of open interest, in index units (quote native per whole base, scaled by 1e6).
    let delta = if loss == 0 || open_interest == 0 {
        None
    } else {
        let scaled = qd_health::wide::mul_wide(loss, BASE_SCALE as u64 * FUNDING_SCALE as u64);
        let (q, r) = qd_health::wide::divrem_u128(scaled, open_interest);
        i64::try_from(q + (r != 0) as u128)
            .ok()
            .and_then(|d| Some((market.cumulative_funding_long.checked_add(d)?, market.cumulative_funding_short.checked_sub(d)?, d)))
    };
    let (socialized, unbacked, index_delta) = match delta {
        Some((long, short, d)) => {
            market.cumulative_funding_long = long;
            market.cumulative_funding_short = short;
            (loss, 0, d)
        }
        // No open position to take it (or an index that cannot move that far): recorded.
        None => (0, loss, 0),
    };
    market.socialized_loss = market.socialized_loss.checked_add(socialized).ok_or_else(overflow)?;
    market.unbacked_loss = market.unbacked_loss.checked_add(unbacked).ok_or_else(overflow)?;
    let id = next_id(market)?;
    let clock = Clock::get()?;
    LossSocialized {
        market_index: market.index,
        margin_account: account.margin_account,
        liquidation_id: id,
        debt,
        insurance,
        socialized,
        unbacked,
        index_delta,
        open_interest_long: market.open_interest_long,
        open_interest_short: market.open_interest_short,
        slot: clock.slot,
    }
    .emit();
    finish(account, clock.slot);
    Ok(())
}
