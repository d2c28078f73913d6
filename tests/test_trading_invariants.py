"""Randomized sequences of qd-trading actions (hypothesis) over LiteSVM: five margin accounts of
different owners trade two markets (SOL-PERP with a maker rebate; ETH-PERP with a maker fee, finer
lots, shorter auctions and an open-interest cap) by placements of every kind (market, limit,
oracle-offset; IOC, FOK, GTC, GTT; post-only reject and slide; reduce-only; given auctions in and
out of bounds), cancels by id, client id and market, modifications, place_and_make at random slots
of the taker's auction, fill_order with up to four resting makers after it, funding cranks after
time advances, oracle moves, PnL settlement through the markets' PnL pools and expiry.

Every action's outcome is predicted from the state before it by a model of the spec (the error it
names, else the order it rests, the fills it makes with their prices, sizes and fees, the funding
index steps, the PnL it settles and what it leaves unsettled), and a refused action changes
nothing. After every action:
- per market: sum of longs == sum of shorts == open_interest_long == open_interest_short;
  sum(quote_entry + realized_pnl) + fee_pool + total_pnl_settled - total_funding_settled == 0
  (fees live in the positions until settled, their net in the fee pool); fee_pool == total_fees;
  pnl_pool == -total_pnl_settled >= 0 (what settlements moved in, less what they paid out);
- sum(fees_paid) == sum(total_fees); the quote config's protocol balance moved by sum(pnl_pool);
  the vault == total balances + protocol balance; each quote balance == deposit + settled_pnl,
  never negative; a fill moves no balance and not the quote config;
- funding never pays out more than it collects: settled plus unsettled funding <= 0, and short of
  zero by less than one unit per settlement (floor dust);
- each position's order totals equal its orders' remaining size at their reserved prices, and no
  empty position keeps its slot;
- an accepted placement or modification leaves initial health (clients/health, the engine's
  mirror, at the oracle prices) >= 0 (a reduce-only one: >= 0 or not below the health without
  it) and a refused one is InsufficientHealth exactly when the mirror says so; a fill leaves every
  side whose position grew at health >= 0;
- place_and_make fills at the auction price of that slot, which the maker's price meets;
  fill_order at each maker's price (an oracle-offset maker's at the oracle now), within the
  taker's limit (its reserved price: after the auction a taker fills up to its limit, which may
  lie past an auction end clamped to the market's deviation bound); fees as the spec rounds them.
At least 1,000 actions in total (asserted)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from quantdesk.clients import collateral, health
from quantdesk.clients import trading_state as ts
from quantdesk.clients.security import Actor
from quantdesk.clients.trading import (
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    AuctionParams,
    CancelReason,
    OrderParams,
    auction_price,
    expired,
    in_auction,
    maker_price,
    round_to_tick,
)
from quantdesk.clients.trading_state import Order, PerpMarket, Position, TradingAccount
from solders.pubkey import Pubkey

from quantdesk.chain import TxResult
from quantdesk.world import ASK, BASE, BID, FOK, GTC, GTT, IOC, LIMIT, MARKET, NONE, ORACLE_OFFSET, PARAMS, PRICE, REJECT, SLIDE, USDC, Venue, order
from quantdesk.world import TRADING_ERRORS as E

EXAMPLES = 30
ACTIONS_PER_EXAMPLE = 80
executed = 0
totals: dict[str, int] = {}  # outcomes by action, for the summary line

DEPOSITS = [20_000 * USDC, 5_000 * USDC, 1_500 * USDC, 200 * USDC, 20 * USDC]
ETH_PRICE = 2_000 * USDC
FUNDING_PERIOD = 60
SOL_PARAMS = dataclasses.replace(PARAMS, funding_period_secs=FUNDING_PERIOD)
ETH_PARAMS = dataclasses.replace(PARAMS, tick_size=100_000, lot_size=100_000, min_order_size=1_000_000, taker_fee_bps=5, maker_fee_bps=1,
                                 max_open_interest=BASE // 10, auction_min_slots=1, auction_default_slots=5, auction_max_slots=20,
                                 auction_max_deviation_bps=300, post_auction_slots=10, funding_period_secs=FUNDING_PERIOD, funding_max_rate_bps=50)
# Random walks may leave a feed's EMA behind: no EMA-deviation limit.
GUARDS = {a: dataclasses.replace(g, max_ema_deviation_bps=0) for a, g in collateral.DEFAULT_GUARDS.items()}


@dataclass(frozen=True)
class Act:
    kind: str
    who: int
    market: int
    pick: int
    size: int  # lots
    bps: int  # a price's distance from the oracle
    bps2: int  # a given auction's start
    wait: int  # slots (one second each), or seconds until a GTT expiry
    variant: int  # order type, flags and flavours, bit by bit


acts = st.builds(
    Act,
    kind=st.sampled_from(["place"] * 6 + ["make"] * 3 + ["fill"] * 4 + ["cancel", "modify", "advance", "price", "expire", "settle"] * 2 + ["funding"]),
    who=st.integers(0, len(DEPOSITS) - 1),
    market=st.integers(0, 1),
    pick=st.integers(0, 1_000),
    # Mostly small orders, sometimes more than an account can carry.
    size=st.one_of(st.integers(10, 400), st.integers(400, 30_000)),
    bps=st.integers(-700, 700),
    bps2=st.integers(-700, 700),
    wait=st.integers(0, 80),
    variant=st.integers(0, 1 << 20),
)


def bit(variant: int, shift: int, modulo: int) -> int:
    """Bits of `variant` mixed by splitmix64 (hypothesis draws small and equal numbers often)."""
    z = (variant + 0x9E37_79B9_7F4A_7C15) % (1 << 64)
    z = (z ^ z >> 30) * 0xBF58_476D_1CE4_E5B9 % (1 << 64)
    z = (z ^ z >> 27) * 0x94D0_49BB_1331_11EB % (1 << 64)
    return ((z ^ z >> 31) >> shift) % modulo


def quote_for(size: int, price: int) -> int:
    return size * price // BASE


def reducible(base: int, bid: bool) -> int:
    """What a bid (an ask) may fill and only reduce `base`."""
    return abs(base) if (bid and base < 0) or (not bid and base > 0) else 0


def crosses(bid: bool, price: int, oracle: int) -> bool:
    return price >= oracle if bid else price <= oracle


def rests(o: Order) -> bool:
    return o.kind in (LIMIT, ORACLE_OFFSET) and o.tif in (GTC, GTT)


def fees(quote: int, taker_bps: int, maker_bps: int) -> tuple[int, int]:
    """The taker's fee and the maker's fee or rebate, both rounded toward the protocol."""
    maker = -(-quote * maker_bps // 10_000) if maker_bps >= 0 else -(quote * -maker_bps // 10_000)
    return -(-quote * taker_bps // 10_000), maker


def oi_after(longs: int, shorts: int, before: list[int], after: list[int]) -> tuple[int, int]:
    for b, a in zip(before, after):
        longs += max(a, 0) - max(b, 0)
        shorts += min(b, 0) - min(a, 0)
    return longs, shorts


class Refused(Exception):
    """The model's prediction: the action fails with this error name."""


@dataclass
class State:
    slot: int
    now: int
    accounts: list[TradingAccount]
    markets: list[PerpMarket]
    quote: list[int]
    protocol: int
    vault: int
    total_balances: int
    raw: dict[Pubkey, bytes]

    def base(self, i: int, market: int) -> int:
        p = self.accounts[i].position(market)
        return 0 if p is None else p.base


class Run:
    """One example: the venue, five traders, two markets and the model's running counters."""

    def __init__(self) -> None:
        v = self.v = Venue()
        v.add_market(1, "ETH-PERP", ETH_PRICE, ETH_PARAMS)
        for change in [v.trading.set_market_params(0, SOL_PARAMS)] + [v.trading.set_market_oracle(m, v.feeds[m], GUARDS) for m in (0, 1)]:
            assert v.govern(change).ok
        self.traders = [v.trader(deposit=d) for d in DEPOSITS]
        self.prices = {0: PRICE, 1: ETH_PRICE}
        self.quote_config = v.collateral_config(v.usdc)
        self.protocol_start = v.protocol_balance()
        self.funding_settlements = 0
        self.steps = 0
        self.counts: dict[str, int] = {}

    # -- the chain
    def wait(self, slots: int, moves: dict[int, int] | None = None, scale: int = 1) -> None:
        """`slots` slots (a second each) later, every feed published afresh; `moves`: bps (over
        `scale`) by market, within 60%..160% of the starting price."""
        for m, bps in (moves or {}).items():
            start = (PRICE, ETH_PRICE)[m]
            self.prices[m] = min(max(self.prices[m] * (10_000 * scale + bps) // (10_000 * scale), start * 6 // 10), start * 16 // 10)
        v = self.v
        v.chain.advance(slots, slots)
        now = v.chain.clock.unix_timestamp
        for m, price in self.prices.items():
            assert v.send([v.oracle.publish(v.publisher.pubkey(), v.feeds[m], price, price // 10_000, now)], v.publisher).ok

    def addresses(self) -> list[Pubkey]:
        return ([t.trading for t in self.traders] + [collateral.balances_address(t.margin) for t in self.traders] + [ts.market_address(m) for m in (0, 1)]
                + [collateral.config_address(self.v.usdc)])

    def state(self) -> State:
        v = self.v
        clock = v.chain.clock
        config = v.collateral_config(v.usdc)
        return State(clock.slot, clock.unix_timestamp, [v.account(t) for t in self.traders], [v.market(m) for m in (0, 1)],
                     [v.quote_balance(t) for t in self.traders], config.protocol_balance, v.tokens(config.vault), config.total_balances,
                     {a: v.raw(a) for a in self.addresses()})

    def init_health(self, account: TradingAccount, quote: int, markets: list[PerpMarket]) -> int:
        perps = [ts.perp_input(p, markets[p.market_index], self.prices[p.market_index]) for p in account.positions]
        return health.compute([collateral.collateral_input(self.quote_config, quote, collateral.QUOTE_PRICE)], perps, liquidation_prices=False).init_health

    # -- checks
    def check_invariants(self, s: State) -> None:
        for m in s.markets:
            positions = [p for a in s.accounts for p in a.positions if p.market_index == m.index]
            longs = sum(p.base for p in positions if p.base > 0)
            assert longs == -sum(p.base for p in positions if p.base < 0) == m.open_interest_long == m.open_interest_short
            assert sum(p.quote_entry + p.realized_pnl for p in positions) + m.fee_pool + m.total_pnl_settled - m.total_funding_settled == 0
            assert m.fee_pool == m.total_fees >= 0 and m.pnl_pool == -m.total_pnl_settled >= 0
            unsettled = sum(health.funding_pnl(p.base, p.funding_snapshot, ts.funding_index(m, p.base)) for p in positions)
            assert -(self.funding_settlements + len(positions)) <= m.total_funding_settled + unsettled <= 0
        assert sum(a.fees_paid for a in s.accounts) == sum(m.total_fees for m in s.markets)
        assert s.protocol - self.protocol_start == sum(m.pnl_pool for m in s.markets)
        assert s.vault == s.total_balances + s.protocol and s.total_balances == sum(s.quote)
        for a, quote, deposit in zip(s.accounts, s.quote, DEPOSITS):
            assert quote == deposit + a.settled_pnl >= 0
            assert len({o.order_id for o in a.orders}) == len(a.orders) and all(o.order_id < a.next_order_id for o in a.orders)
            assert a.has_open_order == (len(a.orders) > 0)
            for p in a.positions:
                mine = [o for o in a.orders if o.market_index == p.market_index]
                totals = [(sum(o.base_size - o.base_filled for o in mine if o.side == side),
                           sum(quote_for(o.base_size - o.base_filled, o.reserved_price) for o in mine if o.side == side)) for side in (BID, ASK)]
                assert (p.open_orders, (p.bids_base, p.bids_quote), (p.asks_base, p.asks_quote)) == (len(mine), *totals)
                assert p.base != 0 or p.realized_pnl != 0 or p.open_orders != 0, "an empty position keeps its slot"
            assert {o.market_index for o in a.orders} <= {p.market_index for p in a.positions}

    def unchanged(self, before: State, after: State, but: set[int] = frozenset(), markets: set[int] = frozenset(), config: bool = False,
                  balances: set[int] | None = None) -> None:
        """Nothing changed outside traders `but`, `markets` and (`config`) the quote config; of
        the traders' balances, only those of `balances` (by default `but`) may have."""
        moved = but if balances is None else balances
        keep = [self.traders[i].trading for i in range(len(self.traders)) if i not in but]
        keep += [collateral.balances_address(self.traders[i].margin) for i in range(len(self.traders)) if i not in moved]
        keep += [ts.market_address(m) for m in (0, 1) if m not in markets]
        if not config:
            keep.append(collateral.config_address(self.v.usdc))
        for address in keep:
            assert after.raw[address] == before.raw[address], f"{address} changed"

    def outcome(self, kind: str, result: TxResult, expect: str | None, before: State) -> bool:
        """Counts an action of `kind` and checks a refusal against the prediction (`expect`: an
        error name, None: accepted); True when the action was accepted."""
        self.count(kind, expect)
        if expect is not None:
            assert not result.ok and result.custom_error == E[expect], (expect, result.error, result.logs[-4:])
            self.unchanged(before, self.state())
            return False
        assert result.ok, (result.error, result.logs[-6:])
        return True

    # -- placement
    def order_params(self, a: Act, s: State) -> OrderParams:
        m, oracle = s.markets[a.market], self.prices[a.market]
        tick, lot = m.tick_size, m.lot_size
        bid = bit(a.variant, 0, 2) == BID
        side = BID if bid else ASK
        kind = bit(a.variant, 1, 3)
        wild = bit(a.variant, 4, 12) == 0  # any combination, most of them refused
        if wild:
            tif, post_only = bit(a.variant, 9, 4), bit(a.variant, 12, 3)
        elif kind == MARKET:
            tif, post_only = (IOC, FOK)[bit(a.variant, 9, 2)], NONE
        else:
            tif = bit(a.variant, 9, 4)
            post_only = (NONE, NONE, NONE, REJECT, SLIDE)[bit(a.variant, 12, 5)] if tif in (GTC, GTT) else NONE
        size = a.size * lot
        if bit(a.variant, 16, 16) == 0:
            size = (a.size % 10) * lot + bit(a.variant, 21, 2)  # below the minimum, or off the lot
        reduce_only = bit(a.variant, 23, 4) == 0
        if reduce_only and bit(a.variant, 27, 2) == 0:
            # Often exactly what reduces the position, so that some are accepted.
            size = min(size, reducible(s.base(a.who, a.market), bid)) or size
        if kind == ORACLE_OFFSET:
            price = oracle * a.bps // 10_000
        else:
            price = round_to_tick(oracle * (10_000 + a.bps) // 10_000, tick, side) + (1 if bit(a.variant, 29, 20) == 0 else 0)
        auction = None
        if bit(a.variant, 35, 4) == 0 and post_only == NONE:
            start = round_to_tick(oracle * (10_000 + a.bps2) // 10_000, tick, side)
            end = round_to_tick(oracle * (20_000 + a.bps2 + a.bps) // 20_000, tick, side)
            auction = (start, end, a.wait % 25)
        expiry = s.now + a.wait - 5 if tif == GTT else (a.wait if wild and a.wait % 7 == 0 else 0)
        return order(side, kind, tif, size, price, market=a.market, post_only=post_only, reduce_only=reduce_only, client_id=bit(a.variant, 40, 3),
                     expiry_ts=expiry, auction=auction)

    def new_order(self, p: OrderParams, s: State, i: int) -> Order:
        """The order the program should rest for `p` (placed by trader `i`), or Refused."""
        m, oracle = s.markets[p.market_index], self.prices[p.market_index]
        kind, tif, post_only, side, price, size, expiry, given_auction = p.kind, p.tif, p.post_only, p.side, p.price, p.base_size, p.expiry_ts, p.auction
        tick, bid = m.tick_size, side == BID
        if (kind == MARKET and tif not in (IOC, FOK)) or (post_only != NONE and (kind == MARKET or tif not in (GTC, GTT) or given_auction)):
            raise Refused("InvalidOrderType")
        if kind != ORACLE_OFFSET and price <= 0:
            raise Refused("InvalidPrice")
        if (tif == GTT) != (expiry != 0) or expiry < 0:
            raise Refused("InvalidOrderExpiry")
        if given_auction and (given_auction.start_price <= 0 or given_auction.end_price <= 0):
            raise Refused("AuctionOutOfBounds")
        if size < m.min_order_size or size % m.lot_size:
            raise Refused("InvalidOrderSize")
        if kind != ORACLE_OFFSET and price % tick:
            raise Refused("InvalidPrice")
        if tif == GTT and expiry <= s.now:
            raise Refused("InvalidOrderExpiry")
        reserved = round_to_tick(oracle + price, tick, side) if kind == ORACLE_OFFSET else price
        if reserved <= 0:
            raise Refused("InvalidPrice")
        crossing = crosses(bid, reserved, oracle)
        if post_only != NONE and crossing:
            if post_only == REJECT:
                raise Refused("PostOnlyCrosses")
            step = -tick if bid else tick
            reserved = round_to_tick(oracle + step, tick, side)
            price = step if kind == ORACLE_OFFSET else reserved
        start = end = slots = 0
        if kind == MARKET or tif in (IOC, FOK) or (post_only == NONE and crossing):
            start, end, slots = self.auction(given_auction, bid, reserved, oracle, m)
        elif given_auction:
            raise Refused("InvalidOrderType")
        flags = (FLAG_POST_ONLY if post_only != NONE else 0) | (FLAG_REDUCE_ONLY if p.reduce_only else 0)
        o = Order(s.accounts[i].next_order_id, p.client_order_id, p.market_index, side, kind, tif, flags, int(Actor.OWNER), price=price, base_size=size,
                  reserved_price=reserved, placed_slot=s.slot, expiry_ts=expiry, auction_start_price=start, auction_end_price=end, auction_slots=slots,
                  signer=self.traders[i].owner.pubkey())
        return o if rests(o) else dataclasses.replace(o, expiry_slot=s.slot + slots + m.post_auction_slots)

    @staticmethod
    def auction(given_auction: AuctionParams | None, bid: bool, reserved: int, oracle: int, m: PerpMarket) -> tuple[int, int, int]:
        """Given parameters as they are, else from the oracle to the reserved price within the
        deviation bound over the default length; checked."""
        tick, side = m.tick_size, BID if bid else ASK
        bound = oracle * m.auction_max_deviation_bps // 10_000
        low, high = oracle - bound, oracle + bound
        if given_auction is not None:
            start, end, slots = given_auction.start_price, given_auction.end_price, given_auction.duration_slots
        else:
            start, slots = round_to_tick(oracle, tick, side), m.auction_default_slots
            end = min(reserved, round_to_tick(high, tick, BID)) if bid else max(reserved, round_to_tick(low, tick, ASK))
            start = min(start, end) if bid else max(start, end)
        ordered = start <= end <= reserved if bid else start >= end >= reserved
        if not (ordered and all(x > 0 and x % tick == 0 and low <= x <= high for x in (start, end))):
            raise Refused("AuctionOutOfBounds")
        if not m.auction_min_slots <= slots <= m.auction_max_slots:
            raise Refused("AuctionDurationOutOfRange")
        return start, end, slots

    def with_order(self, s: State, i: int, old: Order | None, new: Order) -> TradingAccount:
        """Trader `i`'s account with `old` (if any) replaced by `new` in its orders and totals."""
        a = s.accounts[i]
        m = s.markets[new.market_index]
        positions = list(a.positions)
        if a.position(new.market_index) is None:
            positions.append(Position(new.market_index, funding_snapshot=ts.funding_index(m, 0)))
        k = next(k for k, p in enumerate(positions) if p.market_index == new.market_index)
        p = positions[k]
        for o, sign in ((old, -1), (new, 1)):
            if o is None:
                continue
            rest = o.base_size - o.base_filled
            if o.side == BID:
                p = dataclasses.replace(p, bids_base=p.bids_base + sign * rest, bids_quote=p.bids_quote + sign * quote_for(rest, o.reserved_price))
            else:
                p = dataclasses.replace(p, asks_base=p.asks_base + sign * rest, asks_quote=p.asks_quote + sign * quote_for(rest, o.reserved_price))
            p = dataclasses.replace(p, open_orders=p.open_orders + sign)
        positions[k] = p
        orders = [new if old is not None and o.order_id == old.order_id else o for o in a.orders] + ([new] if old is None else [])
        return dataclasses.replace(a, positions=positions, orders=orders, next_order_id=a.next_order_id + (old is None))

    def rest(self, s: State, i: int, old: Order | None, new: Order) -> tuple[TradingAccount, int]:
        """Trader `i`'s account with `new` resting (in place of `old`) and its initial health, or
        Refused. The health must be >= 0, or for a reduce-only order at least the health without
        it (an account below initial health may still reduce)."""
        if new.flags & FLAG_REDUCE_ONLY and new.base_size - new.base_filled > reducible(s.base(i, new.market_index), new.side == BID):
            raise Refused("ReduceOnlyIncreases")
        if old is None and len(s.accounts[i].orders) == ts.MAX_ORDERS:
            raise Refused("TooManyOrders")
        account = self.with_order(s, i, old, new)
        health = self.init_health(account, s.quote[i], s.markets)
        if health < 0 and not (new.flags & FLAG_REDUCE_ONLY and health >= self.init_health(s.accounts[i], s.quote[i], s.markets)):
            raise Refused("InsufficientHealth")
        return account, health

    def order_change(self, kind: str, s: State, i: int, model: Callable[[], tuple[Order | None, Order]], send: Callable[[], TxResult]) -> None:
        """A placement or a modification (`model`: the order before and after, or Refused):
        accepted, the account holds exactly the model's orders, at the health it predicts."""
        try:
            old, new = model()
            account, predicted = self.rest(s, i, old, new)
            expect = None
        except Refused as r:
            expect = str(r)
        result = send()
        if not self.outcome(kind, result, expect, s):
            return
        after = self.state()
        assert int.from_bytes(result.return_data, "little") == new.order_id
        assert after.accounts[i].orders == account.orders and [q.base for q in after.accounts[i].positions] == [q.base for q in account.positions]
        assert self.init_health(after.accounts[i], after.quote[i], after.markets) == predicted
        self.unchanged(s, after, {i})

    def place(self, a: Act, s: State, i: int | None = None, params: OrderParams | None = None) -> None:
        i = a.who if i is None else i
        p = params or self.order_params(a, s)
        self.order_change("place", s, i, lambda: (None, self.new_order(p, s, i)), lambda: self.v.place(self.traders[i], p))

    def modify(self, a: Act, s: State) -> None:
        i, acct = a.who, s.accounts[a.who]
        resting = [o for o in acct.orders if rests(o)]
        post_only = [o for o in resting if o.flags & FLAG_POST_ONLY]
        choices = post_only if post_only and bit(a.variant, 5, 3) == 0 else resting if resting and bit(a.variant, 8, 6) else acct.orders
        if not choices:
            return self.place(a, s)
        old = choices[a.pick % len(choices)]
        order_id = old.order_id if a.pick % 9 else 10_000 + a.pick
        m, oracle = s.markets[old.market_index], self.prices[old.market_index]
        price = None if bit(a.variant, 0, 3) == 0 else (oracle * a.bps // 10_000 if old.kind == ORACLE_OFFSET else
                                                          round_to_tick(oracle * (10_000 + a.bps) // 10_000, m.tick_size, old.side))
        size = None if bit(a.variant, 2, 3) == 0 else a.size * m.lot_size

        def model() -> tuple[Order, Order]:
            if price is None and size is None:
                raise Refused("NothingToModify")
            if order_id != old.order_id:
                raise Refused("OrderNotFound")
            if not rests(old):
                raise Refused("InvalidOrderType")
            if in_auction(old, s.slot):
                raise Refused("OrderInAuction")
            if expired(old, s.slot, s.now):
                raise Refused("OrderExpired")
            new = old
            if size is not None:
                if size < m.min_order_size or size % m.lot_size or size <= old.base_filled:
                    raise Refused("InvalidOrderSize")
                new = dataclasses.replace(new, base_size=size)
            if price is not None:
                if old.kind == LIMIT and (price <= 0 or price % m.tick_size):
                    raise Refused("InvalidPrice")
                new = dataclasses.replace(new, price=price)
            reserved = round_to_tick(oracle + new.price, m.tick_size, new.side) if new.kind == ORACLE_OFFSET else new.price
            if reserved <= 0:
                raise Refused("InvalidPrice")
            if new.flags & FLAG_POST_ONLY and crosses(new.side == BID, reserved, oracle):
                raise Refused("PostOnlyCrosses")
            return old, dataclasses.replace(new, reserved_price=reserved)

        self.order_change("modify", s, i, model, lambda: self.v.modify(self.traders[i], order_id, price, size, market=old.market_index))

    # -- cancels and expiry
    def cancel(self, a: Act, s: State) -> None:
        i, orders = a.who, s.accounts[a.who].orders
        flavour = bit(a.variant, 0, 4)
        if flavour == 0:
            known = orders and a.pick % 6
            target = orders[a.pick % len(orders)].order_id if known else 5_000 + a.pick
            gone = [o for o in orders if o.order_id == target]
            result, expect = self.v.cancel(self.traders[i], "cancel_order", target), None if gone else "OrderNotFound"
        elif flavour == 1:
            # Mostly one in use (placements draw from 0..2, so ids repeat: the first goes).
            client_id = orders[a.pick % len(orders)].client_order_id if orders and a.pick % 5 else a.pick % 5
            gone = [o for o in orders if o.client_order_id == client_id][:1]
            result, expect = self.v.cancel(self.traders[i], "cancel_order_by_client_id", client_id), None if gone else "OrderNotFound"
        else:
            market = None if flavour == 2 else a.market
            gone = [o for o in orders if market is None or o.market_index == market]
            result, expect = self.v.cancel(self.traders[i], "cancel_orders", market), None
        if self.outcome("cancel", result, expect, s):
            self.removed(s, i, gone, result)

    def expire(self, a: Act, s: State) -> None:
        i = a.who
        # Often at an order's last live moment or its first expired one (a second is a slot here).
        firsts = [o.expiry_ts - s.now for o in s.accounts[i].orders if o.expiry_ts]
        firsts += [o.expiry_slot + 1 - s.slot for o in s.accounts[i].orders if o.expiry_slot]
        ahead = [n - bit(a.variant, 0, 2) for n in firsts if n - bit(a.variant, 0, 2) > 0]
        if ahead and bit(a.variant, 2, 3):
            self.wait(ahead[a.pick % len(ahead)])
            s = self.state()
        gone = [o for o in s.accounts[i].orders if expired(o, s.slot, s.now)]
        expect = None if gone else "NothingToExpire"
        result = self.v.expire(self.traders[i])
        if self.outcome("expire", result, expect, s):
            self.removed(s, i, gone, result)

    def removed(self, s: State, i: int, gone: list[Order], result: TxResult) -> None:
        after = self.state()
        assert [e.data.order_id for e in self.v.events(result) if e.name == "OrderCancelled"] == [o.order_id for o in gone]
        assert after.accounts[i].orders == [o for o in s.accounts[i].orders if o not in gone]
        assert [p.base for p in after.accounts[i].positions] == [p.base for p in s.accounts[i].positions if p.base or p.realized_pnl or
                                                                  any(o.market_index == p.market_index for o in after.accounts[i].orders)]
        self.unchanged(s, after, {i})

    # -- fills
    def make(self, a: Act, s: State) -> None:
        """place_and_make by trader `who` against another trader's order in its auction."""
        candidates = [(j, o) for j, acct in enumerate(s.accounts) if j != a.who for o in acct.orders
                      if in_auction(o, s.slot) and not expired(o, s.slot, s.now)]
        if not candidates:
            i = (a.who + 1) % len(self.traders)
            return self.place(a, s, i, self.taker_params(a, s, i))
        reducing = [c for c in candidates if c[1].flags & FLAG_REDUCE_ONLY]
        if reducing and bit(a.variant, 8, 3) == 0:
            candidates = reducing  # its room may have shrunk since it was placed
        j, o = candidates[a.pick % len(candidates)]
        # Any slot of the auction; now and then one past it.
        w = a.wait % (o.placed_slot + o.auction_slots - s.slot + (3 if bit(a.variant, 6, 5) == 0 else 0))
        if w:
            self.wait(w)
            s = self.state()
        m = s.markets[o.market_index]
        bid = o.side == BID
        at = auction_price(o, s.slot, m.tick_size)
        step = bit(a.variant, 0, 4) - 1  # -1: the maker asks for one tick better than the auction gives
        maker_px = at - step * m.tick_size if bid else at + step * m.tick_size
        rest = o.base_size - o.base_filled
        size = rest if bit(a.variant, 2, 3) == 0 else a.size * m.lot_size + (1 if bit(a.variant, 4, 30) == 0 else 0)
        tb, mb = s.base(j, o.market_index), s.base(a.who, o.market_index)
        try:
            if maker_px % m.tick_size:
                raise Refused("InvalidPrice")
            if size % m.lot_size:
                raise Refused("InvalidOrderSize")
            if expired(o, s.slot, s.now):
                raise Refused("OrderExpired")
            if not in_auction(o, s.slot):
                raise Refused("AuctionOver")
            if (bid and maker_px > at) or (not bid and maker_px < at):
                raise Refused("MakerPriceNotMet")
            fill = min(rest, size)
            if o.flags & FLAG_REDUCE_ONLY:
                fill = min(fill, reducible(tb, bid))
            if fill == 0:
                raise Refused("ReduceOnlyIncreases")
            if o.tif == FOK and fill < rest:
                raise Refused("FillOrKill")
            delta = fill if bid else -fill
            self.check_cap(m, [tb, mb], [tb + delta, mb - delta])
            expect = None
        except Refused as r:
            expect = str(r)
        result = self.v.place_and_make(self.traders[a.who], self.traders[j], o.order_id, maker_px, size, market=o.market_index)
        grew = {a.who: abs(mb - delta) > abs(mb), j: abs(tb + delta) > abs(tb)} if expect is None else {}
        if expect is None and not result.ok and self.health_refusal("make", result, [(a.who, "Maker"), (j, "Taker")], grew, s):
            return
        if not self.outcome("make", result, expect, s):
            return
        self.fills(s, result, o, j, [a.who], [(a.who, s.accounts[a.who].next_order_id, at, fill)], grew, maker_immediate=True)

    def fill(self, a: Act, s: State) -> None:
        """fill_order of another trader's order with up to four resting makers."""
        takers = [(j, o) for j, acct in enumerate(s.accounts) for o in acct.orders if o.auction_slots or bit(a.variant, 8, 4) == 0]
        if not takers:
            return self.place(a, s, a.who, self.taker_params(a, s, a.who))
        j, o = takers[a.pick % len(takers)]
        if in_auction(o, s.slot) and bit(a.variant, 0, 4):
            self.wait(o.placed_slot + o.auction_slots - s.slot)
            s = self.state()
        m, oracle = s.markets[o.market_index], self.prices[o.market_index]
        bid = o.side == BID
        pool = [(k, q) for k, acct in enumerate(s.accounts) if k != j for q in acct.orders
                if q.market_index == o.market_index and q.side != o.side and rests(q) and (bit(a.variant, 2, 8) == 0 or not in_auction(q, s.slot))]
        best: dict[int, Order] = {}
        for k, q in sorted(pool, key=lambda kq: (maker_price(kq[1], oracle, m.tick_size) or 0) * (1 if bid else -1)):
            best.setdefault(k, q)
        makers = list(best.items())[:4]
        if bit(a.variant, 5, 3) == 0:
            makers.reverse()
        if not makers:
            return self.place(a, s, (j + 1 + a.who % 4) % len(self.traders), self.maker_params(a, s, o))
        planned: list[tuple[int, int, int, int]] = []  # maker, order id, price, size
        dropped: list[tuple[int, Order]] = []
        bases = {k: s.base(k, o.market_index) for k in range(len(self.traders))}
        start = dict(bases)
        try:
            if expired(o, s.slot, s.now):
                dropped.append((j, o))
            elif in_auction(o, s.slot):
                raise Refused("AuctionInProgress")
            elif o.flags & FLAG_POST_ONLY:
                raise Refused("PostOnlyTakes")
            elif o.flags & FLAG_REDUCE_ONLY and reducible(bases[j], bid) == 0:
                dropped.append((j, o))
            else:
                left = o.base_size - o.base_filled
                longs, shorts = m.open_interest_long, m.open_interest_short
                for k, q in makers:
                    room = min(left, reducible(bases[j], bid)) if o.flags & FLAG_REDUCE_ONLY else left
                    if room == 0:
                        break
                    if expired(q, s.slot, s.now):
                        dropped.append((k, q))
                        continue
                    if in_auction(q, s.slot):
                        raise Refused("OrderInAuction")
                    if q.flags & FLAG_REDUCE_ONLY and reducible(bases[k], not bid) == 0:
                        dropped.append((k, q))
                        continue
                    price = maker_price(q, oracle, m.tick_size)
                    size = min(room, q.base_size - q.base_filled)
                    if q.flags & FLAG_REDUCE_ONLY:
                        size = min(size, reducible(bases[k], not bid))
                    if not crosses(bid, o.reserved_price, price) or size == 0:
                        continue
                    delta = size if bid else -size
                    before = [bases[j], bases[k]]
                    bases[j] += delta
                    bases[k] -= delta
                    grown = oi_after(longs, shorts, before, [bases[j], bases[k]])
                    if (grown[0] > longs or grown[1] > shorts) and max(grown) > m.max_open_interest:
                        raise Refused("OpenInterestCapExceeded")
                    longs, shorts = grown
                    planned.append((k, q.order_id, price, size))
                    left -= size
                if o.tif == FOK and left > 0:
                    raise Refused("FillOrKill")
            expect = None
        except Refused as r:
            expect = str(r)
        result = self.v.fill(self.traders[j], o.order_id, [(self.traders[k], q.order_id) for k, q in makers], market=o.market_index)
        grew = {k: abs(bases[k]) > abs(start[k]) for k in bases}
        parties = [(j, "Taker")] + [(k, "Maker") for k, _ in makers]
        if expect is None and not result.ok and self.health_refusal("fill", result, parties, grew, s):
            return
        if not self.outcome("fill", result, expect, s):
            return
        cancelled = [(e.data.margin_account, e.data.order_id, e.data.reason) for e in self.v.events(result) if e.name == "OrderCancelled"]
        assert cancelled == [(self.traders[k].margin, q.order_id, CancelReason.EXPIRED if expired(q, s.slot, s.now) else CancelReason.REDUCE_ONLY) for k, q in dropped]
        self.fills(s, result, o, j, [k for k, _ in makers], planned, grew, dropped=dropped)

    def check_cap(self, m: PerpMarket, before: list[int], after: list[int]) -> None:
        longs, shorts = oi_after(m.open_interest_long, m.open_interest_short, before, after)
        if (longs > m.open_interest_long or shorts > m.open_interest_short) and max(longs, shorts) > m.max_open_interest:
            raise Refused("OpenInterestCapExceeded")

    def health_refusal(self, kind: str, result: TxResult, parties: list[tuple[int, str]], grew: dict[int, bool], s: State) -> bool:
        """A fill the model accepts may still be refused for the health of a side whose position
        grows (the model leaves the health after fees and funding to the program). True when that
        is the refusal (and nothing changed)."""
        if result.custom_error not in {E[f"{role}InsufficientHealth"] for k, role in parties if grew[k]}:
            return False
        self.count(kind, "health")
        self.unchanged(s, self.state())
        return True

    def fills(self, s: State, result: TxResult, o: Order, j: int, makers: list[int], planned: list[tuple[int, int, int, int]], grew: dict[int, bool], *,
              maker_immediate: bool = False, dropped: list[tuple[int, Order]] = ()) -> None:
        """The Fill events are the planned fills (prices within the taker's limit), positions
        moved by them, orders filled or removed, and every side whose position grew is healthy."""
        after = self.state()
        m = s.markets[o.market_index]
        bid = o.side == BID
        events = [e.data for e in self.v.events(result) if e.name == "Fill"]
        assert [(self.traders[k].margin, oid, price, size) for k, oid, price, size in planned] == \
               [(e.maker, e.maker_order_id, e.price, e.base) for e in events]
        for e in events:
            assert (e.market_index, e.taker, e.taker_order_id, e.taker_side, e.slot) == (o.market_index, self.traders[j].margin, o.order_id, o.side, s.slot)
            assert e.price <= o.reserved_price if bid else e.price >= o.reserved_price
            assert (e.quote, (e.taker_fee, e.maker_fee)) == (quote_for(e.base, e.price), fees(quote_for(e.base, e.price), m.taker_fee_bps, m.maker_fee_bps))
        self.funding_settlements += 2 * len(events)
        self.count("fills by make" if maker_immediate else "fills by fill", None, len(events))
        total = sum(size for *_, size in planned)
        moved = {j: total if bid else -total}
        for k, _, _, size in planned:
            moved[k] = moved.get(k, 0) - (size if bid else -size)
        for k in range(len(after.accounts)):
            assert after.base(k, o.market_index) == s.base(k, o.market_index) + moved.get(k, 0)
        filled = {(j, o.order_id): total, **{(k, oid): size for k, oid, _, size in planned if not maker_immediate}}
        gone = {(k, q.order_id) for k, q in dropped}
        # Only the parties a fill or a removal touched are written.
        touched = {k for k, *_ in planned} | {k for k, _ in dropped} | ({j} if planned else set())
        for k in {j, *makers}:
            expected = []
            for q in s.accounts[k].orders:
                q = dataclasses.replace(q, base_filled=q.base_filled + filled.get((k, q.order_id), 0))
                if (k, q.order_id) not in gone and q.base_filled < q.base_size:
                    expected.append(q)
            assert after.accounts[k].orders == expected
        if maker_immediate and planned:
            k = planned[0][0]
            assert after.accounts[k].next_order_id == s.accounts[k].next_order_id + 1
        for k in moved:
            if grew.get(k):
                assert self.init_health(after.accounts[k], after.quote[k], after.markets) >= 0
        # Fees stay in the positions: no balance and not the quote config moves.
        self.unchanged(s, after, touched, {o.market_index} if planned else set(), balances=set())

    def taker_params(self, a: Act, s: State, i: int) -> OrderParams:
        """A market order toward `bps` from the oracle (fills need takers in their auctions); or
        one that closes trader `i`'s position, reduce-only (several of them overlap)."""
        m, oracle = s.markets[a.market], self.prices[a.market]
        base = s.base(i, a.market)
        closing = base != 0 and bit(a.variant, 10, 2) == 0
        bid = base < 0 if closing else a.bps >= 0
        limit = round_to_tick(oracle * (10_000 + (a.bps % 300 if bid else -(-a.bps % 300))) // 10_000, m.tick_size, BID if bid else ASK)
        size = abs(base) if closing else max(a.size % 2_000, 10) * m.lot_size
        return order(BID if bid else ASK, MARKET, IOC, size, limit, market=a.market, reduce_only=closing)

    def maker_params(self, a: Act, s: State, taker: Order) -> OrderParams:
        """A resting limit order on the other side of `taker`, within its limit (makers for later fills)."""
        m = s.markets[taker.market_index]
        side = ASK if taker.side == BID else BID
        price = round_to_tick(taker.reserved_price * (10_000 + (-1 if side == ASK else 1) * (a.bps % 40)) // 10_000, m.tick_size, side)
        return order(side, LIMIT, GTC, max(a.size % 2_000, 10) * m.lot_size, price, market=taker.market_index, client_id=bit(a.variant, 40, 3))

    # -- funding, settlement, prices and time
    def funding(self, a: Act, s: State) -> None:
        if a.wait:
            self.wait(a.wait)
            s = self.state()
        m, oracle = s.markets[a.market], self.prices[a.market]
        period = m.funding_period_secs
        expect = "FundingTooEarly" if s.now < m.last_funding_ts + period else None
        if expect is None:
            # A time-weighted average of the values that prevailed since the last sample.
            if m.twap_ts == 0:
                mark_twap, oracle_twap = oracle, oracle
            else:
                w = min(max(s.now - m.twap_ts, 0), period)
                mark_twap = (m.mark_twap * (period - w) + (m.oracle_sample + m.mark_premium) * w) // period
                oracle_twap = (m.oracle_twap * (period - w) + m.oracle_sample * w) // period
            scaled = (mark_twap - oracle_twap) * period * 10**6
            bound = max(oracle_twap, 0) * m.funding_max_rate_bps * 100
            delta = max(-bound, min(bound, (1 if scaled >= 0 else -1) * (abs(scaled) // 86_400)))
        result = self.v.update_funding(a.market)
        if not self.outcome("funding", result, expect, s):
            return
        after = self.state()
        n = after.markets[a.market]
        assert (n.mark_twap, n.oracle_twap, n.last_funding_delta, n.last_funding_ts) == (mark_twap, oracle_twap, delta, s.now)
        assert (n.cumulative_funding_long, n.cumulative_funding_short) == (m.cumulative_funding_long + delta, m.cumulative_funding_short + delta)
        assert (n.mark_premium, n.oracle_sample) == (0, oracle)
        self.unchanged(s, after, markets={a.market})

    def settle(self, a: Act, s: State) -> None:
        i, market = a.who, a.market
        p, m = s.accounts[i].position(market), s.markets[market]
        expect = "NoPosition" if p is None else None
        result = self.v.settle(self.traders[i], market)
        if not self.outcome("settle", result, expect, s):
            return
        index = ts.funding_index(m, p.base)
        funding = health.funding_pnl(p.base, p.funding_snapshot, index)
        realized = p.realized_pnl + funding
        # A loss is paid up to the quote balance; a profit up to what the pool holds beyond the fees.
        if realized < 0:
            pnl = -min(-realized, max(s.quote[i], 0))
        else:
            pnl = min(realized, max(m.pnl_pool - m.fee_pool - m.liquidation_fee_pool, 0))
        unsettled = realized - pnl
        self.count("settle waits" if unsettled else "settle whole", None)
        (event,) = [e.data for e in self.v.events(result) if e.name == "PnlSettled"]
        assert (event.funding, event.pnl, event.unsettled, event.closed_base) == (funding, pnl, unsettled, 0)
        self.funding_settlements += 1
        after = self.state()
        q = after.accounts[i].position(market)
        if p.base == 0 and p.open_orders == 0 and unsettled == 0:
            assert q is None
        else:
            assert (q.base, q.quote_entry, q.realized_pnl, q.funding_snapshot) == (p.base, p.quote_entry, unsettled, index)
        assert (after.quote[i], after.accounts[i].settled_pnl) == (s.quote[i] + pnl, s.accounts[i].settled_pnl + pnl)
        n = after.markets[market]
        assert (n.total_pnl_settled, n.pnl_pool) == (m.total_pnl_settled + pnl, m.pnl_pool - pnl)
        self.unchanged(s, after, {i}, {market}, config=True)

    def apply(self, a: Act) -> None:
        # Hypothesis repeats values: the step number keeps equal variants apart.
        self.steps += 1
        a = dataclasses.replace(a, variant=a.variant + (self.steps << 21))
        getattr(self, a.kind)(a, self.state())
        self.check_invariants(self.state())

    def advance(self, a: Act, s: State) -> None:
        """Slots pass; the oracles drift (`price`: one jumps)."""
        self.count(a.kind, None)
        self.wait(1 + a.wait % 15 if a.kind == "advance" else 1, {m: step for m, step in enumerate((a.bps, a.bps2))}, 3 if a.kind == "price" else 20)

    price = advance

    def count(self, kind: str, expect: str | None, n: int = 1) -> None:
        key = f"{kind}:{expect or 'ok'}"
        self.counts[key] = self.counts.get(key, 0) + n



def test_trading_invariants_over_random_action_sequences() -> None:
    # No shrinking: a failing sequence is printed whole (shrinking 80 actions over LiteSVM takes minutes).
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None,
              phases=[Phase.explicit, Phase.generate])
    @given(st.lists(acts, min_size=ACTIONS_PER_EXAMPLE, max_size=ACTIONS_PER_EXAMPLE))
    def run(sequence: list[Act]) -> None:
        global executed
        r = Run()
        for a in sequence:
            r.apply(a)
            executed += 1
        for k, n in r.counts.items():
            totals[k] = totals.get(k, 0) + n

    run()
    print(f"{executed} actions:", dict(sorted(totals.items())))
    assert executed >= 1_000
