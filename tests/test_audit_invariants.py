"""The step-6 audit fixes under random action sequences (hypothesis) through the real programs
(LiteSVM): 25 examples of 50 actions each (1,250 actions, most sending two or three
transactions). Nine margin accounts trade SOL-PERP: four of different owners, a colluder pair
(two wallets of one person), a victim whose trade-only delegate also owns an account (the
delegate's), and a victim whose owner gave a session key a per-order maximum and a budget.
SOL/USD has three publishers with a quorum of 2: two honest ones, and a rogue that publishes
off-market prices stamped up to the allowed skew ahead, sometimes twice in one transaction.

Actions: placements by owners, the delegate and the session key (resting and crossing limits,
IOC, market orders with explicit auctions up to the deviation bound, reduce-only);
place_and_make by owner, delegate and session makers at the taker's current auction price,
including makers that flip (up to twice their position on the other side); fill_order against
resting makers; dust and full-depth wash trades between the colluder pair; honest and rogue
publishes; clock warps with the funding crank; settle_pnl; withdrawals of large amounts.

Outcomes are not predicted. After every accepted transaction:
1. an account whose position grew or flipped has initial health >= 0 (clients/health at the
   aggregated feed price); one whose position only reduced has initial health >= 0 or no lower
   than before; a withdrawal leaves initial health >= 0;
2. vault token amount == sum of balances + protocol balance (and the config's running total);
3. zero-sum perps and the PnL and fee identities (`quantdesk.world.Venue.check_invariants`);
4. every Fill in which a delegate- or session-placed order or an agent's place_and_make takes part
   is within the market's delegated band of the oracle, against an account the agent neither
   owns nor is delegate of;
5. the session's `spent` is the sum of its fills' quote amounts, never above its budget;
6. after a publish that aggregated while the honest publishers are a strict majority of the
   fresh ones, the feed price lies within the honest prices.
A refused transaction fails with a custom error named in an IDL (never a crash) and leaves every
account of the world unchanged (owner, lamports, data). Every action kind must be accepted at
least once over the run."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from quantdesk.clients import collateral, core, health, idl, oracle, token
from quantdesk.clients import trading_state as ts
from quantdesk.clients.security import Actor
from quantdesk.clients.trading import OrderParams, Side, auction_price, expired, in_auction, round_to_tick
from quantdesk.clients.trading_state import Order, PerpMarket, TradingAccount
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import TxResult
from quantdesk.world import ASK, BASE, BID, GTC, IOC, LIMIT, LOT, MARKET, PARAMS, PRICE, TICK, USDC, Owned, Trader, Venue, order, state

EXAMPLES = 25
ACTIONS_PER_EXAMPLE = 50
totals: dict[str, dict[str, int]] = {}  # kind -> outcome (ok or the error name) -> count, over the run
seen: dict[str, int] = {}  # what the accepted actions did (fills, agents' fills, flips), over the run

FUNDING_PERIOD = 60  # seconds: the crank is often due after a warp
# An initial margin (4%) below the auction bound (5%): a reduction at the bound's edge lowers
# initial health, so the rule for reductions is put to work, not only the one for growth.
SOL_PARAMS = dataclasses.replace(PARAMS, funding_period_secs=FUNDING_PERIOD, init_margin_bps=400, maint_margin_bps=200)
# Honest prices jump up to 2% a publish: no EMA-deviation limit.
GUARDS = {a: dataclasses.replace(g, max_ema_deviation_bps=0) for a, g in collateral.DEFAULT_GUARDS.items()}
OWNER_DEPOSITS = [20_000 * USDC, 5_000 * USDC, 1_500 * USDC, 300 * USDC]
COLLUDERS = (4, 5)
VICTIM, DELEGATES_OWN, SESSION_VICTIM = 6, 7, 8
SESSION_MAX, SESSION_BUDGET = 1_000 * USDC, 1_200 * USDC  # a budget two of its fills exceed
QUORUM = 2
SKEW = oracle.MAX_PUBLISH_SKEW_SECS
ROGUE_FACTORS_PCT = [10, 50, 90, 97, 103, 110, 200, 1_000]
PROGRAMS = ("qd_trading", "qd_oracle", "qd_collateral", "qd_security", "qd_core")
PROGRAM_OF = {"publish_honest": "qd_oracle", "publish_rogue": "qd_oracle", "rogue_double": "qd_oracle", "withdraw": "qd_collateral"}
KINDS = ["place_owner"] * 3 + ["place_delegate", "place_session"] * 2 + ["make_owner"] * 2 + ["make_delegate", "make_session", "flip"] * 3 \
    + ["fill"] * 3 + ["publish_honest"] * 2 + ["wash_dust", "wash_depth", "publish_rogue", "rogue_double", "funding", "settle"] + ["withdraw"] * 2


@dataclass(frozen=True)
class Act:
    kind: str
    who: int
    pick: int
    size: int  # lots
    bps: int  # a price's distance from the oracle
    variant: int  # flavours, bit by bit
    wait: int  # slots or seconds


acts = st.builds(
    Act,
    kind=st.sampled_from(KINDS),
    who=st.integers(0, 8),
    pick=st.integers(0, 1_000),
    # Mostly small orders, sometimes more than an account can carry.
    size=st.one_of(st.integers(10, 3_000), st.integers(3_000, 300_000)),
    bps=st.integers(-600, 600),
    variant=st.integers(0, 1 << 20),
    wait=st.integers(0, 120),
)


def error_name(program: str, code: int | None) -> str:
    """The IDL name of a refusal's code, `program`'s own first: a refusal must be a named
    program error, never a crash."""
    assert code is not None, "a refused transaction must fail with a program's custom error"
    for name in (program, *PROGRAMS):
        found = idl.error_name(name, code)
        if not found.startswith("Custom("):
            return found
    raise AssertionError(f"error {code} is in no IDL")


def side_of(bid: bool) -> Side:
    return BID if bid else ASK


def at_bps(price: int, bps: int, side: Side) -> int:
    """`price` moved by `bps` (toward paying more for a bid, receiving less for an ask when
    positive), rounded to a tick against the side."""
    sign = 1 if side == BID else -1
    return round_to_tick(price * (10_000 + sign * bps) // 10_000, TICK, side)


def base_of(acct: TradingAccount) -> int:
    p = acct.position(0)
    return 0 if p is None else p.base


def grows(start: int, base: int) -> bool:
    """Larger, or across zero (a flip counts as growth)."""
    return abs(base) > abs(start) or start * base < 0


@dataclass
class Snapshot:
    raw: dict[Pubkey, Owned]
    accounts: list[TradingAccount]
    quotes: list[int]
    market: PerpMarket
    price: int


class Example:
    """One example: the venue, its nine accounts, the agents, the three publishers, and the
    session fills counted from the Fill events."""

    def __init__(self) -> None:
        v = self.v = Venue()
        self.feed = v.feeds[0]
        self.honest = [v.publisher, v.chain.keypair()]
        self.rogue = v.chain.keypair()
        publishers = [k.pubkey() for k in (*self.honest, self.rogue)]
        for change in (v.oracle.set_publishers(self.feed, publishers, QUORUM), v.trading.set_market_params(0, SOL_PARAMS),
                       v.trading.set_market_oracle(0, self.feed, GUARDS)):
            assert v.govern(change).ok
        self.price, self.spread_bps = PRICE, 5
        owners = [v.trader(deposit=d) for d in OWNER_DEPOSITS]
        colluders = [v.trader(deposit=3_000 * USDC) for _ in COLLUDERS]
        victim, self.delegate, own = v.delegated()
        session_victim = v.trader()
        self.key, self.session = v.session_for(session_victim.owner, SESSION_MAX, SESSION_BUDGET)
        self.traders: list[Trader] = [*owners, *colluders, victim, own, session_victim]
        self.index = {t.margin: i for i, t in enumerate(self.traders)}
        self.spent = 0
        self.counts: dict[str, dict[str, int]] = {}
        self.keys = {self.feed, ts.market_address(0), collateral.config_address(v.usdc), collateral.vault_address(v.usdc), self.session,
                     self.delegate.pubkey(), self.key.pubkey(), *publishers}
        for t in self.traders:
            self.keys |= {t.margin, t.trading, collateral.balances_address(t.margin), t.owner.pubkey(), token.associated_address(t.owner.pubkey(), v.usdc)}
        self.wait(1, 1)  # the feed aggregates the three publishers from here on

    # -- reads
    def feed_state(self) -> oracle.Feed:
        return oracle.decode_feed(self.feed, self.v.raw(self.feed))

    def snapshot(self) -> Snapshot:
        v = self.v
        return Snapshot(state(v.chain, self.keys), [v.account(t) for t in self.traders], [v.quote_balance(t) for t in self.traders], v.market(),
                        self.feed_state().price)

    def init_health(self, s: Snapshot, i: int) -> int:
        """Trader `i`'s initial health in `s` by the engine's mirror, SOL-PERP at the feed price."""
        quote = collateral.collateral_input(self.v.collateral_config(self.v.usdc), s.quotes[i], collateral.QUOTE_PRICE)
        perps = [ts.perp_input(p, s.market, s.price) for p in s.accounts[i].positions]
        return health.compute([quote], perps, liquidation_prices=False).init_health

    def orders(self, pred: Callable[[int, Order], bool]) -> list[tuple[int, Order]]:
        s = self.v.chain.clock
        return [(i, o) for i, t in enumerate(self.traders) for o in self.v.account(t).orders
                if not expired(o, s.slot, s.unix_timestamp) and pred(i, o)]

    def owner_of(self, i: int) -> Pubkey:
        return self.traders[i].owner.pubkey()

    # -- sending, with the checks
    def step(self, kind: str, send: Callable[[], TxResult], maker_agent: Pubkey | None = None) -> TxResult | None:
        """Sends one transaction of action `kind` and checks it (see the module docs); the
        result when accepted. `maker_agent`: the delegate or session key signing a place_and_make."""
        before = self.snapshot()
        result = send()
        outcome = "ok" if result.ok else error_name(PROGRAM_OF.get(kind, "qd_trading"), result.custom_error)
        by_kind = self.counts.setdefault(kind, {})
        by_kind[outcome] = by_kind.get(outcome, 0) + 1
        if not result.ok:
            assert state(self.v.chain, self.keys) == before.raw, f"refused {kind} ({outcome}) changed an account"
            return None
        after = self.snapshot()
        self.check_health(before, after)
        self.check_conservation()
        self.v.check_invariants(self.traders)
        self.check_fills(before, result, maker_agent)
        session = self.v.session_state(self.session)
        assert session.spent == self.spent <= session.budget
        self.check_feed()
        return result

    def check_health(self, before: Snapshot, after: Snapshot) -> None:
        for i in range(len(self.traders)):
            start, base = base_of(before.accounts[i]), base_of(after.accounts[i])
            if base == start:
                continue
            health_after = self.init_health(after, i)
            if start * base < 0:
                seen["flips"] = seen.get("flips", 0) + 1
            if grows(start, base):
                assert health_after >= 0, f"trader {i}'s position grew from {start} to {base} at initial health {health_after}"
            else:
                assert health_after >= 0 or health_after >= self.init_health(before, i), f"trader {i} reduced at a lower negative health"

    def check_conservation(self) -> None:
        v = self.v
        config = v.collateral_config(v.usdc)
        total = sum(v.balances(t.margin).balance_of(v.usdc) for t in self.traders)
        assert config.total_balances == total
        assert token.account_amount(v.raw(collateral.vault_address(v.usdc))) == total + config.protocol_balance

    def check_fills(self, before: Snapshot, result: TxResult, maker_agent: Pubkey | None) -> None:
        band = before.price * before.market.delegated_band_bps // 10_000
        for e in (e.data for e in self.v.events(result) if e.name == "Fill"):
            taker, maker = self.index[e.taker], self.index[e.maker]
            taker_order = next(o for o in before.accounts[taker].orders if o.order_id == e.taker_order_id)
            # place_and_make's maker order is new (not in `before`): its agent signed the transaction.
            resting = next((o for o in before.accounts[maker].orders if o.order_id == e.maker_order_id), None)
            agents = [(taker_order.signer if taker_order.actor != Actor.OWNER else None, maker),
                      ((resting.signer if resting.actor != Actor.OWNER else None) if resting is not None else maker_agent, taker)]
            seen["fills"] = seen.get("fills", 0) + 1
            if any(agent is not None for agent, _ in agents):
                seen["agents' fills"] = seen.get("agents' fills", 0) + 1
                assert abs(e.price - before.price) <= band, f"an agent's fill at {e.price} against the oracle at {before.price}"
            for agent, other in agents:
                if agent is not None:
                    m = core.decode_margin_account(self.traders[other].margin, self.v.raw(self.traders[other].margin))
                    assert agent not in (m.owner, m.delegate), "an agent traded its principal against an account it controls"
            session_taker = taker == SESSION_VICTIM and taker_order.actor == Actor.SESSION
            session_maker = maker == SESSION_VICTIM and (resting.actor == Actor.SESSION if resting is not None else maker_agent == self.key.pubkey())
            if session_taker or session_maker:
                seen["session fills"] = seen.get("session fills", 0) + 1
                self.spent += e.quote

    def check_feed(self) -> None:
        """While the honest publishers are a strict majority of the fresh ones, an aggregate of
        this second lies within their prices (test_oracle_aggregate's model)."""
        feed, now = self.feed_state(), self.v.chain.clock.unix_timestamp
        if feed.publish_time != now:
            return
        fresh = [(k, p.price) for k, p in enumerate(feed.latest) if p.publish_time != 0 and now - p.publish_time <= feed.max_publisher_age_secs]
        honest = [price for k, price in fresh if k < len(self.honest)]
        if 2 * len(honest) > len(fresh):
            assert min(honest) <= feed.price <= max(honest), (feed.price, fresh)

    # -- the clock and the feed
    def wait(self, slots: int, secs: int, both: bool = True) -> None:
        """`slots` and `secs` (at least 1) later, the honest publishers (`both`, else the first)
        publish the honest price, the second `spread_bps` above it."""
        v = self.v
        v.chain.advance(slots, max(secs, 1))
        now = v.chain.clock.unix_timestamp
        quotes = list(zip(self.honest, (self.price, self.price * (10_000 + self.spread_bps) // 10_000)))[: 2 if both else 1]
        self.step("publish_honest", lambda: v.send([v.oracle.publish(k.pubkey(), self.feed, p, p // 10_000, now) for k, p in quotes],
                                                   *(k for k, _ in quotes)))

    def publish_honest(self, a: Act) -> None:
        # Within 70..140: a random walk of 2% steps, and 10% jumps that leave accounts short of
        # initial margin (only they tell a reduction's rule from a growth's).
        scale = 6_000 if a.variant % 3 == 0 else 30_000
        self.price = min(max(self.price * (scale + a.bps) // scale, 70 * USDC), 140 * USDC)
        self.spread_bps = a.pick % 20
        self.wait(1, 1, both=a.variant % 4 != 0)

    def publish_rogue(self, a: Act) -> None:
        """Off-market, stamped from a second behind the clock to a second past the skew."""
        self.v.chain.advance(1, a.wait % 2)
        self.rogue_send(a, [a.wait % (SKEW + 3) - 1])

    def rogue_double(self, a: Act) -> None:
        """Two publishes in one transaction: within the skew, or the reported attack (30 s and 60 s ahead)."""
        self.v.chain.advance(1, 1 + a.wait % 2)
        self.rogue_send(a, [30, 60] if a.variant % 4 == 0 else [a.wait % SKEW, SKEW])

    def rogue_send(self, a: Act, ahead: list[int]) -> None:
        v, now = self.v, self.v.chain.clock.unix_timestamp
        price = self.price * ROGUE_FACTORS_PCT[a.pick % len(ROGUE_FACTORS_PCT)] // 100
        ixs = [v.oracle.publish(self.rogue.pubkey(), self.feed, price + k, price // 100, now + t) for k, t in enumerate(ahead)]
        self.step("rogue_double" if len(ahead) > 1 else "publish_rogue", lambda: v.send(ixs, self.rogue))

    def funding(self, a: Act) -> None:
        """A clock warp, then the crank (due once a funding period has passed)."""
        self.wait(1 + a.wait // 4, a.wait)
        self.step("funding", self.v.update_funding)

    # -- orders
    def actor(self, kind: str, who: int) -> tuple[int, Keypair | None, Pubkey | None]:
        """The account, the signer (None: its owner) and the session of a `kind` action."""
        if kind.endswith("delegate"):
            return VICTIM, self.delegate, None
        if kind.endswith("session"):
            return SESSION_VICTIM, self.key, self.session
        return who, None, None

    def market_order(self, a: Act, side: Side, size: int, start_bps: int | None = None) -> OrderParams:
        """A market IOC order with its own auction: from `start_bps`, else mostly from 0.2% behind
        to 1% past the oracle, one time in four anywhere from the 5% bound behind it; running up
        to 5% further (past the bound now and then)."""
        if start_bps is None:
            start_bps = a.bps % 120 - 20 if a.variant >> 10 & 3 else a.bps % 600 - 500
        end_bps = start_bps + a.pick % 500
        start, end = at_bps(self.feed_state().price, start_bps, side), at_bps(self.feed_state().price, end_bps, side)
        return order(side, MARKET, IOC, size, end, auction=(start, end, PARAMS.auction_min_slots + a.wait % 30))

    def sized(self, a: Act, i: int) -> int:
        """The drawn size; one time in four 12x..30x trader `i`'s quote balance at the oracle (at
        the edge of its initial margin, 25x): moves of the price then leave it short of margin.
        The session victim's: half the time 90% of its session's per-order maximum (its budget runs out)."""
        if i == SESSION_VICTIM and a.variant >> 14 & 1:
            return SESSION_MAX * 9 // 10 * BASE // self.feed_state().price // LOT * LOT
        if a.variant >> 8 & 3:
            return a.size * LOT
        quote = max(self.v.quote_balance(self.traders[i]), 0)
        return max(quote * (12 + a.pick % 19) * BASE // self.feed_state().price // LOT, PARAMS.min_order_size // LOT) * LOT

    def order_params(self, a: Act, i: int) -> OrderParams:
        oracle_price, base = self.feed_state().price, base_of(self.v.account(self.traders[i]))
        side, size = side_of(a.variant >> 3 & 1 == 0), self.sized(a, i)
        flavour = a.variant % 5
        if flavour == 0:  # rests: a limit behind the oracle
            return order(side, LIMIT, GTC, size, at_bps(oracle_price, -(abs(a.bps) % 300) - 1, side))
        if flavour == 1:
            return self.market_order(a, side, size)
        if flavour == 2:  # IOC at a limit either side of the oracle (the default auction)
            return order(side, LIMIT, IOC, size, at_bps(oracle_price, a.bps % 300 - 100, side))
        if flavour == 3:  # reduce-only, toward closing (or past it: refused)
            side = side_of(base < 0) if base else side
            return dataclasses.replace(self.market_order(a, side, min(size, abs(base)) if base and a.variant >> 4 & 3 else size), reduce_only=True)
        return order(side, LIMIT, GTC, size, at_bps(oracle_price, abs(a.bps) % 100, side))  # crosses: an auction, then rests

    def place(self, a: Act) -> None:
        i, signer, session = self.actor(a.kind, a.who)
        params = self.order_params(a, i)
        self.step(a.kind, lambda: self.v.place(self.traders[i], params, signer=signer, session=session))

    def placed(self, kind: str, i: int, params: OrderParams) -> Order | None:
        result = self.step(kind, lambda: self.v.place(self.traders[i], params))
        if result is None:
            return None
        order_id = int.from_bytes(result.return_data, "little")
        return next((o for o in self.v.account(self.traders[i]).orders if o.order_id == order_id), None)

    def taker_in_auction(self, a: Act, maker: int, side: Side | None = None, size: int = 0, start_bps: int | None = None) -> tuple[int, Order] | None:
        """An order of another account in its auction (on `side`, with `size` left); else (or
        with `start_bps`) one placed by another owner's account (a market order)."""
        slot = self.v.chain.clock.slot
        found = self.orders(lambda j, o: j != maker and in_auction(o, slot) and (side is None or o.side == side)
                            and o.base_size - o.base_filled >= size)
        if found and start_bps is None:
            return found[a.pick % len(found)]
        j = (maker + 1 + a.pick % (len(self.traders) - 1)) % len(self.traders)
        side = side if side is not None else side_of(a.variant >> 5 & 1 == 0)
        o = self.placed("place_owner", j, self.market_order(a, side, max(size, self.sized(a, j)), start_bps))
        return None if o is None else (j, o)

    def make(self, a: Act, kind: str | None = None, i: int | None = None, side: Side | None = None, size: int = 0,
             start_bps: int | None = None) -> None:
        """place_and_make of `kind` by account `i` (the actor's by default) against an order in
        its auction (`start_bps`: a new one starting there), a few slots in, at the auction price;
        `size` (a flip's) or a random size."""
        kind = kind or a.kind
        who, signer, session = self.actor(kind, a.who)
        i = who if i is None else i
        taker = self.taker_in_auction(a, i, side, size, start_bps)
        if taker is None:
            return
        j, o = taker
        left = o.placed_slot + o.auction_slots - self.v.chain.clock.slot
        if a.wait % 3 and left > 1:
            self.wait(a.wait % left, a.wait % left)
        price = auction_price(o, self.v.chain.clock.slot, TICK)
        size = size or (o.base_size - o.base_filled if a.variant >> 6 & 3 == 0 else self.sized(a, i))
        maker_agent = None if signer is None else signer.pubkey()
        self.step(kind, lambda: self.v.place_and_make(self.traders[i], self.traders[j], o.order_id, price, size, signer=signer, session=session),
                  maker_agent)

    def flip(self, a: Act) -> None:
        """A maker with a position fills up to twice it on the other side: mostly more than it
        holds (a flip), else part or all of it (a reduction)."""
        holders = [i for i, t in enumerate(self.traders) if base_of(self.v.account(t))]
        if not holders:
            return self.make(a, "make_owner")
        now = self.snapshot()
        flips = a.variant >> 12 & 3 != 0
        # Often (a reduction: always) the one shortest of initial margin: a flip that raises a
        # negative health must still be refused, a reduction that raises it is accepted.
        i = min(holders, key=lambda k: self.init_health(now, k)) if a.variant & 6 or not flips else holders[a.pick % len(holders)]
        kind = {VICTIM: "make_delegate", SESSION_VICTIM: "make_session"}.get(i, "make_owner") if a.variant & 1 and flips else "make_owner"
        base = base_of(self.v.account(self.traders[i]))
        size = max(abs(base) * (100 + a.pick % 101 if flips else 10 + a.pick % 91) // 100 // LOT, 1) * LOT
        # A reduction goes into an auction starting at its far edge (4.5% to 5% against the maker,
        # more than the 4% initial margin it frees): refused when it lowers a negative health.
        self.make(a, "flip" if kind == "make_owner" else kind, i, side_of(base > 0), size, None if flips else -450 - a.pick % 49)

    def fill(self, a: Act) -> None:
        """fill_order of an order past its auction against up to four resting makers, one per account."""
        clock = self.v.chain.clock
        takers = self.orders(lambda j, o: o.tif == IOC and not in_auction(o, clock.slot))
        if not takers:
            running = self.orders(lambda j, o: o.tif == IOC)
            if not running:
                side = side_of(a.bps >= 0)
                o = self.placed("place_owner", a.who, order(side, LIMIT, IOC, a.size * LOT, at_bps(self.feed_state().price, abs(a.bps) % 100, side)))
                if o is None:
                    return
                running = [(a.who, o)]
            j, o = running[a.pick % len(running)]
            self.wait(o.placed_slot + o.auction_slots - self.v.chain.clock.slot, 1)
            takers = [(j, o)]
        j, o = takers[a.pick % len(takers)]
        slot = self.v.chain.clock.slot
        best: dict[int, Order] = {}
        for k, q in self.orders(lambda k, q: self.owner_of(k) != self.owner_of(j) and q.side != o.side and q.tif == GTC and not in_auction(q, slot)):
            best.setdefault(k, q)
        if not best:
            k = (j + 1 + a.who % 8) % len(self.traders)
            q = self.placed("place_owner", k, order(side_of(o.side != BID), LIMIT, GTC, a.size * LOT, o.reserved_price))
            if q is None or in_auction(q, self.v.chain.clock.slot):
                return
            best[k] = q
        makers = [(self.traders[k], q.order_id) for k, q in list(best.items())[:4]]
        self.step("fill", lambda: self.v.fill(self.traders[j], o.order_id, makers))

    def wash(self, a: Act, size: int) -> None:
        """The colluder pair trades `size` between them in place_and_make, up to the auction
        bound (5%) from the oracle."""
        buyer, seller = COLLUDERS if a.variant & 1 else COLLUDERS[::-1]
        price = at_bps(self.feed_state().price, a.bps % 501 * (1 if a.variant & 2 else -1), BID)
        o = self.placed("place_owner", buyer, order(BID, MARKET, IOC, size, price, auction=(price, price, PARAMS.auction_min_slots)))
        if o is not None:
            self.step(a.kind, lambda: self.v.place_and_make(self.traders[seller], self.traders[buyer], o.order_id, price, size))

    # -- settlement and withdrawals
    def settle(self, a: Act) -> None:
        self.step("settle", lambda: self.v.settle(self.traders[a.who]))

    def withdraw(self, a: Act) -> None:
        """All of the quote balance, twice it, 90% of it, or a large round amount."""
        v, t = self.v, self.traders[a.who]
        balance = max(v.quote_balance(t), USDC)
        amount = [balance, 2 * balance, balance * 9 // 10, a.size * USDC][a.variant % 4]
        ix = v.collateral.withdraw(t.owner.pubkey(), t.margin, v.usdc, amount, v.health(t.margin))
        if self.step("withdraw", lambda: v.send([ix], t.owner)) is not None:
            assert self.init_health(self.snapshot(), a.who) >= 0, "a withdrawal left initial health below zero"

    def apply(self, a: Act) -> None:
        kind = a.kind
        if kind.startswith("place"):
            self.place(a)
        elif kind.startswith("make"):
            self.make(a)
        elif kind.startswith("wash"):
            self.wash(a, BASE // 100 if kind == "wash_dust" else SOL_PARAMS.mark_depth_base)
        else:
            getattr(self, kind)(a)


def test_audit_invariants_over_random_action_sequences() -> None:
    # No shrinking: a failing sequence is printed whole (shrinking over LiteSVM takes minutes).
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None,
              phases=[Phase.explicit, Phase.generate])
    @given(st.lists(acts, min_size=ACTIONS_PER_EXAMPLE, max_size=ACTIONS_PER_EXAMPLE))
    def run(sequence: list[Act]) -> None:
        example = Example()
        for a in sequence:
            example.apply(a)
        for kind, outcomes in example.counts.items():
            for outcome, n in outcomes.items():
                totals.setdefault(kind, {})[outcome] = totals.get(kind, {}).get(outcome, 0) + n

    run()
    for kind, outcomes in sorted(totals.items()):
        print(f"{kind}: {sum(outcomes.values())} sent, {outcomes.get('ok', 0)} accepted;", dict(sorted(outcomes.items())))
    print("accepted actions made:", seen)
    assert {k for k, o in totals.items() if o.get("ok")} >= set(KINDS), "an action kind was never accepted"
    assert all(seen.get(k) for k in ("fills", "agents' fills", "session fills", "flips")), seen
