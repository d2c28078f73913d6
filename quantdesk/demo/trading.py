"""Demo part 4, qd-trading: the admin lists SOL-PERP on the SOL/USD feed and lowers its taker fee
through the timelock; maker B rests an ask;
the desk's market buy runs a Dutch auction that maker A fills part-way with place_and_make, at
a better price than the auction's end; two later crossing orders are filled after their
auctions by a keeper's fill_order at B's resting price; a funding period later the oracle moves,
the crank runs and everyone's PnL is settled through SOL-PERP's PnL pool (the losers pay in
first, then the winners take it out). The demo stops the validator's slot
clock and moves it itself (quantdesk/localnet/controls.py), so auction prices and the funding
period are exact."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from anchorpy import Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.clients import oracle, security, sysvar, token, trading
from quantdesk.clients.oracle import OracleClient
from quantdesk.clients.security import SecurityClient
from quantdesk.clients.trading import (
    AuctionParams,
    MakerParams,
    OrderKind,
    OrderParams,
    PostOnly,
    Side,
    TimeInForce,
    TradingClient,
    auction_price,
    base_decimal,
    round_to_tick,
)
from quantdesk.demo import collateral
from quantdesk.demo.access import SOL_PERP, Actors
from quantdesk.demo.common import fund, refused, usd
from quantdesk.localnet.controls_client import ValidatorClock
from quantdesk.world import SOL, USDC, VENUE_PARAMS

PARAMS = dataclasses.replace(VENUE_PARAMS, min_order_size=SOL // 100, max_open_interest=100_000 * SOL, funding_period_secs=60)
TICK = PARAMS.tick_size
"""Tick 0.001 USDC, lot 0.001 SOL, 10x initial leverage, 5 bps taker fee and a 1 bps maker rebate,
10-slot auctions by default, funding every minute."""


async def run(connection: AsyncClient, rpc_url: str, super_admin: Keypair, actors: Actors, publishers: list[Keypair], symbols: dict[Pubkey, str]) -> None:
    print("== qd-trading: SOL-PERP, JIT auctions, resting orders, funding and PnL settlement ==")
    client = TradingClient(Provider(connection, Wallet(super_admin)))
    feeds = OracleClient(client.program.provider)
    clock = ValidatorClock(rpc_url)
    await clock.call("qd_pauseClock")
    try:
        await _run(connection, client, feeds, clock, super_admin, actors, publishers, symbols)
    finally:
        await clock.call("qd_resumeClock")


async def _run(connection: AsyncClient, client: TradingClient, feeds: OracleClient, clock: ValidatorClock, keeper: Keypair, actors: Actors,
               publishers: list[Keypair], symbols: dict[Pubkey, str]) -> None:
    feed_address = oracle.feed_address(collateral.SOL_FEED)

    async def publish(price: int | None = None) -> int:
        """A second later, every SOL/USD publisher publishes `price` (by default the feed's); returns it."""
        await clock.warp(3)
        price = (await feeds.fetch_feed(collateral.SOL_FEED)).price if price is None else price
        await feeds.publish_all(collateral.SOL_FEED, [(p, price, price // 2_000) for p in publishers])
        return price

    await client.send([client.ix.create_market(actors.admin.pubkey(), SOL_PERP, "SOL-PERP", feed_address, PARAMS)], [actors.admin])
    m = PARAMS
    print(f"the admin lists SOL-PERP (market {SOL_PERP}) on the SOL/USD feed: tick {usd(m.tick_size)}, lot {base_decimal(m.lot_size)} SOL, "
          f"margins {m.init_margin_bps / 100:g}% / {m.maint_margin_bps / 100:g}%,\n  fees taker {m.taker_fee_bps} bps / maker {m.maker_fee_bps} bps (a rebate), "
          f"auctions of {m.auction_default_slots} slots ({m.auction_min_slots}..{m.auction_max_slots}) within {m.auction_max_deviation_bps / 100:g}% of the oracle, "
          f"funding every {m.funding_period_secs} s")

    await timelocked_fee_change(client, clock, actors)

    maker_a, maker_b = Keypair(), Keypair()
    await fund(connection, maker_a, maker_b, sol=2)
    a, b = await client.core.create(maker_a, 0, "maker A"), await client.core.create(maker_b, 0, "maker B")
    for owner, margin in ((maker_a, a), (maker_b, b)):
        ata = token.associated_address(owner.pubkey(), actors.quote_mint)
        await client.send([token.create_associated_account(keeper.pubkey(), owner.pubkey(), actors.quote_mint),
                           token.mint_to_instruction(actors.quote_mint, ata, keeper.pubkey(), 20_000 * USDC)])
        await client.collateral.open(owner, margin)
        await client.collateral.deposit(owner, margin, actors.quote_mint, 20_000 * USDC)
    for owner, margin in ((maker_a, a), (maker_b, b), (actors.desk.owner, actors.desk.master)):
        await client.open_trading_account(owner, margin)
    names = {actors.desk.master: "desk", a: "maker A", b: "maker B"}
    print("makers A and B: new wallets with margin accounts of 20,000 USDC; the taker: the desk's master account (USDC and SOL);")
    print("  each opens its trading account\n")

    oracle_price = await publish()
    ask = round_to_tick(oracle_price * 10_040 // 10_000, TICK, Side.ASK)
    b_ask = await client.place_order(maker_b, b, OrderParams(SOL_PERP, Side.ASK, 2 * SOL, ask, client_order_id=1))
    print(f"maker B rests a limit ask: 2 SOL at {usd(ask)} (oracle {usd(oracle_price)})")
    print("  " + (await client.fetch_book(SOL_PERP)).table().replace("\n", "\n  "))

    worst = round_to_tick(oracle_price * 10_100 // 10_000, TICK, Side.BID)
    buy = await client.place_order(actors.desk.owner, actors.desk.master, OrderParams(SOL_PERP, Side.BID, SOL, worst, kind=OrderKind.MARKET, tif=TimeInForce.IOC))
    order = await client.fetch_order(actors.desk.master, buy)
    print(f"\nthe desk sends a market buy of 1 SOL (worst price {usd(worst)}): its Dutch auction runs from {usd(order.auction_start_price)} "
          f"to {usd(order.auction_end_price)} over slots {order.placed_slot}..{order.placed_slot + order.auction_slots}")
    slot = await clock.warp(3)
    price = auction_price(order, slot, TICK)
    fill = await client.place_and_make(maker_a, a, actors.desk.master, buy, MakerParams(price, SOL))
    print(f"maker A fills it at slot {slot} with place_and_make at the auction's current price {usd(price)} "
          f"({usd(order.auction_end_price - price)} better than the end price {usd(order.auction_end_price)})")
    assert [f.price for f in await client.fetch_fills(fill)] == [price] < [order.auction_end_price]
    fills = [fill]

    limit = round_to_tick(oracle_price * 10_060 // 10_000, TICK, Side.BID)
    takers = [(actors.desk.owner, actors.desk.master, False), (maker_a, a, True)]
    await publish()
    ids = [await client.place_order(owner, margin, OrderParams(SOL_PERP, Side.BID, SOL // 2, limit, tif=TimeInForce.IOC, reduce_only=reduce))
           for owner, margin, reduce in takers]
    print(f"\nlater two limit IOC bids of 0.5 SOL at {usd(limit)} cross the oracle (auctions of {PARAMS.auction_default_slots} slots): "
          "the desk's, and maker A's reduce-only one (it is short 1)")
    await clock.warp(PARAMS.auction_default_slots)
    for (_, margin, _), order_id in zip(takers, ids):
        fills.append(await client.fill_order(keeper, margin, order_id, [(b, b_ask)]))
    print(f"after their auctions a keeper fills both with fill_order against maker B's resting ask, at B's price {usd(ask)}")
    print(f"\n  {'fill':>4}  {'taker':<8} {'maker':<8} {'side':<4} {'price':>12} {'size':>12} {'quote':>12} {'taker fee':>10} {'maker fee':>10}")
    for signature in fills:
        for f in await client.fetch_fills(signature):
            print(f"  {f.fill_id:>4}  {names[f.taker]:<8} {names[f.maker]:<8} {f.taker_side.name.lower():<4} {usd(f.price):>12} {base_decimal(f.base):>12} "
                  f"{usd(f.quote):>12} {usd(f.taker_fee):>10} {usd(f.maker_fee):>10}")
    print("  (a negative maker fee is the maker's rebate)")
    print("\n  " + (await client.fetch_book(SOL_PERP)).table().replace("\n", "\n  "))

    market = await client.fetch_market(SOL_PERP)
    health_b, health_desk = await client.fetch_health_accounts(b, SOL_PERP), await client.fetch_health_accounts(actors.desk.master, SOL_PERP)
    cross = OrderParams(SOL_PERP, Side.BID, SOL, round_to_tick(oracle_price + TICK, TICK, Side.BID), post_only=PostOnly.REJECT)
    await refused(f"maker B: post-only bid at {usd(cross.price)} (above the oracle)", trading.NAME,
                  client.simulate([client.ix.place_order(maker_b.pubkey(), b, cross, market.oracle, actors.quote_mint, health_b)], [maker_b]))
    more = OrderParams(SOL_PERP, Side.BID, SOL, limit, reduce_only=True)
    await refused("the desk (long 1.5): a reduce-only bid", trading.NAME,
                  client.simulate([client.ix.place_order(actors.desk.owner.pubkey(), actors.desk.master, more, market.oracle, actors.quote_mint, health_desk)], [actors.desk.owner]))

    await agent_guards(client, clock, actors, (maker_a, a), (maker_b, b), oracle_price)

    now = (await sysvar.fetch_clock(connection)).unix_timestamp
    await clock.warp_seconds(market.last_funding_ts + PARAMS.funding_period_secs - now)
    moved = await publish(oracle_price * 10_020 // 10_000)
    funding = trading.parse_events(await client.fetch_logs(await client.update_funding(SOL_PERP)), client.program)[0].data
    view = await client.fetch_market_view(SOL_PERP)
    print(f"\none funding period later SOL/USD publishes {usd(moved)} and the crank runs: mark TWAP {view.mark_twap} (the fills) over oracle TWAP "
          f"{view.oracle_twap},\n  funding index {view.last_funding_delta:+} USDC per SOL: longs pay shorts")
    assert funding.delta == view.market.last_funding_delta > 0
    print("\npositions (Margin-guarded price; realized PnL includes the fees; funding accrued since the position's last settlement):")
    owed: dict[Pubkey, Decimal] = {}
    for margin, name in names.items():
        for position in await client.fetch_positions(margin):
            print(f"  {name:<8} {position.summary()}")
            owed[margin] = position.realized_unsettled + position.funding_owed
    print("\nsettle_pnl (permissionless, the keeper signs): realized PnL, fees and funding through SOL-PERP's PnL pool; losers first, since")
    print("  a winner takes only what losers have paid in (beyond the fees, which are the protocol's); the rest would wait")
    for margin in sorted(names, key=lambda m: owed.get(m, Decimal(0))):
        settled = trading.parse_events(await client.fetch_logs(await client.settle_pnl(keeper, margin, SOL_PERP)), client.program)
        account = await client.fetch_trading_account(margin)
        print(f"  {names[margin]:<8} settled {usd(settled[-1].data.pnl):>10}  unsettled {usd(settled[-1].data.unsettled):>8}  lifetime settled "
              f"{usd(account.settled_pnl):>10}  fees paid {usd(account.fees_paid):>9}  positions {len(account.positions)}")

    await publish()
    print("\nhealth with the perp positions (off-chain mirror checked against on-chain view_health):")
    for margin, name in names.items():
        await collateral.show_health(client.collateral, name, margin, symbols)
    market = await client.fetch_market(SOL_PERP)
    accounts = [await client.fetch_trading_account(m) for m in names]
    positions = [p for t in accounts for p in t.positions]
    assert market.open_interest_long == market.open_interest_short == sum(p.base for p in positions if p.base > 0)
    # Zero-sum: what the positions hold, the fee pool and what was settled out of them net to nothing.
    assert sum(p.quote_entry + p.realized_pnl for p in positions) + market.fee_pool + market.total_pnl_settled - market.total_funding_settled == 0
    assert market.total_fees == market.fee_pool == sum(t.fees_paid for t in accounts)
    assert market.pnl_pool == -market.total_pnl_settled
    print(f"\nSOL-PERP: open interest {base_decimal(market.open_interest_long)} SOL per side, volume {usd(market.total_volume_quote)} USDC, "
          f"fees {usd(market.total_fees)} USDC (= the accounts' fees, the fee pool), PnL pool {usd(market.pnl_pool)} USDC (what settlements paid in, net)")


async def agent_guards(client: TradingClient, clock: ValidatorClock, actors: Actors, maker_a: tuple[Keypair, Pubkey], maker_b: tuple[Keypair, Pubkey],
                       oracle_price: int) -> None:
    """The audit's delegate attack, refused: maker B names maker A's wallet its trade-only
    delegate; the desk's market buy starts its auction at the 5% bound; A, as B's delegate,
    would sell B's account into it there (value moving from B to whoever bought). A fill an
    agent acts in must stay within the market's delegated band of the oracle."""
    (a_owner, _), (b_owner, b) = maker_a, maker_b
    await client.core.set_delegate(b_owner, 0, a_owner.pubkey())
    high = round_to_tick(oracle_price * (10_000 + PARAMS.auction_max_deviation_bps) // 10_000, TICK, Side.BID)
    buy = await client.place_order(actors.desk.owner, actors.desk.master, OrderParams(SOL_PERP, Side.BID, SOL // 2, high, kind=OrderKind.MARKET, tif=TimeInForce.IOC,
                                                                        auction=AuctionParams(high, high, PARAMS.auction_min_slots)))
    market = await client.fetch_market(SOL_PERP)
    health_b, health_desk = await client.fetch_health_accounts(b, SOL_PERP), await client.fetch_health_accounts(actors.desk.master, SOL_PERP)
    make = client.ix.place_and_make(a_owner.pubkey(), b, actors.desk.master, SOL_PERP, market.oracle, actors.quote_mint, buy, MakerParams(high, SOL // 2),
                                    health_b, health_desk)
    await refused(f"maker A as maker B's delegate: sells B's account at {usd(high)}, the auction's {PARAMS.auction_max_deviation_bps / 100:g}% bound "
                  f"(band {PARAMS.delegated_band_bps / 100:g}%)", trading.NAME, client.simulate([make], [a_owner]))
    await client.cancel_order(actors.desk.owner, actors.desk.master, buy)
    await client.core.set_delegate(b_owner, 0, None)


async def timelocked_fee_change(client: TradingClient, clock: ValidatorClock, actors: Actors) -> None:
    """Market risk parameters change only through qd-security's timelock: the admin proposes a
    lower taker fee; executing it before the delay is refused; after it, anyone executes."""
    sec = SecurityClient(client.program.provider)
    change = client.ix.set_market_params(SOL_PERP, dataclasses.replace(PARAMS, taker_fee_bps=PARAMS.taker_fee_bps - 2))
    config = await sec.fetch_config()
    proposal = security.proposal_address(config.proposal_count)
    await sec.send([sec.ix.propose_instruction(actors.admin.pubkey(), config.proposal_count, change)], [actors.admin])
    print(f"the admin proposes SOL-PERP's taker fee {PARAMS.taker_fee_bps} -> {PARAMS.taker_fee_bps - 2} bps (proposal #{config.proposal_count}, "
          f"a {config.timelock_delay} s timelock here)")
    await refused("anyone executes it before the delay has passed", security.NAME, sec.simulate([sec.ix.execute_routed(proposal, change)]))
    await clock.warp_seconds(config.timelock_delay + 1)
    await sec.send([sec.ix.execute_routed(proposal, change)])
    print(f"  after the delay a keeper executes it: taker fee {(await client.fetch_market(SOL_PERP)).taker_fee_bps} bps\n")
