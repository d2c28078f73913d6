"""The SDK over RPC against the local validator: how many HTTP requests placing an order costs."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from anchorpy import Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.clients import collateral, core, oracle, security, sysvar, token, trading
from quantdesk.clients.collateral import Params
from quantdesk.clients.trading import MakerParams, MarketParams, OrderKind, OrderParams, Side, TimeInForce, TradingClient
from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.controls_client import ValidatorClock

ROOT = Path(__file__).resolve().parents[1]
USDC = 10**6
BASE = 10**9
PRICE = 100 * USDC
pytestmark = pytest.mark.asyncio(loop_scope="module")
PARAMS = MarketParams(tick_size=10_000, lot_size=1_000_000, min_order_size=10_000_000, init_margin_bps=1_000, maint_margin_bps=500,
                      size_margin_factor=0, upnl_init_weight_bps=10_000, upnl_maint_weight_bps=10_000, taker_fee_bps=5, maker_fee_bps=-2,
                      max_open_interest=10**6 * BASE, auction_min_slots=2, auction_default_slots=5, auction_max_slots=100,
                      auction_max_deviation_bps=500, post_auction_slots=100, funding_period_secs=3_600, funding_max_rate_bps=100,
                      mark_band_bps=100, mark_depth_base=10 * BASE, delegated_band_bps=50)


class RequestLog:
    """Every HTTP request an AsyncClient sends (an httpx request hook on its transport), as the
    JSON-RPC methods in each body: one entry per HTTP request, a JSON-RPC batch being one."""

    def __init__(self, rpc: AsyncClient) -> None:
        self.requests: list[list[str]] = []
        rpc._provider.session.event_hooks["request"].append(self._record)

    async def _record(self, request: httpx.Request) -> None:
        body = json.loads(request.content)
        self.requests.append([r["method"] for r in (body if isinstance(body, list) else [body])])

    def clear(self) -> None:
        self.requests.clear()


@dataclasses.dataclass
class Venue:
    node: LocalnetProcess
    rpc: AsyncClient
    wallet: Keypair
    publisher: Keypair
    usdc: Pubkey
    client: TradingClient
    log: RequestLog

    @property
    def provider(self) -> Provider:
        return self.client.program.provider

    async def publish(self) -> None:
        await ValidatorClock(self.node.rpc_url).warp(3)  # a second on: publish times increase
        feeds = oracle.OracleClient(self.provider)
        now = (await sysvar.fetch_clock(self.rpc)).unix_timestamp
        await feeds.send([feeds.ix.publish(self.publisher.pubkey(), oracle.feed_address("SOL/USD"), PRICE, PRICE // 10_000, now)], [self.publisher])

    async def mint(self, decimals: int) -> Pubkey:
        mint = Keypair()
        rent = (await self.rpc.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
        await self.client.send(token.create_mint(self.wallet.pubkey(), mint.pubkey(), self.wallet.pubkey(), decimals, rent), [mint])
        return mint.pubkey()

    async def trader(self, mints: list[Pubkey], amount: int = 10_000) -> tuple[Keypair, Pubkey]:
        """A funded owner with a margin account holding `amount` whole units of each of `mints`, and a trading account."""
        owner = Keypair()
        await self.rpc.request_airdrop(owner.pubkey(), 10 * 10**9)
        margin = await self.client.core.create(owner, 0)
        await self.client.collateral.open(owner, margin)
        for mint in mints:
            decimals = (await self.client.collateral.fetch_config(mint)).decimals
            ata = token.associated_address(owner.pubkey(), mint)
            await self.client.send([token.create_associated_account(self.wallet.pubkey(), owner.pubkey(), mint),
                                    token.mint_to_instruction(mint, ata, self.wallet.pubkey(), amount * 10**decimals)])
            await self.client.collateral.deposit(owner, margin, mint, amount * 10**decimals)
        await self.client.open_trading_account(owner, margin)
        return owner, margin


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def venue() -> AsyncIterator[Venue]:
    """The programs on a paused local validator: USDC as the quote, one SOL/USD feed, markets 0..8 on it."""
    async with run_in_background(paused=True, root=ROOT, log_level="warning") as node, AsyncClient(node.rpc_url, commitment=Confirmed) as rpc:
        wallet, publisher = Keypair(), Keypair()
        for kp in (wallet, publisher):
            await rpc.request_airdrop(kp.pubkey(), 100 * 10**9)
        client = TradingClient(Provider(rpc, Wallet(wallet)))
        v = Venue(node, rpc, wallet, publisher, Pubkey.default(), client, RequestLog(rpc))
        v.usdc = await v.mint(6)
        await client.send([security.SecurityInstructions().initialize(wallet.pubkey()), client.core.ix.initialize(wallet.pubkey(), v.usdc)])
        await client.send([client.collateral.ix.create_collateral(wallet.pubkey(), v.usdc, None, Params(10_000, 10_000, 10**15))])
        feeds = oracle.OracleClient(client.program.provider)
        await feeds.send([feeds.ix.initialize_feed(wallet.pubkey(), "SOL/USD", -6, 30, [publisher.pubkey()])])
        await v.publish()
        for index in range(trading_state_max_markets()):
            await client.send([client.ix.create_market(wallet.pubkey(), index, f"M{index}-PERP", oracle.feed_address("SOL/USD"), PARAMS)])
        yield v


def trading_state_max_markets() -> int:
    return 9


async def account_with(v: Venue, collaterals: int, positions: int) -> tuple[Keypair, Pubkey]:
    """A trader holding `collaterals` collaterals (USDC and others priced by SOL/USD) and a long
    position in each of markets 1..`positions`, made by a maker's place_and_make."""
    mints = [v.usdc]
    for _ in range(collaterals - 1):
        mint = await v.mint(9)
        await v.client.send([v.client.collateral.ix.create_collateral(v.wallet.pubkey(), mint, oracle.feed_address("SOL/USD"), Params(8_000, 9_000, 10**18))])
        mints.append(mint)
    owner, margin = await v.trader(mints)
    maker_owner, maker = await v.trader([v.usdc], 100_000)
    await v.publish()
    for index in range(1, positions + 1):
        order = await v.client.place_order(owner, margin, OrderParams(index, Side.BID, BASE // 10, 102 * USDC, OrderKind.MARKET, TimeInForce.IOC))
        await v.client.place_and_make(maker_owner, maker, margin, order, MakerParams(PRICE, BASE // 10))
    return owner, margin


@pytest.mark.parametrize("collaterals,positions", [(1, 1), (4, 4), (8, 7)])
async def test_place_order_round_trips(venue: Venue, collaterals: int, positions: int) -> None:
    owner, margin = await account_with(venue, collaterals, positions)
    assert len((await venue.client.collateral.fetch_balances(margin)).entries) == collaterals
    assert len((await venue.client.fetch_trading_account(margin)).positions) == positions
    await venue.publish()
    client = TradingClient(venue.provider)  # a fresh client: nothing cached
    venue.log.clear()
    await client.place_order(owner, margin, OrderParams(0, Side.BID, BASE // 10, 99 * USDC))
    print(f"{collaterals} collaterals, {positions} positions: {len(venue.log.requests)} HTTP requests: {venue.log.requests}")
    assert len(venue.log.requests) <= 3
