"""Demo part 5, qd-core's liquidation and the insurance fund: the admin lists BTC-PERP on the
BTC/USD feed; trader A goes long about 8.5x and rests a reduce-only ask; BTC/USD drops 8% and A
is liquidatable: a liquidator with a margin account of its own takes A's orders off the book and
the least part of A's position that ends its liquidation (liquidate_perp at the oracle price,
A paying the liquidator's and the insurance fund's fees), the view printed before and after.
The venue's admin creates the insurance fund, a staker stakes and the fee sweep moves each
market's fees into it. Trader B goes short about 9.2x; BTC/USD rebounds 13% and B is
bankrupt: liquidated flat, its quote settled into its debt, the rest paid by the fund and what
the fund cannot pay socialized over the open positions (the funding indices move apart). The
waterfall and the conservation of every quote unit are printed and checked. The validator's
clock is paused and moved by the demo, so prices, slots and figures are the same every run."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

from anchorpy import Provider, Wallet
from based58 import b58encode
from solana.rpc.async_api import AsyncClient
from solana.rpc.types import MemcmpOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.clients import core, oracle, sysvar, token, trading
from quantdesk.clients import trading_state as ts
from quantdesk.clients.core import CoreClient, LiquidationView
from quantdesk.clients.oracle import OracleClient
from quantdesk.clients.trading import MakerParams, OrderKind, OrderParams, Side, TimeInForce, TradingClient, auction_price, base_decimal
from quantdesk.demo import trading as trading_demo
from quantdesk.demo.access import BTC_PERP, SOL_PERP, Actors
from quantdesk.demo.common import fund, usd
from quantdesk.demo.oracle import FEEDS
from quantdesk.localnet.controls_client import ValidatorClock
from quantdesk.world import BASE, FEE_SHARE_BPS, UNSTAKE_DELAY, USDC

BTC_FEED = "BTC/USD"
assert BTC_FEED in FEEDS
PARAMS = dataclasses.replace(trading_demo.PARAMS, max_open_interest=1_000 * BASE)
"""BTC-PERP as SOL-PERP: 10% / 5% margins, a liquidation at a 1% discount to the liquidator and
0.5% to the insurance fund, positions up to 10 BTC taken whole in one step."""
TICK = PARAMS.tick_size
SIZE = 3 * BASE // 10
"""A's long and B's short: 0.3 BTC each."""
FIRST_SHOCK_BPS = -800
SECOND_SHOCK_BPS = 1_300
STAKE = 500 * USDC


class LiquidationDemo:
    """The clients, the clock and the publishers' BTC/USD prices."""

    def __init__(self, connection: AsyncClient, rpc_url: str, super_admin: Keypair, publishers: list[Keypair]) -> None:
        self.client = TradingClient(Provider(connection, Wallet(super_admin)))
        self.core: CoreClient = self.client.core
        self.feeds = OracleClient(self.client.program.provider)
        self.clock = ValidatorClock(rpc_url)
        self.connection = connection
        self.publishers = publishers
        self.names: dict[Pubkey, str] = {}

    async def publish(self, price: int | None = None) -> int:
        """A second later, every publisher publishes `price` to BTC/USD (the feed's own by default)."""
        await self.clock.warp(3)
        price = (await self.feeds.fetch_feed(BTC_FEED)).price if price is None else price
        await self.feeds.publish_all(BTC_FEED, [(p, price, price // 2_000) for p in self.publishers])
        return price

    async def account(self, name: str, usdc: int, mint: Pubkey, minter: Keypair) -> tuple[Keypair, Pubkey]:
        """A new wallet's margin account holding `usdc`, with its trading account."""
        owner = Keypair()
        await fund(self.connection, owner, sol=2)
        margin = await self.core.create(owner, 0, name)
        ata = token.associated_address(owner.pubkey(), mint)
        await self.client.send([token.create_associated_account(minter.pubkey(), owner.pubkey(), mint),
                                token.mint_to_instruction(mint, ata, minter.pubkey(), usdc)])
        await self.client.collateral.open(owner, margin)
        await self.client.collateral.deposit(owner, margin, mint, usdc)
        await self.client.open_trading_account(owner, margin)
        self.names[margin] = name
        return owner, margin

    async def trade(self, taker: tuple[Keypair, Pubkey], maker: tuple[Keypair, Pubkey], side: Side, worst: int) -> int:
        """`taker`'s market order of SIZE, filled at once by `maker` at its auction's start (the oracle); returns the price."""
        order_id = await self.client.place_order(*taker, OrderParams(BTC_PERP, side, SIZE, worst, OrderKind.MARKET, TimeInForce.IOC))
        order = await self.client.fetch_order(taker[1], order_id)
        price = auction_price(order, (await sysvar.fetch_clock(self.connection)).slot, TICK)
        await self.client.place_and_make(*maker, taker[1], order_id, MakerParams(price, SIZE))
        return price

    async def show(self, margin: Pubkey) -> LiquidationView:
        """Prints `margin`'s liquidation view (view_liquidation, simulated) and returns it."""
        view = await self.core.fetch_liquidation_view(margin)
        state = "liquidatable" if view.liquidatable else "not liquidatable"
        bits = ", being liquidated" if view.being_liquidated else ""
        bits += ", bankrupt" if view.bankrupt else ""
        print(f"    {self.names[margin]}: {state}{bits}; maintenance health {usd(view.maint_health)}, liquidation-end health "
              f"{usd(view.liquidation_end_health)} (maintenance margins + {view.buffer_bps / 100:g}%)")
        for p in view.perps:
            print(f"      market {p.market_index}: base {base_decimal(p.base)} at {usd(p.price)}, one step may take {base_decimal(p.max_base):f}, "
                  f"fee {p.fee_bps / 100:g}%")
        return view

    async def status(self, margin: Pubkey) -> str:
        m = await self.core.fetch_margin_account(margin)
        return f"status {m.status:#05b} ({'being liquidated' if m.being_liquidated else 'not being liquidated'}{', bankrupt' if m.bankrupt else ''})"


async def run(connection: AsyncClient, rpc_url: str, super_admin: Keypair, actors: Actors, publishers: list[Keypair]) -> None:
    print("== qd-core: liquidation, the insurance fund and bankruptcy ==")
    d = LiquidationDemo(connection, rpc_url, super_admin, publishers)
    await d.clock.call("qd_pauseClock")
    try:
        await _run(d, super_admin, actors)
    finally:
        await d.clock.call("qd_resumeClock")


async def _run(d: LiquidationDemo, super_admin: Keypair, actors: Actors) -> None:
    usdc, client, cc = actors.quote_mint, d.client, d.core
    await client.send([client.ix.create_market(actors.admin.pubkey(), BTC_PERP, "BTC-PERP", oracle.feed_address(BTC_FEED), PARAMS)], [actors.admin])
    p0 = await d.publish()
    print(f"the admin lists BTC-PERP (market {BTC_PERP}) on the BTC/USD feed at {usd(p0)}: margins {PARAMS.init_margin_bps / 100:g}% / "
          f"{PARAMS.maint_margin_bps / 100:g}%, liquidations pay {PARAMS.liquidator_fee_bps / 100:g}% to the liquidator and "
          f"{PARAMS.insurance_fee_bps / 100:g}% to the insurance fund")

    notional = SIZE * p0 // BASE
    a = await d.account("trader A", notional * 2 // 17, usdc, super_admin)
    maker = await d.account("maker M", 100_000 * USDC, usdc, super_admin)
    liquidator = await d.account("liquidator", 100_000 * USDC, usdc, super_admin)
    price = await d.trade(a, maker, Side.BID, p0 * 10_100 // 10_000 // TICK * TICK)
    ask = p0 * 11_000 // 10_000 // TICK * TICK
    await client.place_order(*a, OrderParams(BTC_PERP, Side.ASK, SIZE // 2, ask, reduce_only=True))
    deposit = (await client.collateral.fetch_balances(a[1])).balance_of(usdc)
    print(f"  trader A deposits {usd(deposit)} USDC and buys {base_decimal(SIZE)} BTC at {usd(price)} (about {notional / deposit:.1f}x) from maker M, "
          f"and rests a reduce-only ask at {usd(ask)}")

    p1 = await d.publish(p0 * (10_000 + FIRST_SHOCK_BPS) // 10_000)
    print(f"\nBTC/USD drops {-FIRST_SHOCK_BPS / 100:g}% to {usd(p1)} (liquidations read it with the looser Liquidation guards):")
    before = await d.show(a[1])
    assert before.liquidatable and not before.being_liquidated
    receipt = await cc.liquidate_orders(*liquidator, a[1])
    [cancelled] = [e.data for e in core.parse_events(receipt.logs) if e.name == "LiquidationOrdersCancelled"]
    print(f"  the liquidator (a margin account of its own) takes A's {cancelled.orders} open order off the book (liquidate_orders): A's {await d.status(a[1])}")
    step_size = before.perps[0].max_base
    receipt = await cc.liquidate_perp(*liquidator, a[1], BTC_PERP, step_size)
    [step] = [e.data for e in core.parse_events(receipt.logs) if e.name == "PerpLiquidated"]
    print(f"  liquidate_perp: it takes over {base_decimal(-step.base)} BTC at {usd(step.price)} ({usd(step.quote)} USDC), A paying "
          f"{usd(step.liquidator_fee)} to the liquidator and {usd(step.insurance_fee)} to the insurance fund (liquidation #{step.liquidation_id})")
    after = await d.show(a[1])
    assert not after.liquidatable and step.end_after >= 0 and after.perps[0].base == SIZE - step_size
    print(f"  the step was the least that ends the liquidation: A's {await d.status(a[1])}, it keeps {base_decimal(after.perps[0].base)} BTC")
    # A's loss into the PnL pool: what backs the fees the sweep takes.
    await client.settle_pnl(super_admin, a[1], BTC_PERP)

    print("\nthe insurance fund (qd-core): the venue's admin creates it for USDC, a staker stakes, the permissionless sweep moves fees in")
    if await _fund_exists(cc, usdc):
        print("  (the fund exists already)")
    else:
        await cc.create_insurance_fund(super_admin, UNSTAKE_DELAY, FEE_SHARE_BPS)
    staker = Keypair()
    await fund(d.connection, staker, sol=1)
    ata = token.associated_address(staker.pubkey(), usdc)
    await client.send([token.create_associated_account(super_admin.pubkey(), staker.pubkey(), usdc),
                       token.mint_to_instruction(usdc, ata, super_admin.pubkey(), STAKE)])
    await cc.stake(staker, STAKE)
    fund_state = await cc.fetch_insurance_fund(usdc)
    print(f"  a staker stakes {usd(STAKE)} USDC for {fund_state.total_shares:,} shares (unstaking waits {fund_state.unstake_delay_secs // 3_600} h); "
          f"the fund takes {fund_state.fee_share_bps / 100:g}% of trading fees and all insurance fees")
    for index, symbol in ((SOL_PERP, "SOL-PERP"), (BTC_PERP, "BTC-PERP")):
        receipt = await cc.sweep_fees(index)
        [swept] = [e.data for e in core.parse_events(receipt.logs) if e.name == "FeesSwept"]
        print(f"  sweep_fees {symbol}: liquidation fees {usd(swept.liquidation_fees)} + trading fees {usd(swept.trading_fees)} -> "
              f"fund {usd(swept.to_insurance)}, protocol revenue {usd(swept.to_revenue)}; fund balance {usd(swept.balance)}")

    await d.publish(p1)
    b = await d.account("trader B", SIZE * p1 // BASE * 10 // 92, usdc, super_admin)
    price = await d.trade(maker, b, Side.BID, p1 * 10_100 // 10_000 // TICK * TICK)
    print(f"\ntrader B deposits {usd((await client.collateral.fetch_balances(b[1])).balance_of(usdc))} USDC and sells {base_decimal(SIZE)} BTC "
          f"at {usd(price)} into maker M's market buy (about 9.2x)")
    p2 = await d.publish(p1 * (10_000 + SECOND_SHOCK_BPS) // 10_000)
    print(f"BTC/USD rebounds {SECOND_SHOCK_BPS / 100:g}% to {usd(p2)}: B's equity is below zero")
    view = await d.show(b[1])
    assert view.liquidatable
    while view.perps[0].base:
        await cc.liquidate_perp(*liquidator, b[1], BTC_PERP, view.perps[0].max_base)
        view = await cc.fetch_liquidation_view(b[1])
    loss = -(await client.fetch_trading_account(b[1])).positions[0].realized_pnl
    settled = trading.parse_events(await client.fetch_logs(await client.settle_pnl(super_admin, b[1], BTC_PERP)), client.program)[-1].data
    debt = -(await client.fetch_trading_account(b[1])).positions[0].realized_pnl
    print(f"  the liquidator takes all of B's position; settle_pnl takes B's {usd(-settled.pnl)} USDC into BTC-PERP's PnL pool; "
          f"B owes {usd(debt)} and holds nothing: {await d.status(b[1])}")

    market_before = await client.fetch_market(BTC_PERP)
    receipt = await cc.resolve_bankruptcy(b[1], BTC_PERP)
    resolved = next(e.data for e in core.parse_events(receipt.logs) if e.name == "BankruptcyResolved")
    socialized = next(e.data for e in trading.parse_events(receipt.logs) if e.name == "LossSocialized")
    market = await client.fetch_market(BTC_PERP)
    print("  resolve_bankruptcy (permissionless): the fund pays what it can, the rest is socialized over BTC-PERP's open positions")
    print(f"\n  waterfall of B's loss in BTC-PERP (liquidation #{resolved.liquidation_id}):")
    rows = [("debt: the loss its position realized", loss), ("paid by its collateral (settled quote)", -settled.pnl), ("paid by the insurance fund", resolved.insurance),
            ("socialized over open positions", resolved.socialized), ("unbacked", resolved.unbacked)]
    for label, amount in rows:
        print(f"    {label:<42} {usd(amount):>14}")
    assert loss == -settled.pnl + resolved.insurance + resolved.socialized + resolved.unbacked and resolved.debt == debt
    if resolved.socialized:
        def per_btc(value: int) -> str:
            return f"{Decimal(value).scaleb(-trading.FUNDING_DECIMALS):f}"

        print(f"  the socialized {usd(resolved.socialized)} moves the funding indices apart by {per_btc(socialized.index_delta)} USDC per BTC each "
              f"(longs' {per_btc(market_before.cumulative_funding_long)} -> {per_btc(market.cumulative_funding_long)}, shorts' "
              f"{per_btc(market_before.cumulative_funding_short)} -> {per_btc(market.cumulative_funding_short)}):\n  the open interest "
              f"({base_decimal(socialized.open_interest_long)} BTC long, {base_decimal(socialized.open_interest_short)} BTC short) pays it by its "
              "size at its next settlement")
    print(f"  fund balance {usd(resolved.fund_balance)}; B's {await d.status(b[1])}")
    await conservation(d, usdc)


async def _fund_exists(cc: CoreClient, mint: Pubkey) -> bool:
    try:
        await cc.fetch_insurance_fund(mint)
    except LookupError:
        return False
    return True


async def conservation(d: LiquidationDemo, usdc: Pubkey) -> None:
    """Prints and checks, for the quote: collateral vault == total balances + protocol balance;
    protocol balance == the markets' PnL pools + revenue; insurance vault >= fund balance; and
    each market's ledger (every trading account's positions in it) nets to zero."""
    client = d.client
    quote = await client.collateral.fetch_config(usdc)
    fund_state = await d.core.fetch_insurance_fund(usdc)
    vault = int((await d.connection.get_token_account_balance(quote.vault)).value.amount)
    insurance = int((await d.connection.get_token_account_balance(fund_state.vault)).value.amount)
    markets = {i: await client.fetch_market(i) for i in (SOL_PERP, BTC_PERP)}
    pools = sum(m.pnl_pool for m in markets.values())
    filters = [MemcmpOpts(0, b58encode(ts.TRADING_DISCRIMINATOR).decode())]
    accounts = [ts.decode_trading_account(bytes(a.account.data))
                for a in (await d.connection.get_program_accounts(ts.PROGRAM_ID, encoding="base64", filters=filters)).value]
    print("\nconservation (USDC):")
    print(f"  collateral vault {usd(vault)} == balances {usd(quote.total_balances)} + protocol balance {usd(quote.protocol_balance)}")
    print(f"  protocol balance {usd(quote.protocol_balance)} == PnL pools {usd(pools)} + revenue {usd(quote.revenue)}")
    print(f"  insurance vault {usd(insurance)} >= fund balance {usd(fund_state.balance)}")
    assert vault == quote.total_balances + quote.protocol_balance and quote.protocol_balance == pools + quote.revenue and insurance >= fund_state.balance
    print("  each market's ledger: positions' entry + realized PnL, the fee pools, fees swept and PnL settled, less funding settled,")
    print("  insurance paid, losses socialized and unbacked, nets to zero:")
    for index, m in markets.items():
        positions = [p for t in accounts for p in t.positions if p.market_index == index]
        terms = [("positions", sum(p.quote_entry + p.realized_pnl for p in positions)), ("pools", m.fee_pool + m.liquidation_fee_pool),
                 ("swept", m.fees_swept), ("settled", m.total_pnl_settled), ("funding", -m.total_funding_settled), ("insurance", -m.insurance_paid),
                 ("socialized", -m.socialized_loss), ("unbacked", -m.unbacked_loss)]
        ledger = sum(value for _, value in terms)
        print(f"    market {index}: {', '.join(f'{label} {usd(value)}' for label, value in terms)} -> {usd(ledger)}")
        assert ledger == 0
        assert sum(p.base for p in positions if p.base > 0) == m.open_interest_long and sum(-p.base for p in positions if p.base < 0) == m.open_interest_short
