//! Advanced orders. The placements (trigger, bracket, iceberg, scale, TWAP) are checked like
//! place_order, through the same `OrderAccounts` (authorization, rate limit, market status,
//! liquidation and reduce-only limits, health with every order at its worst); their rules are
//! crate::advanced. The cranks `trigger_order` and `crank_twap` are permissionless and pay the
//! cranker the market's fee out of the order owner's position (realized PnL, settled like any
//! other), once per trigger or slice.
//!
//! What a crank refuses (the transaction fails, nothing changes) and what it cancels (the
//! transaction lands, the order leaves with a reason and no fee is paid) is listed on the
//! instructions (instruction.rs) and in the README; in short, a crank is refused for what may
//! pass (not due, paused, frozen, a stale oracle) and cancels for what the order no longer may do.

use super::links::drop_order;
use super::next_seq;
use super::orders::{check_may_trade, finish, place, OrderAccounts};
use crate::advanced;
use crate::error::{overflow, TradingError as E};
use crate::events::{
    OrderTriggered, ScaleOrdersPlaced, TwapSlicePlaced, CANCEL_BRACKET, CANCEL_EXPIRED, CANCEL_HEALTH, CANCEL_LIMITS, CANCEL_PRICE,
    CANCEL_REDUCE_ONLY, CANCEL_TWAP_FINISHED, CANCEL_TWAP_NEXT_SLICE,
};
use crate::instruction::{ExitParams, OrderParams, ScaleParams, TriggerParams, TwapParams};
use crate::rules;
use qd_access::{check_not_paused, AccessError, Operation};
use qd_health::HealthError;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::BoundedVec;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;
use qd_trading_state::{
    quote_for, Order, TradingAccount, KIND_LIMIT, MARKET_STATUS_SETTLEMENT, ORDER_FLAG_COVERED, ORDER_FLAG_ENTRY, ORDER_FLAG_UNTRIGGERED,
};

pub(super) fn place_trigger_order(accounts: &[AccountInfo], p: &OrderParams, t: &TriggerParams) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, Some(p.market_index), &clock)?;
    let order = advanced::trigger_order(p, t, a.market, a.price, clock.slot, clock.unix_timestamp)?;
    place(&mut a, order, &clock)
}

pub(super) fn place_iceberg_order(accounts: &[AccountInfo], p: &OrderParams, display_size: u64) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, Some(p.market_index), &clock)?;
    let mut order = rules::new_order(p, a.market, a.price, clock.slot, clock.unix_timestamp)?;
    if order.kind != KIND_LIMIT || !rules::rests(order.kind, order.tif) {
        return Err(E::InvalidOrderType.into());
    }
    if order.auction_slots != 0 {
        return Err(E::IcebergCrosses.into());
    }
    if display_size < a.market.min_order_size || !display_size.is_multiple_of(a.market.lot_size) {
        return Err(E::InvalidDisplaySize.into());
    }
    order.display_size = display_size;
    place(&mut a, order, &clock)
}

pub(super) fn place_twap_order(accounts: &[AccountInfo], p: &TwapParams) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, Some(p.market_index), &clock)?;
    let order = advanced::twap_order(p, a.market, a.price, clock.slot)?;
    place(&mut a, order, &clock)
}

pub(super) fn place_bracket(accounts: &[AccountInfo], p: &OrderParams, tp: Option<&ExitParams>, sl: Option<&ExitParams>) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, Some(p.market_index), &clock)?;
    let entry = rules::new_order(p, a.market, a.price, clock.slot, clock.unix_timestamp)?;
    let actor = a.authorize(quote_for(entry.base_size, entry.reserved_price)?, &clock)?;
    let before = a.before();
    let (entry, position) = a.push(Order { flags: entry.flags | ORDER_FLAG_ENTRY, ..entry }, actor)?;
    let mut tp = tp.map(|e| advanced::exit_order(&entry, e, true, a.market, a.price)).transpose()?;
    let mut sl = sl.map(|e| advanced::exit_order(&entry, e, false, a.market, a.price)).transpose()?;
    // The pair counts once, at the worse of the two prices.
    if let (Some(t), Some(s)) = (tp.as_mut(), sl.as_mut()) {
        let covered = if advanced::worse_exit(s, t) { t } else { s };
        covered.flags |= ORDER_FLAG_COVERED;
    }
    let mut ids = [0u64; 2];
    for (k, exit) in [tp, sl].into_iter().enumerate() {
        if let Some(exit) = exit {
            ids[k] = a.push(exit, actor)?.0.order_id;
        }
    }
    if ids[0] != 0 && ids[1] != 0 {
        for (id, other) in [(ids[0], ids[1]), (ids[1], ids[0])] {
            let j = a.trading.order_index(id).ok_or(E::OrderNotFound)?;
            a.trading.orders[j].linked_id = other;
        }
    }
    a.require_health(entry.is_reduce_only().then_some((position, before)), &clock)?;
    a.trading.refresh_flags(clock.slot);
    for id in [entry.order_id, ids[0], ids[1]].into_iter().filter(|&id| id != 0) {
        let order = a.trading.orders[a.trading.order_index(id).ok_or(E::OrderNotFound)?];
        a.placed(&order, clock.slot)?;
    }
    set_return_data(&entry.order_id.to_le_bytes());
    Ok(())
}

pub(super) fn place_scale_orders(accounts: &[AccountInfo], p: &ScaleParams) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, Some(p.market_index), &clock)?;
    let before = a.before();
    let first = a.trading.next_order_id;
    // Pushed first, then authorized once for their total notional (a failure reverts them all).
    let (mut notional, mut position, mut flags) = (0i64, 0, 0);
    let (mut prices, mut sizes) = ([0i64; 32], [0u64; 32]);
    for i in 0..p.count {
        let order = rules::new_order(&advanced::scale_order(p, i, a.market)?, a.market, a.price, clock.slot, clock.unix_timestamp)?;
        // A ladder rests: an order that would take at once is refused (post-only orders slide or reject as placed).
        if order.auction_slots != 0 {
            return Err(E::ScaleCrosses.into());
        }
        notional = notional.checked_add(quote_for(order.base_size, order.reserved_price)?).ok_or_else(overflow)?;
        (prices[i as usize], sizes[i as usize], flags) = (order.price, order.base_size, order.flags);
        position = a.push(order, qd_access::Actor::Owner)?.1;
    }
    let actor = a.authorize(notional, &clock)?;
    for order in a.trading.orders_mut().iter_mut().filter(|o| o.order_id >= first) {
        order.actor = actor as u8;
    }
    a.require_health(p.reduce_only.then_some((position, before)), &clock)?;
    a.trading.refresh_flags(clock.slot);
    let seq = next_seq(&mut a.trading.seq)?;
    let n = p.count as usize;
    ScaleOrdersPlaced {
        margin_account: *a.margin_key,
        signer: *a.signer().key(),
        actor: actor as u8,
        market_index: p.market_index,
        side: p.side,
        flags,
        tif: p.tif,
        expiry_ts: p.expiry_ts,
        first_order_id: first,
        first_client_order_id: p.client_order_id,
        prices: BoundedVec::from_slice(&prices[..n]),
        sizes: BoundedVec::from_slice(&sizes[..n]),
        slot: clock.slot,
        seq,
    }
    .emit();
    set_return_data(&first.to_le_bytes());
    Ok(())
}

qd_runtime::accounts! {
    /// trigger_order's and crank_twap's accounts; the order owner's health accounts follow.
    pub struct CrankOrderAccounts {
        /// Anyone: the cranker signs and pays for the transaction
        cranker(signer),
        security_config,
        /// The order owner's margin account
        margin_account,
        trading_account(mut),
        /// Read-only
        market,
        /// The market's oracle, read with Trade guards (the trigger condition and the slice price are judged against it)
        oracle,
        balances,
        quote_config,
        /// The trading account the cranker's fee goes to (its position in this market, as realized PnL); the qd-trading
        /// program id for none (no fee)
        fee_account(mut, optional),
    }
}

/// A crank's accounts, loaded, with the checks every crank makes: not paused, the account not
/// frozen, the market not settling, the order there and in this market.
struct Crank<'a> {
    a: OrderAccounts<'a>,
    cranker: &'a Pubkey,
    fee_account: Option<&'a AccountInfo>,
    clock: Clock,
}

impl<'a> Crank<'a> {
    fn load(accounts: &'a [AccountInfo], order_id: u64) -> Result<(Self, Order), ProgramError> {
        let c = CrankOrderAccounts::parse(accounts)?;
        let clock = Clock::get()?;
        let parts = [c.cranker, c.security_config, c.margin_account, c.trading_account, c.market, c.oracle, c.balances, c.quote_config];
        let a = OrderAccounts::new(parts, None, c.remaining, &clock)?;
        check_not_paused(a.security, Operation::PlaceOrder, a.market.index)?;
        if a.margin.is_frozen() {
            return Err(AccessError::AccountFrozen.into());
        }
        if a.market.status == MARKET_STATUS_SETTLEMENT {
            return Err(E::MarketNotActive.into());
        }
        let order = a.trading.orders[a.trading.order_index(order_id).ok_or(E::OrderNotFound)?];
        if order.market_index != a.market.index {
            return Err(E::WrongMarket.into());
        }
        let fee_account = (c.fee_account.key() != &crate::ID).then_some(c.fee_account);
        Ok((Crank { a, cranker: c.cranker.key(), fee_account, clock }, order))
    }

    fn index(&self, order_id: u64) -> Result<usize, ProgramError> {
        Ok(self.a.trading.order_index(order_id).ok_or(E::OrderNotFound)?)
    }

    /// Cancels `order_id` with `reason` instead of cranking it (the transaction lands).
    fn cancel(&mut self, order_id: u64, reason: u8) -> ProgramResult {
        let i = self.index(order_id)?;
        drop_order(self.a.trading, i, reason, self.clock.slot)?;
        finish(self.a.trading, self.clock.slot);
        Ok(())
    }

    /// Why an order that may add risk cannot now (the market or the account may only reduce, a
    /// liquidation runs), if it cannot.
    fn limited(&self, order: &Order) -> bool {
        !order.is_reduce_only() && check_may_trade(self.a.market, self.a.margin, false).is_err()
    }

    /// What a reduce-only order on its side may still fill.
    fn reducible(&self, order: &Order) -> u64 {
        let base = self.a.trading.position_index(order.market_index).map_or(0, |p| self.a.trading.positions[p].base);
        rules::reducible(base, order.is_bid())
    }

    /// The fee the crank earns (none without a fee account).
    fn fee(&self, fee: u64) -> Result<i64, ProgramError> {
        if self.fee_account.is_none() {
            return Ok(0);
        }
        i64::try_from(fee).map_err(|_| overflow())
    }

    /// Charges `fee` to the owner's position, never past initial health or the leverage limit,
    /// and returns what it charged. An order that may add risk must keep both with the fee
    /// (None, the fee undone: it is cancelled); a reduce-only one still fires, the fee waived
    /// (Some(0)) when the account could not pay it and stay within them.
    fn charge(&mut self, order: &Order, fee: i64) -> Result<Option<i64>, ProgramError> {
        let p = self.a.trading.position_index(self.a.market.index).ok_or(E::NoPosition)?;
        let realized = self.a.trading.positions[p].realized_pnl;
        self.a.trading.positions[p].realized_pnl = realized.checked_sub(fee).ok_or_else(overflow)?;
        if fee == 0 && order.is_reduce_only() {
            return Ok(Some(0));
        }
        match self.a.require_health(None, &self.clock) {
            Ok(()) => Ok(Some(fee)),
            Err(e) if e == HealthError::InsufficientHealth.into() || e == E::LeverageExceeded.into() => {
                self.a.trading.positions[p].realized_pnl = realized;
                Ok(order.is_reduce_only().then_some(0))
            }
            Err(e) => Err(e),
        }
    }

    /// Pays `fee` into the fee account's position in this market. The fee account may not be
    /// one the order's delegate or session key owns: an agent firing its principal's orders
    /// for fees paid to itself is self-dealing.
    fn pay(&self, order: &Order, fee: i64) -> Result<Pubkey, ProgramError> {
        let Some(info) = self.fee_account else { return Ok(crate::ID) };
        let recipient = info.load_mut::<TradingAccount>(&crate::ID)?;
        if order.agent().is_some_and(|(agent, _)| recipient.owner == agent) {
            return Err(E::AgentSelfDealing.into());
        }
        let p = recipient.open_position(self.a.market.index, self.a.market.funding_index(0)).ok_or(E::TooManyPositions)?;
        let position = &mut recipient.positions[p];
        position.realized_pnl = position.realized_pnl.checked_add(fee).ok_or_else(overflow)?;
        recipient.refresh_flags(self.clock.slot);
        Ok(*info.key())
    }
}

pub(super) fn trigger_order(accounts: &[AccountInfo], order_id: u64) -> ProgramResult {
    let (mut c, order) = Crank::load(accounts, order_id)?;
    let slot = c.clock.slot;
    if !order.is_untriggered() {
        return Err(E::NotTriggerOrder.into());
    }
    if !order.trigger_due(c.a.price) {
        return Err(E::TriggerNotDue.into());
    }
    // A bracket exit closes what its entry filled: the entry's unfilled rest leaves first.
    if order.is_exit() {
        if let Some(e) = c.a.trading.order_index(order.parent_id) {
            if c.a.trading.orders[e].base_filled == 0 {
                return Err(E::EntryNotFilled.into());
            }
            drop_order(c.a.trading, e, CANCEL_BRACKET, slot)?;
        }
    }
    let order = c.a.trading.orders[c.index(order_id)?];
    if order.expired(slot, c.clock.unix_timestamp) {
        return c.cancel(order_id, CANCEL_EXPIRED);
    }
    if order.is_reduce_only() && c.reducible(&order) == 0 {
        return c.cancel(order_id, CANCEL_REDUCE_ONLY);
    }
    if c.limited(&order) {
        return c.cancel(order_id, CANCEL_LIMITS);
    }
    let mut fired = Order { flags: order.flags & !ORDER_FLAG_UNTRIGGERED, ..order };
    match rules::start(&mut fired, None, c.a.price, c.a.market, slot) {
        Err(e) if e == E::AuctionOutOfBounds.into() => return c.cancel(order_id, CANCEL_PRICE),
        result => result?,
    }
    // The same size at the same price: the totals do not move.
    let i = c.index(order_id)?;
    c.a.trading.orders[i] = fired;
    let Some(fee) = c.charge(&fired, c.fee(c.a.market.trigger_fee)?)? else {
        return c.cancel(order_id, CANCEL_HEALTH);
    };
    let fee_account = c.pay(&fired, fee)?;
    finish(c.a.trading, slot);
    let seq = next_seq(&mut c.a.trading.seq)?;
    OrderTriggered {
        margin_account: *c.a.margin_key,
        cranker: *c.cranker,
        fee_account,
        fee,
        oracle_price: c.a.price,
        order: fired,
        slot,
        seq,
    }
    .emit();
    Ok(())
}

pub(super) fn crank_twap(accounts: &[AccountInfo], order_id: u64) -> ProgramResult {
    let (mut c, parent) = Crank::load(accounts, order_id)?;
    let slot = c.clock.slot;
    if !parent.is_twap() {
        return Err(E::NotTwap.into());
    }
    let due = advanced::slices_due(&parent, slot);
    if due <= parent.slices_done {
        return Err(E::SliceNotDue.into());
    }
    // The live slice leaves first and gives its unfilled rest back; that may end the TWAP.
    if let Some(j) = c.a.trading.order_index(parent.linked_id).filter(|_| parent.linked_id != 0) {
        drop_order(c.a.trading, j, CANCEL_TWAP_NEXT_SLICE, slot)?;
    }
    let Some(pi) = c.a.trading.order_index(order_id) else {
        finish(c.a.trading, slot);
        return Ok(());
    };
    let parent = c.a.trading.orders[pi];
    if c.limited(&parent) {
        return c.cancel(order_id, CANCEL_LIMITS);
    }
    let reducible = parent.is_reduce_only().then(|| c.reducible(&parent));
    if reducible == Some(0) {
        return c.cancel(order_id, CANCEL_REDUCE_ONLY);
    }
    let mut slice = advanced::next_slice(&parent, due, reducible, c.a.price, c.a.market)?;
    if let Some(s) = slice.as_mut() {
        match rules::start(s, None, c.a.price, c.a.market, slot) {
            // Its limit is beyond the auction band now: this slice is missed (a later one may catch it up).
            Err(e) if e == E::AuctionOutOfBounds.into() => slice = None,
            result => result?,
        }
    }
    let interval = parent.interval_slots as u64;
    let next_due_slot = if due < parent.slices { parent.placed_slot.checked_add(interval * due as u64).ok_or_else(overflow)? } else { 0 };
    let mut next = Order { slices_done: due, next_due_slot, ..parent };
    let p = c.a.trading.position_index(parent.market_index).ok_or(E::NoPosition)?;
    let mut fee = 0;
    let mut placed = Order::default();
    if let Some(mut s) = slice {
        s.order_id = c.a.trading.next_order_id;
        c.a.trading.next_order_id = s.order_id.checked_add(1).ok_or_else(overflow)?;
        c.a.trading.push_order(s).ok_or(E::TooManyOrders)?;
        c.a.trading.positions[p].add_order(&s)?;
        next.base_filled = next.base_filled.checked_add(s.base_size).ok_or_else(overflow)?;
        next.linked_id = s.order_id;
        fee = c.fee(c.a.market.twap_slice_fee)?;
        placed = s;
    }
    c.a.trading.positions[p].remove_remaining(&parent)?;
    c.a.trading.positions[p].add_order(&next)?;
    c.a.trading.orders[pi] = next;
    // The last slice missed: the TWAP is over.
    if placed.order_id == 0 && next.slices_done >= next.slices {
        return c.cancel(order_id, CANCEL_TWAP_FINISHED);
    }
    if placed.order_id != 0 {
        match c.charge(&parent, fee)? {
            Some(charged) => fee = charged,
            None => return c.cancel(order_id, CANCEL_HEALTH),
        }
    }
    let fee_account = if placed.order_id != 0 { c.pay(&parent, fee)? } else { crate::ID };
    finish(c.a.trading, slot);
    let seq = next_seq(&mut c.a.trading.seq)?;
    TwapSlicePlaced {
        margin_account: *c.a.margin_key,
        cranker: *c.cranker,
        fee_account,
        fee,
        parent_id: order_id,
        base_size: next.base_size,
        executed: next.executed,
        slices_done: next.slices_done,
        slices: next.slices,
        next_due_slot,
        slice: placed,
        slot,
        seq,
    }
    .emit();
    Ok(())
}
