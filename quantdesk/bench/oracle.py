"""qd-oracle CU scenarios: every instruction, and read_price for each oracle source."""
from __future__ import annotations

from solders.account import Account

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.chain import Chain
from quantdesk.clients import oracle, pyth, security
from quantdesk.clients.oracle import Action, GuardConfig
from quantdesk.clients.security import Role

TARGETS = {"publish": 2_500, "read_price": 1_000}


def measure() -> CuTable:
    table = CuTable("qd_oracle", TARGETS)
    chain = Chain(seed=BENCH_SEED)
    ix, sec = oracle.OracleInstructions(), security.SecurityInstructions()
    authority = chain.payer  # qd-security's super-admin: holds ORACLE_ADMIN
    assert chain.send([sec.initialize(authority.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY)]).ok
    publishers = [chain.keypair() for _ in range(8)]
    feed = oracle.feed_address("SOL/USD")
    keys = [p.pubkey() for p in publishers]
    table.record("initialize_feed", chain.send([ix.initialize_feed(authority.pubkey(), "SOL/USD", -6, 60, keys, 5)]))
    now = chain.clock.unix_timestamp
    # The first of 8 publishes: no quorum (5), no aggregate.
    table.record("publish_first", chain.send([ix.publish(keys[0], feed, 150_000_000, 40_000, now)], [publishers[0]]))
    for k, p in enumerate(publishers[1:-1], start=1):
        assert chain.send([ix.publish(p.pubkey(), feed, 150_000_000 + 10_000 * k, 40_000, now)], [p]).ok
    chain.advance(slots=1, seconds=1)
    # The worst case: the last of 8 listed publishers (the longest membership scan), all 8 fresh
    # (the largest median), the EMA moved.
    last = publishers[-1]
    table.record("publish", chain.send([ix.publish(last.pubkey(), feed, 150_250_000, 45_000, now + 1)], [last]))
    table.record("read_price", chain.send([ix.read_price(feed, Action.TRADE)]))
    guard = GuardConfig(25, 30, 500, 0, True)
    clock = chain.clock
    legacy = chain.new_keypair().pubkey()
    chain.set_account(legacy, Account(10**9, pyth.legacy_price_account(price=15_025_000_000, conf=4_500_000, expo=-8, pub_slot=clock.slot, timestamp=clock.unix_timestamp), pyth.PYTH_ORACLE_MAINNET))
    table.record("read_price_pyth_legacy", chain.send([ix.read_price(legacy, Action.TRADE, guard)]))
    update = chain.new_keypair().pubkey()
    chain.set_account(update, Account(10**9, pyth.price_update_v2(feed_id=bytes(32), price=15_025_000_000, conf=4_500_000, exponent=-8, publish_time=clock.unix_timestamp, posted_slot=clock.slot), pyth.PYTH_RECEIVER))
    table.record("read_price_pyth_receiver", chain.send([ix.read_price(update, Action.TRADE, guard)]))
    # Timelocked: the figure is the proposal's execution (qd-security invoking the change).
    table.record("set_publishers", security.enact_instruction(chain, authority, ix.set_publishers(feed, keys[:4])))
    table.record("set_guards", security.enact_instruction(chain, authority, ix.set_guards(feed, {a: GuardConfig(50, 20, 200, 0, True) for a in Action})))
    table.record("set_status", chain.send([ix.set_status(authority.pubkey(), feed, oracle.STATUS_TRADING)]))
    successor = chain.keypair()
    assert security.enact(chain, authority, security.Change.grant_role(Role.ORACLE_ADMIN, successor.pubkey())).ok
    table.record("set_authority", chain.send([ix.set_authority(authority.pubkey(), feed, successor.pubkey())], [successor]))
    return table
