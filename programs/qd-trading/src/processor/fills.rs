//! Fills: `place_and_make` (a maker takes a taker order during its auction, at the auction
//! price) and `fill_order` (a permissionless filler matches a taker order whose auction is over
//! with resting maker orders, at the makers' prices). Both run every fill through `execute`,
//! which charges each side's fee to its position (realized PnL) and adds the net fee to the
//! market's fee pool: a fill writes the market, the parties' trading accounts and sessions, and
//! nothing shared by other markets (the quote config and the balances are read-only), so fills
//! of different markets never contend for a write lock. Then every account whose position
//! changed is checked (`Party::check_health`): one whose position grew (a flip counts as
//! growth) must keep initial health >= 0 and its owner's leverage limit; one that only reduced
//! must end at initial health >= 0 or no lower than before its fills, so a reduction never
//! moves value out of an account that is already short of margin.
//!
//! Health accounts: after the fixed accounts, every party's health list in order
//! (place_and_make: the maker's, then the taker's; fill_order: the taker's, then each maker's),
//! each as `account_health` reads it without the quote config and this market. A party whose
//! position did not change is not checked: its list is skipped unread.

use super::links::{drop_order, fill_resting};
use super::orders::finish;
use super::{balances_of, check_authority, quote_config, session, trading_mut, AUTHORITY_SEEDS};
use crate::error::{overflow, TradingError as E};
use crate::events::{Fill, CANCEL_EXPIRED, CANCEL_REDUCE_ONLY};
use crate::instruction::{MakerParams, MAX_MAKERS};
use crate::rules;
use core::slice::Iter;
use qd_access::{
    authorize, check_not_paused, load_config as load_security, load_session, record_session_fill, AccessError, Action, Actor, Operation,
    Request,
};
use qd_collateral_state::{CollateralBalances, CollateralConfig};
use qd_core_state::{load_margin, STATUS_BEING_LIQUIDATED};
use qd_oracle_reader::Action as OracleAction;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;
use qd_runtime::validate;
use qd_trading_state::{
    account_health, auction_price, market_price, quote_for, Order, PerpMarket, Position, TradingAccount, KIND_MARKET,
    MARKET_STATUS_REDUCE_ONLY, MARKET_STATUS_SETTLEMENT, TIF_FOK,
};

/// One side of the fills of an instruction.
struct Party<'a> {
    margin_key: &'a Pubkey,
    owner: Pubkey,
    /// The owner's trade-only delegate (all zero: none).
    delegate: Pubkey,
    /// This account may only reduce, and the error that says why: a liquidation in progress
    /// (`AccountBeingLiquidated`) or the owner's limit (`AccountReduceOnly`).
    reduce_only: Option<E>,
    /// The owner's leverage limit (x100; 0: none).
    max_leverage_x100: u16,
    trading: &'a mut TradingAccount,
    balances: &'a AccountInfo,
    /// Its position in the market when the instruction started (index and value).
    start: Option<(usize, Position)>,
    /// Its trading account changed (a fill, or an order taken off the book): only then are
    /// its flags refreshed, so a maker passed but not reached is left exactly as it was.
    touched: bool,
    /// The Session account passed for it (its order's session, or the session signing its
    /// maker order), if any.
    session: Option<&'a AccountInfo>,
    /// The session key whose order filled here and the quote it traded: counted against the
    /// session's budget (`Party::record_session`).
    session_fill: Option<(Pubkey, u64)>,
}

impl<'a> Party<'a> {
    /// A margin account that may trade now (not frozen), its trading account and its balances
    /// (read-only: fees stay in the position).
    fn load(
        margin_info: &'a AccountInfo,
        trading_info: &'a AccountInfo,
        balances_info: &'a AccountInfo,
        session_info: &'a AccountInfo,
        market_index: u16,
    ) -> Result<Self, ProgramError> {
        let margin = load_margin(margin_info)?;
        if margin.is_frozen() {
            return Err(AccessError::AccountFrozen.into());
        }
        let margin_key = margin_info.key();
        let trading = trading_mut(trading_info, margin_key)?;
        balances_of(balances_info, margin_key)?;
        let start = trading.position_index(market_index).map(|p| (p, trading.positions[p]));
        let reduce_only = if margin.status & STATUS_BEING_LIQUIDATED != 0 {
            Some(E::AccountBeingLiquidated)
        } else if margin.reduce_only != 0 {
            Some(E::AccountReduceOnly)
        } else {
            None
        };
        Ok(Party {
            margin_key,
            owner: margin.owner,
            delegate: margin.delegate,
            reduce_only,
            max_leverage_x100: margin.max_leverage_x100,
            trading,
            balances: balances_info,
            start,
            touched: false,
            session: session(session_info),
            session_fill: None,
        })
    }

    fn base(&self, market_index: u16) -> i64 {
        self.trading.position_index(market_index).map_or(0, |p| self.trading.positions[p].base)
    }

    /// No account trades with another account of the same owner.
    fn check_other_owner(&self, other: &Party) -> ProgramResult {
        if self.owner == other.owner {
            return Err(E::SelfTrade.into());
        }
        Ok(())
    }

    /// `agent` owns this account or is its delegate.
    fn controlled_by(&self, agent: &Pubkey) -> bool {
        &self.owner == agent || (self.delegate != [0; 32] && &self.delegate == agent)
    }

    /// An agent (delegate or session key) of the other side may not trade it against an
    /// account the agent owns or is delegate of: that is its principal's value moving to it.
    fn check_not_agent_of(&self, agent: &Pubkey) -> ProgramResult {
        if self.controlled_by(agent) {
            return Err(E::AgentSelfDealing.into());
        }
        Ok(())
    }

    /// Counts `quote` traded by an order of session key `key`.
    fn count_session(&mut self, key: Pubkey, quote: i64) -> ProgramResult {
        let so_far = match self.session_fill {
            None => 0,
            Some((k, q)) if k == key => q,
            Some(_) => return Err(AccessError::SessionMismatch.into()),
        };
        self.session_fill = Some((key, so_far.checked_add(quote as u64).ok_or_else(overflow)?));
        Ok(())
    }

    /// Charges the session whose order filled here with the quote it traded, by CPI into
    /// qd-security (which refuses a revoked or expired session, or one past its budget).
    fn record_session(&self, authority: &AccountInfo) -> ProgramResult {
        let Some((key, quote)) = self.session_fill else { return Ok(()) };
        let info = self.session.ok_or(E::SessionRequired)?;
        let s = load_session(info)?;
        if s.owner != self.owner || s.session_key != key {
            return Err(AccessError::SessionMismatch.into());
        }
        record_session_fill(authority, info, quote, AUTHORITY_SEEDS)
    }

    /// Frees empty positions and refreshes the keeper flags of a touched account.
    fn finish(&mut self, slot: u64) {
        if self.touched {
            finish(self.trading, slot);
        }
    }

    /// Charges a fill's fee (a rebate when negative) to position `p`: a loss it realizes, settled
    /// through the market's PnL pool like any other (not counted in `total_realized`).
    fn charge(&mut self, p: usize, fee: i64) -> ProgramResult {
        let position = &mut self.trading.positions[p];
        position.realized_pnl = position.realized_pnl.checked_sub(fee).ok_or_else(overflow)?;
        self.trading.fees_paid = self.trading.fees_paid.checked_add(fee).ok_or_else(overflow)?;
        Ok(())
    }

    /// How much of `size` this side may fill on side `bid`: all of it, or when it may only
    /// reduce, what reduces its position (zero: refused with the limit's error).
    fn room(&self, size: u64, market_index: u16, bid: bool) -> Result<u64, ProgramError> {
        let Some(limit) = self.reduce_only else { return Ok(size) };
        match size.min(rules::reducible(self.base(market_index), bid)) {
            0 => Err(limit.into()),
            room => Ok(room),
        }
    }

    /// Checks a party after its fills (see the module docs), reading its health list from
    /// `next`; skips the list of one whose position did not change (2 accounts per non-quote
    /// balance and per position in another market).
    #[allow(clippy::too_many_arguments)]
    fn check_health(
        &mut self,
        next: &mut Iter<AccountInfo>,
        quote: &CollateralConfig,
        market: &PerpMarket,
        price: i64,
        clock: &Clock,
        err: E,
    ) -> ProgramResult {
        let balances = self.balances.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?;
        let (start, base) = (self.start.map_or(0, |(_, p)| p.base), self.base(market.index));
        if base == start {
            let others = balances.active().iter().filter(|e| e.mint != quote.mint).count()
                + self.trading.positions().iter().filter(|p| p.market_index != market.index).count();
            if others > 0 {
                next.nth(2 * others - 1).ok_or(RuntimeError::NotEnoughAccounts)?;
            }
            return Ok(());
        }
        let list = next.clone();
        let after = account_health(balances, Some(self.trading), next, Some(quote), Some((market, price)), OracleAction::Margin, clock)?;
        // Anything but a pure reduction (growth, or a change of sign) takes on risk.
        if !reduces(start, base.checked_sub(start).ok_or_else(overflow)?) {
            if after.init_health()? < 0 {
                return Err(err.into());
            }
            return rules::check_leverage(&after, self.max_leverage_x100);
        }
        if after.init_health()? >= 0 || after.init_health()? >= self.health_before(list, balances, quote, market, price, clock)? {
            return Ok(());
        }
        Err(err.into())
    }

    /// Initial health before this instruction's fills: the position as it started, its fees
    /// and funding included (nothing else of the account changed).
    #[inline(never)]
    fn health_before(
        &mut self,
        mut list: Iter<AccountInfo>,
        balances: &CollateralBalances,
        quote: &CollateralConfig,
        market: &PerpMarket,
        price: i64,
        clock: &Clock,
    ) -> Result<i128, ProgramError> {
        // Only a party that held a position can have reduced it.
        let (p, start) = self.start.ok_or(E::NoPosition)?;
        let after = core::mem::replace(&mut self.trading.positions[p], start);
        let health =
            account_health(balances, Some(self.trading), &mut list, Some(quote), Some((market, price)), OracleAction::Margin, clock);
        self.trading.positions[p] = after;
        health?.init_health().map_err(Into::into)
    }
}

/// qd-security itself: session fills are recorded by CPI into it.
fn check_security_program(info: &AccountInfo) -> ProgramResult {
    if info.key() != &qd_ids::QD_SECURITY {
        return Err(E::WrongSecurityProgram.into());
    }
    Ok(())
}

/// No account trades with itself (checked before its accounts are loaded twice).
fn check_not_self(maker_margin: &AccountInfo, taker_margin: &AccountInfo) -> ProgramResult {
    if maker_margin.key() == taker_margin.key() {
        return Err(E::SelfTrade.into());
    }
    Ok(())
}

/// A taker order is on the book and not an iceberg (icebergs only make).
fn check_taker(order: &Order) -> ProgramResult {
    if !order.is_live() {
        return Err(E::OrderNotOnBook.into());
    }
    if order.display_size != 0 {
        return Err(E::IcebergTakes.into());
    }
    Ok(())
}

/// How much of `size` a reduce-only side may fill: all of it, or what reduces `base`.
fn reduce_room(size: u64, reduce_only: bool, base: i64, bid: bool) -> u64 {
    if reduce_only {
        size.min(rules::reducible(base, bid))
    } else {
        size
    }
}

/// `delta` only reduces `base` (toward zero, never past it).
fn reduces(base: i64, delta: i64) -> bool {
    base != 0 && (base > 0) != (delta > 0) && delta.unsigned_abs() <= base.unsigned_abs()
}

/// The maker side of one fill.
#[derive(Clone, Copy)]
enum MakerOrder {
    /// `orders[i]` of the maker's trading account.
    Resting(usize),
    /// place_and_make's order: it fills at once and never rests; `agent` as `Order::agent`.
    Immediate { order_id: u64, agent: Option<(Pubkey, bool)> },
}

/// One fill of `size` (> 0, a lot multiple) at `price` between the taker's order `taker_order_id`
/// and the maker: funding settled on both positions (each at its side's index), positions and orders
/// updated, open interest capped, fees charged to the positions and into the fee pool, TWAPs
/// and the Fill event.
#[allow(clippy::too_many_arguments)]
fn execute(
    market: &mut PerpMarket,
    taker: &mut Party,
    taker_order_id: u64,
    maker: &mut Party,
    maker_order: MakerOrder,
    size: u64,
    price: i64,
    oracle: i64,
    clock: &Clock,
) -> ProgramResult {
    let index = market.index;
    let t = taker.trading.order_index(taker_order_id).ok_or(E::OrderNotFound)?;
    let taker_order = taker.trading.orders[t];
    let tp = taker.trading.position_index(index).ok_or(E::OrderNotFound)?;
    let mp = maker.trading.open_position(index, market.funding_index(0)).ok_or(E::TooManyPositions)?;

    // An agent's fill: near the oracle, never against an account the agent controls.
    let taker_agent = taker_order.agent();
    let maker_agent = match maker_order {
        MakerOrder::Resting(i) => maker.trading.orders[i].agent(),
        MakerOrder::Immediate { agent, .. } => agent,
    };
    if taker_agent.is_some() || maker_agent.is_some() {
        rules::check_delegated_price(price, oracle, market)?;
    }
    if let Some((key, _)) = taker_agent {
        maker.check_not_agent_of(&key)?;
    }
    if let Some((key, _)) = maker_agent {
        taker.check_not_agent_of(&key)?;
    }

    let delta = if taker_order.is_bid() { size as i64 } else { -(size as i64) };
    let before = [taker.trading.positions[tp].base, maker.trading.positions[mp].base];
    if market.status == MARKET_STATUS_REDUCE_ONLY && !(reduces(before[0], delta) && reduces(before[1], -delta)) {
        return Err(E::MarketReduceOnly.into());
    }
    let (taker_funding, _) = taker.trading.positions[tp].fill(market, delta, price)?;
    let (maker_funding, _) = maker.trading.positions[mp].fill(market, -delta, price)?;
    let funding = taker_funding.checked_add(maker_funding).ok_or_else(overflow)?;
    market.total_funding_settled = market.total_funding_settled.checked_add(funding).ok_or_else(overflow)?;
    let after = [taker.trading.positions[tp].base, maker.trading.positions[mp].base];
    let (long, short) = rules::open_interest(market, before, after)?;
    let grows = long > market.open_interest_long || short > market.open_interest_short;
    if grows && long.max(short) > market.max_open_interest {
        return Err(E::OpenInterestCapExceeded.into());
    }
    market.open_interest_long = long;
    market.open_interest_short = short;

    taker.touched = true;
    maker.touched = true;
    let taker_filled = fill_resting(taker.trading, t, tp, size)?;
    let (maker_order_id, maker_filled) = match maker_order {
        MakerOrder::Resting(i) => {
            let id = maker.trading.orders[i].order_id;
            (id, Some(fill_resting(maker.trading, i, mp, size)?))
        }
        MakerOrder::Immediate { order_id, .. } => (order_id, None),
    };

    let quote = quote_for(size, price)?;
    if let Some((key, true)) = taker_agent {
        taker.count_session(key, quote)?;
    }
    if let Some((key, true)) = maker_agent {
        maker.count_session(key, quote)?;
    }
    let (taker_fee, maker_fee) = rules::fees(quote, market.taker_fee_bps, market.maker_fee_bps);
    taker.charge(tp, taker_fee)?;
    maker.charge(mp, maker_fee)?;
    // The net fee (>= 0: a rebate never exceeds the taker fee) is a claim on the market's PnL pool.
    let fee = taker_fee.checked_add(maker_fee).ok_or_else(overflow)?;
    market.fee_pool = market.fee_pool.checked_add(fee).ok_or_else(overflow)?;
    market.total_fees = market.total_fees.checked_add(fee).ok_or_else(overflow)?;
    market.sample_fill(price, size, oracle, clock.unix_timestamp)?;
    market.last_fill_price = price;
    market.last_fill_ts = clock.unix_timestamp;
    market.total_volume_quote = market.total_volume_quote.checked_add(quote as u64).ok_or_else(overflow)?;
    market.fill_seq = market.fill_seq.checked_add(1).ok_or_else(overflow)?;
    Fill {
        fill_id: market.fill_seq,
        market_index: index,
        taker: *taker.margin_key,
        taker_order_id: taker_order.order_id,
        maker: *maker.margin_key,
        maker_order_id,
        taker_side: taker_order.side,
        price,
        base: size,
        quote,
        taker_fee,
        maker_fee,
        slot: clock.slot,
        ts: clock.unix_timestamp,
    }
    .emit();
    // What the fill does to linked orders (OCO, iceberg clips, TWAP progress) follows its event.
    taker_filled.link(taker.trading, clock.slot)?;
    if let Some(filled) = maker_filled {
        filled.link(maker.trading, clock.slot)?;
    }
    Ok(())
}

qd_runtime::accounts! {
    /// place_and_make's accounts; the maker's and then the taker's health accounts follow.
    pub struct PlaceAndMakeAccounts {
        /// Owner, delegate or session key of the maker's margin account
        maker_signer(signer),
        security_config,
        maker_margin_account,
        maker_trading_account(mut),
        maker_balances,
        taker_margin_account,
        taker_trading_account(mut),
        taker_balances,
        market(mut),
        oracle,
        /// Read-only: fills of every market read it, none writes it
        quote_config,
        /// qd-trading's [b"authority"] PDA (signs the session CPIs)
        trading_authority,
        /// A qd-security Session when the signer is a session key; else the qd-trading program id (none) (the maker's)
        session(mut, optional),
        /// The Session that placed the taker's order when a session key placed it (its fills count against the session's
        /// budget, by CPI into qd-security); else the qd-trading program id (none)
        taker_session(mut, optional),
        /// qd-security (session fills are recorded by CPI into it)
        security_program,
    }
}

pub(super) fn place_and_make(accounts: &[AccountInfo], taker_order_id: u64, maker_params: &MakerParams) -> ProgramResult {
    let PlaceAndMakeAccounts {
        maker_signer,
        security_config,
        maker_margin_account: maker_margin,
        maker_trading_account: maker_trading,
        maker_balances,
        taker_margin_account: taker_margin,
        taker_trading_account: taker_trading,
        taker_balances,
        market: market_info,
        oracle,
        quote_config: quote_info,
        trading_authority: authority,
        session: session_info,
        taker_session,
        security_program,
        remaining,
    } = PlaceAndMakeAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    check_authority(authority)?;
    check_security_program(security_program)?;
    check_not_self(maker_margin, taker_margin)?;
    let security = load_security(security_config)?;
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    let mut maker = Party::load(maker_margin, maker_trading, maker_balances, session_info, market.index)?;
    let mut taker = Party::load(taker_margin, taker_trading, taker_balances, taker_session, market.index)?;
    maker.check_other_owner(&taker)?;
    let quote = quote_config(quote_info)?;
    let price_now = market_price(market, oracle, OracleAction::Trade, &clock)?;
    let t = taker.trading.order_index(taker_order_id).ok_or(E::OrderNotFound)?;
    let order = taker.trading.orders[t];
    if order.market_index != market.index {
        return Err(E::WrongMarket.into());
    }
    check_taker(&order)?;
    rules::check_price(maker_params.price, market)?;
    if !maker_params.base_size.is_multiple_of(market.lot_size) {
        return Err(E::InvalidOrderSize.into());
    }
    if market.status == MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketNotActive.into());
    }
    if order.expired(clock.slot, clock.unix_timestamp) {
        return Err(E::OrderExpired.into());
    }
    if !order.in_auction(clock.slot) {
        return Err(E::AuctionOver.into());
    }
    let price = auction_price(&order, clock.slot, market.tick_size)?;
    let bid = order.is_bid();
    // The maker sells to a bid at or below its price and buys from an ask at or above it.
    if (bid && maker_params.price > price) || (!bid && maker_params.price < price) {
        return Err(E::MakerPriceNotMet.into());
    }
    let want = order.remaining().min(maker_params.base_size);
    let size = reduce_room(want, order.is_reduce_only(), taker.base(market.index), bid);
    if size == 0 {
        return Err(E::ReduceOnlyIncreases.into());
    }
    let size = taker.room(size, market.index, bid)?;
    let size = maker.room(size, market.index, !bid)?;
    if order.tif == TIF_FOK && size < order.remaining() {
        return Err(E::FillOrKill.into());
    }
    // Authorized for what it fills at the price it fills, not the maker's stated price.
    let request = Request::new(Action::Fill, market.index, quote_for(size, price)? as u64);
    let actor = authorize(security, load_margin(maker_margin)?, maker_signer, maker.session, &request, clock.unix_timestamp)?;
    maker.trading.bucket.consume(&security.rate_limit, clock.slot)?;
    let agent = match actor {
        Actor::Owner => None,
        Actor::Delegate => Some((*maker_signer.key(), false)),
        Actor::Session => Some((*maker_signer.key(), true)),
    };
    let order_id = maker.trading.next_order_id;
    maker.trading.next_order_id = order_id.checked_add(1).ok_or_else(overflow)?;
    execute(market, &mut taker, taker_order_id, &mut maker, MakerOrder::Immediate { order_id, agent }, size, price, price_now, &clock)?;

    maker.record_session(authority)?;
    taker.record_session(authority)?;
    let mut next = remaining.iter();
    maker.check_health(&mut next, quote, market, price_now, &clock, E::MakerInsufficientHealth)?;
    taker.check_health(&mut next, quote, market, price_now, &clock, E::TakerInsufficientHealth)?;
    validate::no_more_accounts(&mut next)?;
    maker.finish(clock.slot);
    taker.finish(clock.slot);
    Ok(())
}

qd_runtime::accounts! {
    /// fill_order's fixed accounts; per maker its `MakerAccounts` follow, then the taker's and each
    /// maker's health accounts.
    pub struct FillOrderAccounts {
        /// Anyone: the filler only signs and pays
        filler(signer),
        security_config,
        taker_margin_account,
        taker_trading_account(mut),
        taker_balances,
        market(mut),
        oracle,
        /// Read-only: fills of every market read it, none writes it
        quote_config,
        /// qd-trading's [b"authority"] PDA (signs the session CPIs)
        trading_authority,
        /// The Session that placed the taker's order when a session key placed it (its fills count against the session's
        /// budget, by CPI into qd-security); else the qd-trading program id (none)
        taker_session(mut, optional),
        /// qd-security (session fills are recorded by CPI into it)
        security_program,
    }
}

qd_runtime::accounts! {
    /// One maker's accounts in fill_order.
    pub struct MakerAccounts {
        margin_account,
        trading_account(mut),
        balances,
        /// The Session that placed its order when a session key placed it; else the qd-trading program id (none)
        session(mut, optional),
    }
}

pub(super) fn fill_order(accounts: &[AccountInfo], taker_order_id: u64, maker_order_ids: &[u64]) -> ProgramResult {
    let fixed = FillOrderAccounts::parse(accounts)?;
    let FillOrderAccounts {
        security_config,
        taker_margin_account: taker_margin,
        taker_trading_account: taker_trading,
        taker_balances,
        market: market_info,
        oracle,
        quote_config: quote_info,
        trading_authority: authority,
        taker_session,
        security_program,
        remaining,
        ..
    } = fixed;
    let makers = maker_order_ids.len();
    let (maker_accounts, health) = remaining.split_at_checked(MakerAccounts::LEN * makers).ok_or(RuntimeError::NotEnoughAccounts)?;
    // No writable account twice: `parse` checks each group's own, this each maker's group against
    // the fixed accounts and the earlier makers'.
    const SLOTS: usize = FillOrderAccounts::LEN + MakerAccounts::LEN * MAX_MAKERS;
    let mut writable: [Option<&AccountInfo>; SLOTS] = [None; SLOTS];
    writable[..FillOrderAccounts::LEN].copy_from_slice(&fixed.writable());
    let mut maker_list: [Option<MakerAccounts>; MAX_MAKERS] = [None, None, None, None];
    for (k, group) in maker_accounts.chunks_exact(MakerAccounts::LEN).enumerate() {
        let m = MakerAccounts::parse(group)?;
        let at = FillOrderAccounts::LEN + MakerAccounts::LEN * k;
        writable[at..at + MakerAccounts::LEN].copy_from_slice(&m.writable());
        for a in m.writable().into_iter().flatten() {
            validate::not_among(a, &writable[..at])?;
        }
        check_not_self(m.margin_account, taker_margin)?;
        maker_list[k] = Some(m);
    }
    let clock = Clock::get()?;
    check_authority(authority)?;
    check_security_program(security_program)?;
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    check_not_paused(load_security(security_config)?, Operation::Fill, market.index)?;
    let quote = quote_config(quote_info)?;
    if market.status == MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketNotActive.into());
    }
    let price_now = market_price(market, oracle, OracleAction::Trade, &clock)?;
    let mut taker = Party::load(taker_margin, taker_trading, taker_balances, taker_session, market.index)?;
    let t = taker.trading.order_index(taker_order_id).ok_or(E::OrderNotFound)?;
    let order = taker.trading.orders[t];
    if order.market_index != market.index {
        return Err(E::WrongMarket.into());
    }
    check_taker(&order)?;
    // A taker order past its time leaves the book and the filler's transaction still lands.
    if order.expired(clock.slot, clock.unix_timestamp) {
        drop_order(taker.trading, t, CANCEL_EXPIRED, clock.slot)?;
        finish(taker.trading, clock.slot);
        return Ok(());
    }
    if order.in_auction(clock.slot) {
        return Err(E::AuctionInProgress.into());
    }
    if order.is_post_only() {
        return Err(E::PostOnlyTakes.into());
    }
    let bid = order.is_bid();
    // So does a reduce-only order with nothing left to reduce.
    if order.is_reduce_only() && rules::reducible(taker.base(market.index), bid) == 0 {
        drop_order(taker.trading, t, CANCEL_REDUCE_ONLY, clock.slot)?;
        finish(taker.trading, clock.slot);
        return Ok(());
    }

    let mut parties: [Option<Party>; MAX_MAKERS] = [None, None, None, None];
    let mut remaining = order.remaining();
    for (k, (m, &maker_order_id)) in maker_list.iter().flatten().zip(maker_order_ids).enumerate() {
        let mut maker = Party::load(m.margin_account, m.trading_account, m.balances, m.session, market.index)?;
        taker.check_other_owner(&maker)?;
        if remaining > 0 {
            let room = reduce_room(remaining, order.is_reduce_only() || taker.reduce_only.is_some(), taker.base(market.index), bid);
            if room == 0 {
                remaining = 0;
            } else if let Some(filled) = take(market, &mut taker, taker_order_id, &mut maker, maker_order_id, room, price_now, &clock)? {
                remaining -= filled;
            }
        }
        parties[k] = Some(maker);
    }
    if order.tif == TIF_FOK && taker.trading.order_index(taker_order_id).is_some() {
        return Err(E::FillOrKill.into());
    }

    taker.record_session(authority)?;
    for maker in parties.iter().flatten() {
        maker.record_session(authority)?;
    }
    let mut next = health.iter();
    taker.check_health(&mut next, quote, market, price_now, &clock, E::TakerInsufficientHealth)?;
    for maker in parties.iter_mut().flatten() {
        maker.check_health(&mut next, quote, market, price_now, &clock, E::MakerInsufficientHealth)?;
    }
    validate::no_more_accounts(&mut next)?;
    taker.finish(clock.slot);
    for maker in parties.iter_mut().flatten() {
        maker.finish(clock.slot);
    }
    Ok(())
}

/// Fills up to `room` of the taker's order `t` from the maker's order `maker_order_id` at the
/// maker's price, if it still crosses the taker's limit. A maker order that expired, or is
/// reduce-only with nothing to reduce, leaves the book and is skipped; one that no longer
/// crosses, would break its own FOK or its account's reduce-only limit (the owner's, or a
/// liquidation in progress), or is an agent's order
/// outside its band or against an account its agent controls, is skipped. Returns the size
/// filled.
#[allow(clippy::too_many_arguments)]
fn take(
    market: &mut PerpMarket,
    taker: &mut Party,
    taker_order_id: u64,
    maker: &mut Party,
    maker_order_id: u64,
    room: u64,
    oracle: i64,
    clock: &Clock,
) -> Result<Option<u64>, ProgramError> {
    let i = maker.trading.order_index(maker_order_id).ok_or(E::OrderNotFound)?;
    let m = maker.trading.orders[i];
    let taker_order = taker.trading.orders[taker.trading.order_index(taker_order_id).ok_or(E::OrderNotFound)?];
    if m.market_index != market.index {
        return Err(E::WrongMarket.into());
    }
    if !m.is_live() {
        return Err(E::OrderNotOnBook.into());
    }
    // Makers are resting priced orders on the other side.
    if m.kind == KIND_MARKET || m.side == taker_order.side {
        return Err(E::InvalidOrderType.into());
    }
    if m.expired(clock.slot, clock.unix_timestamp) {
        drop_order(maker.trading, i, CANCEL_EXPIRED, clock.slot)?;
        maker.touched = true;
        return Ok(None);
    }
    if m.in_auction(clock.slot) {
        return Err(E::OrderInAuction.into());
    }
    let maker_bid = m.is_bid();
    let maker_base = maker.base(market.index);
    if m.is_reduce_only() && rules::reducible(maker_base, maker_bid) == 0 {
        drop_order(maker.trading, i, CANCEL_REDUCE_ONLY, clock.slot)?;
        maker.touched = true;
        return Ok(None);
    }
    let price = rules::order_price(m.kind, m.side, m.price, oracle, market)?;
    // The maker's price must be within the taker's limit.
    if !rules::crosses(taker_order.is_bid(), taker_order.reserved_price, price) {
        return Ok(None);
    }
    // An iceberg fills at most what its clip shows.
    let size = reduce_room(room.min(m.visible()), m.is_reduce_only() || maker.reduce_only.is_some(), maker_base, maker_bid);
    if size == 0 || (m.tif == TIF_FOK && size < m.remaining()) {
        return Ok(None);
    }
    // An agent's resting order that is out of its band now, or would meet an account its agent
    // controls, is skipped like one that no longer crosses: one such maker in a keeper's list
    // must not sink the other fills (`execute` refuses them by name wherever else they occur).
    if let Some((agent, _)) = m.agent() {
        if rules::check_delegated_price(price, oracle, market).is_err() || taker.controlled_by(&agent) {
            return Ok(None);
        }
    }
    execute(market, taker, taker_order_id, maker, MakerOrder::Resting(i), size, price, oracle, clock)?;
    Ok(Some(size))
}
