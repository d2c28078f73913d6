"""qd-oracle in the real runtime (LiteSVM): every instruction's success path, its error paths, and
the attack classes that apply (missing signer, missing ORACLE_ADMIN role, wrong owner, type
cosplay, re-initialization, non-canonical PDA, duplicate accounts, fake oracles, wrong program
id). Multi-publisher aggregation and the audit's attacks: tests/test_oracle_aggregate.py."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from quantdesk.clients import idl, oracle, pyth, security
from quantdesk.clients.oracle import Action, GuardConfig
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.world import T0, Venue, failed, forge, grant_oracle_admin, with_meta

SYMBOL = "SOL/USD"

E = idl.error_codes(oracle.NAME)


@pytest.fixture
def venue() -> Venue:
    """qd-security initialized (the payer, its super-admin, holds ORACLE_ADMIN and is the feed
    authority); the SOL/USD feed not created yet."""
    return Venue(init_core=False, quote_params=None, markets=())


@pytest.fixture
def feed_venue(venue: Venue) -> Venue:
    """The SOL/USD feed created, with the venue's publisher."""
    assert venue.create_feed().ok
    return venue


# ---- initialize_feed -----------------------------------------------------------------------

def test_initialize_creates_the_feed_pda_with_defaults_and_an_event(venue: Venue) -> None:
    r = venue.create_feed(publishers=[venue.publisher.pubkey(), Keypair().pubkey()])
    assert r.ok, r.logs
    account = venue.chain.account(venue.sol_feed)
    assert account is not None and account.owner == oracle.PROGRAM_ID and len(account.data) == 768
    feed = venue.feed_state()
    assert (feed.symbol, feed.expo, feed.status, feed.ema_window_secs) == (SYMBOL, -6, oracle.STATUS_TRADING, 60)
    assert feed.authority == venue.admin.pubkey() and len(feed.publishers) == 2
    assert (feed.min_publishers, feed.max_publisher_age_secs, feed.price, feed.publish_time) == (1, 20, 0, 0)
    assert feed.latest == [oracle.PublisherPrice(0, 0, 0, 0)] * 2
    assert feed.guards[Action.TRADE] == GuardConfig(50, 20, 200, 1_000, True)
    [event] = oracle.parse_events(r.logs)
    assert event.name == "FeedInitialized" and event.data.feed == venue.sol_feed and event.data.expo == -6


def test_initialize_twice_is_refused(feed_venue: Venue) -> None:
    before = feed_venue.raw(feed_venue.sol_feed)
    failed(feed_venue.create_feed(), E["AlreadyInitialized"])
    assert feed_venue.raw(feed_venue.sol_feed) == before


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
def test_initialize_validates_arguments(venue: Venue, kwargs: dict[str, object], code: int) -> None:
    symbol = str(kwargs.pop("symbol", SYMBOL))
    if " " in symbol:  # the client refuses bad symbols itself; forge the bytes
        ix = venue.oracle.initialize_feed(venue.admin.pubkey(), "SOL_USD", -6, 60, [venue.publisher.pubkey()])
        data = bytes(ix.data).replace(b"SOL_USD", symbol.encode())
        failed(venue.chain.send([Instruction(ix.program_id, data, ix.accounts)]), code)
    else:
        failed(venue.create_feed(**kwargs), code)  # type: ignore[arg-type]
    assert venue.chain.account(venue.sol_feed) is None


def test_initialize_publisher_lists_are_bounded_and_distinct(venue: Venue) -> None:
    failed(venue.create_feed(publishers=[Keypair().pubkey() for _ in range(9)]), E["TooManyPublishers"])
    p = Keypair().pubkey()
    failed(venue.create_feed(publishers=[p, p]), E["DuplicatePublisher"])
    failed(venue.create_feed(publishers=[Pubkey.default()]), E["DuplicatePublisher"])


def test_initialize_needs_the_authority_signature(venue: Venue) -> None:
    other = venue.chain.keypair()
    ix = with_meta(venue.oracle.initialize_feed(other.pubkey(), SYMBOL, -6, 60, [venue.publisher.pubkey()]), "authority", signer=False)
    failed(venue.chain.send([ix]), E["MissingSigner"])


def test_initialize_refuses_a_fake_security_config(venue: Venue) -> None:
    real = venue.chain.account(security.CONFIG)
    assert real is not None
    # The same bytes (naming an attacker super-admin) at another address, or owned by another program.
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(real.lamports, bytes(real.data), security.PROGRAM_ID))
    base = venue.oracle.initialize_feed(venue.admin.pubkey(), SYMBOL, -6, 60, [venue.publisher.pubkey()])
    failed(venue.chain.send([with_meta(base, "security_config", key=fake)]), E["WrongAddress"])
    venue.chain.set_account(security.CONFIG, Account(real.lamports, bytes(real.data), Keypair().pubkey()))
    failed(venue.chain.send([base]), E["WrongOwner"])
    assert venue.chain.account(venue.sol_feed) is None


def test_initialize_refuses_an_address_that_is_not_the_canonical_pda(venue: Venue) -> None:
    symbol = oracle.encode_symbol(SYMBOL)
    canonical, bump = Pubkey.find_program_address([oracle.FEED_SEED, symbol], oracle.PROGRAM_ID)
    # Another bump's address for the same seeds (a second feed for one symbol) is refused.
    for other_bump in range(bump - 1, 0, -1):
        try:
            other = Pubkey.create_program_address([oracle.FEED_SEED, symbol, bytes([other_bump])], oracle.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        ix = with_meta(venue.oracle.initialize_feed(venue.admin.pubkey(), SYMBOL, -6, 60, [venue.publisher.pubkey()]), "feed", key=other)
        failed(venue.chain.send([ix]), E["WrongAddress"])
        break
    else:
        pytest.fail("no non-canonical bump found")
    # The PDA of another symbol is refused too.
    ix = with_meta(venue.oracle.initialize_feed(venue.admin.pubkey(), SYMBOL, -6, 60, [venue.publisher.pubkey()]), "feed", key=oracle.feed_address("BTC/USD"))
    failed(venue.chain.send([ix]), E["WrongAddress"])
    assert venue.chain.account(canonical) is None


def test_initialize_refuses_a_fake_system_program_and_duplicate_accounts(venue: Venue) -> None:
    base = venue.oracle.initialize_feed(venue.admin.pubkey(), SYMBOL, -6, 60, [venue.publisher.pubkey()])
    failed(venue.chain.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    failed(venue.chain.send([with_meta(base, "feed", key=venue.admin.pubkey())]), E["DuplicateAccount"])
    failed(venue.chain.send([with_meta(base, "feed", writable=False)]), E["NotWritable"])


def test_a_copy_of_the_program_at_another_address_refuses_to_run(venue: Venue) -> None:
    impostor = Keypair().pubkey()
    venue.chain.deploy("qd_oracle", impostor)
    ix = venue.oracle.read_price(venue.sol_feed, Action.TRADE)
    failed(venue.chain.send([Instruction(impostor, ix.data, ix.accounts)]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(feed_venue: Venue) -> None:
    ix = feed_venue.oracle.publish(feed_venue.publisher.pubkey(), feed_venue.sol_feed, 1, 0, T0)
    failed(feed_venue.chain.send([Instruction(ix.program_id, bytes(ix.data)[:-1], ix.accounts)], [feed_venue.publisher]), E["InvalidInstructionData"])
    failed(feed_venue.chain.send([Instruction(ix.program_id, bytes(ix.data) + b"\0", ix.accounts)], [feed_venue.publisher]), E["InvalidInstructionData"])
    failed(feed_venue.chain.send([Instruction(ix.program_id, b"\x01" * 8, ix.accounts)], [feed_venue.publisher]), E["InvalidInstruction"])
    failed(feed_venue.chain.send([Instruction(ix.program_id, bytes(ix.data), ix.accounts[:1])], [feed_venue.publisher]), E["NotEnoughAccounts"])


# ---- publish ---------------------------------------------------------------------------------

def test_publish_updates_price_ema_and_emits_an_event(feed_venue: Venue) -> None:
    r = feed_venue.submit_price(150_000_000, 50_000)
    assert r.ok, r.logs
    feed = feed_venue.feed_state()
    assert (feed.price, feed.conf, feed.ema_price, feed.ema_conf) == (150_000_000, 50_000, 150_000_000, 50_000)
    assert (feed.publish_time, feed.publish_slot) == (T0, feed_venue.chain.clock.slot)
    # 60 s later with a 60 s window the EMA moves halfway: weight = dt / (dt + window).
    feed_venue.chain.advance(slots=150, seconds=60)
    r = feed_venue.submit_price(160_000_000, 70_000)
    assert r.ok
    feed = feed_venue.feed_state()
    assert (feed.ema_price, feed.ema_conf, feed.publish_time) == (155_000_000, 60_000, T0 + 60)
    assert feed.latest == [oracle.PublisherPrice(160_000_000, 70_000, T0 + 60, feed_venue.chain.clock.slot)]
    [event] = oracle.parse_events(r.logs)
    assert event.name == "PricePublished"
    assert (event.data.price, event.data.ema_price, event.data.publisher) == (160_000_000, 155_000_000, feed_venue.publisher.pubkey())
    assert (event.data.aggregated, event.data.num_aggregated, event.data.agg_price, event.data.agg_conf) == (True, 1, 160_000_000, 70_000)


def test_ema_rounds_confidence_up_and_price_toward_zero(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(100, 10).ok
    feed_venue.chain.advance(1, 60)
    assert feed_venue.submit_price(103, 13).ok  # +1.5 each
    feed = feed_venue.feed_state()
    assert (feed.ema_price, feed.ema_conf) == (101, 12)


def test_publish_time_must_increase_and_not_run_ahead(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(100_000_000).ok
    before = feed_venue.raw(feed_venue.sol_feed)
    failed(feed_venue.submit_price(101_000_000, at=T0), E["NonIncreasingPublishTime"])
    failed(feed_venue.submit_price(101_000_000, at=T0 - 5), E["NonIncreasingPublishTime"])
    failed(feed_venue.submit_price(101_000_000, at=T0 + oracle.MAX_PUBLISH_SKEW_SECS + 1), E["PublishTimeInFuture"])
    assert feed_venue.raw(feed_venue.sol_feed) == before
    assert feed_venue.submit_price(101_000_000, at=T0 + oracle.MAX_PUBLISH_SKEW_SECS).ok  # within the skew
    # The aggregate is stamped with cluster time, whatever the publisher's stamp.
    assert feed_venue.feed_state().publish_time == T0


def test_publish_rejects_bad_prices(feed_venue: Venue) -> None:
    failed(feed_venue.submit_price(0), E["InvalidPublishedPrice"])
    failed(feed_venue.submit_price(-5), E["InvalidPublishedPrice"])
    failed(feed_venue.submit_price(100, conf=100), E["InvalidConfidence"])


def test_only_listed_publishers_may_publish_and_they_must_sign(feed_venue: Venue) -> None:
    stranger = feed_venue.chain.keypair()
    failed(feed_venue.submit_price(100_000_000, publisher=stranger), E["NotPublisher"])
    ix = with_meta(feed_venue.oracle.publish(feed_venue.publisher.pubkey(), feed_venue.sol_feed, 100_000_000, 1, T0), "publisher", signer=False)
    failed(feed_venue.chain.send([ix]), E["MissingSigner"])


def test_publish_refuses_fake_feeds(feed_venue: Venue) -> None:
    real = feed_venue.chain.account(feed_venue.sol_feed)
    assert real is not None
    fake = Keypair().pubkey()
    ix = feed_venue.oracle.publish(feed_venue.publisher.pubkey(), fake, 1_000_000, 1, T0)
    # Same bytes owned by another program (a forged feed listing the attacker as publisher).
    feed_venue.chain.set_account(fake, Account(real.lamports, bytes(real.data), Keypair().pubkey()))
    failed(feed_venue.chain.send([ix], [feed_venue.publisher]), E["WrongOwner"])
    # Owned by qd-oracle but another type (type cosplay): wrong discriminator.
    feed_venue.chain.set_account(fake, Account(real.lamports, b"\x99" * 8 + bytes(real.data)[8:], oracle.PROGRAM_ID))
    failed(feed_venue.chain.send([ix], [feed_venue.publisher]), E["WrongDiscriminator"])
    # Right discriminator, wrong size.
    feed_venue.chain.set_account(fake, Account(real.lamports, bytes(real.data)[:200], oracle.PROGRAM_ID))
    failed(feed_venue.chain.send([ix], [feed_venue.publisher]), E["WrongAccountSize"])
    # Read-only feed.
    failed(feed_venue.chain.send([with_meta(feed_venue.oracle.publish(feed_venue.publisher.pubkey(), feed_venue.sol_feed, 1_000_000, 1, T0), "feed", writable=False)], [feed_venue.publisher]), E["NotWritable"])


# ---- authority actions -------------------------------------------------------------------------

def test_set_publishers_replaces_the_list(feed_venue: Venue) -> None:
    new = feed_venue.chain.keypair()
    r = feed_venue.govern(feed_venue.oracle.set_publishers(feed_venue.sol_feed, [new.pubkey()]))
    assert r.ok
    assert feed_venue.feed_state().publishers == [new.pubkey()]
    assert oracle.parse_events(r.logs)[0].data.value == 1
    failed(feed_venue.submit_price(100_000_000), E["NotPublisher"])
    assert feed_venue.submit_price(100_000_000, publisher=new).ok


def test_set_publishers_keeps_latest_prices_with_their_keys_and_sets_the_quorum(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(100_000_000).ok
    kept = feed_venue.feed_state().latest[0]
    new = feed_venue.chain.keypair()
    # The old publisher moves to index 1; the new key in index 0 starts empty, not with its price.
    assert feed_venue.govern(feed_venue.oracle.set_publishers(feed_venue.sol_feed, [new.pubkey(), feed_venue.publisher.pubkey()], 2, 30)).ok
    feed = feed_venue.feed_state()
    assert feed.latest == [oracle.PublisherPrice(0, 0, 0, 0), kept]
    assert (feed.min_publishers, feed.max_publisher_age_secs) == (2, 30)
    before = feed_venue.raw(feed_venue.sol_feed)
    failed(feed_venue.govern(feed_venue.oracle.set_publishers(feed_venue.sol_feed, [new.pubkey()], 2, 30)), E["InvalidQuorum"])
    failed(feed_venue.govern(feed_venue.oracle.set_publishers(feed_venue.sol_feed, [new.pubkey()], 1, 0)), E["InvalidPublisherAge"])
    assert feed_venue.raw(feed_venue.sol_feed) == before


def test_set_authority_needs_both_signatures(feed_venue: Venue) -> None:
    new = grant_oracle_admin(feed_venue.chain, feed_venue.admin)
    unsigned = with_meta(feed_venue.oracle.set_authority(feed_venue.admin.pubkey(), feed_venue.sol_feed, new.pubkey()), "new_authority", signer=False)
    failed(feed_venue.chain.send([unsigned]), E["MissingSigner"])
    # A stranger cannot hand the feed to itself, even co-signing as the new authority; nor can
    # another oracle admin take a feed whose authority still holds the role.
    stranger = feed_venue.chain.keypair()
    grab = feed_venue.oracle.set_authority(stranger.pubkey(), feed_venue.sol_feed, stranger.pubkey())
    failed(feed_venue.chain.send([grab], payer=stranger), E["MissingRole"])
    failed(feed_venue.chain.send([feed_venue.oracle.set_authority(new.pubkey(), feed_venue.sol_feed, new.pubkey())], [new]), E["NotAuthority"])
    # The feed is only handed to an oracle admin.
    outsider = feed_venue.chain.keypair()
    failed(feed_venue.chain.send([feed_venue.oracle.set_authority(feed_venue.admin.pubkey(), feed_venue.sol_feed, outsider.pubkey())], [outsider]), E["MissingRole"])
    assert feed_venue.chain.send([feed_venue.oracle.set_authority(feed_venue.admin.pubkey(), feed_venue.sol_feed, new.pubkey())], [new]).ok
    assert feed_venue.feed_state().authority == new.pubkey()
    # The old authority has lost control.
    failed(feed_venue.chain.send([feed_venue.oracle.set_status(feed_venue.admin.pubkey(), feed_venue.sol_feed, 0)]), E["NotAuthority"])
    assert feed_venue.chain.send([feed_venue.oracle.set_status(new.pubkey(), feed_venue.sol_feed, 0)], [new]).ok


def test_set_status_refuses_anyone_but_the_authority(feed_venue: Venue) -> None:
    stranger = feed_venue.chain.keypair()
    other_admin = grant_oracle_admin(feed_venue.chain, feed_venue.admin)

    def halt(who: Pubkey) -> Instruction:
        return feed_venue.oracle.set_status(who, feed_venue.sol_feed, 0)

    before = feed_venue.raw(feed_venue.sol_feed)
    failed(feed_venue.chain.send([halt(stranger.pubkey())], [stranger], payer=stranger), E["MissingRole"])
    failed(feed_venue.chain.send([halt(other_admin.pubkey())], [other_admin], payer=other_admin), E["NotAuthority"])
    failed(feed_venue.chain.send([with_meta(halt(feed_venue.admin.pubkey()), "authority", signer=False)], [stranger], payer=stranger), E["MissingSigner"])
    assert feed_venue.raw(feed_venue.sol_feed) == before


@pytest.mark.parametrize("make", [
    lambda v: v.oracle.set_publishers(v.sol_feed, [v.publisher.pubkey()]),
    lambda v: v.oracle.set_guards(v.sol_feed, {a: GuardConfig(1, 1, 1, 0, False) for a in Action}),
])
def test_publishers_and_guards_change_only_through_the_timelock(feed_venue: Venue, make: Callable[[Venue], Instruction]) -> None:
    """Who publishes sets the price: not even the feed's authority swaps them at once. Direct
    calls (with the authority PDA's meta unsigned, or another signer in its place) are refused;
    a stranger's proposal is refused; the oracle admin's proposal runs after the delay."""
    stranger = feed_venue.chain.keypair()
    before = feed_venue.raw(feed_venue.sol_feed)
    failed(feed_venue.chain.send([with_meta(make(feed_venue), "timelock", signer=False)]), E["MissingSigner"])
    failed(feed_venue.chain.send([with_meta(make(feed_venue), "timelock", key=feed_venue.admin.pubkey())]), E["NotTimelock"])
    failed(feed_venue.govern(make(feed_venue), stranger), E["MissingRole"])
    assert feed_venue.raw(feed_venue.sol_feed) == before
    assert feed_venue.govern(make(feed_venue)).ok


def test_set_guards_validates_and_applies_per_action(feed_venue: Venue) -> None:
    guards = {a: GuardConfig(10 + a, 20, 300, 500, a != Action.SETTLEMENT) for a in Action}
    assert feed_venue.govern(feed_venue.oracle.set_guards(feed_venue.sol_feed, guards)).ok
    assert feed_venue.feed_state().guards == guards
    for bad in (GuardConfig(0, 20, 300, 0, True), GuardConfig(10, 0, 300, 0, True), GuardConfig(10, 20, 0, 0, True), GuardConfig(10, 20, 10_001, 0, True)):
        failed(feed_venue.govern(feed_venue.oracle.set_guards(feed_venue.sol_feed, {**guards, Action.MARGIN: bad})), E["InvalidGuardConfig"])
    assert feed_venue.feed_state().guards == guards


def test_set_status_halts_trading_reads(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(100_000_000).ok
    failed(feed_venue.chain.send([feed_venue.oracle.set_status(feed_venue.admin.pubkey(), feed_venue.sol_feed, 2)]), E["InvalidFeedStatus"])
    assert feed_venue.chain.send([feed_venue.oracle.set_status(feed_venue.admin.pubkey(), feed_venue.sol_feed, oracle.STATUS_HALTED)]).ok
    failed(feed_venue.read_price(feed_venue.sol_feed, Action.TRADE), E["OracleNotTrading"])
    assert feed_venue.read_price(feed_venue.sol_feed, Action.SETTLEMENT).ok  # settlement does not require trading status


# ---- read_price: our feed ------------------------------------------------------------------------

def test_read_price_returns_the_normalized_price(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(150_123_456, 50_000).ok
    r = feed_venue.read_price(feed_venue.sol_feed)
    assert r.ok, r.logs
    p = oracle.decode_normalized_price(r.return_data)
    assert (p.price, p.conf, p.source, p.trading) == (150_123_456, 50_000, oracle.Source.QUANTDESK, True)


def test_read_price_normalizes_other_exponents(venue: Venue) -> None:
    assert venue.create_feed(expo=-8).ok
    assert venue.submit_price(12_345_678_901, conf=101).ok  # 123.45678901 +- 0.00000101
    p = oracle.decode_normalized_price(venue.read_price(venue.sol_feed).return_data)
    assert (p.price, p.conf) == (123_456_789, 2)  # price toward zero, confidence up


def test_read_price_judges_staleness_per_action(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(100_000_000).ok
    feed_venue.chain.advance(slots=51, seconds=0)
    failed(feed_venue.read_price(feed_venue.sol_feed, Action.TRADE), E["StaleOracleSlots"])
    assert feed_venue.read_price(feed_venue.sol_feed, Action.LIQUIDATION).ok  # 150-slot tolerance
    feed_venue.chain.advance(slots=0, seconds=61)
    failed(feed_venue.read_price(feed_venue.sol_feed, Action.LIQUIDATION), E["StaleOracleTime"])


def test_read_price_judges_confidence_and_ema_deviation(feed_venue: Venue) -> None:
    assert feed_venue.submit_price(100_000_000, conf=3_000_000).ok  # 3% > 2% trade limit, < 5% margin
    failed(feed_venue.read_price(feed_venue.sol_feed, Action.TRADE), E["ConfidenceTooWide"])
    assert feed_venue.read_price(feed_venue.sol_feed, Action.MARGIN).ok
    feed_venue.chain.advance(1, 1)
    assert feed_venue.submit_price(150_000_000, conf=10_000).ok  # EMA lags far behind a 50% jump
    failed(feed_venue.read_price(feed_venue.sol_feed, Action.TRADE), E["EmaDeviation"])
    assert feed_venue.read_price(feed_venue.sol_feed, Action.LIQUIDATION).ok  # no EMA limit for liquidations


def test_read_price_of_a_feed_never_published_is_refused(feed_venue: Venue) -> None:
    failed(feed_venue.read_price(feed_venue.sol_feed), E["NonPositivePrice"])


def test_read_price_rejects_unknown_actions(feed_venue: Venue) -> None:
    ix = feed_venue.oracle.read_price(feed_venue.sol_feed, Action.TRADE)
    data = bytearray(bytes(ix.data))
    data[8] = 9
    failed(feed_venue.chain.send([Instruction(ix.program_id, bytes(data), ix.accounts)]), E["InvalidAction"])


# ---- read_price: Pyth accounts and fake oracles --------------------------------------------------

GUARD = GuardConfig(25, 30, 500, 0, True)


def put(venue: Venue, owner: Pubkey, data: bytes) -> Pubkey:
    return forge(venue.chain, data, owner, 10**9)


def legacy(venue: Venue, **overrides: int) -> bytes:
    args: dict[int | str, int] = {"price": 6_512_345_678, "conf": 1_234_567, "expo": -8, "pub_slot": venue.chain.clock.slot, "timestamp": venue.chain.clock.unix_timestamp}
    args.update(overrides)
    return pyth.legacy_price_account(**args)  # type: ignore[arg-type]


def receiver(venue: Venue, verification: pyth.Verification) -> bytes:
    return pyth.price_update_v2(feed_id=bytes(range(32)), price=6_512_345_678, conf=1_234_567, exponent=-8,
                                publish_time=venue.chain.clock.unix_timestamp, posted_slot=venue.chain.clock.slot,
                                verification=verification, num_signatures=5)


@pytest.mark.parametrize("owner", [pyth.PYTH_ORACLE_MAINNET, pyth.PYTH_ORACLE_DEVNET])
def test_reads_pyth_legacy_price_accounts(venue: Venue, owner: Pubkey) -> None:
    r = venue.read_price(put(venue, owner, legacy(venue)), Action.MARGIN, GUARD)
    assert r.ok, r.logs
    p = oracle.decode_normalized_price(r.return_data)
    assert (p.price, p.conf, p.source) == (65_123_456, 12_346, oracle.Source.PYTH_LEGACY)


@pytest.mark.parametrize(("verification", "full"), [("full", True), ("partial", False)])
def test_reads_pyth_price_update_v2_in_both_encodings(venue: Venue, verification: pyth.Verification, full: bool) -> None:
    r = venue.read_price(put(venue, pyth.PYTH_RECEIVER, receiver(venue, verification)), Action.TRADE, GUARD)
    assert r.ok, r.logs
    p = oracle.decode_normalized_price(r.return_data)
    assert (p.price, p.conf, p.verified_full, p.source) == (65_123_456, 12_346, full, oracle.Source.PYTH_RECEIVER)


def test_a_foreign_oracle_needs_a_guard(venue: Venue) -> None:
    failed(venue.read_price(put(venue, pyth.PYTH_RECEIVER, receiver(venue, "full")), Action.TRADE), E["MissingGuard"])


def test_fake_oracles_are_refused(venue: Venue) -> None:
    attacker = Keypair().pubkey()
    # Perfect Pyth bytes owned by some other program: refused on the owner.
    failed(venue.read_price(put(venue, attacker, legacy(venue)), Action.TRADE, GUARD), E["WrongOracleOwner"])
    failed(venue.read_price(put(venue, attacker, receiver(venue, "full")), Action.TRADE, GUARD), E["WrongOracleOwner"])
    # Pyth-owned but not a price account, wrong version, truncated, garbage.
    failed(venue.read_price(put(venue, pyth.PYTH_ORACLE_MAINNET, legacy(venue, atype=2)), Action.TRADE, GUARD), E["WrongOracleAccountType"])
    failed(venue.read_price(put(venue, pyth.PYTH_ORACLE_MAINNET, legacy(venue, version=1)), Action.TRADE, GUARD), E["BadOracleVersion"])
    failed(venue.read_price(put(venue, pyth.PYTH_ORACLE_MAINNET, legacy(venue)[:100]), Action.TRADE, GUARD), E["OracleAccountTooShort"])
    failed(venue.read_price(put(venue, pyth.PYTH_RECEIVER, receiver(venue, "full")[:90]), Action.TRADE, GUARD), E["OracleAccountTooShort"])
    failed(venue.read_price(put(venue, pyth.PYTH_RECEIVER, bytes(range(134))), Action.TRADE, GUARD), E["UnknownOracleFormat"])
    failed(venue.read_price(put(venue, pyth.PYTH_ORACLE_MAINNET, b""), Action.TRADE, GUARD), E["OracleAccountTooShort"])


def test_pyth_guards_apply(venue: Venue) -> None:
    halted = put(venue, pyth.PYTH_ORACLE_MAINNET, legacy(venue, status=0))
    failed(venue.read_price(halted, Action.TRADE, GUARD), E["OracleNotTrading"])
    old = put(venue, pyth.PYTH_ORACLE_MAINNET, legacy(venue))
    venue.chain.advance(slots=26)
    failed(venue.read_price(old, Action.TRADE, GUARD), E["StaleOracleSlots"])
    failed(venue.read_price(old, Action.TRADE, GuardConfig(0, 30, 500, 0, True)), E["InvalidGuardConfig"])
