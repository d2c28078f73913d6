"""qd-core's liquidation through the async SDK (clients/core.py CoreClient) over RPC against the
local validator: a shocked long has its orders taken and part of its position liquidated, the
view before and after equal to its Python mirror, then leaves liquidation once its owner adds
margin; a second long, shocked into bankruptcy, is liquidated flat, its collateral taken for
its debt, and the rest of the debt paid by the insurance fund and socialized. Refusals arrive
as errors.ProgramError by name. The health lists the SDK builds are checked in LiteSVM first."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from anchorpy import Provider, Wallet
from quantdesk.clients import collateral, core, liquidation, oracle, security, sysvar, token, trading
from quantdesk.clients import trading_state as ts
from quantdesk.clients.errors import ProgramError
from quantdesk.clients.oracle import Action, OracleClient
from quantdesk.clients.trading import MakerParams, OrderKind, OrderParams, Side, TimeInForce, TradingClient
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.controls_client import ValidatorClock
from quantdesk.world import BASE, FEE_SHARE_BPS, PARAMS, QUOTE_PARAMS, SOL, SOL_PARAMS, SOL_PRICE, UNSTAKE_DELAY, USDC, Venue

ROOT = Path(__file__).resolve().parents[1]
on_venue = pytest.mark.asyncio(loop_scope="module")
"""The tests that share the module's validator run on its event loop."""
PRICE = 100 * USDC
SIZE = 95 * BASE
FEEDS = {0: "ALPHA/USD", 1: "BETA/USD"}
"""Each test's market on a feed of its own, so one test's shock leaves the other's prices alone."""


# ---------------------------------------------------------------- the health lists (LiteSVM)

def metas(*keys: Pubkey) -> list[AccountMeta]:
    return [AccountMeta(k, is_signer=False, is_writable=False) for k in keys]


def test_the_step_lists_leave_out_the_fixed_accounts_and_name_the_liquidators_new_collateral() -> None:
    v = Venue(asset=SOL_PARAMS)
    v.add_market(1, "ETH-PERP")
    t, maker, liquidator = v.trader(), v.trader(1_000_000 * USDC), v.trader(100_000 * USDC)
    v.fund(t.owner, v.sol, SOL)
    assert v.deposit(t, v.sol, SOL).ok
    for index in (0, 1):
        for who in (t, liquidator):
            order_id = v.placed_id(who, OrderParams(index, Side.BID, BASE, 102 * USDC, OrderKind.MARKET, TimeInForce.IOC))
            v.advance(2)
            assert v.make_at_auction(maker, who, order_id, BASE).ok
    sol = v.collateral_config(v.sol)
    assert sol.oracle is not None
    state = v.health_state(t.margin)
    # The liquidated account's list: its collateral but the quote, its positions but the step's market.
    assert core.liquidated_health(state, 0) == metas(sol.address, sol.oracle, ts.market_address(1), v.feeds[1]) == v.health(t.margin, 0)
    assert core.liquidated_health(state) == metas(sol.address, sol.oracle, ts.market_address(0), v.feeds[0], ts.market_address(1), v.feeds[1])
    # The liquidator after a collateral step holds SOL too; after a perp step its list is as it is.
    mine = v.health_state(liquidator.margin, [v.sol])
    assert core.liquidator_health(mine, 0, v.sol) == metas(sol.address, sol.oracle, ts.market_address(1), v.feeds[1])
    assert core.liquidator_health(mine, 1) == metas(ts.market_address(0), v.feeds[0]) == v.health(liquidator.margin, 1)


# ---------------------------------------------------------------- over RPC

@dataclasses.dataclass
class Local:
    node: LocalnetProcess
    rpc: AsyncClient
    wallet: Keypair
    publisher: Keypair
    usdc: Pubkey
    sol: Pubkey
    client: TradingClient

    @property
    def core(self) -> core.CoreClient:
        return self.client.core

    @property
    def feeds(self) -> OracleClient:
        return OracleClient(self.client.program.provider)

    async def publish(self, prices: dict[str, int]) -> None:
        """A second on (the feeds' stamps increase), each feed of `prices` at its price."""
        await ValidatorClock(self.node.rpc_url).warp(3)
        now = (await sysvar.fetch_clock(self.rpc)).unix_timestamp
        await self.feeds.send([self.feeds.ix.publish(self.publisher.pubkey(), oracle.feed_address(s), p, p // 10_000, now) for s, p in prices.items()],
                              [self.publisher])

    async def tick(self) -> None:
        """A slot on: a new blockhash, so a call repeated as it was is a new transaction (the
        paused validator keeps its blockhash otherwise, and the node refuses the copy as
        AlreadyProcessed)."""
        await ValidatorClock(self.node.rpc_url).warp(1)

    async def mint(self, decimals: int) -> Pubkey:
        mint = Keypair()
        rent = (await self.rpc.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
        await self.client.send(token.create_mint(self.wallet.pubkey(), mint.pubkey(), self.wallet.pubkey(), decimals, rent), [mint])
        return mint.pubkey()

    async def fund(self, owner: Pubkey, mint: Pubkey, amount: int) -> None:
        """`amount` of `mint` minted into `owner`'s associated token account (created if missing)."""
        ata = token.associated_address(owner, mint)
        create = [] if (await self.rpc.get_account_info(ata)).value else [token.create_associated_account(self.wallet.pubkey(), owner, mint)]
        await self.client.send([*create, token.mint_to_instruction(mint, ata, self.wallet.pubkey(), amount)])

    async def trader(self, usdc: int, sol: int = 0) -> tuple[Keypair, Pubkey]:
        """A new wallet's margin account holding `usdc` (and `sol`), with its trading account."""
        owner = Keypair()
        await self.rpc.request_airdrop(owner.pubkey(), 10 * 10**9)
        margin = await self.core.create(owner, 0)
        await self.client.collateral.open(owner, margin)
        for mint, amount in ((self.usdc, usdc), (self.sol, sol)):
            if amount:
                await self.fund(owner.pubkey(), mint, amount)
                await self.client.collateral.deposit(owner, margin, mint, amount)
        await self.client.open_trading_account(owner, margin)
        return owner, margin

    async def long(self, market: int, usdc: int, sol: int = 0) -> tuple[Keypair, Pubkey]:
        """A leveraged long of SIZE in `market` (a market bid a maker fills at the oracle in its auction)."""
        owner, margin = await self.trader(usdc, sol)
        maker_owner, maker = await self.trader(1_000_000 * USDC)
        order_id = await self.client.place_order(owner, margin, OrderParams(market, Side.BID, SIZE, 102 * USDC, OrderKind.MARKET, TimeInForce.IOC))
        await self.client.place_and_make(maker_owner, maker, margin, order_id, MakerParams(PRICE, SIZE))
        return owner, margin

    async def mirror(self, margin: Pubkey) -> core.LiquidationView:
        """clients/liquidation's view of `margin` from its accounts and the Liquidation-guarded prices."""
        [state] = await self.client.collateral.fetch_health_states([margin])
        prices = {m: (await self.feeds.fetch_price(c.oracle, Action.LIQUIDATION, c.guards[Action.LIQUIDATION])).price
                  for m, c in state.configs.items() if c.oracle is not None}
        market_prices = {i: (await self.feeds.fetch_price(m.oracle, Action.LIQUIDATION, m.guards[Action.LIQUIDATION])).price
                         for i, m in state.markets.items()}
        status = (await self.core.fetch_margin_account(margin)).status
        buffer = (await self.core.fetch_global()).liquidation_buffer_bps
        return liquidation.view(state.balances, state.configs, prices, state.trading, state.markets, market_prices, buffer, status)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def local() -> AsyncIterator[Local]:
    """The programs on a paused local validator: USDC the quote, SOL listed on SOL/USD (a 5%
    liquidation discount), markets 0 and 1 at 100 on feeds of their own."""
    async with run_in_background(paused=True, root=ROOT, log_level="warning") as node, AsyncClient(node.rpc_url, commitment=Confirmed) as rpc:
        wallet, publisher = Keypair(), Keypair()
        for kp in (wallet, publisher):
            await rpc.request_airdrop(kp.pubkey(), 100 * 10**9)
        client = TradingClient(Provider(rpc, Wallet(wallet)))
        v = Local(node, rpc, wallet, publisher, Pubkey.default(), Pubkey.default(), client)
        v.usdc, v.sol = await v.mint(6), await v.mint(9)
        await client.send([security.SecurityInstructions().initialize(wallet.pubkey()), client.core.ix.initialize(wallet.pubkey(), v.usdc)])
        for symbol in [*FEEDS.values(), "SOL/USD"]:
            await v.feeds.send([v.feeds.ix.initialize_feed(wallet.pubkey(), symbol, -6, 30, [publisher.pubkey()])])
        await v.publish({FEEDS[0]: PRICE, FEEDS[1]: PRICE, "SOL/USD": SOL_PRICE})
        ix = client.collateral.ix
        await client.send([ix.create_collateral(wallet.pubkey(), v.usdc, None, QUOTE_PARAMS),
                           ix.create_collateral(wallet.pubkey(), v.sol, oracle.feed_address("SOL/USD"), SOL_PARAMS)])
        for index, symbol in FEEDS.items():
            await client.send([client.ix.create_market(wallet.pubkey(), index, f"M{index}-PERP", oracle.feed_address(symbol), PARAMS)])
        yield v


@on_venue
async def test_a_shocked_account_is_liquidated_through_the_sdk_and_leaves_liquidation(local: Local) -> None:
    v, cc = local, local.core
    owner, margin = await v.long(0, 1_300 * USDC)
    await v.client.place_order(owner, margin, OrderParams(0, Side.ASK, BASE, 120 * USDC, reduce_only=True))
    liquidator_owner, liquidator = await v.trader(100_000 * USDC)
    await v.publish({FEEDS[0]: 90 * USDC})

    view = await cc.fetch_liquidation_view(margin)
    assert view == await v.mirror(margin)
    assert view.liquidatable and not view.being_liquidated and view.maint_health < 0 and view.liquidation_end_health < view.maint_health
    [perp] = view.perps
    assert (perp.market_index, perp.base, perp.price) == (0, SIZE, 90 * USDC) and 0 < perp.max_base < SIZE

    # A liquidator first takes the account's orders off the book; its step then starts the liquidation.
    receipt = await cc.liquidate_orders(liquidator_owner, liquidator, margin)
    [cancelled] = [e.data for e in core.parse_events(receipt.logs) if e.name == "LiquidationOrdersCancelled"]
    assert cancelled.orders == 1 and (await v.client.fetch_trading_account(margin)).orders == []
    await v.tick()
    with pytest.raises(ProgramError) as nothing:
        await cc.liquidate_orders(liquidator_owner, liquidator, margin)
    assert (nothing.value.program, nothing.value.name) == (core.NAME, "NothingToLiquidate")

    receipt = await cc.liquidate_perp(liquidator_owner, liquidator, margin, 0)
    [step] = [e.data for e in core.parse_events(receipt.logs) if e.name == "PerpLiquidated"]
    assert (step.base, step.price, step.liquidator, step.margin_account) == (-perp.max_base, 90 * USDC, liquidator, margin)
    assert step.maint_after > step.maint_before and step.end_after > step.end_before
    after = await cc.fetch_liquidation_view(margin)
    assert after == await v.mirror(margin)
    assert after.being_liquidated and after.perps[0].base == SIZE - perp.max_base
    assert [p.base for p in (await v.client.fetch_trading_account(liquidator)).positions] == [perp.max_base]

    # Its owner adds margin: anyone ends the liquidation; a healthy account is not liquidated.
    with pytest.raises(ProgramError) as early:
        await cc.exit_liquidation(margin)
    assert early.value.name == "LiquidationNotOver"
    await v.fund(owner.pubkey(), v.usdc, 2_000 * USDC)
    await v.client.collateral.deposit(owner, margin, v.usdc, 2_000 * USDC)
    receipt = await cc.exit_liquidation(margin)
    assert [e.name for e in core.parse_events(receipt.logs)] == ["LiquidationEnded"]
    assert (await cc.fetch_margin_account(margin)).status == 0
    await v.tick()
    with pytest.raises(ProgramError) as healthy:
        await cc.liquidate_perp(liquidator_owner, liquidator, margin, 0)
    assert healthy.value.name == "NotLiquidatable"


@on_venue
async def test_a_bankrupt_account_is_liquidated_then_resolved_by_the_fund_and_socialized(local: Local) -> None:
    v, cc = local, local.core
    receipt = await cc.create_insurance_fund(v.wallet, UNSTAKE_DELAY, FEE_SHARE_BPS)
    assert [e.name for e in core.parse_events(receipt.logs)] == ["InsuranceFundCreated"]
    staker = Keypair()
    await v.rpc.request_airdrop(staker.pubkey(), 10**9)
    await v.fund(staker.pubkey(), v.usdc, 500 * USDC)
    await cc.stake(staker, 500 * USDC)
    assert (await cc.fetch_insurance_fund(v.usdc)).balance == 500 * USDC

    # 1,300 USDC and 2 SOL (300) against a long of 95 at 100: at 70 its equity is about -1,560.
    owner, margin = await v.long(1, 1_300 * USDC, 2 * SOL)
    liquidator_owner, liquidator = await v.trader(1_000_000 * USDC)
    await v.publish({FEEDS[1]: 70 * USDC, "SOL/USD": SOL_PRICE})
    while (view := await cc.fetch_liquidation_view(margin)).perps[0].base:
        await cc.liquidate_perp(liquidator_owner, liquidator, margin, 1)
        await v.tick()  # the next step may be the same transaction
    await v.client.settle_pnl(v.wallet, margin, 1)
    with pytest.raises(ProgramError) as quote_left:
        await cc.resolve_bankruptcy(margin, 1)
    assert quote_left.value.name == "NotBankrupt"  # it still holds SOL

    # The liquidator repays what the SOL covers at its discount and takes all of it.
    receipt = await cc.liquidate_collateral(liquidator_owner, liquidator, margin, 1, v.sol)
    [taken] = [e.data for e in core.parse_events(receipt.logs) if e.name == "CollateralLiquidated"]
    assert taken.collateral == 2 * SOL and (await v.client.collateral.fetch_balances(margin)).entries == []
    assert (await v.client.collateral.fetch_balances(liquidator)).balance_of(v.sol) == 2 * SOL
    state = await cc.fetch_margin_account(margin)
    assert state.bankrupt and state.being_liquidated and view.liquidatable

    debt = -(await v.client.fetch_trading_account(margin)).positions[0].realized_pnl
    assert debt > 500 * USDC
    receipt = await cc.resolve_bankruptcy(margin, 1)
    events = {e.name: e.data for e in core.parse_events(receipt.logs)}
    resolved = events["BankruptcyResolved"]
    assert (resolved.debt, resolved.insurance, resolved.socialized, resolved.unbacked) == (debt, 500 * USDC, debt - 500 * USDC, 0)
    assert events["InsurancePaid"].balance == resolved.fund_balance == 0
    [socialized] = [e.data for e in trading.parse_events(receipt.logs) if e.name == "LossSocialized"]
    market = await v.client.fetch_market(1)
    assert socialized.index_delta > 0 and (market.insurance_paid, market.socialized_loss) == (500 * USDC, debt - 500 * USDC)
    assert (await cc.fetch_margin_account(margin)).status == 0 and (await v.client.fetch_trading_account(margin)).positions == []
    fund = await cc.fetch_insurance_fund(v.usdc)
    assert (fund.balance, fund.total_paid) == (0, 500 * USDC)
    await v.tick()
    with pytest.raises(ProgramError) as twice:
        await cc.resolve_bankruptcy(margin, 1)
    assert (twice.value.program, twice.value.name) == (core.NAME, "NotBankrupt")
    # Vaults back every balance: collateral vault == balances + protocol balance.
    quote = await v.client.collateral.fetch_config(v.usdc)
    vault = int((await v.rpc.get_token_account_balance(collateral.vault_address(v.usdc))).value.amount)
    assert vault == quote.total_balances + quote.protocol_balance
