//! Orders: placement and modification (health-checked at the worst case of every open order),
//! cancels (never paused, allowed while frozen, not rate-limited: a cancel never adds risk and
//! a market maker must always be able to pull quotes) and expiry.

pub(super) use super::links::drop_order;
use super::{balances_of, next_seq, quote_config, session, trading_mut};
use crate::error::{overflow, TradingError as E};
use crate::events::{OrderModified, OrderPlaced, CANCEL_EXPIRED, CANCEL_USER};
use crate::instruction::OrderParams;
use crate::rules;
use qd_access::{authorize, load_config as load_security, Action, Actor, Request, SecurityConfig, NO_MARKET};
use qd_collateral_state::{CollateralBalances, CollateralConfig};
use qd_core_state::{load_margin, MarginAccount, STATUS_BEING_LIQUIDATED};
use qd_health::Health;
use qd_oracle_reader::Action as OracleAction;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;
use qd_runtime::validate;
use qd_trading_state::{
    account_health, load_market, market_price, quote_for, Order, PerpMarket, Position, TradingAccount, KIND_LIMIT,
    MARKET_STATUS_REDUCE_ONLY, MARKET_STATUS_SETTLEMENT,
};

/// After every write of a trading account: frees empty positions and recomputes the keeper flags.
pub(super) fn finish(trading: &mut TradingAccount, slot: u64) {
    trading.free_empty_positions();
    trading.refresh_flags(slot);
}

/// The market's status, a liquidation in progress and the account's reduce-only limit allow an
/// order (`reduce_only`: the order's flag). While qd-core liquidates the account its owner may
/// only reduce: nothing it places may add to what the liquidator is taking over.
pub(super) fn check_may_trade(market: &PerpMarket, margin: &MarginAccount, reduce_only: bool) -> ProgramResult {
    if market.status == MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketNotActive.into());
    }
    if market.status == MARKET_STATUS_REDUCE_ONLY && !reduce_only {
        return Err(E::MarketReduceOnly.into());
    }
    if margin.status & STATUS_BEING_LIQUIDATED != 0 && !reduce_only {
        return Err(E::AccountBeingLiquidated.into());
    }
    if margin.reduce_only != 0 && !reduce_only {
        return Err(E::AccountReduceOnly.into());
    }
    Ok(())
}

qd_runtime::accounts! {
    /// place_order's and modify_order's accounts; the health accounts follow.
    pub struct PlaceOrderAccounts {
        /// Owner, delegate or session key of the margin account
        signer(signer),
        security_config,
        margin_account,
        /// PDA [b"trading", margin_account]
        trading_account(mut),
        /// Read-only: placements do not contend for the market's write lock
        market,
        /// The market's oracle, read with Trade guards
        oracle,
        /// The margin account's CollateralBalances
        balances,
        /// The quote mint's CollateralConfig
        quote_config,
        /// A qd-security Session when the signer is a session key; else the qd-trading program id (none)
        session,
    }
}

/// The accounts of a placement (place_order, modify_order and the advanced orders), loaded.
pub(super) struct OrderAccounts<'a> {
    signer: &'a AccountInfo,
    pub(super) security: &'a SecurityConfig,
    pub(super) margin_key: &'a Pubkey,
    pub(super) margin: &'a MarginAccount,
    pub(super) trading: &'a mut TradingAccount,
    pub(super) market: &'a PerpMarket,
    /// The market's oracle price read with Trade guards.
    pub(super) price: i64,
    balances: &'a CollateralBalances,
    quote: &'a CollateralConfig,
    session: Option<&'a AccountInfo>,
    health: &'a [AccountInfo],
}

impl<'a> OrderAccounts<'a> {
    pub(super) fn load(accounts: &'a [AccountInfo], market_index: Option<u16>, clock: &Clock) -> Result<Self, ProgramError> {
        let PlaceOrderAccounts {
            signer,
            security_config,
            margin_account: margin_info,
            trading_account: trading_info,
            market: market_info,
            oracle,
            balances: balances_info,
            quote_config: quote_info,
            session: session_info,
            remaining,
        } = PlaceOrderAccounts::parse(accounts)?;
        let parts = [signer, security_config, margin_info, trading_info, market_info, oracle, balances_info, quote_info];
        let a = Self::new(parts, session(session_info), remaining, clock)?;
        if market_index.is_some_and(|i| i != a.market.index) {
            return Err(E::WrongMarket.into());
        }
        Ok(a)
    }

    /// From the accounts every placement and crank shares: signer, security config, margin
    /// account, trading account, market, oracle, balances and quote config, in this order.
    pub(super) fn new(
        parts: [&'a AccountInfo; 8],
        session: Option<&'a AccountInfo>,
        health: &'a [AccountInfo],
        clock: &Clock,
    ) -> Result<Self, ProgramError> {
        let [signer, security_config, margin_info, trading_info, market_info, oracle, balances_info, quote_info] = parts;
        let margin_key = margin_info.key();
        let market = load_market(market_info)?;
        let trading = trading_mut(trading_info, margin_key)?;
        Ok(OrderAccounts {
            signer,
            security: load_security(security_config)?,
            margin_key,
            margin: load_margin(margin_info)?,
            trading,
            market,
            price: market_price(market, oracle, OracleAction::Trade, clock)?,
            balances: balances_of(balances_info, margin_key)?,
            quote: quote_config(quote_info)?,
            session,
            health,
        })
    }

    /// Who may place an order of `notional` here now, and the rate limit's token for it.
    pub(super) fn authorize(&mut self, notional: i64, clock: &Clock) -> Result<Actor, ProgramError> {
        let request = Request::new(Action::PlaceOrder, self.market.index, notional as u64);
        let actor = authorize(self.security, self.margin, self.signer, self.session, &request, clock.unix_timestamp)?;
        self.trading.bucket.consume(&self.security.rate_limit, clock.slot)?;
        Ok(actor)
    }

    /// The account's health now (prices valid for margin, the Trade price in this market),
    /// reading the whole health list.
    fn health(&self, clock: &Clock) -> Result<Health, ProgramError> {
        let mut next = self.health.iter();
        let health = account_health(
            self.balances,
            Some(self.trading),
            &mut next,
            Some(self.quote),
            Some((self.market, self.price)),
            OracleAction::Margin,
            clock,
        )?;
        validate::no_more_accounts(&mut next)?;
        Ok(health)
    }

    /// Initial health with every open order filled at its worst is at least zero, and the
    /// owner's leverage limit holds with every open order (this one included) filled.
    /// A reduce-only order (`reduce_only`: its position index and that position before the
    /// order) is exempt from both as long as it does not lower the initial health: it is how an
    /// account below initial health gets out of its position.
    pub(super) fn require_health(&mut self, reduce_only: Option<(usize, Position)>, clock: &Clock) -> ProgramResult {
        let health = self.health(clock)?;
        if let Some((p, before)) = reduce_only {
            let after = core::mem::replace(&mut self.trading.positions[p], before);
            let without = self.health(clock);
            self.trading.positions[p] = after;
            if health.init_health()? >= 0 || health.init_health()? >= without?.init_health()? {
                return Ok(());
            }
            return Err(qd_health::HealthError::InsufficientHealth.into());
        }
        if health.init_health()? < 0 {
            return Err(qd_health::HealthError::InsufficientHealth.into());
        }
        rules::check_leverage(&health, self.margin.max_leverage_x100)
    }

    pub(super) fn signer(&self) -> &'a AccountInfo {
        self.signer
    }

    /// The account's position in this market before a placement (flat and new if none).
    pub(super) fn before(&self) -> Position {
        let index = self.market.index;
        self.trading
            .position_index(index)
            .map_or(Position { market_index: index, funding_snapshot: self.market.funding_index(0), ..Position::default() }, |p| {
                self.trading.positions[p]
            })
    }

    /// Adds `order` (priced and checked against the market) to the account's orders for
    /// `actor` and the signer: the market and the account allow it, a reduce-only order has
    /// room (bracket exits excepted: they close what their entry opens), it takes the next id
    /// and its size joins its position's totals. Returns it and its position's index.
    pub(super) fn push(&mut self, mut order: Order, actor: Actor) -> Result<(Order, usize), ProgramError> {
        order.actor = actor as u8;
        order.signer = *self.signer.key();
        check_may_trade(self.market, self.margin, order.is_reduce_only())?;
        let position = self.trading.open_position(self.market.index, self.market.funding_index(0)).ok_or(E::TooManyPositions)?;
        let room = rules::reducible(self.trading.positions[position].base, order.is_bid());
        if order.is_reduce_only() && !order.is_exit() && order.remaining() > room {
            return Err(E::ReduceOnlyIncreases.into());
        }
        order.order_id = self.trading.next_order_id;
        self.trading.next_order_id = order.order_id.checked_add(1).ok_or_else(overflow)?;
        self.trading.push_order(order).ok_or(E::TooManyOrders)?;
        self.trading.positions[position].add_order(&order)?;
        Ok((order, position))
    }

    /// The OrderPlaced event of `order`.
    pub(super) fn placed(&mut self, order: &Order, slot: u64) -> ProgramResult {
        let seq = next_seq(&mut self.trading.seq)?;
        OrderPlaced { margin_account: *self.margin_key, signer: *self.signer.key(), actor: order.actor, order: *order, slot, seq }.emit();
        Ok(())
    }
}

pub(super) fn place_order(accounts: &[AccountInfo], p: &OrderParams) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, Some(p.market_index), &clock)?;
    let order = rules::new_order(p, a.market, a.price, clock.slot, clock.unix_timestamp)?;
    place(&mut a, order, &clock)
}

/// Places one priced `order`: authorized for its size at its reserved price, pushed, health
/// checked (a reduce-only order: not lowering initial health), OrderPlaced; returns its id.
pub(super) fn place(a: &mut OrderAccounts, order: Order, clock: &Clock) -> ProgramResult {
    let actor = a.authorize(quote_for(order.base_size, order.reserved_price)?, clock)?;
    let before = a.before();
    let (order, position) = a.push(order, actor)?;
    a.require_health(order.is_reduce_only().then_some((position, before)), clock)?;
    a.trading.refresh_flags(clock.slot);
    a.placed(&order, clock.slot)?;
    set_return_data(&order.order_id.to_le_bytes());
    Ok(())
}

pub(super) fn modify_order(accounts: &[AccountInfo], order_id: u64, price: Option<i64>, base_size: Option<u64>) -> ProgramResult {
    let clock = Clock::get()?;
    let mut a = OrderAccounts::load(accounts, None, &clock)?;
    let index = a.trading.order_index(order_id).ok_or(E::OrderNotFound)?;
    let old = a.trading.orders[index];
    if old.market_index != a.market.index {
        return Err(E::WrongMarket.into());
    }
    if !old.is_live() || old.is_exit() {
        return Err(E::OrderNotModifiable.into());
    }
    // Only a resting priced order changes; a market, IOC or FOK order lives for its auction.
    if !rules::rests(old.kind, old.tif) {
        return Err(E::InvalidOrderType.into());
    }
    if old.in_auction(clock.slot) {
        return Err(E::OrderInAuction.into());
    }
    if old.expired(clock.slot, clock.unix_timestamp) {
        return Err(E::OrderExpired.into());
    }
    let mut new = old;
    if let Some(size) = base_size {
        rules::check_size(size, a.market)?;
        // The new total must leave something to fill.
        if size <= old.base_filled {
            return Err(E::InvalidOrderSize.into());
        }
        new.base_size = size;
    }
    if let Some(price) = price {
        if new.kind == KIND_LIMIT {
            rules::check_price(price, a.market)?;
        }
        new.price = price;
    }
    new.reserved_price = rules::order_price(new.kind, new.side, new.price, a.price, a.market)?;
    if new.is_post_only() && rules::crosses(new.is_bid(), new.reserved_price, a.price) {
        return Err(E::PostOnlyCrosses.into());
    }
    let notional = quote_for(new.remaining(), new.reserved_price)?;
    // The modifier answers for the order from now on (its band, counterparties, budget).
    new.actor = a.authorize(notional, &clock)? as u8;
    new.signer = *a.signer.key();
    check_may_trade(a.market, a.margin, new.is_reduce_only())?;
    let position = a.trading.position_index(new.market_index).ok_or(E::OrderNotFound)?;
    if new.is_reduce_only() && new.remaining() > rules::reducible(a.trading.positions[position].base, new.is_bid()) {
        return Err(E::ReduceOnlyIncreases.into());
    }
    let before = a.trading.positions[position];
    a.trading.positions[position].remove_remaining(&old)?;
    a.trading.positions[position].add_order(&new)?;
    a.trading.orders[index] = new;
    a.require_health(new.is_reduce_only().then_some((position, before)), &clock)?;
    a.trading.refresh_flags(clock.slot);
    let seq = next_seq(&mut a.trading.seq)?;
    OrderModified {
        margin_account: *a.margin_key,
        signer: *a.signer.key(),
        old_price: old.price,
        old_base_size: old.base_size,
        order: new,
        slot: clock.slot,
        seq,
    }
    .emit();
    set_return_data(&order_id.to_le_bytes());
    Ok(())
}

/// What a cancel instruction cancels.
#[derive(Clone, Copy)]
pub(super) enum CancelScope {
    OrderId(u64),
    ClientOrderId(u64),
    /// Every order in one market, or all (None).
    Market(Option<u16>),
}

qd_runtime::accounts! {
    /// cancel_order's, cancel_order_by_client_id's and cancel_orders' accounts.
    pub struct CancelAccounts {
        /// Owner, delegate or session key (cancel scope)
        signer(signer),
        security_config,
        margin_account,
        trading_account(mut),
        /// A qd-security Session when the signer is a session key; else the qd-trading program id (none)
        session,
    }
}

pub(super) fn cancel_orders(accounts: &[AccountInfo], scope: CancelScope) -> ProgramResult {
    let CancelAccounts {
        signer, security_config, margin_account: margin_info, trading_account: trading_info, session: session_info, ..
    } = CancelAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    let request = Request::new(Action::CancelOrder, NO_MARKET, 0);
    authorize(load_security(security_config)?, load_margin(margin_info)?, signer, session(session_info), &request, clock.unix_timestamp)?;
    let trading = trading_mut(trading_info, margin_info.key())?;
    match scope {
        CancelScope::OrderId(id) => {
            let index = trading.order_index(id).ok_or(E::OrderNotFound)?;
            drop_order(trading, index, CANCEL_USER, clock.slot)?;
        }
        CancelScope::ClientOrderId(id) => {
            let index = trading.order_index_by_client_id(id).ok_or(E::OrderNotFound)?;
            drop_order(trading, index, CANCEL_USER, clock.slot)?;
        }
        // Idempotent: "cancel all" with nothing open succeeds, so it can lead any batch. A
        // removal may take linked orders with it: each pass looks again from the start.
        CancelScope::Market(market) => {
            while let Some(i) = trading.orders().iter().position(|o| market.is_none_or(|m| o.market_index == m)) {
                drop_order(trading, i, CANCEL_USER, clock.slot)?;
            }
        }
    }
    finish(trading, clock.slot);
    Ok(())
}

qd_runtime::accounts! {
    pub struct ExpireOrdersAccounts {
        /// Anyone: removing an expired order only takes risk away
        signer(signer),
        trading_account(mut),
    }
}

pub(super) fn expire_orders(accounts: &[AccountInfo]) -> ProgramResult {
    let ExpireOrdersAccounts { trading_account: trading_info, .. } = ExpireOrdersAccounts::parse(accounts)?;
    let trading = trading_info.load_mut::<TradingAccount>(&crate::ID)?;
    let clock = Clock::get()?;
    let mut expired = 0;
    // A removal may take linked orders with it: each pass looks again from the start.
    while let Some(i) = trading.orders().iter().position(|o| o.expired(clock.slot, clock.unix_timestamp)) {
        drop_order(trading, i, CANCEL_EXPIRED, clock.slot)?;
        expired += 1;
    }
    if expired == 0 {
        return Err(E::NothingToExpire.into());
    }
    finish(trading, clock.slot);
    Ok(())
}
