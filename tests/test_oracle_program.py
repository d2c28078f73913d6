"""qd-oracle in the real runtime (LiteSVM): every instruction's success path, its error paths, and
the attack classes that apply (missing signer, missing ORACLE_ADMIN role, wrong owner, type
cosplay, re-initialization, non-canonical PDA, duplicate accounts, fake oracles, wrong program
id). Multi-publisher aggregation and the audit's attacks: tests/test_oracle_aggregate.py."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import Chain, TxResult
from quantdesk.clients import idl, oracle, pyth, security
from quantdesk.clients.oracle import Action, GuardConfig

from quantdesk.world import failed, grant_oracle_admin, with_meta

SYMBOL = "SOL/USD"
T0 = 1_700_000_000

E = idl.error_codes(oracle.NAME)


class Oracle:
    """A chain with qd-security initialized (the payer is its super-admin, so it holds
    ORACLE_ADMIN and is the feed authority), a feed address and its publisher."""

    def __init__(self) -> None:
        self.chain = Chain(unix_timestamp=T0)
        self.ix = oracle.OracleInstructions()
        self.authority = self.chain.payer
        assert self.chain.send([security.SecurityInstructions().initialize(self.authority.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY)]).ok
        self.publisher = self.chain.keypair()
        self.feed = oracle.feed_address(SYMBOL)

    def init(self, symbol: str = SYMBOL, expo: int = -6, window: int = 60, publishers: list[Pubkey] | None = None,
             min_publishers: int = 1, max_age: int = oracle.DEFAULT_MAX_PUBLISHER_AGE_SECS, by: Keypair | None = None) -> TxResult:
        a = by or self.authority
        ix = self.ix.initialize_feed(a.pubkey(), symbol, expo, window, publishers or [self.publisher.pubkey()], min_publishers, max_age)
        return self.chain.send([ix], [a])

    def oracle_admin(self) -> Keypair:
        return grant_oracle_admin(self.chain, self.authority)

    def govern(self, ix: Instruction, proposer: Keypair | None = None) -> TxResult:
        """A timelocked feed change `ix` proposed by `proposer` (the super-admin, who holds
        ORACLE_ADMIN, by default), executed after the delay."""
        return security.enact_instruction(self.chain, proposer or self.authority, ix)

    def publish(self, price: int, conf: int = 10_000, at: int | None = None, publisher: Keypair | None = None) -> TxResult:
        p = publisher or self.publisher
        t = self.chain.clock.unix_timestamp if at is None else at
        return self.chain.send([self.ix.publish(p.pubkey(), self.feed, price, conf, t)], [p])

    def state(self) -> oracle.Feed:
        account = self.chain.account(self.feed)
        assert account is not None
        return oracle.decode_feed(self.feed, bytes(account.data))

    def read(self, address: Pubkey, action: Action = Action.TRADE, guard: GuardConfig | None = None) -> TxResult:
        return self.chain.send([self.ix.read_price(address, action, guard)])

    def snapshot(self) -> bytes:
        account = self.chain.account(self.feed)
        return bytes(account.data) if account else b""


@pytest.fixture
def o() -> Oracle:
    return Oracle()


@pytest.fixture
def live(o: Oracle) -> Oracle:
    assert o.init().ok
    return o


# ---- initialize_feed -----------------------------------------------------------------------

def test_initialize_creates_the_feed_pda_with_defaults_and_an_event(o: Oracle) -> None:
    r = o.init(publishers=[o.publisher.pubkey(), Keypair().pubkey()])
    assert r.ok, r.logs
    account = o.chain.account(o.feed)
    assert account is not None and account.owner == oracle.PROGRAM_ID and len(account.data) == 768
    feed = o.state()
    assert (feed.symbol, feed.expo, feed.status, feed.ema_window_secs) == (SYMBOL, -6, oracle.STATUS_TRADING, 60)
    assert feed.authority == o.authority.pubkey() and len(feed.publishers) == 2
    assert (feed.min_publishers, feed.max_publisher_age_secs, feed.price, feed.publish_time) == (1, 20, 0, 0)
    assert feed.latest == [oracle.PublisherPrice(0, 0, 0, 0)] * 2
    assert feed.guards[Action.TRADE] == GuardConfig(50, 20, 200, 1_000, True)
    [event] = oracle.parse_events(r.logs)
    assert event.name == "FeedInitialized" and event.data.feed == o.feed and event.data.expo == -6


def test_initialize_twice_is_refused(live: Oracle) -> None:
    before = live.snapshot()
    failed(live.init(), E["AlreadyInitialized"])
    assert live.snapshot() == before


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"symbol": "SOL USD"}, E["InvalidSymbol"]),
        ({"expo": 1}, E["InvalidExponent"]),
        ({"expo": -13}, E["InvalidExponent"]),
        ({"window": 0}, E["InvalidEmaWindow"]),
        ({"window": 86_401}, E["InvalidEmaWindow"]),
        ({"min_publishers": 0}, E["InvalidQuorum"]),
        ({"min_publishers": 2}, E["InvalidQuorum"]),  # more than the one publisher
        ({"max_age": 0}, E["InvalidPublisherAge"]),
        ({"max_age": 3_601}, E["InvalidPublisherAge"]),
    ],
)
def test_initialize_validates_arguments(o: Oracle, kwargs: dict[str, object], code: int) -> None:
    symbol = str(kwargs.pop("symbol", SYMBOL))
    if " " in symbol:  # the client refuses bad symbols itself; forge the bytes
        ix = o.ix.initialize_feed(o.authority.pubkey(), "SOL_USD", -6, 60, [o.publisher.pubkey()])
        data = bytes(ix.data).replace(b"SOL_USD", symbol.encode())
        failed(o.chain.send([Instruction(ix.program_id, data, ix.accounts)]), code)
    else:
        failed(o.init(**kwargs), code)  # type: ignore[arg-type]
    assert o.chain.account(o.feed) is None


def test_initialize_publisher_lists_are_bounded_and_distinct(o: Oracle) -> None:
    failed(o.init(publishers=[Keypair().pubkey() for _ in range(9)]), E["TooManyPublishers"])
    p = Keypair().pubkey()
    failed(o.init(publishers=[p, p]), E["DuplicatePublisher"])
    failed(o.init(publishers=[Pubkey.default()]), E["DuplicatePublisher"])


def test_initialize_needs_the_authority_signature(o: Oracle) -> None:
    other = o.chain.keypair()
    ix = with_meta(o.ix.initialize_feed(other.pubkey(), SYMBOL, -6, 60, [o.publisher.pubkey()]), "authority", signer=False)
    failed(o.chain.send([ix]), E["MissingSigner"])


def test_initialize_refuses_a_fake_security_config(o: Oracle) -> None:
    real = o.chain.account(security.CONFIG)
    assert real is not None
    # The same bytes (naming an attacker super-admin) at another address, or owned by another program.
    fake = Keypair().pubkey()
    o.chain.set_account(fake, Account(real.lamports, bytes(real.data), security.PROGRAM_ID))
    base = o.ix.initialize_feed(o.authority.pubkey(), SYMBOL, -6, 60, [o.publisher.pubkey()])
    failed(o.chain.send([with_meta(base, "security_config", key=fake)]), E["WrongAddress"])
    o.chain.set_account(security.CONFIG, Account(real.lamports, bytes(real.data), Keypair().pubkey()))
    failed(o.chain.send([base]), E["WrongOwner"])
    assert o.chain.account(o.feed) is None


def test_initialize_refuses_an_address_that_is_not_the_canonical_pda(o: Oracle) -> None:
    symbol = oracle.encode_symbol(SYMBOL)
    canonical, bump = Pubkey.find_program_address([oracle.FEED_SEED, symbol], oracle.PROGRAM_ID)
    # Another bump's address for the same seeds (a second feed for one symbol) is refused.
    for other_bump in range(bump - 1, 0, -1):
        try:
            other = Pubkey.create_program_address([oracle.FEED_SEED, symbol, bytes([other_bump])], oracle.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        ix = with_meta(o.ix.initialize_feed(o.authority.pubkey(), SYMBOL, -6, 60, [o.publisher.pubkey()]), "feed", key=other)
        failed(o.chain.send([ix]), E["WrongAddress"])
        break
    else:
        pytest.fail("no non-canonical bump found")
    # The PDA of another symbol is refused too.
    ix = with_meta(o.ix.initialize_feed(o.authority.pubkey(), SYMBOL, -6, 60, [o.publisher.pubkey()]), "feed", key=oracle.feed_address("BTC/USD"))
    failed(o.chain.send([ix]), E["WrongAddress"])
    assert o.chain.account(canonical) is None


def test_initialize_refuses_a_fake_system_program_and_duplicate_accounts(o: Oracle) -> None:
    base = o.ix.initialize_feed(o.authority.pubkey(), SYMBOL, -6, 60, [o.publisher.pubkey()])
    failed(o.chain.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    failed(o.chain.send([with_meta(base, "feed", key=o.authority.pubkey())]), E["DuplicateAccount"])
    failed(o.chain.send([with_meta(base, "feed", writable=False)]), E["NotWritable"])


def test_a_copy_of_the_program_at_another_address_refuses_to_run(o: Oracle) -> None:
    impostor = Keypair().pubkey()
    o.chain.deploy("qd_oracle", impostor)
    ix = o.ix.read_price(o.feed, Action.TRADE)
    failed(o.chain.send([Instruction(impostor, ix.data, ix.accounts)]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(live: Oracle) -> None:
    ix = live.ix.publish(live.publisher.pubkey(), live.feed, 1, 0, T0)
    failed(live.chain.send([Instruction(ix.program_id, bytes(ix.data)[:-1], ix.accounts)], [live.publisher]), E["InvalidInstructionData"])
    failed(live.chain.send([Instruction(ix.program_id, bytes(ix.data) + b"\0", ix.accounts)], [live.publisher]), E["InvalidInstructionData"])
    failed(live.chain.send([Instruction(ix.program_id, b"\x01" * 8, ix.accounts)], [live.publisher]), E["InvalidInstruction"])
    failed(live.chain.send([Instruction(ix.program_id, bytes(ix.data), ix.accounts[:1])], [live.publisher]), E["NotEnoughAccounts"])


# ---- publish ---------------------------------------------------------------------------------

def test_publish_updates_price_ema_and_emits_an_event(live: Oracle) -> None:
    r = live.publish(150_000_000, 50_000)
    assert r.ok, r.logs
    feed = live.state()
    assert (feed.price, feed.conf, feed.ema_price, feed.ema_conf) == (150_000_000, 50_000, 150_000_000, 50_000)
    assert (feed.publish_time, feed.publish_slot) == (T0, live.chain.clock.slot)
    # 60 s later with a 60 s window the EMA moves halfway: weight = dt / (dt + window).
    live.chain.advance(slots=150, seconds=60)
    r = live.publish(160_000_000, 70_000)
    assert r.ok
    feed = live.state()
    assert (feed.ema_price, feed.ema_conf, feed.publish_time) == (155_000_000, 60_000, T0 + 60)
    assert feed.latest == [oracle.PublisherPrice(160_000_000, 70_000, T0 + 60, live.chain.clock.slot)]
    [event] = oracle.parse_events(r.logs)
    assert event.name == "PricePublished"
    assert (event.data.price, event.data.ema_price, event.data.publisher) == (160_000_000, 155_000_000, live.publisher.pubkey())
    assert (event.data.aggregated, event.data.num_aggregated, event.data.agg_price, event.data.agg_conf) == (True, 1, 160_000_000, 70_000)


def test_ema_rounds_confidence_up_and_price_toward_zero(live: Oracle) -> None:
    assert live.publish(100, 10).ok
    live.chain.advance(1, 60)
    assert live.publish(103, 13).ok  # +1.5 each
    feed = live.state()
    assert (feed.ema_price, feed.ema_conf) == (101, 12)


def test_publish_time_must_increase_and_not_run_ahead(live: Oracle) -> None:
    assert live.publish(100_000_000).ok
    before = live.snapshot()
    failed(live.publish(101_000_000, at=T0), E["NonIncreasingPublishTime"])
    failed(live.publish(101_000_000, at=T0 - 5), E["NonIncreasingPublishTime"])
    failed(live.publish(101_000_000, at=T0 + oracle.MAX_PUBLISH_SKEW_SECS + 1), E["PublishTimeInFuture"])
    assert live.snapshot() == before
    assert live.publish(101_000_000, at=T0 + oracle.MAX_PUBLISH_SKEW_SECS).ok  # within the skew
    # The aggregate is stamped with cluster time, whatever the publisher's stamp.
    assert live.state().publish_time == T0


def test_publish_rejects_bad_prices(live: Oracle) -> None:
    failed(live.publish(0), E["InvalidPrice"])
    failed(live.publish(-5), E["InvalidPrice"])
    failed(live.publish(100, conf=100), E["InvalidConfidence"])


def test_only_listed_publishers_may_publish_and_they_must_sign(live: Oracle) -> None:
    stranger = live.chain.keypair()
    failed(live.publish(100_000_000, publisher=stranger), E["NotPublisher"])
    ix = with_meta(live.ix.publish(live.publisher.pubkey(), live.feed, 100_000_000, 1, T0), "publisher", signer=False)
    failed(live.chain.send([ix]), E["MissingSigner"])


def test_publish_refuses_fake_feeds(live: Oracle) -> None:
    real = live.chain.account(live.feed)
    assert real is not None
    fake = Keypair().pubkey()
    ix = live.ix.publish(live.publisher.pubkey(), fake, 1_000_000, 1, T0)
    # Same bytes owned by another program (a forged feed listing the attacker as publisher).
    live.chain.set_account(fake, Account(real.lamports, bytes(real.data), Keypair().pubkey()))
    failed(live.chain.send([ix], [live.publisher]), E["WrongOwner"])
    # Owned by qd-oracle but another type (type cosplay): wrong discriminator.
    live.chain.set_account(fake, Account(real.lamports, b"\x99" * 8 + bytes(real.data)[8:], oracle.PROGRAM_ID))
    failed(live.chain.send([ix], [live.publisher]), E["WrongDiscriminator"])
    # Right discriminator, wrong size.
    live.chain.set_account(fake, Account(real.lamports, bytes(real.data)[:200], oracle.PROGRAM_ID))
    failed(live.chain.send([ix], [live.publisher]), E["WrongAccountSize"])
    # Read-only feed.
    failed(live.chain.send([with_meta(live.ix.publish(live.publisher.pubkey(), live.feed, 1_000_000, 1, T0), "feed", writable=False)], [live.publisher]), E["NotWritable"])


# ---- authority actions -------------------------------------------------------------------------

def test_set_publishers_replaces_the_list(live: Oracle) -> None:
    new = live.chain.keypair()
    r = live.govern(live.ix.set_publishers(live.feed, [new.pubkey()]))
    assert r.ok
    assert live.state().publishers == [new.pubkey()]
    assert oracle.parse_events(r.logs)[0].data.value == 1
    failed(live.publish(100_000_000), E["NotPublisher"])
    assert live.publish(100_000_000, publisher=new).ok


def test_set_publishers_keeps_latest_prices_with_their_keys_and_sets_the_quorum(live: Oracle) -> None:
    assert live.publish(100_000_000).ok
    kept = live.state().latest[0]
    new = live.chain.keypair()
    # The old publisher moves to index 1; the new key in index 0 starts empty, not with its price.
    assert live.govern(live.ix.set_publishers(live.feed, [new.pubkey(), live.publisher.pubkey()], 2, 30)).ok
    feed = live.state()
    assert feed.latest == [oracle.PublisherPrice(0, 0, 0, 0), kept]
    assert (feed.min_publishers, feed.max_publisher_age_secs) == (2, 30)
    before = live.snapshot()
    failed(live.govern(live.ix.set_publishers(live.feed, [new.pubkey()], 2, 30)), E["InvalidQuorum"])
    failed(live.govern(live.ix.set_publishers(live.feed, [new.pubkey()], 1, 0)), E["InvalidPublisherAge"])
    assert live.snapshot() == before


def test_set_authority_needs_both_signatures(live: Oracle) -> None:
    new = live.oracle_admin()
    unsigned = with_meta(live.ix.set_authority(live.authority.pubkey(), live.feed, new.pubkey()), "new_authority", signer=False)
    failed(live.chain.send([unsigned]), E["MissingSigner"])
    # A stranger cannot hand the feed to itself, even co-signing as the new authority; nor can
    # another oracle admin take a feed whose authority still holds the role.
    stranger = live.chain.keypair()
    grab = live.ix.set_authority(stranger.pubkey(), live.feed, stranger.pubkey())
    failed(live.chain.send([grab], payer=stranger), E["MissingRole"])
    failed(live.chain.send([live.ix.set_authority(new.pubkey(), live.feed, new.pubkey())], [new]), E["NotAuthority"])
    # The feed is only handed to an oracle admin.
    outsider = live.chain.keypair()
    failed(live.chain.send([live.ix.set_authority(live.authority.pubkey(), live.feed, outsider.pubkey())], [outsider]), E["MissingRole"])
    assert live.chain.send([live.ix.set_authority(live.authority.pubkey(), live.feed, new.pubkey())], [new]).ok
    assert live.state().authority == new.pubkey()
    # The old authority has lost control.
    failed(live.chain.send([live.ix.set_status(live.authority.pubkey(), live.feed, 0)]), E["NotAuthority"])
    assert live.chain.send([live.ix.set_status(new.pubkey(), live.feed, 0)], [new]).ok


def test_set_status_refuses_anyone_but_the_authority(live: Oracle) -> None:
    stranger = live.chain.keypair()
    other_admin = live.oracle_admin()

    def halt(who: Pubkey) -> Instruction:
        return live.ix.set_status(who, live.feed, 0)

    before = live.snapshot()
    failed(live.chain.send([halt(stranger.pubkey())], [stranger], payer=stranger), E["MissingRole"])
    failed(live.chain.send([halt(other_admin.pubkey())], [other_admin], payer=other_admin), E["NotAuthority"])
    failed(live.chain.send([with_meta(halt(live.authority.pubkey()), "authority", signer=False)], [stranger], payer=stranger), E["MissingSigner"])
    assert live.snapshot() == before


@pytest.mark.parametrize("make", [
    lambda o: o.ix.set_publishers(o.feed, [o.publisher.pubkey()]),
    lambda o: o.ix.set_guards(o.feed, {a: GuardConfig(1, 1, 1, 0, False) for a in Action}),
])
def test_publishers_and_guards_change_only_through_the_timelock(live: Oracle, make: Callable[[Oracle], Instruction]) -> None:
    """Who publishes sets the price: not even the feed's authority swaps them at once. Direct
    calls (with the authority PDA's meta unsigned, or another signer in its place) are refused;
    a stranger's proposal is refused; the oracle admin's proposal runs after the delay."""
    stranger = live.chain.keypair()
    before = live.snapshot()
    failed(live.chain.send([with_meta(make(live), "timelock", signer=False)]), E["MissingSigner"])
    failed(live.chain.send([with_meta(make(live), "timelock", key=live.authority.pubkey())]), E["NotTimelock"])
    failed(live.govern(make(live), stranger), E["MissingRole"])
    assert live.snapshot() == before
    assert live.govern(make(live)).ok


def test_set_guards_validates_and_applies_per_action(live: Oracle) -> None:
    guards = {a: GuardConfig(10 + a, 20, 300, 500, a != Action.SETTLEMENT) for a in Action}
    assert live.govern(live.ix.set_guards(live.feed, guards)).ok
    assert live.state().guards == guards
    for bad in (GuardConfig(0, 20, 300, 0, True), GuardConfig(10, 0, 300, 0, True), GuardConfig(10, 20, 0, 0, True), GuardConfig(10, 20, 10_001, 0, True)):
        failed(live.govern(live.ix.set_guards(live.feed, {**guards, Action.MARGIN: bad})), E["InvalidGuardConfig"])
    assert live.state().guards == guards


def test_set_status_halts_trading_reads(live: Oracle) -> None:
    assert live.publish(100_000_000).ok
    failed(live.chain.send([live.ix.set_status(live.authority.pubkey(), live.feed, 2)]), E["InvalidStatus"])
    assert live.chain.send([live.ix.set_status(live.authority.pubkey(), live.feed, oracle.STATUS_HALTED)]).ok
    failed(live.read(live.feed, Action.TRADE), E["OracleNotTrading"])
    assert live.read(live.feed, Action.SETTLEMENT).ok  # settlement does not require trading status


# ---- read_price: our feed ------------------------------------------------------------------------

def test_read_price_returns_the_normalized_price(live: Oracle) -> None:
    assert live.publish(150_123_456, 50_000).ok
    r = live.read(live.feed)
    assert r.ok, r.logs
    p = oracle.decode_normalized_price(r.return_data)
    assert (p.price, p.conf, p.source, p.trading) == (150_123_456, 50_000, oracle.Source.QUANTDESK, True)


def test_read_price_normalizes_other_exponents(o: Oracle) -> None:
    assert o.init(expo=-8).ok
    assert o.publish(12_345_678_901, conf=101).ok  # 123.45678901 +- 0.00000101
    p = oracle.decode_normalized_price(o.read(o.feed).return_data)
    assert (p.price, p.conf) == (123_456_789, 2)  # price toward zero, confidence up


def test_read_price_judges_staleness_per_action(live: Oracle) -> None:
    assert live.publish(100_000_000).ok
    live.chain.advance(slots=51, seconds=0)
    failed(live.read(live.feed, Action.TRADE), E["StaleOracleSlots"])
    assert live.read(live.feed, Action.LIQUIDATION).ok  # 150-slot tolerance
    live.chain.advance(slots=0, seconds=61)
    failed(live.read(live.feed, Action.LIQUIDATION), E["StaleOracleTime"])


def test_read_price_judges_confidence_and_ema_deviation(live: Oracle) -> None:
    assert live.publish(100_000_000, conf=3_000_000).ok  # 3% > 2% trade limit, < 5% margin
    failed(live.read(live.feed, Action.TRADE), E["ConfidenceTooWide"])
    assert live.read(live.feed, Action.MARGIN).ok
    live.chain.advance(1, 1)
    assert live.publish(150_000_000, conf=10_000).ok  # EMA lags far behind a 50% jump
    failed(live.read(live.feed, Action.TRADE), E["EmaDeviation"])
    assert live.read(live.feed, Action.LIQUIDATION).ok  # no EMA limit for liquidations


def test_read_price_of_a_feed_never_published_is_refused(live: Oracle) -> None:
    failed(live.read(live.feed), E["NonPositivePrice"])


def test_read_price_rejects_unknown_actions(live: Oracle) -> None:
    ix = live.ix.read_price(live.feed, Action.TRADE)
    data = bytearray(bytes(ix.data))
    data[8] = 9
    failed(live.chain.send([Instruction(ix.program_id, bytes(data), ix.accounts)]), E["InvalidAction"])


# ---- read_price: Pyth accounts and fake oracles --------------------------------------------------

GUARD = GuardConfig(25, 30, 500, 0, True)


def put(o: Oracle, owner: Pubkey, data: bytes) -> Pubkey:
    address = Keypair().pubkey()
    o.chain.set_account(address, Account(10**9, data, owner))
    return address


def legacy(o: Oracle, **overrides: int) -> bytes:
    args: dict[int | str, int] = {"price": 6_512_345_678, "conf": 1_234_567, "expo": -8, "pub_slot": o.chain.clock.slot, "timestamp": o.chain.clock.unix_timestamp}
    args.update(overrides)
    return pyth.legacy_price_account(**args)  # type: ignore[arg-type]


def receiver(o: Oracle, verification: pyth.Verification) -> bytes:
    return pyth.price_update_v2(feed_id=bytes(range(32)), price=6_512_345_678, conf=1_234_567, exponent=-8,
                                publish_time=o.chain.clock.unix_timestamp, posted_slot=o.chain.clock.slot,
                                verification=verification, num_signatures=5)


@pytest.mark.parametrize("owner", [pyth.PYTH_ORACLE_MAINNET, pyth.PYTH_ORACLE_DEVNET])
def test_reads_pyth_legacy_price_accounts(o: Oracle, owner: Pubkey) -> None:
    r = o.read(put(o, owner, legacy(o)), Action.MARGIN, GUARD)
    assert r.ok, r.logs
    p = oracle.decode_normalized_price(r.return_data)
    assert (p.price, p.conf, p.source) == (65_123_456, 12_346, oracle.Source.PYTH_LEGACY)


@pytest.mark.parametrize(("verification", "full"), [("full", True), ("partial", False)])
def test_reads_pyth_price_update_v2_in_both_encodings(o: Oracle, verification: pyth.Verification, full: bool) -> None:
    r = o.read(put(o, pyth.PYTH_RECEIVER, receiver(o, verification)), Action.TRADE, GUARD)
    assert r.ok, r.logs
    p = oracle.decode_normalized_price(r.return_data)
    assert (p.price, p.conf, p.verified_full, p.source) == (65_123_456, 12_346, full, oracle.Source.PYTH_RECEIVER)


def test_a_foreign_oracle_needs_a_guard(o: Oracle) -> None:
    failed(o.read(put(o, pyth.PYTH_RECEIVER, receiver(o, "full")), Action.TRADE), E["MissingGuard"])


def test_fake_oracles_are_refused(o: Oracle) -> None:
    attacker = Keypair().pubkey()
    # Perfect Pyth bytes owned by some other program: refused on the owner.
    failed(o.read(put(o, attacker, legacy(o)), Action.TRADE, GUARD), E["WrongOracleOwner"])
    failed(o.read(put(o, attacker, receiver(o, "full")), Action.TRADE, GUARD), E["WrongOracleOwner"])
    # Pyth-owned but not a price account, wrong version, truncated, garbage.
    failed(o.read(put(o, pyth.PYTH_ORACLE_MAINNET, legacy(o, atype=2)), Action.TRADE, GUARD), E["WrongOracleAccountType"])
    failed(o.read(put(o, pyth.PYTH_ORACLE_MAINNET, legacy(o, version=1)), Action.TRADE, GUARD), E["BadOracleVersion"])
    failed(o.read(put(o, pyth.PYTH_ORACLE_MAINNET, legacy(o)[:100]), Action.TRADE, GUARD), E["OracleAccountTooShort"])
    failed(o.read(put(o, pyth.PYTH_RECEIVER, receiver(o, "full")[:90]), Action.TRADE, GUARD), E["OracleAccountTooShort"])
    failed(o.read(put(o, pyth.PYTH_RECEIVER, bytes(range(134))), Action.TRADE, GUARD), E["UnknownOracleFormat"])
    failed(o.read(put(o, pyth.PYTH_ORACLE_MAINNET, b""), Action.TRADE, GUARD), E["OracleAccountTooShort"])


def test_pyth_guards_apply(o: Oracle) -> None:
    halted = put(o, pyth.PYTH_ORACLE_MAINNET, legacy(o, status=0))
    failed(o.read(halted, Action.TRADE, GUARD), E["OracleNotTrading"])
    old = put(o, pyth.PYTH_ORACLE_MAINNET, legacy(o))
    o.chain.advance(slots=26)
    failed(o.read(old, Action.TRADE, GUARD), E["StaleOracleSlots"])
    failed(o.read(old, Action.TRADE, GuardConfig(0, 30, 500, 0, True)), E["InvalidGuardConfig"])
