"""qd-oracle's multi-publisher aggregate in LiteSVM, and the two audit findings it closes:
(3) one publisher setting a feed's price alone (future stamps, EMA moved with the price, honest
publishers locked out) and (4) feeds created or managed without ORACLE_ADMIN. A Python model of
the aggregation (median with a quorum, EMA by cluster time) is held equal to the program over
random publish sequences (hypothesis)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quantdesk.clients import idl, oracle, security
from quantdesk.clients.oracle import Action
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.world import Venue, failed, grant_oracle_admin, revoke_oracle_admin

HONEST = 100_000_000  # 100.000000
OFF_MARKET = 1_000_000_000  # 10x
MAX_AGE = 10
WINDOW = 60
SKEW = oracle.MAX_PUBLISH_SKEW_SECS
PPM = 1_000_000
E = idl.error_codes(oracle.NAME)


@dataclass
class Trio:
    """A feed with three publishers (two honest, one rogue), quorum 2, prices fresh for 10 s."""

    o: Venue
    honest: list[Keypair]
    rogue: Keypair

    def now(self) -> int:
        return self.o.chain.clock.unix_timestamp


def oracle_venue() -> Venue:
    """qd-security initialized; the SOL/USD feed not created yet."""
    return Venue(init_core=False, quote_params=None, markets=())


def make_feed(publishers: int, min_publishers: int) -> tuple[Venue, list[Keypair]]:
    o = oracle_venue()
    keys = [o.publisher] + [o.chain.keypair() for _ in range(publishers - 1)]
    assert o.create_feed(window=WINDOW, publishers=[k.pubkey() for k in keys], min_publishers=min_publishers, max_age=MAX_AGE).ok
    return o, keys


@pytest.fixture
def trio() -> Trio:
    o, keys = make_feed(3, 2)
    return Trio(o, keys[:2], keys[2])


# ---- the model -------------------------------------------------------------------------------

def median(values: list[int], round_up: bool) -> int:
    """The program's median: even counts take the mean of the middle two, half rounded up or to even."""
    v = sorted(values)
    n = len(v)
    if n % 2:
        return v[n // 2]
    total = v[n // 2 - 1] + v[n // 2]
    floor = total // 2
    if total % 2 and (round_up or floor % 2):
        return floor + 1
    return floor


def aggregate(latest: list[tuple[int, int, int]], now: int, max_age: int, quorum: int) -> tuple[int, int, int] | None:
    """(price, conf, count) over the fresh (price, conf, publish_time) entries; None without a quorum."""
    fresh = [(p, c) for p, c, t in latest if t != 0 and now - t <= max_age]
    if not fresh or len(fresh) < quorum:
        return None
    price = median([p for p, _ in fresh], round_up=False)
    conf = max(median([c for _, c in fresh], round_up=True), median([abs(p - price) for p, _ in fresh], round_up=True))
    return price, conf, len(fresh)


def ema_step(old_price: int, old_conf: int, price: int, conf: int, dt: int, window: int) -> tuple[int, int]:
    """One EMA step: weight dt / (dt + window) in ppm; price toward zero, confidence up."""
    w = dt * PPM // max(dt + window, 1)
    delta = price - old_price
    step = abs(delta) * w // PPM
    new_price = old_price + (step if delta >= 0 else -step)
    new_conf = old_conf + -(-(conf - old_conf) * w // PPM) if conf >= old_conf else old_conf - (old_conf - conf) * w // PPM
    return new_price, new_conf


# ---- finding 3: one publisher cannot set the price ---------------------------------------------

def test_rogue_future_stamps_in_one_transaction_are_refused_with_every_account_unchanged(trio: Trio) -> None:
    o = trio.o
    for k in trio.honest:
        assert o.submit_price(HONEST, publisher=k).ok
    before = (o.raw(o.sol_feed), o.chain.account(trio.rogue.pubkey()), o.chain.account(security.CONFIG))
    now = trio.now()
    # The reported attack: two publishes in one transaction stamped 30 s and 60 s ahead.
    attack = [o.oracle.publish(trio.rogue.pubkey(), o.sol_feed, OFF_MARKET, 10_000, now + 30),
              o.oracle.publish(trio.rogue.pubkey(), o.sol_feed, OFF_MARKET, 10_000, now + 60)]
    failed(o.chain.send(attack, [trio.rogue]), E["PublishTimeInFuture"])
    failed(o.submit_price(OFF_MARKET, at=now + SKEW + 1, publisher=trio.rogue), E["PublishTimeInFuture"])
    assert (o.raw(o.sol_feed), o.chain.account(trio.rogue.pubkey()), o.chain.account(security.CONFIG)) == before
    assert o.feed_state().price == HONEST


def test_a_rogue_publisher_within_the_skew_neither_moves_the_aggregate_nor_locks_out_honest_ones(trio: Trio) -> None:
    o = trio.o
    a, b = trio.honest
    assert o.submit_price(HONEST, publisher=a).ok
    assert o.submit_price(HONEST + 20_000, publisher=b).ok
    now = trio.now()
    r = o.submit_price(OFF_MARKET, conf=10_000, at=now + SKEW, publisher=trio.rogue)
    assert r.ok, r.logs
    feed = o.feed_state()
    # Median of (100.00, 100.02, 1000): the honest publishers' price holds; the EMA stays at the
    # honest pair's mean (100.01), set in this same second.
    assert (feed.price, feed.ema_price, feed.num_aggregated) == (HONEST + 20_000, HONEST + 10_000, 3)
    [event] = oracle.parse_events(r.logs)
    assert (event.data.aggregated, event.data.agg_price) == (True, HONEST + 20_000)
    assert o.read_price(o.sol_feed, Action.TRADE).ok  # within every trade guard: confidence is not inflated
    # The rogue's stamp is ahead of the clock, but honest publishers publish at the clock.
    o.chain.advance(1, 1)
    assert o.submit_price(HONEST + 5_000, publisher=a).ok
    assert o.submit_price(HONEST + 5_000, publisher=b).ok
    assert o.feed_state().price == HONEST + 5_000


def test_without_a_quorum_the_aggregate_holds_and_goes_stale(trio: Trio) -> None:
    o = trio.o
    a, b = trio.honest
    r = o.submit_price(HONEST, publisher=a)
    assert r.ok and not oracle.parse_events(r.logs)[0].data.aggregated
    assert (o.feed_state().price, o.feed_state().publish_time) == (0, 0)  # 1 of 2: no price yet
    failed(o.read_price(o.sol_feed, Action.TRADE), E["NonPositivePrice"])
    assert o.submit_price(HONEST, publisher=b).ok
    aggregated_at = trio.now()
    assert (o.feed_state().price, o.feed_state().publish_time) == (HONEST, aggregated_at)
    # b falls silent; once its price is older than max_publisher_age_secs, a alone is no quorum.
    o.chain.advance(1, MAX_AGE + 1)
    r = o.submit_price(2 * HONEST, publisher=a)
    assert r.ok and not oracle.parse_events(r.logs)[0].data.aggregated
    feed = o.feed_state()
    assert (feed.price, feed.publish_time, feed.latest[0].price) == (HONEST, aggregated_at, 2 * HONEST)
    assert o.read_price(o.sol_feed, Action.TRADE).ok  # 11 s old: still within the 20 s trade guard
    o.chain.advance(1, 10)
    failed(o.read_price(o.sol_feed, Action.TRADE), E["StaleOracleTime"])
    # Once a's price is stale too, a single fresh rogue does not make a quorum either.
    o.chain.advance(1, 1)
    assert o.submit_price(OFF_MARKET, publisher=trio.rogue).ok
    assert o.feed_state().price == HONEST


def test_two_publishes_in_one_slot_move_the_ema_once(trio: Trio) -> None:
    o = trio.o
    a, b = trio.honest
    for k in (a, b):
        assert o.submit_price(HONEST, publisher=k).ok
    o.chain.advance(1, 5)
    now = trio.now()
    r = o.chain.send([o.oracle.publish(a.pubkey(), o.sol_feed, 110_000_000, 10_000, now),
                      o.oracle.publish(b.pubkey(), o.sol_feed, 120_000_000, 10_000, now)], [a, b])
    assert r.ok, r.logs
    first, second = oracle.parse_events(r.logs)
    # One 5-second step toward the first aggregate (105, conf = the 5.0 deviation of both
    # prices); none for the second (no time elapsed).
    ema = ema_step(HONEST, 10_000, 105_000_000, 5_000_000, 5, WINDOW)
    assert (first.data.agg_price, first.data.ema_price) == (105_000_000, ema[0])
    assert (first.data.ema_price, first.data.ema_conf) == ema
    assert (second.data.agg_price, second.data.ema_price, second.data.ema_conf) == (115_000_000, *ema)
    # The next slot within the same second moves it no further.
    o.chain.advance(1, 0)
    assert o.submit_price(130_000_000, at=now + 1, publisher=a).ok
    feed = o.feed_state()
    assert (feed.price, feed.ema_price, feed.ema_conf) == (125_000_000, *ema)


# ---- finding 4: ORACLE_ADMIN creates and manages feeds -------------------------------------------

def test_creating_a_feed_needs_oracle_admin_with_every_account_unchanged() -> None:
    o = oracle_venue()
    stranger = o.chain.keypair()
    before = (o.chain.account(stranger.pubkey()), o.chain.account(security.CONFIG))
    failed(o.create_feed(by=stranger), E["MissingRole"])
    assert o.chain.account(o.sol_feed) is None
    assert (o.chain.account(stranger.pubkey()), o.chain.account(security.CONFIG)) == before
    admin = grant_oracle_admin(o.chain, o.admin)
    assert o.create_feed(by=admin).ok
    assert o.feed_state().authority == admin.pubkey()


def managing(o: Venue, who: Pubkey) -> list[Instruction]:
    """The feed authority's own instructions (publishers and guards change through the timelock)."""
    return [
        o.oracle.set_status(who, o.sol_feed, oracle.STATUS_HALTED),
        o.oracle.set_authority(who, o.sol_feed, who),
    ]


def test_a_feed_authority_that_loses_oracle_admin_loses_the_feed_and_another_admin_adopts_it() -> None:
    o = oracle_venue()
    admin = grant_oracle_admin(o.chain, o.admin)
    assert o.create_feed(by=admin).ok
    revoke_oracle_admin(o.chain, o.admin, admin)
    before = o.raw(o.sol_feed)
    for ix in managing(o, admin.pubkey()):
        failed(o.chain.send([ix], [admin]), E["MissingRole"])
    assert o.raw(o.sol_feed) == before
    assert o.submit_price(HONEST).ok  # publishers are not affected
    # Any oracle admin adopts the orphaned feed, then manages it.
    successor = grant_oracle_admin(o.chain, o.admin)
    assert o.chain.send([o.oracle.set_authority(successor.pubkey(), o.sol_feed, successor.pubkey())], [successor]).ok
    assert o.feed_state().authority == successor.pubkey()
    for ix in managing(o, successor.pubkey()):
        assert o.chain.send([ix], [successor]).ok
    # Re-granting the old key does not give the feed back.
    assert security.enact(o.chain, o.admin, security.Change.grant_role(security.Role.ORACLE_ADMIN, admin.pubkey())).ok
    failed(o.chain.send([o.oracle.set_status(admin.pubkey(), o.sol_feed, oracle.STATUS_TRADING)], [admin]), E["NotAuthority"])


def test_an_oracle_admin_cannot_adopt_a_feed_whose_authority_holds_the_role() -> None:
    o = oracle_venue()
    admin, other = grant_oracle_admin(o.chain, o.admin), grant_oracle_admin(o.chain, o.admin)
    assert o.create_feed(by=admin).ok
    before = o.raw(o.sol_feed)
    failed(o.chain.send([o.oracle.set_authority(other.pubkey(), o.sol_feed, other.pubkey())], [other]), E["NotAuthority"])
    assert o.raw(o.sol_feed) == before


# ---- randomized: the program equals the model --------------------------------------------------

@dataclass
class Model:
    """What the program should hold: each publisher's latest (price, conf, publish_time), the
    aggregate and its EMA."""

    quorum: int
    latest: list[tuple[int, int, int]] = field(default_factory=lambda: [(0, 0, 0)] * 4)
    price: int = 0
    conf: int = 0
    ema: tuple[int, int] = (0, 0)
    at: int = 0


publish_step = st.tuples(
    st.integers(0, 3),  # publisher: 0..2 honest, 3 the rogue
    st.integers(0, 4),  # seconds the clock advances first
    st.integers(0, 2),  # slots it advances
    st.integers(-MAX_AGE - 3, SKEW + 2),  # publish_time relative to the clock (some refused)
    st.integers(95_000_000, 105_000_000),  # an honest price
    st.integers(1, 10**13),  # a rogue price
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quorum=st.integers(1, 4), steps=st.lists(publish_step, min_size=10, max_size=40))
def test_aggregate_equals_the_model_and_an_honest_majority_bounds_it(quorum: int, steps: list[tuple[int, int, int, int, int, int]]) -> None:
    o, keys = make_feed(4, quorum)
    m = Model(quorum)
    for who, secs, slots, offset, honest_price, rogue_price in steps:
        o.chain.advance(slots, secs)
        now = o.chain.clock.unix_timestamp
        t = now + offset
        price = rogue_price if who == 3 else honest_price
        conf = price // 2_000
        before = o.raw(o.sol_feed)
        r = o.submit_price(price, conf, at=t, publisher=keys[who])
        if t <= m.latest[who][2]:
            failed(r, E["NonIncreasingPublishTime"])
        elif t > now + SKEW:
            failed(r, E["PublishTimeInFuture"])
        else:
            assert r.ok, r.logs
            m.latest[who] = (price, conf, t)
            agg = aggregate(m.latest, now, MAX_AGE, quorum)
            if agg is not None:
                m.ema = (agg[0], agg[1]) if m.at == 0 else ema_step(*m.ema, agg[0], agg[1], now - m.at, WINDOW)
                m.price, m.conf, m.at = agg[0], agg[1], now
                fresh = [i for i, (_, _, pt) in enumerate(m.latest) if now - pt <= MAX_AGE and pt != 0]
                honest = [m.latest[i][0] for i in fresh if i != 3]
                if 2 * len(honest) > len(fresh):
                    assert min(honest) <= m.price <= max(honest)
            feed = o.feed_state()
            assert (feed.price, feed.conf, (feed.ema_price, feed.ema_conf), feed.publish_time) == (m.price, m.conf, m.ema, m.at)
            assert [(e.price, e.conf, e.publish_time) for e in feed.latest] == m.latest
            continue
        assert o.raw(o.sol_feed) == before
