"""Client for qd-collateral: config, vault and balances addresses, instruction builders, account
decoders, the health accounts an instruction needs, and an async client for deposits,
withdrawals, transfers and a health readout computed with the engine's Python mirror."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum
from typing import Any

from anchorpy import Context, Program, Provider
from anchorpy.program.common import Event

# core and collateral import each other as modules; neither reads the other's names at import time.
from quantdesk.clients import core, security, trading_state
from quantdesk.clients import health as health_mod
from quantdesk.clients import idl as idl_mod
from quantdesk.clients.oracle import Action, GuardConfig, OracleClient
from quantdesk.clients.rpc import AccountReads, ProgramClient
from quantdesk.clients.token import TOKEN_PROGRAM_ID, associated_address
from quantdesk.clients.trading_state import PerpMarket, Position, TradingAccount, market_address, trading_address
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID

__all__ = ["AUTHORITY_SEED", "BALANCES_COUNT_OFFSET", "BALANCES_ENTRIES_OFFSET", "BALANCES_MARGIN_OFFSET", "BALANCES_OWNER_OFFSET", "BALANCES_SEED", "BPS", "Balance", "CONFIG_SEED",
           "CONFIG_STATUS_OFFSET", "CollateralBalances", "CollateralClient", "CollateralConfig", "CollateralInstructions", "CollateralRow",
           "DEFAULT_GUARDS", "HealthReport", "HealthState", "HealthView", "I64_MAX", "MAX_BALANCES", "NAME", "PROGRAM_ID", "Params", "PerpRow",
           "QUOTE_PRICE", "Status", "VAULT_AUTHORITY", "VAULT_SEED", "balances_address", "collateral_input", "config_address", "decode_balances",
           "decode_config", "decode_health_view", "health_accounts", "parse_events", "vault_address"]


NAME = "qd_collateral"
PROGRAM_ID = idl_mod.program_id(NAME)
CONFIG_SEED = b"collateral"
VAULT_SEED = b"vault"
BALANCES_SEED = b"balances"
AUTHORITY_SEED = b"authority"
# The vaults' owner. Balance adjustments are signed by qd-core's or qd-trading's own
# [b"authority"] PDA (qd_ids::CORE_AUTHORITY / TRADING_AUTHORITY).
VAULT_AUTHORITY = Pubkey.find_program_address([AUTHORITY_SEED], PROGRAM_ID)[0]

MAX_BALANCES = 8
QUOTE_PRICE = 1_000_000
BPS = 10_000
I64_MAX = 2**63 - 1

# Fixed offsets keepers filter on (crates/qd-collateral-state).
CONFIG_STATUS_OFFSET = 11
BALANCES_COUNT_OFFSET = 10
BALANCES_MARGIN_OFFSET = 16
BALANCES_OWNER_OFFSET = 48
BALANCES_ENTRIES_OFFSET = 88
"""8 entries of 40 bytes: mint @+0, balance (i64) @+32."""


class Status(IntEnum):
    ACTIVE = 0
    WITHDRAW_ONLY = 1


# Guards a new collateral starts with (the oracle program's defaults for its own feeds).
DEFAULT_GUARDS: dict[Action, GuardConfig] = {
    Action.TRADE: GuardConfig(50, 20, 200, 1_000, True),
    Action.MARGIN: GuardConfig(50, 20, 500, 2_000, True),
    Action.LIQUIDATION: GuardConfig(150, 60, 1_000, 0, True),
    Action.SETTLEMENT: GuardConfig(150, 60, 1_000, 0, False),
}


def config_address(mint: Pubkey) -> Pubkey:
    """The CollateralConfig PDA [b"collateral", mint]."""
    return Pubkey.find_program_address([CONFIG_SEED, bytes(mint)], PROGRAM_ID)[0]


def vault_address(mint: Pubkey) -> Pubkey:
    """The vault token account PDA [b"vault", mint]."""
    return Pubkey.find_program_address([VAULT_SEED, bytes(mint)], PROGRAM_ID)[0]


def balances_address(margin_account: Pubkey) -> Pubkey:
    """The CollateralBalances PDA [b"balances", margin_account]."""
    return Pubkey.find_program_address([BALANCES_SEED, bytes(margin_account)], PROGRAM_ID)[0]


@dataclass(frozen=True)
class Params:
    """Weights (bps), caps (native units) and the liquidator's discount of a collateral."""

    init_weight_bps: int
    maint_weight_bps: int
    deposit_cap: int
    account_cap: int = 0
    liquidation_fee_bps: int = 0
    """Below 10,000 - maint_weight_bps (a liquidation raises health); 0 for the quote."""


@dataclass(frozen=True)
class CollateralConfig:
    """A decoded CollateralConfig."""

    address: Pubkey
    mint: Pubkey
    decimals: int
    status: Status
    is_quote: bool
    params: Params
    vault: Pubkey
    oracle: Pubkey | None
    token_program: Pubkey
    total_balances: int
    protocol_balance: int
    audit_seq: int
    guards: dict[Action, GuardConfig]
    oracle_feed_id: bytes
    revenue: int = 0
    """The protocol's own part of `protocol_balance` (swept fees); for the quote, protocol_balance
    == the markets' PnL pools + revenue."""


@dataclass(frozen=True)
class Balance:
    mint: Pubkey
    balance: int


@dataclass(frozen=True)
class CollateralBalances:
    """A decoded CollateralBalances: the held entries, in health-account order."""

    address: Pubkey
    margin_account: Pubkey
    owner: Pubkey
    seq: int
    entries: list[Balance]

    def balance_of(self, mint: Pubkey) -> int:
        return next((e.balance for e in self.entries if e.mint == mint), 0)


def decode_config(address: Pubkey, data: bytes, program: Program | None = None) -> CollateralConfig:
    """Decodes CollateralConfig data (`ValueError` for another account type)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "CollateralConfig", data)
    return CollateralConfig(
        address=address,
        mint=c.mint,
        decimals=c.decimals,
        status=Status(c.status),
        is_quote=bool(c.is_quote),
        params=Params(c.init_weight_bps, c.maint_weight_bps, c.deposit_cap, c.account_cap, c.liquidation_fee_bps),
        vault=c.vault,
        oracle=None if c.is_quote else c.oracle,
        token_program=c.token_program,
        total_balances=c.total_balances,
        protocol_balance=c.protocol_balance,
        revenue=c.revenue,
        audit_seq=c.audit_seq,
        guards={a: GuardConfig.from_idl(c.guards.by_action[a]) for a in Action},
        oracle_feed_id=bytes(c.oracle_feed_id),
    )


def decode_balances(address: Pubkey, data: bytes, program: Program | None = None) -> CollateralBalances:
    """Decodes CollateralBalances data (`ValueError` for another account type)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "CollateralBalances", data)
    entries = [Balance(e.mint, e.balance) for e in c.entries[: min(c.count, MAX_BALANCES)]]
    return CollateralBalances(address, c.margin_account, c.owner, c.seq, entries)


def health_accounts(balances: CollateralBalances, configs: dict[Pubkey, CollateralConfig], trading: TradingAccount | None = None,
                    markets: dict[int, PerpMarket] | None = None, *, quote_held: bool = False, fixed_market: int | None = None) -> list[AccountMeta]:
    """The accounts a health check reads after an instruction's fixed accounts: for each entry,
    its config and (except the quote's) its oracle; then for each position of `trading` (the
    margin account's trading account, None if it has none), its market and the market's oracle.
    `configs` is keyed by mint, `markets` by market index. qd-trading's instructions hold the
    quote config (`quote_held`) and their own market (`fixed_market`) as fixed accounts, so
    those are not repeated."""
    metas = []
    for entry in balances.entries:
        config = configs[entry.mint]
        if quote_held and config.is_quote:
            continue
        metas.append(AccountMeta(config.address, is_signer=False, is_writable=False))
        if config.oracle is not None:
            metas.append(AccountMeta(config.oracle, is_signer=False, is_writable=False))
    for position in trading.positions if trading is not None else []:
        if position.market_index == fixed_market:
            continue
        market = (markets or {})[position.market_index]
        metas.append(AccountMeta(market_address(position.market_index), is_signer=False, is_writable=False))
        metas.append(AccountMeta(market.oracle, is_signer=False, is_writable=False))
    return metas


def _guards_idl(guards: dict[Action, GuardConfig]) -> dict[str, Any]:
    return {"by_action": [guards[a].to_idl() for a in Action]}


def _params_args(p: Params) -> list[int]:
    return [p.init_weight_bps, p.maint_weight_bps, p.deposit_cap, p.account_cap, p.liquidation_fee_bps]


class CollateralInstructions:
    """Builds qd-collateral instructions with anchorpy's IDL coder (no network use)."""

    def __init__(self, program: Program | None = None) -> None:
        self.program = program if program is not None else idl_mod.program(NAME)

    def _ix(self, name: str, *args: Any, accounts: dict[str, Pubkey], remaining: list[AccountMeta] | None = None) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts, remaining_accounts=remaining or []))

    def create_collateral(self, admin: Pubkey, mint: Pubkey, oracle: Pubkey | None, params: Params,
                          guards: dict[Action, GuardConfig] | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """`oracle=None` for the quote mint."""
        return self._ix(
            "create_collateral",
            *_params_args(params),
            _guards_idl(guards or DEFAULT_GUARDS),
            accounts={
                "admin": admin,
                "security_config": security.CONFIG,
                "core_global": core.GLOBAL,
                "config": config_address(mint),
                "vault": vault_address(mint),
                "mint": mint,
                "oracle": oracle or SYSTEM_PROGRAM_ID,
                "token_program": token_program,
                "system_program": SYSTEM_PROGRAM_ID,
                "instructions": security.INSTRUCTIONS_SYSVAR,
            },
        )

    def set_collateral_params(self, mint: Pubkey, params: Params, status: Status = Status.ACTIVE) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction`."""
        return self._ix("set_collateral_params", *_params_args(params), int(status),
                        accounts={"timelock": security.AUTHORITY, "config": config_address(mint)})

    def set_collateral_oracle(self, mint: Pubkey, oracle: Pubkey | None, guards: dict[Action, GuardConfig]) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction`."""
        return self._ix("set_collateral_oracle", _guards_idl(guards), accounts={
            "timelock": security.AUTHORITY, "security_config": security.CONFIG, "config": config_address(mint), "oracle": oracle or SYSTEM_PROGRAM_ID})

    def open_balances(self, owner: Pubkey, margin_account: Pubkey) -> Instruction:
        return self._ix("open_balances", accounts={"owner": owner, "margin_account": margin_account,
                                                   "balances": balances_address(margin_account), "system_program": SYSTEM_PROGRAM_ID})

    def close_balances(self, owner: Pubkey, margin_account: Pubkey) -> Instruction:
        return self._ix("close_balances", accounts={"owner": owner, "margin_account": margin_account, "balances": balances_address(margin_account),
                                                    "trading_account": trading_address(margin_account)})

    def deposit(self, owner: Pubkey, margin_account: Pubkey, mint: Pubkey, amount: int, source: Pubkey | None = None,
                token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """`source` defaults to the owner's associated token account."""
        return self._ix("deposit", amount, accounts={
            "owner": owner,
            "security_config": security.CONFIG,
            "margin_account": margin_account,
            "balances": balances_address(margin_account),
            "config": config_address(mint),
            "vault": vault_address(mint),
            "source": source or associated_address(owner, mint, token_program),
            "mint": mint,
            "token_program": token_program,
        })

    def withdraw(self, owner: Pubkey, margin_account: Pubkey, mint: Pubkey, amount: int, health: list[AccountMeta],
                 destination: Pubkey | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """`health`: `health_accounts` of the balances as they are now."""
        return self._ix("withdraw", amount, accounts={
            "owner": owner,
            "security_config": security.CONFIG,
            "margin_account": margin_account,
            "balances": balances_address(margin_account),
            "trading_account": trading_address(margin_account),
            "config": config_address(mint),
            "vault": vault_address(mint),
            "destination": destination or associated_address(owner, mint, token_program),
            "mint": mint,
            "token_program": token_program,
            "vault_authority": VAULT_AUTHORITY,
        }, remaining=health)

    def transfer(self, owner: Pubkey, from_margin: Pubkey, to_margin: Pubkey, mint: Pubkey, amount: int, health: list[AccountMeta]) -> Instruction:
        """`health`: `health_accounts` of the source balances as they are now."""
        return self._ix("transfer", amount, accounts={
            "owner": owner,
            "security_config": security.CONFIG,
            "from_margin_account": from_margin,
            "from_balances": balances_address(from_margin),
            "from_trading_account": trading_address(from_margin),
            "to_margin_account": to_margin,
            "to_balances": balances_address(to_margin),
            "config": config_address(mint),
        }, remaining=health)

    def adjust_balance(self, authority: Pubkey, mint: Pubkey, margin_account: Pubkey, delta: int) -> Instruction:
        """Only valid as a CPI from qd-core or qd-trading (their authority PDA signs)."""
        return self._ix("adjust_balance", delta, accounts={"authority": authority, "config": config_address(mint),
                                                           "balances": balances_address(margin_account)})

    def collect_fees(self, core_authority: Pubkey, mint: Pubkey, destination: Pubkey, to_insurance: int, to_revenue: int,
                     token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """Only valid as qd-core's CPI (its authority PDA signs: the insurance fund's sweep); built here for tests."""
        return self._ix("collect_fees", to_insurance, to_revenue, accounts={
            "core_authority": core_authority, "config": config_address(mint), "vault": vault_address(mint), "destination": destination,
            "mint": mint, "token_program": token_program, "vault_authority": VAULT_AUTHORITY})

    def cover_from_insurance(self, core_authority: Pubkey, mint: Pubkey, source: Pubkey, amount: int,
                             token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """Only valid as qd-core's CPI (its authority PDA, the source's token authority, signs); built here for tests."""
        return self._ix("cover_from_insurance", amount, accounts={
            "core_authority": core_authority, "config": config_address(mint), "vault": vault_address(mint), "source": source, "mint": mint,
            "token_program": token_program})

    def view_health(self, margin_account: Pubkey, health: list[AccountMeta], action: Action = Action.MARGIN) -> Instruction:
        return self._ix("view_health", int(action), accounts={"balances": balances_address(margin_account),
                                                              "trading_account": trading_address(margin_account)}, remaining=health)


@dataclass(frozen=True)
class HealthView:
    """`view_health`'s return data."""

    init_health: int
    maint_health: int
    free_collateral: int
    health_factor_bps: int | None
    margin_ratio_bps: int | None


def decode_health_view(data: bytes, program: Program | None = None) -> HealthView:
    c = (program or idl_mod.program(NAME)).coder.types.decode("HealthView", data)
    return HealthView(c.init_health, c.maint_health, c.free_collateral, c.health_factor_bps, c.margin_ratio_bps)


def parse_events(logs: list[str], program: Program | None = None) -> list[Event]:
    """The program's Anchor events in a transaction's logs, in order."""
    return idl_mod.parse_events(program or idl_mod.program(NAME), logs)


def collateral_input(config: CollateralConfig, balance: int, price: int) -> health_mod.CollateralInput:
    """One balance as the health engine sees it."""
    return health_mod.CollateralInput(balance, config.decimals, price, config.params.init_weight_bps, config.params.maint_weight_bps)


@dataclass(frozen=True)
class CollateralRow:
    """One line of a health readout."""

    config: CollateralConfig
    balance: int
    price: int

    def amount(self) -> Decimal:
        return Decimal(self.balance).scaleb(-self.config.decimals)

    def input(self) -> health_mod.CollateralInput:
        return collateral_input(self.config, self.balance, self.price)

    def value(self) -> int:
        """Unweighted value in quote units, as the engine counts it."""
        return health_mod.collateral_value(self.input())


@dataclass(frozen=True)
class PerpRow:
    """One perp position of a health readout, at the price its check reads."""

    position: Position
    market: PerpMarket
    price: int

    def input(self) -> health_mod.PerpInput:
        return trading_state.perp_input(self.position, self.market, self.price)


@dataclass(frozen=True)
class HealthReport:
    """A margin account's collateral, perp positions and health, computed off-chain exactly as
    on-chain (`result.liquidation_prices` follow `perps`)."""

    margin_account: Pubkey
    rows: list[CollateralRow]
    result: health_mod.HealthResult
    perps: list[PerpRow] = field(default_factory=list)

    def table(self, symbols: dict[Pubkey, str] | None = None) -> str:
        """A readable table: one row per collateral, then the health figures (quote units shown
        as decimal amounts of the 6-decimal quote)."""
        names = symbols or {}
        usd = health_mod.format_quote
        lines = [f"{'asset':<8} {'amount':>16} {'price':>16} {'value':>18} {'init w':>7} {'maint w':>7}"]
        for r in self.rows:
            p = r.config.params
            lines.append(f"{names.get(r.config.mint, str(r.config.mint)[:8]):<8} {r.amount():>16,} {usd(r.price):>16} {usd(r.value()):>18}"
                         f" {health_mod.format_percent(p.init_weight_bps):>7} {health_mod.format_percent(p.maint_weight_bps):>7}")
        return "\n".join(lines + [health_mod.summary(self.result)])


@dataclass(frozen=True)
class HealthState:
    """A margin account's accounts as its health check reads them: its balances, collateral
    configs by mint (those of its entries and any asked for), its trading account (None when it
    has none) and perp markets by index (those of its positions and any asked for)."""

    margin_account: Pubkey
    balances: CollateralBalances
    configs: dict[Pubkey, CollateralConfig]
    trading: TradingAccount | None
    markets: dict[int, PerpMarket]

    def health_accounts(self) -> list[AccountMeta]:
        """`health_accounts` for a qd-collateral instruction."""
        return health_accounts(self.balances, self.configs, self.trading, self.markets)


def _config_from(reads: AccountReads, mint: Pubkey, program: Program | None = None) -> CollateralConfig:
    address = config_address(mint)
    return decode_config(address, reads.data(address, PROGRAM_ID, f"collateral config for {mint}"), program)


class CollateralClient(ProgramClient):
    """Deposits, withdrawals, transfers and health readouts through an RPC node (the local
    validator or a cluster). The provider's wallet pays fees; the owner keypair signs."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(NAME, provider)
        self.ix = CollateralInstructions(self.program)
        self.oracle = OracleClient(provider)

    async def fetch_config(self, mint: Pubkey) -> CollateralConfig:
        address = config_address(mint)
        return decode_config(address, await self.fetch_account_data(address, f"collateral config for {mint}"), self.program)

    async def fetch_balances(self, margin_account: Pubkey) -> CollateralBalances:
        address = balances_address(margin_account)
        return decode_balances(address, await self.fetch_account_data(address, "collateral balances"), self.program)

    async def fetch_health_states(self, margin_accounts: Sequence[Pubkey], reads: AccountReads | None = None, *, markets: Iterable[int] = (),
                                  mints: Iterable[Pubkey] = (), extra: Iterable[Pubkey] = (), blockhash: bool = False) -> list[HealthState]:
        """The HealthState of each of `margin_accounts`, in two HTTP requests at most whatever
        their balances and positions: first their balances and trading accounts with the markets
        `markets`, the configs of `mints`, the `extra` keys (left in `reads` for the caller) and
        the blockhash when asked; then the configs of the held mints and the markets of the
        positions not read yet (no request when there are none). Configs and markets are shared
        by the states."""
        reads = reads if reads is not None else self.reads()
        wanted_markets, wanted_mints = list(markets), list(mints)
        await reads.load([k for m in margin_accounts for k in (balances_address(m), trading_address(m))] + [market_address(i) for i in wanted_markets]
                         + [config_address(x) for x in wanted_mints] + list(extra), blockhash)
        balances = [decode_balances(balances_address(m), reads.data(balances_address(m), PROGRAM_ID, "collateral balances"), self.program)
                    for m in margin_accounts]
        tradings = [trading_state.decode_trading_account(data) if (data := reads.owned_data(trading_address(m), trading_state.PROGRAM_ID)) else None
                    for m in margin_accounts]
        held = list(dict.fromkeys(wanted_mints + [e.mint for b in balances for e in b.entries]))
        indexes = list(dict.fromkeys(wanted_markets + [p.market_index for t in tradings if t is not None for p in t.positions]))
        await reads.load([config_address(x) for x in held] + [market_address(i) for i in indexes])
        configs = {x: _config_from(reads, x, self.program) for x in held}
        perps = {i: trading_state.decode_market(reads.data(market_address(i), trading_state.PROGRAM_ID, f"perp market {i}")) for i in indexes}
        return [HealthState(m, b, configs, t, perps) for m, b, t in zip(margin_accounts, balances, tradings)]

    async def fetch_health_accounts(self, margin_account: Pubkey) -> list[AccountMeta]:
        """`health_accounts` of `margin_account` for a qd-collateral instruction, as on chain now."""
        [state] = await self.fetch_health_states([margin_account])
        return state.health_accounts()

    async def open(self, owner: Keypair, margin_account: Pubkey) -> Signature:
        return await self.send([self.ix.open_balances(owner.pubkey(), margin_account)], [owner])

    async def deposit(self, owner: Keypair, margin_account: Pubkey, mint: Pubkey, amount: int, source: Pubkey | None = None) -> Signature:
        reads = self.reads()
        await reads.load([config_address(mint)], blockhash=True)
        config = _config_from(reads, mint, self.program)
        return await self.send([self.ix.deposit(owner.pubkey(), margin_account, mint, amount, source, config.token_program)], [owner], reads.blockhash)

    async def withdraw(self, owner: Keypair, margin_account: Pubkey, mint: Pubkey, amount: int, destination: Pubkey | None = None) -> Signature:
        reads = self.reads()
        [state] = await self.fetch_health_states([margin_account], reads, mints=[mint], blockhash=True)
        ix = self.ix.withdraw(owner.pubkey(), margin_account, mint, amount, state.health_accounts(), destination, state.configs[mint].token_program)
        return await self.send([ix], [owner], reads.blockhash)

    async def transfer(self, owner: Keypair, from_margin: Pubkey, to_margin: Pubkey, mint: Pubkey, amount: int) -> Signature:
        reads = self.reads()
        [state] = await self.fetch_health_states([from_margin], reads, blockhash=True)
        return await self.send([self.ix.transfer(owner.pubkey(), from_margin, to_margin, mint, amount, state.health_accounts())], [owner], reads.blockhash)

    async def fetch_collateral_price(self, config: CollateralConfig, action: Action) -> int:
        """The price the programs would use: qd-oracle's reader (simulated) with the config's guard."""
        if config.oracle is None:
            return QUOTE_PRICE
        return (await self.oracle.fetch_price(config.oracle, action, config.guards[action])).price

    async def fetch_market_price(self, market: PerpMarket, action: Action) -> int:
        """A perp market's price as the programs read it: its oracle with the market's guard."""
        return (await self.oracle.fetch_price(market.oracle, action, market.guards[action])).price

    async def fetch_health(self, margin_account: Pubkey, action: Action = Action.MARGIN) -> HealthReport:
        """The account's collateral rows and health (its perp positions included), from on-chain
        accounts and guarded prices, computed with the engine's Python mirror: two reads and one
        HTTP request simulating every price."""
        [state] = await self.fetch_health_states([margin_account])
        entries = [(state.configs[e.mint], e.balance) for e in state.balances.entries]
        positions = [(p, state.markets[p.market_index]) for p in (state.trading.positions if state.trading is not None else [])]
        oracles = [(c.oracle, action, c.guards[action]) for c, _ in entries if c.oracle is not None]
        prices = iter(p.price for p in await self.oracle.fetch_prices(oracles + [(m.oracle, action, m.guards[action]) for _, m in positions]))
        rows = [CollateralRow(c, balance, QUOTE_PRICE if c.oracle is None else next(prices)) for c, balance in entries]
        perps = [PerpRow(p, m, next(prices)) for p, m in positions]
        result = health_mod.compute([r.input() for r in rows], [p.input() for p in perps])
        return HealthReport(margin_account, rows, result, perps)

    async def fetch_health_view(self, margin_account: Pubkey, action: Action = Action.MARGIN) -> HealthView:
        """The same health computed on-chain (`view_health`, simulated)."""
        health = await self.fetch_health_accounts(margin_account)
        return decode_health_view(await self.simulate([self.ix.view_health(margin_account, health, action)]), self.program)
