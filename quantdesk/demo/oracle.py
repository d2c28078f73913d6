"""Demo part 1, qd-oracle: push feeds published on-chain and read back with per-action guards."""
from __future__ import annotations

import asyncio
import random

from solders.keypair import Keypair

from quantdesk.clients import oracle, sysvar
from quantdesk.clients.oracle import Action, OracleClient
from quantdesk.demo.common import usd

FEEDS = {"SOL/USD": 150_000_000, "BTC/USD": 65_000_000_000}  # starting prices, 6 decimals
ROUNDS = 5


async def run(client: OracleClient, authority: Keypair) -> list[Keypair]:
    """Returns the feeds' publishers (later parts keep the prices fresh)."""
    print("== qd-oracle: push feeds, published on-chain and read back ==")
    publishers = [Keypair() for _ in range(2)]
    for symbol in FEEDS:
        await client.send([client.ix.initialize_feed(authority.pubkey(), symbol, -6, 30, [p.pubkey() for p in publishers])], [])
        print(f"created feed {symbol:<8} at {oracle.feed_address(symbol)} (publishers: {len(publishers)}, EMA window 30 s)")
    rng = random.Random(7)
    prices = dict(FEEDS)
    last_time = {symbol: 0 for symbol in FEEDS}
    print(f"\n{'round':>5} {'symbol':<8} {'published':>18} {'conf':>10} {'on-chain price':>18} {'EMA':>18} {'slot':>6}  publisher")
    for round_no in range(1, ROUNDS + 1):
        await asyncio.sleep(0.5)  # let a slot pass (400 ms slots) between rounds
        now = await sysvar.clock(client.connection)
        for symbol in FEEDS:
            prices[symbol] = max(1, prices[symbol] + int(prices[symbol] * rng.gauss(0, 0.004)))
            conf = prices[symbol] // 2_000
            publisher = publishers[round_no % len(publishers)]
            feed = oracle.feed_address(symbol)
            # Publish times must strictly increase; slots are shorter than a second.
            last_time[symbol] = max(now.unix_timestamp, last_time[symbol] + 1)
            await client.send([client.ix.publish(publisher.pubkey(), feed, prices[symbol], conf, last_time[symbol])], [publisher])
            # Read back through anchorpy's account namespace (the IDL decoder).
            state = await client.program.account["PriceFeed"].fetch(feed)
            print(f"{round_no:>5} {symbol:<8} {usd(prices[symbol]):>18} {usd(conf):>10} {usd(state.price):>18} {usd(state.ema_price):>18} {state.publish_slot:>6}  {str(publisher.pubkey())[:8]}…")
    print("\nread_price (guards judged per action; simulated, result from return data):")
    for symbol in FEEDS:
        for action in (Action.TRADE, Action.LIQUIDATION):
            p = await client.read_price(oracle.feed_address(symbol), action)
            print(f"  {symbol:<8} {action.name.lower():<12} price {usd(p.price):>18} ± {usd(p.conf):<12} EMA {usd(p.ema_price):>18}  trading={p.trading}")
    feed = await client.fetch_feed("SOL/USD")
    print(f"\nSOL/USD feed: authority {feed.authority}, last publish t={feed.publish_time} slot={feed.publish_slot}, "
          f"trade guard: {feed.guards[Action.TRADE].max_staleness_slots} slots / {feed.guards[Action.TRADE].max_conf_bps} bps conf")
    return publishers
