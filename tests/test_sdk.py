"""The SDK (quantdesk.clients) over RPC against the local validator: the HTTP requests placing an
order costs, the named errors of failed sends and simulations, the README's example, and the
naming rules (fetch_* for reads, `__all__` in every module)."""
from __future__ import annotations

import ast
import asyncio
import dataclasses
import importlib
import inspect
import json
import os
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from anchorpy import Provider, Wallet
from quantdesk.clients import collateral, core, idl, oracle, security, sysvar, token
from quantdesk.clients import rpc as rpc_mod
from quantdesk.clients.collateral import Params
from quantdesk.clients.errors import ProgramError, RuntimeFailure, TransactionExpired, TransactionFailed
from quantdesk.clients.rpc import ProgramClient
from quantdesk.clients.trading import MakerParams, MarketParams, OrderKind, OrderParams, Side, TimeInForce, TradingClient
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.errors import InvalidParamsMessage

from quantdesk.localnet import LocalnetProcess, run_in_background
from quantdesk.localnet.controls_client import ValidatorClock

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
ROOT = Path(__file__).resolve().parents[1]
USDC = 10**6
BASE = 10**9
PRICE = 100 * USDC
on_venue = pytest.mark.asyncio(loop_scope="module")
"""The tests that share the module's validator run on its event loop."""
PARAMS = MarketParams(tick_size=10_000, lot_size=1_000_000, min_order_size=10_000_000, init_margin_bps=1_000, maint_margin_bps=500,
                      size_margin_factor=0, upnl_init_weight_bps=10_000, upnl_maint_weight_bps=10_000, taker_fee_bps=5, maker_fee_bps=-2,
                      max_open_interest=10**6 * BASE, auction_min_slots=2, auction_default_slots=5, auction_max_slots=100,
                      auction_max_deviation_bps=500, post_auction_slots=100, funding_period_secs=3_600, funding_max_rate_bps=100,
                      mark_band_bps=100, mark_depth_base=10 * BASE, delegated_band_bps=50, liquidator_fee_bps=100, insurance_fee_bps=50,
                      liquidation_max_fraction_bps=2_500, liquidation_whole_base=10 * BASE, insurance_cap=100_000 * USDC)


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


@on_venue
@pytest.mark.parametrize("collaterals,positions", [(1, 1), (4, 4), (8, 7)])
async def test_place_order_costs_three_http_requests_whatever_the_account_holds(venue: Venue, collaterals: int, positions: int) -> None:
    """Every HTTP request to the validator counts, confirmation included (a JSON-RPC batch is one
    HTTP request). Before batching, the same orders cost 10, 16 and 23 requests with a fresh
    client (7 + N + M, plus GlobalConfig once): one getAccountInfo per account, the blockhash,
    the send, getSignatureStatuses and getTransaction."""
    owner, margin = await account_with(venue, collaterals, positions)
    assert len((await venue.client.collateral.fetch_balances(margin)).entries) == collaterals
    assert len((await venue.client.fetch_trading_account(margin)).positions) == positions
    await venue.publish()
    client = TradingClient(venue.provider)  # a fresh client: the quote mint is read too
    for side in (Side.BID, Side.ASK):  # then warm: the quote mint is known
        venue.log.clear()
        order_id = await client.place_order(owner, margin, OrderParams(0, side, BASE // 10, 99 * USDC if side == Side.BID else 101 * USDC))
        assert venue.log.requests == [["getMultipleAccounts", "getLatestBlockhash"], ["getMultipleAccounts"], ["sendTransaction", "getTransaction"]]
        assert (await client.fetch_order(margin, order_id)).side == side
    venue.log.clear()
    assert len(await client.fetch_positions(margin)) == positions + 1  # the new orders' market too
    assert venue.log.requests == [["getMultipleAccounts"], ["getMultipleAccounts"], ["simulateTransaction"] * (collaterals - 1 + positions + 1)]


class Lagging(httpx.AsyncBaseTransport):
    """The validator as a cluster looks to a client: a transaction is not yet confirmed when the
    send is answered (getTransaction answers null in the send's batch); `forever`: never."""

    def __init__(self, forever: bool = False) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.forever = forever

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        response = await self.inner.handle_async_request(request)
        calls = body if isinstance(body, list) else [body]
        if not (self.forever or any(c["method"] == "sendTransaction" for c in calls)):
            return response
        await response.aread()
        answers = json.loads(response.content)
        for call, answer in zip(calls, answers if isinstance(answers, list) else [answers]):
            if call["method"] == "getTransaction" and "result" in answer:
                answer["result"] = None
        return httpx.Response(response.status_code, json=answers)


@on_venue
@pytest.mark.parametrize("forever", [False, True])
async def test_a_send_not_confirmed_at_once_is_polled_until_it_lands_or_expires(venue: Venue, forever: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    async with AsyncClient(venue.node.rpc_url, commitment=Confirmed) as rpc:
        await rpc._provider.session.aclose()
        rpc._provider.session = httpx.AsyncClient(transport=Lagging(forever))
        log = RequestLog(rpc)
        client = collateral.CollateralClient(Provider(rpc, Wallet(venue.wallet)))
        memo = Instruction(MEMO_PROGRAM_ID, f"lagging {forever}".encode(), [AccountMeta(venue.wallet.pubkey(), True, False)])
        if not forever:
            receipt = await client.submit([memo])
            assert log.requests == [["getLatestBlockhash"], ["sendTransaction", "getTransaction"], ["getTransaction", "getBlockHeight"]]
            assert any("lagging" in line for line in receipt.logs)
            return
        blockhash = await rpc_mod.fetch_blockhash(rpc)
        monkeypatch.setattr(rpc_mod, "CONFIRM_POLL_SECS", 0.01)
        with pytest.raises(TransactionExpired) as expired:  # a blockhash whose last valid height is passed (faked: it is still valid)
            await client.submit([memo], blockhash=rpc_mod.Blockhash(blockhash.hash, (await rpc.get_block_height()).value - 1))
        assert expired.value.signature is not None and log.requests[-1] == ["getTransaction", "getBlockHeight"]


# ---------------------------------------------------------------- named errors

@on_venue
async def test_a_refused_send_and_simulation_raise_the_programs_named_error(venue: Venue) -> None:
    owner, margin = await venue.trader([venue.usdc])
    coll = venue.client.collateral
    code = idl.error_codes(collateral.NAME)["InsufficientBalance"]
    with pytest.raises(ProgramError) as sent:
        await coll.withdraw(owner, margin, venue.usdc, 20_000 * USDC)
    e = sent.value
    assert (e.program, e.program_id, e.code, e.name, e.instruction) == (collateral.NAME, collateral.PROGRAM_ID, code, "InsufficientBalance", 0)
    assert e.message == idl.errors(collateral.NAME)[code][1] and e.simulated  # refused by the send's preflight
    assert f"Program {collateral.PROGRAM_ID} failed: custom program error: {code:#x}" in e.logs
    assert isinstance(e, TransactionFailed) and "InsufficientBalance" in str(e)
    ix = coll.ix.withdraw(owner.pubkey(), margin, venue.usdc, 20_000 * USDC, await coll.fetch_health_accounts(margin))
    with pytest.raises(ProgramError) as simulated:
        await coll.simulate([ix], [owner])
    assert (simulated.value.code, simulated.value.name, simulated.value.logs) == (code, "InsufficientBalance", e.logs)
    # The failing instruction's index, with an instruction before it that succeeds.
    memo = Instruction(MEMO_PROGRAM_ID, b"first", [AccountMeta(owner.pubkey(), True, False)])
    with pytest.raises(ProgramError) as later:
        await coll.send([memo, ix], [owner])
    assert (later.value.instruction, later.value.name) == (1, "InsufficientBalance")
    # Without the preflight the transaction lands, fails on chain and is read back from getTransaction.
    with pytest.raises(ProgramError) as landed:
        await coll.submit([ix], [owner], skip_preflight=True)
    assert (landed.value.name, landed.value.simulated, landed.value.logs) == ("InsufficientBalance", False, e.logs)
    assert landed.value.signature is not None
    assert (await coll.fetch_meta(landed.value.signature)).err == landed.value.err


@on_venue
async def test_an_error_raised_in_a_cpi_is_the_invoked_programs(venue: Venue) -> None:
    """A deposit of more than the token account holds: qd-collateral's transfer CPI fails in the
    Token program (its custom error 1, InsufficientFunds; no IDL here, so named Custom(1))."""
    owner, margin = await venue.trader([venue.usdc], amount=10)
    with pytest.raises(ProgramError) as refused:
        await venue.client.collateral.deposit(owner, margin, venue.usdc, 11 * USDC)
    e = refused.value
    assert (e.program_id, e.program, e.code, e.name, e.instruction) == (token.TOKEN_PROGRAM_ID, str(token.TOKEN_PROGRAM_ID), 1, "Custom(1)", 0)


@on_venue
async def test_runtime_and_rpc_failures_raise_runtime_failure(venue: Venue) -> None:
    owner, margin = await venue.trader([venue.usdc])
    coll = venue.client.collateral
    # Too large: the node refuses to decode it (no instruction ran).
    memos = [Instruction(MEMO_PROGRAM_ID, bytes(200), [AccountMeta(owner.pubkey(), True, False)]) for _ in range(8)]
    with pytest.raises(RuntimeFailure) as oversized:
        await coll.send(memos, [owner])
    assert oversized.value.rpc_code == -32602 and "too large" in oversized.value.reason and oversized.value.err is None
    # An instruction short of its accounts is the program's own named refusal...
    withdraw = coll.ix.withdraw(owner.pubkey(), margin, venue.usdc, USDC, [])
    with pytest.raises(ProgramError) as short:
        await coll.send([Instruction(withdraw.program_id, withdraw.data, withdraw.accounts[:2])], [owner])
    assert (short.value.program, short.value.name) == (collateral.NAME, "NotEnoughAccounts")
    # ...while an instruction error the runtime names (the Memo program refuses non-UTF-8 data) is not custom.
    with pytest.raises(RuntimeFailure) as invalid:
        await coll.send([memos[0], Instruction(MEMO_PROGRAM_ID, b"\xff\xfe", [])], [owner])
    e = invalid.value
    assert (e.instruction, e.program_id, e.rpc_code) == (1, MEMO_PROGRAM_ID, None)
    assert "InvalidInstructionData" in e.reason and e.logs and not isinstance(e, ProgramError)
    # A fee payer without lamports: a transaction-level error.
    broke = collateral.CollateralClient(Provider(venue.rpc, Wallet(Keypair())))
    with pytest.raises(RuntimeFailure) as unpaid:
        await broke.send([memos[0]], [owner])
    assert unpaid.value.instruction is None and "AccountNotFound" in unpaid.value.reason
    assert not isinstance(unpaid.value, ProgramError)


@pytest.mark.parametrize("code", [-32429, -32602])
async def test_an_error_answer_raises_rpc_exception_whatever_its_code(code: int) -> None:
    """A read answered with an error raises RPCException: with solders' RPCError for a code solders
    knows (-32602 invalid params), with the answer's error object for one solders parses as the
    bare code, an int (-32429, a provider's rate limit; it used to pass for the response)."""
    error = {"code": code, "message": "refused"}

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": json.loads(request.content)["id"], "error": error})

    async with AsyncClient("http://127.0.0.1:9") as rpc:
        await rpc._provider.session.aclose()
        rpc._provider.session = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
        with pytest.raises(RPCException) as refused:
            await rpc_mod.fetch_blockhash(rpc)
    raised = refused.value.args[0]
    if code == -32429:
        assert raised == error
    else:
        assert isinstance(raised, InvalidParamsMessage) and raised.message == "refused"


# ---------------------------------------------------------------- the README's example

def readme_example() -> str:
    """The python code block of README.md's "Using the SDK" section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using the SDK"):]
    return section[section.index("```python\n") + len("```python\n"):section.index("\n```\n")]


@on_venue
async def test_the_readme_example_runs(venue: Venue) -> None:
    owner = Keypair()
    await venue.rpc.request_airdrop(owner.pubkey(), 10 * 10**9)
    ata = token.associated_address(owner.pubkey(), venue.usdc)
    await venue.client.send([token.create_associated_account(venue.wallet.pubkey(), owner.pubkey(), venue.usdc),
                             token.mint_to_instruction(venue.usdc, ata, venue.wallet.pubkey(), 1_000 * USDC)])
    await venue.publish()
    env = {**os.environ, "QD_RPC_URL": venue.node.rpc_url, "QD_OWNER": str(owner), "QD_USDC": str(venue.usdc)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", readme_example(), env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    margin = core.margin_account_address(owner.pubkey(), 0)
    [order] = (await venue.client.fetch_trading_account(margin)).orders
    assert out.decode().startswith(f"order {order.order_id}: M0-PERP ") and out.decode().rstrip().endswith("orders 1")
    assert (await venue.client.collateral.fetch_balances(margin)).balance_of(venue.usdc) == 1_000 * USDC


# ---------------------------------------------------------------- naming

CLIENT_MODULES = ["collateral", "core", "errors", "health", "idl", "oracle", "pyth", "rpc", "security", "sysvar", "token", "trading", "trading_state"]
SENDERS = {"send", "submit", "simulate", "simulate_each", "create", "close", "set_delegate", "set_limits", "open", "deposit", "withdraw", "transfer", "publish_all",
           "enact", "check_action", "open_trading_account", "close_trading_account", "place_order", "modify_order", "cancel_order",
           "cancel_by_client_id", "cancel_orders", "place_and_make", "fill_order", "update_funding", "settle_pnl", "expire_orders",
           "liquidate_orders", "liquidate_perp", "liquidate_collateral", "exit_liquidation", "resolve_bankruptcy", "create_insurance_fund", "stake",
           "sweep_fees", "place_trigger_order", "place_bracket", "place_iceberg_order", "place_scale_orders", "place_twap_order", "trigger_order",
           "crank_twap"}
"""The clients' coroutines that send (or, check_action and simulate*, dry-run) a transaction; every other one reads and is fetch_*."""


def defined_names(module: types.ModuleType) -> set[str]:
    """The public names a module's own top-level statements bind (not its imports)."""
    names: set[str] = set()
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("name", CLIENT_MODULES)
def test_every_client_module_lists_its_public_names(name: str) -> None:
    module = importlib.import_module(f"quantdesk.clients.{name}")
    assert all(hasattr(module, n) for n in module.__all__)
    assert defined_names(module) <= set(module.__all__)
    assert "get_account_info" not in inspect.getsource(module)  # account reads go through getMultipleAccounts


def test_client_coroutines_that_read_are_named_fetch() -> None:
    clients = [c for name in CLIENT_MODULES for _, c in inspect.getmembers(importlib.import_module(f"quantdesk.clients.{name}"), inspect.isclass)
               if issubclass(c, ProgramClient)]
    assert len({c.__name__ for c in clients}) == 6  # ProgramClient and the five programs'
    for cls in clients:
        for method, _ in inspect.getmembers(cls, inspect.iscoroutinefunction):
            if not method.startswith("_"):
                assert method.startswith("fetch_") or method in SENDERS, f"{cls.__name__}.{method}"
