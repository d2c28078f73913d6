"""Demo part 2, qd-oracle: push feeds with two publishers and a quorum of two, created by the
oracle admin; each feed's price is the median (of two: the mean) of its publishers' fresh prices,
stamped with the cluster clock, and is read back with per-action guards."""
from __future__ import annotations

import asyncio
import random

from solders.keypair import Keypair

from quantdesk.clients import oracle, sysvar
from quantdesk.clients.oracle import Action, OracleClient
from quantdesk.demo.common import refused, usd

FEEDS = {"SOL/USD": 150_000_000, "BTC/USD": 65_000_000_000}  # starting prices, 6 decimals
ROUNDS = 5
QUORUM = 2


async def run(client: OracleClient, oracle_admin: Keypair) -> list[Keypair]:
    """`oracle_admin` holds ORACLE_ADMIN. Returns the feeds' publishers (later parts keep the
    prices fresh with all of them: one alone is no quorum)."""
    print("== qd-oracle: multi-publisher push feeds, aggregated on-chain and read back ==")
    publishers = [Keypair() for _ in range(2)]
    keys = [p.pubkey() for p in publishers]
    for symbol in FEEDS:
        await client.send([client.ix.initialize_feed(oracle_admin.pubkey(), symbol, -6, 30, keys, QUORUM)], [oracle_admin])
        print(f"the oracle admin created feed {symbol:<8} at {oracle.feed_address(symbol)} (publishers: {len(publishers)}, quorum {QUORUM}, "
              f"a price counts for {oracle.DEFAULT_MAX_PUBLISHER_AGE_SECS} s, EMA window 30 s)")
    rng = random.Random(7)
    prices = dict(FEEDS)
    print(f"\n{'round':>5} {'symbol':<8} {'publisher A':>18} {'publisher B':>18} {'on-chain median':>18} {'EMA':>18} {'slot':>6}")
    for round_no in range(1, ROUNDS + 1):
        await asyncio.sleep(1.0)  # a second between rounds: each publisher's stamps increase
        for symbol in FEEDS:
            prices[symbol] = max(1, prices[symbol] + int(prices[symbol] * rng.gauss(0, 0.004)))
            quotes = [(p, max(1, prices[symbol] + int(prices[symbol] * rng.gauss(0, 0.0005))), prices[symbol] // 2_000) for p in publishers]
            await client.publish_all(symbol, quotes)
            # Read back through anchorpy's account namespace (the IDL decoder).
            state = await client.program.account["PriceFeed"].fetch(oracle.feed_address(symbol))
            print(f"{round_no:>5} {symbol:<8} {usd(quotes[0][1]):>18} {usd(quotes[1][1]):>18} {usd(state.price):>18} {usd(state.ema_price):>18} {state.publish_slot:>6}")
    print("\nread_price (guards judged per action; simulated, result from return data):")
    for symbol in FEEDS:
        for action in (Action.TRADE, Action.LIQUIDATION):
            p = await client.fetch_price(oracle.feed_address(symbol), action)
            print(f"  {symbol:<8} {action.name.lower():<12} price {usd(p.price):>18} ± {usd(p.conf):<12} EMA {usd(p.ema_price):>18}  trading={p.trading}")
    feed = await client.fetch_feed("SOL/USD")
    print(f"\nSOL/USD feed: authority {feed.authority} (the oracle admin), aggregated from {feed.num_aggregated} publishers at t={feed.publish_time} "
          f"slot={feed.publish_slot}, trade guard: {feed.guards[Action.TRADE].max_staleness_slots} slots / {feed.guards[Action.TRADE].max_conf_bps} bps conf")
    print("\nrefused (simulated):")
    now = (await sysvar.fetch_clock(client.connection)).unix_timestamp
    rogue = publishers[0]
    await refused("a publisher stamps a 10x price 30 s ahead of the cluster clock", oracle.NAME,
                  client.simulate([client.ix.publish(rogue.pubkey(), feed.address, 10 * feed.price, feed.conf, now + 30)], [rogue]))
    await refused("a key without ORACLE_ADMIN creates the ETH/USD feed", oracle.NAME,
                  client.simulate([client.ix.initialize_feed(rogue.pubkey(), "ETH/USD", -6, 30, keys)], [rogue]))
    return publishers
