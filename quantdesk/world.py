"""The test world: QuantDesk's programs set up on an in-process `Chain` the way the tests and the
benchmarks (`make bench`) need them, the readers that decode their accounts from it, and the
units and listings the demo shares with them. One set of builders, keyword parameters for what
a test sets up itself.

    venue = Venue()                        # qd-security, qd-core, USDC listed, SOL-PERP at PRICE
    venue.add_market(1, "ETH-PERP")        # another feed, and a perp market on it
    taker, maker = venue.trader(), venue.trader()
    order_id = venue.placed_id(taker, order(BID, MARKET, IOC, price=102 * USDC))
    venue.advance(2)
    assert venue.place_and_make(maker, taker, order_id, PRICE, BASE).ok

Forged instructions name the account they change (`with_meta(ix, "trading_account", key=...)`),
resolved through the program's IDL; refusals are asserted by error name (`failed`)."""
from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from unittest.mock import patch

from solders.account import Account
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import AdvanceNonceAccountParams, TransferParams, advance_nonce_account, create_nonce_account, transfer
from solders.transaction import Transaction, VersionedTransaction
from spl.token.instructions import TransferCheckedParams, transfer_checked

from quantdesk.chain import Chain, TxResult
from quantdesk.clients import collateral, core, health, idl, liquidation, oracle, security, token, trading
from quantdesk.clients import trading_state as ts
from quantdesk.clients.collateral import Params
from quantdesk.clients.health import CollateralInput, HealthError, HealthResult, PerpInput
from quantdesk.clients.oracle import Action, GuardConfig
from quantdesk.clients.security import ALL_SCOPES, LOCAL_TIMELOCK_DELAY, NO_MARKET, SCOPE_PLACE, Change, Role
from quantdesk.clients.trading import AuctionParams, MakerParams, MarketParams, MarketStatus, OrderKind, OrderParams, PostOnly, Side, TimeInForce

PROGRAMS = ("qd_core", "qd_collateral", "qd_oracle", "qd_security", "qd_trading")
"""The programs whose IDLs name the accounts of their instructions."""

# ---------------------------------------------------------------- units and defaults

T0 = 1_700_000_000
"""The unix time every venue starts at."""
DAY = 86_400
USDC = 10**6
"""One unit of the 6-decimal quote (prices have 6 decimals too)."""
SOL = 10**9
BASE = SOL
"""One unit of a perp's base (9 decimals)."""
PRICE = 100 * USDC
"""Where every market's feed starts."""
SOL_PRICE = 150 * USDC
"""Where the SOL/USD collateral feed starts."""
TICK = 10_000
LOT = 1_000_000

BID, ASK = Side.BID, Side.ASK
MARKET, LIMIT, ORACLE_OFFSET = OrderKind.MARKET, OrderKind.LIMIT, OrderKind.ORACLE_OFFSET
GTC, IOC, FOK, GTT = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTT
NONE, REJECT, SLIDE = PostOnly.NONE, PostOnly.REJECT, PostOnly.SLIDE

PARAMS = MarketParams(
    tick_size=TICK, lot_size=LOT, min_order_size=10 * LOT, init_margin_bps=1_000, maint_margin_bps=500, size_margin_factor=0,
    upnl_init_weight_bps=5_000, upnl_maint_weight_bps=10_000, taker_fee_bps=10, maker_fee_bps=-2, max_open_interest=1_000 * BASE,
    auction_min_slots=2, auction_default_slots=10, auction_max_slots=60, auction_max_deviation_bps=500, post_auction_slots=20,
    funding_period_secs=3_600, funding_max_rate_bps=100, mark_band_bps=100, mark_depth_base=10 * BASE, delegated_band_bps=50,
    liquidator_fee_bps=100, insurance_fee_bps=50, liquidation_max_fraction_bps=2_500, liquidation_whole_base=10 * BASE, insurance_cap=100_000 * USDC,
    trigger_fee=USDC // 20, twap_slice_fee=USDC // 50,
)
"""A market's parameters in the program tests: 10% / 5% margins, 10 bps taker fee, 2 bps maker
rebate, 10-slot auctions within 5% of the oracle, hourly funding; liquidations at a 1% discount
to the liquidator and 0.5% to the insurance fund, a quarter of a position above 10 base per
step, the fund paying at most 100,000 USDC for the market; 0.05 USDC per trigger and 0.02 USDC
per TWAP slice to the cranker."""
VENUE_PARAMS = dataclasses.replace(PARAMS, tick_size=1_000, min_order_size=LOT, size_margin_factor=100_000_000, upnl_maint_weight_bps=8_000,
                                   taker_fee_bps=5, maker_fee_bps=-1, max_open_interest=10**6 * BASE)
"""A market as the benchmark and the demo list it: tick 0.001, a size-dependent margin, 5 bps
taker fee and a 1 bps maker rebate."""
QUOTE_PARAMS = Params(10_000, 10_000, 10**9 * USDC)
"""The quote's listing: counted in full, a 10^9 USDC deposit cap."""
SOL_PARAMS = Params(8_000, 9_000, 10**6 * SOL, 0, 500)
"""A SOL-like asset's listing: 80% initial and 90% maintenance weight, a 5% liquidation fee."""
UNSTAKE_DELAY = DAY
"""The insurance fund's unstake delay in the tests and the bench."""
FEE_SHARE_BPS = 2_000
"""The share of swept trading fees the tests' insurance fund takes."""
MARKET_FEE_POOL_OFFSET = 408
"""PerpMarket's fee_pool, then liquidation_fee_pool and pnl_pool (i64 each; crates/qd-trading-state)."""
PROTOCOL_BALANCE_OFFSET = 176
"""CollateralConfig's protocol_balance (i64; crates/qd-collateral-state)."""
TRADING_ERRORS = idl.error_codes(trading.NAME)
"""qd-trading's error codes by name (runtime and access errors carry one code in every IDL)."""


def params(**changes: int) -> MarketParams:
    """PARAMS with `changes`."""
    return dataclasses.replace(PARAMS, **changes)


def order(side: Side = BID, kind: OrderKind = LIMIT, tif: TimeInForce = GTC, size: int = BASE, price: int = PRICE, *, market: int = 0,
          post_only: PostOnly = NONE, reduce_only: bool = False, client_id: int = 0, expiry_ts: int = 0,
          auction: tuple[int, int, int] | None = None) -> OrderParams:
    """An order's parameters, a resting 1-unit bid at PRICE in market 0 by default."""
    return OrderParams(market, side, size, price, kind, tif, post_only, reduce_only, client_id, expiry_ts,
                       None if auction is None else AuctionParams(*auction))


# ---------------------------------------------------------------- refusals and forged accounts

def failed(result: TxResult, code: int) -> None:
    """The transaction failed with custom error `code` (look codes up by name: idl.error_codes)."""
    assert not result.ok, "the transaction should have failed"
    assert result.custom_error == code, f"expected error {code}, got {result.error}; logs: {result.logs}"


def snake_case(name: str) -> str:
    """An IDL name (camelCase) as the Rust and Python code spell it: "tradingAccount" -> "trading_account"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def _idl_accounts() -> dict[tuple[Pubkey, bytes], list[str]]:
    """(program id, instruction discriminator) -> the instruction's account names, every program's."""
    return {(idl.program_id(name), idl.discriminator("global", snake_case(instruction.name))): [snake_case(a.name) for a in instruction.accounts]
            for name in PROGRAMS for instruction in idl.load_idl(name).instructions}


def account_names(ix: Instruction) -> list[str]:
    """The snake_case names of `ix`'s accounts in its IDL (program id and 8-byte discriminator
    decoded); the metas after them are the remaining accounts."""
    names = _idl_accounts().get((ix.program_id, bytes(ix.data)[:8]))
    if names is None:
        raise LookupError(f"{ix.program_id} has no instruction {bytes(ix.data)[:8].hex()} in the IDLs of {', '.join(PROGRAMS)}")
    return list(names)


def meta_index(ix: Instruction, account: str | None = None, remaining: int | None = None) -> int:
    """The position of `ix`'s account named `account` (IDL name, camelCase or snake_case), or of
    remaining account number `remaining` (0: the first after the IDL's list)."""
    names = account_names(ix)
    if (account is None) == (remaining is None):
        raise TypeError("name an IDL account or give a remaining account's index, not both")
    if account is not None:
        wanted = snake_case(account)
        if wanted not in names:
            raise KeyError(f"{wanted!r} is not an account of this instruction: {', '.join(names)}")
        return names.index(wanted)
    assert remaining is not None
    if not 0 <= remaining < len(ix.accounts) - len(names):
        raise IndexError(f"remaining account {remaining} of {len(ix.accounts) - len(names)}")
    return len(names) + remaining


def account_meta(ix: Instruction, account: str | None = None, *, remaining: int | None = None) -> AccountMeta:
    """`ix`'s meta of the account named `account` (or remaining account number `remaining`)."""
    return ix.accounts[meta_index(ix, account, remaining)]


def with_meta(ix: Instruction, account: str | None = None, *, remaining: int | None = None, signer: bool | None = None,
              writable: bool | None = None, key: Pubkey | None = None) -> Instruction:
    """`ix` with one account meta changed, the account named as in the program's IDL (or a
    remaining account by its index): what a malicious client would send."""
    index = meta_index(ix, account, remaining)
    metas = list(ix.accounts)
    m = metas[index]
    metas[index] = AccountMeta(key or m.pubkey, m.is_signer if signer is None else signer, m.is_writable if writable is None else writable)
    return Instruction(ix.program_id, ix.data, metas)


class Nonce:
    """A durable nonce account of `authority`: transactions on its value never expire (what a
    pre-signed admin transaction uses)."""

    def __init__(self, chain: Chain, authority: Keypair) -> None:
        self.chain, self.authority = chain, authority
        self.account = Keypair()
        assert chain.send(create_nonce_account(authority.pubkey(), self.account.pubkey(), authority.pubkey(), 10**7), [self.account, authority]).ok

    def send(self, ixs: list[Instruction], *signers: Keypair) -> TxResult:
        """`ixs` after AdvanceNonceAccount, on the nonce's stored value instead of a blockhash."""
        account = self.chain.account(self.account.pubkey())
        assert account is not None
        value = Hash(bytes(account.data)[40:72])  # nonce state: version, state, authority, then the durable value
        advance = advance_nonce_account(AdvanceNonceAccountParams(nonce_pubkey=self.account.pubkey(), authorized_pubkey=self.authority.pubkey()))
        return self.chain.send([advance, *ixs], [self.authority, *signers], blockhash=value)


# ---------------------------------------------------------------- oracle admins

def grant_oracle_admin(chain: Chain, by: Keypair) -> Keypair:
    """A new key granted ORACLE_ADMIN by `by` (qd-security's super-admin or an ADMIN), through the timelock."""
    holder = chain.keypair()
    assert security.enact(chain, by, security.Change.grant_role(Role.ORACLE_ADMIN, holder.pubkey())).ok
    return holder


def revoke_oracle_admin(chain: Chain, by: Keypair, holder: Keypair) -> None:
    """`holder`'s ORACLE_ADMIN revoked by `by`, through the timelock."""
    assert security.enact(chain, by, security.Change.revoke_role(Role.ORACLE_ADMIN, holder.pubkey())).ok


def feed_of_revoked_admin(chain: Chain, by: Keypair, symbol: str, publisher: Keypair, price: int) -> Pubkey:
    """A published qd-oracle feed whose authority no longer holds ORACLE_ADMIN: created by an
    oracle admin that `by` then revoked. Listings must not trust it."""
    admin = grant_oracle_admin(chain, by)
    ix = oracle.OracleInstructions()
    feed = oracle.feed_address(symbol)
    assert chain.send([ix.initialize_feed(admin.pubkey(), symbol, -6, 30, [publisher.pubkey()])], [admin]).ok
    assert chain.send([ix.publish(publisher.pubkey(), feed, price, price // 1_000, chain.clock.unix_timestamp)], [publisher]).ok
    revoke_oracle_admin(chain, by, admin)
    return feed


# ---------------------------------------------------------------- readers: the programs' accounts on a Chain

Owned = tuple[Pubkey, int, bytes] | None
"""An account as a refusal must leave it: owner, lamports and data (None: no account)."""


def raw(chain: Chain, address: Pubkey) -> bytes:
    """`address`'s data; b"" when there is no account."""
    account = chain.account(address)
    return bytes(account.data) if account is not None else b""


def state(chain: Chain, keys: Iterable[Pubkey]) -> dict[Pubkey, Owned]:
    """Owner, lamports and data of each of `keys`: compared before and after a refused transaction."""
    accounts = {k: chain.account(k) for k in keys}
    return {k: None if a is None else (a.owner, a.lamports, bytes(a.data)) for k, a in accounts.items()}


def token_amount_on(chain: Chain, address: Pubkey) -> int:
    """The amount held by token account `address`."""
    account = chain.account(address)
    assert account is not None, f"no token account {address}"
    return token.account_amount(bytes(account.data))


def config_on(chain: Chain, mint: Pubkey) -> collateral.CollateralConfig:
    """`mint`'s qd-collateral config."""
    address = collateral.config_address(mint)
    account = chain.account(address)
    assert account is not None, f"no collateral config for {mint}"
    return collateral.decode_config(address, bytes(account.data))


def balances_on(chain: Chain, margin: Pubkey) -> collateral.CollateralBalances:
    """`margin`'s collateral balances."""
    address = collateral.balances_address(margin)
    account = chain.account(address)
    assert account is not None, f"no collateral balances for {margin}"
    return collateral.decode_balances(address, bytes(account.data))


def trading_on(chain: Chain, margin: Pubkey) -> ts.TradingAccount | None:
    """`margin`'s trading account, None when qd-trading does not own its PDA."""
    account = chain.account(ts.trading_address(margin))
    if account is None or account.owner != ts.PROGRAM_ID:
        return None
    return ts.decode_trading_account(bytes(account.data))


def market_on(chain: Chain, index: int) -> ts.PerpMarket:
    """Perp market `index`."""
    account = chain.account(ts.market_address(index))
    assert account is not None, f"no perp market {index}"
    return ts.decode_market(bytes(account.data))


def health_accounts_on(chain: Chain, margin: Pubkey, market: int | None = None) -> list[AccountMeta]:
    """`margin`'s health accounts from the chain's current state: qd-collateral's list (collateral,
    then perp positions), or with `market` qd-trading's for an instruction in that market."""
    balances = balances_on(chain, margin)
    configs = {e.mint: config_on(chain, e.mint) for e in balances.entries}
    account = trading_on(chain, margin)
    markets = {p.market_index: market_on(chain, p.market_index) for p in (account.positions if account is not None else [])}
    if market is None:
        return collateral.health_accounts(balances, configs, account, markets)
    return trading.health_accounts(balances, configs, account, markets, market)


def margin_on(chain: Chain, address: Pubkey) -> core.MarginAccount:
    """The qd-core margin account at `address`."""
    account = chain.account(address)
    assert account is not None and account.owner == core.PROGRAM_ID, f"no margin account at {address}"
    return core.decode_margin_account(address, bytes(account.data))


def global_on(chain: Chain) -> core.GlobalConfig:
    """qd-core's GlobalConfig."""
    return core.decode_global(core.GLOBAL, raw(chain, core.GLOBAL))


def security_config_on(chain: Chain) -> security.SecurityConfig:
    """qd-security's SecurityConfig."""
    return security.decode_config(raw(chain, security.CONFIG))


def feed_on(chain: Chain, address: Pubkey) -> oracle.Feed:
    """The qd-oracle feed at `address`."""
    return oracle.decode_feed(address, raw(chain, address))


def insurance_fund_on(chain: Chain, mint: Pubkey) -> core.InsuranceFund:
    """`mint`'s qd-core insurance fund."""
    address = core.insurance_fund_address(mint)
    return core.decode_insurance_fund(address, raw(chain, address))


def stake_on(chain: Chain, mint: Pubkey, staker: Pubkey) -> core.Stake | None:
    """`staker`'s stake in `mint`'s insurance fund, None before its first stake."""
    address = core.stake_address(core.insurance_fund_address(mint), staker)
    data = raw(chain, address)
    return core.decode_stake(address, data) if data else None


# ---------------------------------------------------------------- forged accounts and captured instructions

IMPOSTOR = Keypair().pubkey()
"""A program that is not QuantDesk's: it can own accounts holding any bytes."""


def forge(chain: Chain, data: bytes, owner: Pubkey = IMPOSTOR, lamports: int | None = None, address: Pubkey | None = None) -> Pubkey:
    """An account holding `data` owned by `owner` (rent-exempt unless `lamports`), at a new
    address unless `address`: what an attacker can create or a test writes in a program's place."""
    address = address or chain.new_keypair().pubkey()
    lamports = chain.svm.minimum_balance_for_rent_exemption(len(data)) if lamports is None else lamports
    chain.set_account(address, Account(lamports, data, owner, False, 0))
    return address


def copy_owned_by(chain: Chain, address: Pubkey, owner: Pubkey) -> Pubkey:
    """A new account with `address`'s exact bytes and lamports, but another owner program."""
    account = chain.account(address)
    assert account is not None
    return forge(chain, bytes(account.data), owner, account.lamports)


def poke(chain: Chain, address: Pubkey, offset: int, value: bytes) -> None:
    """Writes `value` into `address`'s data at `offset` (the counters and status bits other
    programs maintain)."""
    account = chain.account(address)
    assert account is not None
    data = bytearray(account.data)
    data[offset:offset + len(value)] = value
    chain.set_account(address, Account(account.lamports, bytes(data), account.owner, account.executable, account.rent_epoch))


def other_bump_address(seeds: Sequence[bytes], program_id: Pubkey) -> Pubkey:
    """The PDA of `seeds` with the highest bump below the canonical one."""
    bump = Pubkey.find_program_address(list(seeds), program_id)[1]
    for other in range(bump - 1, -1, -1):
        try:
            return Pubkey.create_program_address([*seeds, bytes([other])], program_id)
        except Exception:  # on the curve: no PDA with this bump
            continue
    raise AssertionError("no other bump")


def built(venue: Venue, send: Callable[[], object]) -> Instruction:
    """The one instruction a Venue helper sends, captured instead of sent (to forge from it)."""
    sent: list[Instruction] = []

    def capture(instructions: Sequence[Instruction], *_: object, **__: object) -> TxResult:
        sent.extend(instructions)
        return TxResult(True, [], 0, b"", None)

    with patch.object(venue.chain, "send", capture):  # on the instance; the method is Chain's again after
        send()
    (ix,) = sent
    return ix


def refused(venue: Venue, ixs: list[Instruction], error: str, codes: dict[str, int] = TRADING_ERRORS) -> None:
    """`ixs`, sent with signature checks off (a signer meta stands as signed), fail with `error`
    (a name in `codes`: qd-trading's by default) and leave every account they name (but the fee
    payer) unchanged."""
    keys = {m.pubkey for ix in ixs for m in ix.accounts} - {venue.chain.payer.pubkey()}
    before = state(venue.chain, keys)
    failed(venue.chain.send_unverified(ixs), codes[error])
    assert state(venue.chain, keys) == before


# ---------------------------------------------------------------- who trades

@dataclass(frozen=True)
class Trader:
    """A wallet and one of its margin accounts."""

    owner: Keypair
    margin: Pubkey

    @property
    def trading(self) -> Pubkey:
        """The trading account's address (qd-trading's PDA of the margin account)."""
        return ts.trading_address(self.margin)

    @property
    def balances(self) -> Pubkey:
        """The collateral balances' address."""
        return collateral.balances_address(self.margin)


@dataclass(frozen=True)
class Desk:
    """One wallet's margin accounts by sub id (sub-account 0 is the master) and the trade-only
    delegate some of them name."""

    owner: Keypair
    accounts: dict[int, Pubkey] = field(default_factory=dict)
    delegate: Keypair | None = None

    @property
    def master(self) -> Pubkey:
        """Sub-account 0."""
        return self.accounts[0]

    def trader(self, sub_id: int = 0) -> Trader:
        """Sub-account `sub_id` as a Trader."""
        return Trader(self.owner, self.accounts[sub_id])


@dataclass(frozen=True)
class Council:
    """An approval set made qd-security's super-admin (Venue.council): its members and address."""

    venue: Venue
    members: list[Keypair]
    set: Pubkey

    def propose(self, change: bytes, by: int = 0) -> tuple[TxResult, Pubkey]:
        """Member `by` proposes `change` for the set (its own approval counted)."""
        return self.venue.propose(change, self.members[by], approval_set=self.set)

    def approve(self, proposal: Pubkey, who: Keypair) -> TxResult:
        """Member `who` approves `proposal` for the set."""
        return self.venue.send([self.venue.security.approve_proposal(who.pubkey(), proposal, self.set)], who)


# ---------------------------------------------------------------- the venue

class Venue:
    """QuantDesk's programs on one Chain, the payer their admin (qd-security's super-admin, who
    holds every role). By default qd-security is initialized with the local timelock delay,
    qd-core with a 6-decimal USDC-like quote mint, the quote is listed in qd-collateral, and
    each of `markets` (SOL-PERP) is listed as a perp market at PRICE on a feed of its own
    symbol. What a test sets up itself is left out by keyword: `init_security`, `init_core`,
    `quote_params` (None: not listed), `markets`. `asset`: also list a 9-decimal SOL-like mint
    (`sol`) priced by a SOL/USD feed at SOL_PRICE (`sol_feed`) with those params; `rate_limit`:
    (capacity, refill per slot in thousandths) through the timelock; `seed`: the chain's keys
    derived from it (see Chain)."""

    def __init__(self, *, unix_timestamp: int = T0, init_security: bool = True, init_core: bool = True, quote_params: Params | None = QUOTE_PARAMS,
                 markets: Sequence[str] = ("SOL-PERP",), asset: Params | None = None, rate_limit: tuple[int, int] | None = None,
                 seed: bytes | None = None) -> None:
        self.chain = Chain(unix_timestamp=unix_timestamp, seed=seed)
        self.trading = trading.TradingInstructions()
        self.collateral = collateral.CollateralInstructions()
        self.security = security.SecurityInstructions()
        self.core = core.CoreInstructions()
        self.oracle = oracle.OracleInstructions()
        self.admin = self.chain.payer
        self.usdc = self.chain.create_mint(6)
        self.publisher = self.chain.keypair()
        self.feeds: dict[int, Pubkey] = {}
        """Each market's feed, by market index."""
        self.sol_feed = oracle.feed_address("SOL/USD")
        if init_security:
            assert self.init_security().ok
        if init_core:
            assert self.init_core().ok
        if quote_params is not None:
            assert self.send([self.collateral.create_collateral(self.admin.pubkey(), self.usdc, None, quote_params)]).ok
        if rate_limit is not None:
            assert self.enact(Change.set_rate_limit(*rate_limit)).ok
        for index, symbol in enumerate(markets):
            self.add_market(index, symbol)
        if asset is not None:
            self.sol = self.chain.create_mint(9)
            self.add_feed("SOL/USD", SOL_PRICE)
            assert self.send([self.collateral.create_collateral(self.admin.pubkey(), self.sol, self.sol_feed, asset)]).ok

    # -- sending and reading
    def send(self, ixs: Sequence[Instruction], *signers: Keypair, payer: Keypair | None = None) -> TxResult:
        """Signed by the payer (or `payer`) and `signers`."""
        return self.chain.send(ixs, signers, payer=payer)

    def raw(self, address: Pubkey) -> bytes:
        """`address`'s data (b"" when there is no account)."""
        return raw(self.chain, address)

    def tokens(self, address: Pubkey) -> int:
        """The amount held by token account `address`."""
        return token_amount_on(self.chain, address)

    # -- qd-security: roles, the timelock, pauses, freezes, sessions
    def init_security(self, timelock_delay: int = LOCAL_TIMELOCK_DELAY) -> TxResult:
        """qd-security's initialize by the admin (the loader LiteSVM uses allows a short delay)."""
        return self.send([self.security.initialize(self.admin.pubkey(), timelock_delay=timelock_delay)])

    def security_config(self) -> security.SecurityConfig:
        """qd-security's SecurityConfig as it is now."""
        return security_config_on(self.chain)

    def enact(self, change: bytes, by: Keypair | None = None) -> TxResult:
        """Through the timelock: proposed by `by` (the admin by default), executed after the delay."""
        return security.enact(self.chain, by or self.admin, change)

    def govern(self, ix: Instruction, proposer: Keypair | None = None) -> TxResult:
        """A routed change `ix` (a program's timelocked instruction) proposed by `proposer` (the
        admin by default), executed after the delay."""
        return security.enact_instruction(self.chain, proposer or self.admin, ix)

    def grant(self, role: Role, holder: Pubkey, by: Keypair | None = None) -> TxResult:
        """`role` granted to `holder` through the timelock."""
        return self.enact(Change.grant_role(role, holder), by)

    def revoke(self, role: Role, holder: Pubkey, by: Keypair | None = None) -> TxResult:
        """`role` revoked from `holder` through the timelock."""
        return self.enact(Change.revoke_role(role, holder), by)

    def holder(self, role: Role) -> Keypair:
        """A new key granted `role` by the admin."""
        kp = self.chain.keypair()
        assert self.grant(role, kp.pubkey()).ok
        return kp

    def pause(self, by: Keypair, operations: int, paused: bool = True, market: int = NO_MARKET) -> TxResult:
        """Pausing is immediate; unpausing is a proposal."""
        if not paused:
            return self.enact(Change.unpause(operations, market), by)
        return self.send([self.security.set_pause(by.pubkey(), operations, True, market)], by)

    def propose(self, change: bytes, by: Keypair | None = None, approval_set: Pubkey | None = None) -> tuple[TxResult, Pubkey]:
        """Only the proposal (no wait, no execution): its result and address."""
        by = by or self.admin
        count = self.security_config().proposal_count
        return self.send([self.security.propose(by.pubkey(), count, change, approval_set)], by), security.proposal_address(count)

    def proposal(self, address: Pubkey) -> security.Proposal:
        """The proposal at `address`."""
        return security.decode_proposal(address, self.raw(address))

    def execute(self, proposal: Pubkey) -> TxResult:
        """execute_proposal, sent by the payer (execution is permissionless)."""
        return self.send([self.security.execute_proposal(proposal)])

    def council(self, members: int = 3, threshold: int = 2, set_id: int = 7) -> Council:
        """An approval set of `members` new keys (`threshold` of them approve) made the
        super-admin through the timelock, accepted by its second member."""
        keys = [self.chain.keypair() for _ in range(members)]
        creator = self.chain.keypair()
        assert self.send([self.security.create_approval_set(creator.pubkey(), set_id, threshold, [m.pubkey() for m in keys])], creator).ok
        approval_set = security.approval_set_address(creator.pubkey(), set_id)
        assert self.enact(Change.propose_super_admin(approval_set)).ok
        accepted = self.send([self.security.accept_super_admin(keys[1].pubkey(), approval_set)], keys[1])
        assert accepted.ok, accepted.logs
        assert self.security_config().super_admin == approval_set
        return Council(self, keys, approval_set)

    def freeze(self, margin: Pubkey, by: Keypair, reason: int = 7) -> TxResult:
        """freeze_account by `by` (a compliance officer)."""
        return self.send([self.security.freeze_account(by.pubkey(), margin, reason)], by)

    def unfreeze(self, margin: Pubkey, by: Keypair, reason: int = 8) -> TxResult:
        """unfreeze_account by `by` (a compliance officer)."""
        return self.send([self.security.unfreeze_account(by.pubkey(), margin, reason)], by)

    def create_session(self, owner: Keypair, key: Pubkey, scopes: int = ALL_SCOPES, markets: int = 1 << 3, max_notional: int = 1_000_000,
                       expires_at: int | None = None, budget: int | None = None) -> TxResult:
        """`owner` opens a session for `key` (a day from now, a budget of ten orders at the most by default)."""
        expires = self.chain.clock.unix_timestamp + DAY if expires_at is None else expires_at
        budget = 10 * max_notional if budget is None else budget
        return self.send([self.security.create_session(owner.pubkey(), key, scopes, markets, max_notional, expires, budget)], owner)

    def session_for(self, owner: Keypair, max_notional: int, budget: int | None = None, *, scopes: int = SCOPE_PLACE, markets: int = 1,
                    lifetime: int = 3_600) -> tuple[Keypair, Pubkey]:
        """A new session key of `owner` and its Session's address: placing in market 0 by default,
        within `max_notional` per order and `budget` over its life, for `lifetime` seconds."""
        key = self.chain.keypair()
        expires = self.chain.clock.unix_timestamp + lifetime
        assert self.create_session(owner, key.pubkey(), scopes, markets, max_notional, expires, budget).ok
        return key, security.session_address(owner.pubkey(), key.pubkey())

    def session_state(self, address: Pubkey) -> security.Session:
        """The Session at `address`."""
        return security.decode_session(address, self.raw(address))

    def check(self, signer: Keypair, margin: Pubkey, action: security.Action, market: int = NO_MARKET, notional: int = 0,
              session: Pubkey | None = None) -> TxResult:
        """qd-security's check_action, signed by `signer`."""
        return self.send([self.security.check_action(signer.pubkey(), margin, action, market, notional, session)], signer)

    # -- qd-core: margin accounts, desks
    def init_core(self, max_sub_accounts: int = core.DEFAULT_MAX_SUB_ACCOUNTS, mint: Pubkey | None = None) -> TxResult:
        """qd-core's initialize by the admin with `mint` (the venue's USDC by default) as the quote."""
        return self.send([self.core.initialize(self.admin.pubkey(), mint or self.usdc, max_sub_accounts)])

    def global_config(self) -> core.GlobalConfig:
        """qd-core's GlobalConfig as it is now."""
        return global_on(self.chain)

    def create_margin_account(self, owner: Keypair, sub_id: int = 0, name: str = "") -> TxResult:
        """qd-core's create_margin_account alone, its result returned."""
        return self.send([self.core.create_margin_account(owner.pubkey(), sub_id, name)], owner)

    def margin_account(self, owner: Keypair, sub_id: int = 0, name: str = "", *, balances: bool = True, trading: bool = False,
                       delegate: Pubkey | None = None) -> Pubkey:
        """`owner`'s margin account `sub_id`, created in one transaction with its collateral
        balances and trading account (as asked) and naming `delegate`."""
        margin = core.margin_account_address(owner.pubkey(), sub_id)
        ixs = [self.core.create_margin_account(owner.pubkey(), sub_id, name)]
        if delegate is not None:
            ixs.append(self.core.set_delegate(owner.pubkey(), margin, delegate))
        if balances:
            ixs.append(self.collateral.open_balances(owner.pubkey(), margin))
        if trading:
            ixs.append(self.trading.open_trading_account(owner.pubkey(), margin))
        result = self.send(ixs, owner)
        assert result.ok, result.logs
        return margin

    def margin_state(self, address: Pubkey) -> core.MarginAccount:
        """The margin account at `address`."""
        return margin_on(self.chain, address)

    def desk(self, sub_accounts: int = 2, funds: dict[Pubkey, int] | None = None, owner: Keypair | None = None) -> Desk:
        """A desk of `sub_accounts` margin accounts (the master and its sub-accounts 1..), each
        with its collateral balances, and `funds` (mint -> amount) in the wallet."""
        o = owner or self.chain.keypair()
        desk = Desk(o, {sub_id: self.margin_account(o, sub_id) for sub_id in range(sub_accounts)})
        for mint, amount in (funds or {}).items():
            self.fund(o, mint, amount)
        return desk

    # -- qd-core: the insurance fund
    def create_insurance_fund(self, unstake_delay_secs: int = UNSTAKE_DELAY, fee_share_bps: int = FEE_SHARE_BPS, by: Keypair | None = None,
                              mint: Pubkey | None = None) -> TxResult:
        """create_insurance_fund of `mint` (the quote) by `by` (the admin)."""
        a = by or self.admin
        return self.send([self.core.create_insurance_fund(a.pubkey(), mint or self.usdc, unstake_delay_secs, fee_share_bps)], a)

    def insurance_fund(self) -> core.InsuranceFund:
        """The quote's insurance fund as it is now."""
        return insurance_fund_on(self.chain, self.usdc)

    def stake_state(self, staker: Keypair) -> core.Stake | None:
        """`staker`'s stake in the quote's fund (None before its first stake)."""
        return stake_on(self.chain, self.usdc, staker.pubkey())

    def staker(self, funds: int = 10_000 * USDC) -> Keypair:
        """A new wallet holding `funds` of the quote in its associated token account."""
        kp = self.chain.keypair()
        self.fund(kp, self.usdc, funds)
        return kp

    def stake(self, staker: Keypair, amount: int) -> TxResult:
        """`staker` stakes `amount` of the quote from its associated token account."""
        return self.send([self.core.stake(staker.pubkey(), self.usdc, amount)], staker)

    def request_unstake(self, staker: Keypair, shares: int) -> TxResult:
        return self.send([self.core.request_unstake(staker.pubkey(), self.usdc, shares)], staker)

    def cancel_unstake(self, staker: Keypair) -> TxResult:
        return self.send([self.core.cancel_unstake(staker.pubkey(), self.usdc)], staker)

    def unstake(self, staker: Keypair) -> TxResult:
        """`staker` withdraws its pending request to its associated token account."""
        return self.send([self.core.unstake(staker.pubkey(), self.usdc)], staker)

    def sweep(self, market: int = 0) -> TxResult:
        """The permissionless fee sweep of `market` (the payer sends it)."""
        return self.send([self.core.sweep_fees(self.usdc, market)])

    def fill_pools(self, market: int, liquidation_fees: int, trading_fees: int, pnl: int) -> None:
        """Market `market`'s pools grown as fills, liquidations and settlements grow them (written
        in qd-trading's place): `pnl` quote paid into its PnL pool, held in the quote config's
        protocol balance and its collateral vault; the fee pools' claims on it."""
        m = self.market(market)
        pools = struct.pack("<qqq", m.fee_pool + trading_fees, m.liquidation_fee_pool + liquidation_fees, m.pnl_pool + pnl)
        poke(self.chain, ts.market_address(market), MARKET_FEE_POOL_OFFSET, pools)
        poke(self.chain, collateral.config_address(self.usdc), PROTOCOL_BALANCE_OFFSET, struct.pack("<q", self.protocol_balance() + pnl))
        assert self.send([token.mint_to_instruction(self.usdc, collateral.vault_address(self.usdc), self.admin.pubkey(), pnl)]).ok

    # -- qd-oracle: feeds
    def create_feed(self, symbol: str = "SOL/USD", expo: int = -6, window: int = 60, publishers: list[Pubkey] | None = None, min_publishers: int = 1,
                    max_age: int = oracle.DEFAULT_MAX_PUBLISHER_AGE_SECS, by: Keypair | None = None) -> TxResult:
        """initialize_feed by `by` (the admin, an oracle admin, by default) with the venue's publisher."""
        a = by or self.admin
        ix = self.oracle.initialize_feed(a.pubkey(), symbol, expo, window, publishers or [self.publisher.pubkey()], min_publishers, max_age)
        return self.send([ix], a)

    def add_feed(self, symbol: str, price: int | None = None) -> Pubkey:
        """A feed of `symbol` (a 30 s EMA window) published by the venue's publisher, at `price` when given."""
        assert self.create_feed(symbol, window=30).ok
        feed = oracle.feed_address(symbol)
        if price is not None:
            self.publish(price, feed)
        return feed

    def submit_price(self, price: int, conf: int = 10_000, *, at: int | None = None, publisher: Keypair | None = None,
                     feed: Pubkey | None = None) -> TxResult:
        """`publisher` (the venue's) publishes `price` ± `conf` to `feed` (SOL/USD) stamped `at` (now): the bare instruction's result."""
        p = publisher or self.publisher
        t = self.chain.clock.unix_timestamp if at is None else at
        return self.send([self.oracle.publish(p.pubkey(), feed or self.sol_feed, price, conf, t)], p)

    def publish(self, price: int, feed: int | Pubkey = 0, conf: int | None = None) -> None:
        """One slot and one second later, a fresh `price` (± price / 10,000) for market `feed`'s
        feed (or the feed at that address)."""
        address = self.feeds[feed] if isinstance(feed, int) else feed
        self.chain.advance(1, 1)
        result = self.submit_price(price, price // 10_000 if conf is None else conf, feed=address)
        assert result.ok, result.logs

    def publish_all(self, price: int) -> None:
        """One slot and one second later, `price` on every market's feed in one transaction."""
        self.chain.advance(1, 1)
        now = self.chain.clock.unix_timestamp
        result = self.send([self.oracle.publish(self.publisher.pubkey(), feed, price, price // 10_000, now) for feed in self.feeds.values()],
                           self.publisher)
        assert result.ok, result.logs

    def advance(self, slots: int, price: int = PRICE, *, seconds: int | None = None, together: bool = False) -> None:
        """`slots` slots (and as many seconds unless `seconds`) later, with a fresh price for every
        market: each feed one slot after the other, or all in the last slot (`together`)."""
        if together:
            self.chain.advance(slots - 1, slots - 1 if seconds is None else seconds - 1)
            self.publish_all(price)
            return
        self.chain.advance(max(slots - 1, 0), max(slots - 1, 0))
        for index in self.feeds:
            self.publish(price, index)

    def feed_state(self, address: Pubkey | None = None) -> oracle.Feed:
        """The feed at `address` (SOL/USD by default)."""
        return feed_on(self.chain, address or self.sol_feed)

    def read_price(self, address: Pubkey, action: Action = Action.TRADE, guard: GuardConfig | None = None) -> TxResult:
        """qd-oracle's read_price of `address` for `action` (the price in the return data)."""
        return self.send([self.oracle.read_price(address, action, guard)])

    # -- qd-collateral: wallets, deposits, withdrawals, health
    def fund(self, owner: Keypair, mint: Pubkey, amount: int, token_program: Pubkey = token.TOKEN_PROGRAM_ID) -> Pubkey:
        """`amount` of `mint` minted into `owner`'s associated token account (created if missing)."""
        ata = token.associated_address(owner.pubkey(), mint, token_program)
        if self.chain.account(ata) is None:
            assert self.send([token.create_associated_account(self.admin.pubkey(), owner.pubkey(), mint, token_program)]).ok
        assert self.send([token.mint_to_instruction(mint, ata, self.admin.pubkey(), amount, token_program)]).ok
        return ata

    def collateral_config(self, mint: Pubkey) -> collateral.CollateralConfig:
        """`mint`'s CollateralConfig."""
        return config_on(self.chain, mint)

    def balances(self, margin: Pubkey) -> collateral.CollateralBalances:
        """`margin`'s CollateralBalances."""
        return balances_on(self.chain, margin)

    def health(self, margin: Pubkey, market: int | None = None) -> list[AccountMeta]:
        """`margin`'s health list from the chain's current state: qd-collateral's, or qd-trading's
        for an instruction in `market`."""
        return health_accounts_on(self.chain, margin, market)

    def deposit(self, t: Trader, mint: Pubkey, amount: int, signer: Keypair | None = None) -> TxResult:
        """`signer` (the owner by default) deposits `amount` of `mint` from its wallet into `t`'s balances."""
        s = signer or t.owner
        return self.send([self.collateral.deposit(s.pubkey(), t.margin, mint, amount)], s)

    def withdraw(self, t: Trader, mint: Pubkey, amount: int, signer: Keypair | None = None) -> TxResult:
        """`signer` (the owner by default) withdraws `amount` of `mint` from `t` to its wallet, health-checked."""
        s = signer or t.owner
        return self.send([self.collateral.withdraw(s.pubkey(), t.margin, mint, amount, self.health(t.margin))], s)

    def transfer(self, source: Trader, dest: Pubkey, mint: Pubkey, amount: int) -> TxResult:
        """`amount` of `mint` from `source` to margin account `dest`, health-checked."""
        ix = self.collateral.transfer(source.owner.pubkey(), source.margin, dest, mint, amount, self.health(source.margin))
        return self.send([ix], source.owner)

    def adjust(self, mint: Pubkey, margin: Pubkey, delta: int, program: Pubkey = ts.PROGRAM_ID) -> TxResult:
        """adjust_balance by CPI from `program`, a stand-in for qd-trading deployed at its id
        (tests/programs/qd-test-adjuster), signed by its [b"authority"] PDA."""
        authority = Pubkey.find_program_address([collateral.AUTHORITY_SEED], program)[0]
        metas = [AccountMeta(authority, False, False), AccountMeta(collateral.config_address(mint), False, True),
                 AccountMeta(collateral.balances_address(margin), False, True), AccountMeta(collateral.PROGRAM_ID, False, False)]
        return self.send([Instruction(program, delta.to_bytes(8, "little", signed=True), metas)])

    def view(self, margin: Pubkey, action: Action = Action.MARGIN) -> collateral.HealthView:
        """qd-collateral's own view_health of `margin`."""
        result = self.send([self.collateral.view_health(margin, self.health(margin), action)])
        assert result.ok, result.logs
        return collateral.decode_health_view(result.return_data)

    def mirror_of(self, balances: dict[Pubkey, int], price: int) -> HealthResult:
        """The health engine's Python mirror on `balances` (mint -> amount; zeros skipped), every
        asset at `price`."""
        inputs = []
        for mint, amount in balances.items():
            if amount != 0:
                config = self.collateral_config(mint)
                inputs.append(collateral.collateral_input(config, amount, collateral.QUOTE_PRICE if config.is_quote else price))
        return health.compute(inputs, [])

    def mirror(self, margin: Pubkey) -> HealthResult:
        """The Python mirror on `margin`'s balances, with the SOL/USD price the programs read."""
        return self.mirror_of({e.mint: e.balance for e in self.balances(margin).entries}, self.feed_state().price)

    def check_conservation(self, margins: Sequence[Pubkey], mints: Sequence[Pubkey] | None = None) -> None:
        """Per mint (the quote and the SOL-like asset by default): vault amount == sum of balances +
        protocol balance, and the config's total equals the sum over `margins` (every account holding any)."""
        for mint in mints or (self.usdc, self.sol):
            c = self.collateral_config(mint)
            total = sum(self.balances(m).balance_of(mint) for m in margins)
            assert c.total_balances == total
            assert self.tokens(c.vault) == total + c.protocol_balance

    # -- qd-trading: markets
    def add_market(self, index: int, symbol: str, price: int = PRICE, params: MarketParams = PARAMS) -> TxResult:
        """Market `index` on a new feed of `symbol` published at `price`."""
        self.feeds[index] = self.add_feed(symbol)
        self.publish(price, index)
        result = self.create_market(index, symbol, params)
        assert result.ok, result.logs
        return result

    def create_market(self, index: int, symbol: str, p: MarketParams, signer: Keypair | None = None) -> TxResult:
        """create_market by `signer` (the admin) on market `index`'s feed (market 0's when it has none)."""
        s = signer or self.admin
        return self.send([self.trading.create_market(s.pubkey(), index, symbol, self.feeds.get(index, self.feeds[0]), p)], s)

    def set_status(self, status: MarketStatus, signer: Keypair | None = None) -> TxResult:
        """Market 0's status set by `signer` (the admin by default)."""
        s = signer or self.admin
        return self.send([self.trading.set_market_status(s.pubkey(), 0, self.feeds[0], status)], s)

    def market(self, index: int = 0) -> ts.PerpMarket:
        """Perp market `index` as it is now."""
        return market_on(self.chain, index)

    # -- qd-trading: traders
    def trader(self, deposit: int = 10_000 * USDC, sub_id: int = 0, owner: Keypair | None = None, *, trading: bool = True) -> Trader:
        """A margin account with its balances and (unless not `trading`) its trading account, of a
        new wallet unless `owner`, `deposit` USDC deposited."""
        o = owner or self.chain.keypair()
        t = Trader(o, self.margin_account(o, sub_id, trading=trading))
        if deposit:
            self.fund(o, self.usdc, deposit)
            assert self.deposit(t, self.usdc, deposit).ok
        return t

    def delegated(self) -> tuple[Trader, Keypair, Trader]:
        """A victim with 10,000 USDC whose trade-only delegate also owns a margin account."""
        victim, delegate = self.trader(), self.chain.keypair()
        assert self.send([self.core.set_delegate(victim.owner.pubkey(), victim.margin, delegate.pubkey())], victim.owner).ok
        return victim, delegate, self.trader(owner=delegate)

    def account(self, t: Trader) -> ts.TradingAccount:
        """`t`'s trading account as it is now."""
        return ts.decode_trading_account(self.raw(t.trading))

    def quote_balance(self, t: Trader) -> int:
        """`t`'s USDC balance (negative: a debt)."""
        return self.balances(t.margin).balance_of(self.usdc)

    def protocol_balance(self) -> int:
        """The quote config's protocol balance: what the markets' PnL pools hold (losses and fees
        paid in, less profits paid out)."""
        return self.collateral_config(self.usdc).protocol_balance

    # -- qd-trading: orders and fills
    def place(self, t: Trader, p: OrderParams, signer: Keypair | None = None, session: Pubkey | None = None) -> TxResult:
        """place_order for `t`, signed by its owner, a delegate or a session key (`session`)."""
        s = signer or t.owner
        ix = self.trading.place_order(s.pubkey(), t.margin, p, self.feeds.get(p.market_index, self.feeds[0]), self.usdc,
                                      self.health(t.margin, p.market_index), session)
        return self.send([ix], s)

    def _placement(self, name: str, t: Trader, market: int, *args: Any, signer: Keypair | None = None, session: Pubkey | None = None) -> TxResult:
        s = signer or t.owner
        ix = getattr(self.trading, name)(s.pubkey(), t.margin, *args, self.feeds.get(market, self.feeds[0]), self.usdc, self.health(t.margin, market),
                                         session)
        return self.send([ix], s)

    def place_trigger(self, t: Trader, p: OrderParams, trigger: trading.TriggerParams, signer: Keypair | None = None,
                      session: Pubkey | None = None) -> TxResult:
        """place_trigger_order for `t`, signed by its owner, a delegate or a session key (`session`)."""
        return self._placement("place_trigger_order", t, p.market_index, p, trigger, signer=signer, session=session)

    def place_bracket(self, t: Trader, entry: OrderParams, take_profit: trading.ExitParams | None, stop_loss: trading.ExitParams | None,
                      signer: Keypair | None = None) -> TxResult:
        """place_bracket for `t` (returns the entry's id; the exits follow it)."""
        s = signer or t.owner
        ix = self.trading.place_bracket(s.pubkey(), t.margin, entry, self.feeds.get(entry.market_index, self.feeds[0]), self.usdc,
                                        self.health(t.margin, entry.market_index), take_profit, stop_loss)
        return self.send([ix], s)

    def place_iceberg(self, t: Trader, p: OrderParams, display_size: int, signer: Keypair | None = None) -> TxResult:
        return self._placement("place_iceberg_order", t, p.market_index, p, display_size, signer=signer)

    def place_scale(self, t: Trader, p: trading.ScaleParams, signer: Keypair | None = None, session: Pubkey | None = None) -> TxResult:
        return self._placement("place_scale_orders", t, p.market_index, p, signer=signer, session=session)

    def place_twap(self, t: Trader, p: trading.TwapParams, signer: Keypair | None = None, session: Pubkey | None = None) -> TxResult:
        return self._placement("place_twap_order", t, p.market_index, p, signer=signer, session=session)

    def crank(self, name: str, cranker: Keypair, t: Trader, order_id: int, fee_to: Trader | None = None, market: int = 0) -> TxResult:
        """trigger_order or crank_twap of `t`'s order, signed by `cranker`, the fee to `fee_to`'s trading account (None: no fee)."""
        ix = getattr(self.trading, name)(cranker.pubkey(), t.margin, market, self.feeds[market], self.usdc, order_id, self.health(t.margin, market),
                                         fee_to.trading if fee_to is not None else None)
        return self.send([ix], cranker)

    def placed_id(self, t: Trader, p: OrderParams) -> int:
        """The id of the order `t`'s owner places (which must be accepted)."""
        result = self.place(t, p)
        assert result.ok, result.logs
        return int.from_bytes(result.return_data, "little")

    def modify(self, t: Trader, order_id: int, price: int | None = None, size: int | None = None, market: int = 0) -> TxResult:
        """modify_order by `t`'s owner."""
        ix = self.trading.modify_order(t.owner.pubkey(), t.margin, market, self.feeds[market], self.usdc, order_id, self.health(t.margin, market),
                                       price, size)
        return self.send([ix], t.owner)

    def cancel(self, t: Trader, name: str, *args: Any, signer: Keypair | None = None) -> TxResult:
        """The cancel instruction `name` (cancel_order, cancel_order_by_client_id, cancel_orders) with `args`."""
        s = signer or t.owner
        return self.send([getattr(self.trading, name)(s.pubkey(), t.margin, *args)], s)

    def place_and_make(self, maker: Trader, taker: Trader, taker_order_id: int, price: int, size: int, market: int = 0,
                       signer: Keypair | None = None, session: Pubkey | None = None) -> TxResult:
        """`signer` (the maker's owner by default) may be its delegate, or a session key with `session`."""
        s = signer or maker.owner
        ix = self.trading.place_and_make(s.pubkey(), maker.margin, taker.margin, market, self.feeds[market], self.usdc, taker_order_id,
                                         MakerParams(price, size), self.health(maker.margin, market), self.health(taker.margin, market), session,
                                         trading.order_session(self.account(taker), taker_order_id))
        return self.send([ix], s)

    def make_at_auction(self, maker: Trader, taker: Trader, order_id: int, size: int) -> TxResult:
        """`maker` fills `size` of the taker's order at its auction's price in the current slot."""
        o = next(o for o in self.account(taker).orders if o.order_id == order_id)
        price = trading.auction_price(o, self.chain.clock.slot, self.market(o.market_index).tick_size)
        return self.place_and_make(maker, taker, order_id, price, size, o.market_index)

    def fill(self, taker: Trader, taker_order_id: int, makers: list[tuple[Trader, int]], market: int = 0) -> TxResult:
        """A keeper (a new key) fills the taker's order from resting `makers` (trader, order id)."""
        filler = self.chain.keypair()
        ix = self.trading.fill_order(filler.pubkey(), taker.margin, market, self.feeds[market], self.usdc, taker_order_id,
                                     [(m.margin, i) for m, i in makers], self.health(taker.margin, market),
                                     [self.health(m.margin, market) for m, _ in makers],
                                     trading.order_session(self.account(taker), taker_order_id),
                                     [trading.order_session(self.account(m), i) for m, i in makers])
        return self.send([ix], filler)

    def update_funding(self, market: int = 0) -> TxResult:
        """The permissionless funding crank of `market`."""
        return self.send([self.trading.update_funding(market, self.feeds[market])])

    def settle(self, t: Trader, market: int = 0) -> TxResult:
        """settle_pnl of `t` in `market` (permissionless; the admin signs)."""
        return self.send([self.trading.settle_pnl(self.admin.pubkey(), t.margin, market, self.usdc)])

    def expire(self, t: Trader) -> TxResult:
        """expire_orders of `t` (permissionless; the admin signs)."""
        return self.send([self.trading.expire_orders(self.admin.pubkey(), t.margin)])

    # -- qd-core: liquidation
    def health_state(self, margin: Pubkey, mints: Sequence[Pubkey] = ()) -> collateral.HealthState:
        """`margin`'s accounts as its health check reads them (CollateralClient.fetch_health_states
        from the chain's state), the configs of `mints` included."""
        balances = self.balances(margin)
        configs = {mint: self.collateral_config(mint) for mint in [*mints, *(e.mint for e in balances.entries)]}
        account = trading_on(self.chain, margin)
        markets = {p.market_index: self.market(p.market_index) for p in (account.positions if account is not None else [])}
        return collateral.HealthState(margin, balances, configs, account, markets)

    def liquidator_list(self, liquidator: Trader, market: int, asset: Pubkey | None = None) -> list[AccountMeta]:
        """The liquidator's health list for a step in `market` as it will be after the step
        (core.liquidator_health: holding `asset`, appended to its balances when it holds none yet)."""
        return core.liquidator_health(self.health_state(liquidator.margin, [asset] if asset else []), market, asset)

    def liquidate_orders_ix(self, liquidator: Trader, t: Trader) -> Instruction:
        health = collateral.health_accounts(self.balances(t.margin), {e.mint: self.collateral_config(e.mint) for e in self.balances(t.margin).entries},
                                            trading_on(self.chain, t.margin),
                                            {p.market_index: self.market(p.market_index) for p in self.account(t).positions}, quote_held=True)
        return self.core.liquidate_orders(liquidator.owner.pubkey(), liquidator.margin, t.margin, self.usdc, health)

    def liquidate_perp_ix(self, liquidator: Trader, t: Trader, market: int = 0, max_base: int = 2**64 - 1) -> Instruction:
        return self.core.liquidate_perp(liquidator.owner.pubkey(), liquidator.margin, t.margin, market, self.feeds[market], self.usdc, max_base,
                                        self.health(t.margin, market), self.liquidator_list(liquidator, market))

    def liquidate_collateral_ix(self, liquidator: Trader, t: Trader, mint: Pubkey, market: int = 0, max_quote: int = 2**63 - 1) -> Instruction:
        return self.core.liquidate_collateral(liquidator.owner.pubkey(), liquidator.margin, t.margin, market, self.feeds[market], self.usdc,
                                              self.collateral_config(mint), max_quote, self.health(t.margin, market),
                                              self.liquidator_list(liquidator, market, mint))

    def liquidate_orders(self, liquidator: Trader, t: Trader) -> TxResult:
        """`liquidator` takes every order of `t` off the book (t must be liquidatable)."""
        return self.send([self.liquidate_orders_ix(liquidator, t)], liquidator.owner)

    def liquidate_perp(self, liquidator: Trader, t: Trader, market: int = 0, max_base: int = 2**64 - 1) -> TxResult:
        """`liquidator` takes over up to `max_base` of `t`'s position in `market`."""
        return self.send([self.liquidate_perp_ix(liquidator, t, market, max_base)], liquidator.owner)

    def liquidate_collateral(self, liquidator: Trader, t: Trader, mint: Pubkey, market: int = 0, max_quote: int = 2**63 - 1) -> TxResult:
        """`liquidator` repays up to `max_quote` of `t`'s debt in `market` and takes `mint` at its discount."""
        return self.send([self.liquidate_collateral_ix(liquidator, t, mint, market, max_quote)], liquidator.owner)

    def view_liquidation(self, margin: Pubkey) -> core.LiquidationView:
        """qd-core's view_liquidation of `margin` (the prices as the programs read them for liquidation)."""
        result = self.send([self.core.view_liquidation(margin, self.health(margin))])
        assert result.ok, result.logs
        return core.decode_liquidation_view(result.return_data)

    def liquidation_mirror(self, margin: Pubkey) -> core.LiquidationView:
        """clients/liquidation's view of `margin` from the chain's state (the feeds' prices)."""
        balances = self.balances(margin)
        configs = {e.mint: self.collateral_config(e.mint) for e in balances.entries}
        prices = {mint: self.feed_state(c.oracle).price for mint, c in configs.items() if c.oracle is not None}
        account = trading_on(self.chain, margin)
        markets = {p.market_index: self.market(p.market_index) for p in (account.positions if account is not None else [])}
        market_prices = {i: self.feed_state(m.oracle).price for i, m in markets.items()}
        return liquidation.view(balances, configs, prices, account, markets, market_prices, self.global_config().liquidation_buffer_bps,
                                self.margin_state(margin).status)

    def resolve_bankruptcy_ix(self, t: Trader, market: int = 0) -> Instruction:
        return self.core.resolve_bankruptcy(self.admin.pubkey(), t.margin, market, self.usdc)

    def resolve_bankruptcy(self, t: Trader, market: int = 0) -> TxResult:
        """Permissionless (the admin signs): `t`'s debt in `market` paid by the insurance fund, the rest socialized."""
        return self.send([self.resolve_bankruptcy_ix(t, market)])

    def exit_liquidation_ix(self, t: Trader) -> Instruction:
        return self.core.exit_liquidation(t.margin, self.health(t.margin))

    def exit_liquidation(self, margin: Pubkey) -> TxResult:
        """Permissionless: ends `margin`'s liquidation once its end health is >= 0."""
        return self.send([self.core.exit_liquidation(margin, self.health(margin))])

    def core_events(self, result: TxResult) -> list[Any]:
        """qd-core's events in `result`'s logs."""
        return core.parse_events(result.logs)

    def events(self, result: TxResult) -> list[Any]:
        """qd-trading's events in `result`'s logs."""
        return trading.parse_events(result.logs)

    # -- makers: orders to fill
    def taker_in_auction(self) -> tuple[Trader, Trader, int]:
        """A taker's market bid (100 -> 102 over 10 slots) two slots into its auction, and a maker
        who may fill it at 100."""
        taker, maker = self.trader(), self.trader()
        order_id = self.placed_id(taker, order(BID, MARKET, IOC, price=102 * USDC))
        self.advance(2)
        return taker, maker, order_id

    def resting_ask_and_bid(self, maker: Trader, taker: Trader) -> tuple[int, int]:
        """A maker's ask at 100.5 and a taker's IOC bid at 101 whose auction is over: fillable."""
        ask = self.placed_id(maker, order(ASK, price=100_500_000))
        bid = self.placed_id(taker, order(BID, LIMIT, IOC, price=101 * USDC))
        self.advance(10)
        return ask, bid

    def place_ix(self, t: Trader, p: OrderParams) -> Instruction:
        """The place_order `place` would send (to forge from it)."""
        return built(self, lambda: self.place(t, p))

    def make_ix(self, maker: Trader, taker: Trader, order_id: int, price: int = PRICE, size: int = BASE) -> Instruction:
        """The place_and_make `place_and_make` would send."""
        return built(self, lambda: self.place_and_make(maker, taker, order_id, price, size))

    def fill_ix(self, taker: Trader, order_id: int, makers: list[tuple[Trader, int]]) -> Instruction:
        """The fill_order `fill` would send."""
        return built(self, lambda: self.fill(taker, order_id, makers))

    # -- invariants
    def check_invariants(self, traders: list[Trader], markets: Sequence[int] = (0,)) -> None:
        """The ledger of `markets` (every market of the venue's quote: the protocol balance is
        theirs), `traders` holding every position in them: zero-sum positions; zero-sum PnL with
        fees, liquidation fees and losses socialized or paid by the insurance fund
        (sum(quote_entry + realized_pnl) + fee_pool + liquidation_fee_pool + fees_swept +
        total_pnl_settled - total_funding_settled - insurance_paid - socialized_loss -
        unbacked_loss == 0: what positions realized went to balances, the pools, or came from the
        fund and the other positions); the PnL pool holds what settlements and the fund moved in
        less what was swept; the quote config's protocol balance is the pools' sum plus the
        protocol's revenue and backs the vault with the balances (vault == total_balances +
        protocol_balance); no quote balance is negative; the accounts' fees are the markets'."""
        pools = 0
        for index in markets:
            m = self.market(index)
            positions = [p for t in traders for p in self.account(t).positions if p.market_index == index]
            assert sum(p.base for p in positions if p.base > 0) == m.open_interest_long
            assert sum(-p.base for p in positions if p.base < 0) == m.open_interest_short
            realized = sum(p.quote_entry + p.realized_pnl for p in positions)
            pooled = m.fee_pool + m.liquidation_fee_pool + m.fees_swept
            assert realized + pooled + m.total_pnl_settled - m.total_funding_settled - m.insurance_paid - m.socialized_loss - m.unbacked_loss == 0
            assert m.pnl_pool == -m.total_pnl_settled + m.insurance_paid - m.fees_swept >= 0
            pools += m.pnl_pool
        assert sum(self.account(t).fees_paid for t in traders) == sum(self.market(i).total_fees for i in markets)
        config = self.collateral_config(self.usdc)
        assert config.protocol_balance == pools + config.revenue
        assert self.tokens(config.vault) == config.total_balances + config.protocol_balance
        assert all(self.quote_balance(t) >= 0 for t in traders)


# ---------------------------------------------------------------- the health engine on SBF (tests/programs/qd-test-health)
# Its `evaluate` instruction carries a whole portfolio and returns every output (or the
# HealthError code) as return data: the engine compared with clients/health.py, and its CU.

HEALTH_PROGRAM_ID = Pubkey.from_string("Hk3ZMZFdMbegCMcWaLtEtiTz1ZwH4FNvdirHRd9c6EAE")
"""Test-only program id (no keypair kept), as in tests/programs/qd-test-health/src/lib.rs."""
HEALTH_PROGRAM = "qd_test_health"
EVALUATE = idl.discriminator("global", "evaluate")
MAX_HEALTH_ENTRIES = 8
"""Collateral entries and perps per instruction, each."""
LIQUIDATION_PRICES = 1
"""Flag bit: also compute each perp's liquidation price."""

_COLLATERAL = struct.Struct("<qBqHH")
_PERP = struct.Struct("<9q HHQHH")
_OPTION_I128 = struct.Struct("<B16s")


def encode_portfolio(collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool) -> bytes:
    """`evaluate` instruction data for a portfolio."""
    if len(collateral) > MAX_HEALTH_ENTRIES or len(perps) > MAX_HEALTH_ENTRIES:
        raise ValueError(f"at most {MAX_HEALTH_ENTRIES} collateral entries and {MAX_HEALTH_ENTRIES} perps")
    out = bytearray(EVALUATE)
    out.append(len(collateral))
    for c in collateral:
        out += _COLLATERAL.pack(c.balance, c.decimals, c.price, c.init_weight_bps, c.maint_weight_bps)
    out.append(len(perps))
    for p in perps:
        m = p.market
        out += _PERP.pack(p.base, p.quote, p.funding_snapshot, p.cumulative_funding, p.bids_base, p.bids_quote, p.asks_base, p.asks_quote,
                          p.price, m.init_margin_bps, m.maint_margin_bps, m.size_margin_factor, m.upnl_init_weight_bps, m.upnl_maint_weight_bps)
    out.append(LIQUIDATION_PRICES if liquidation_prices else 0)
    return bytes(out)


def decode_evaluation(data: bytes) -> HealthResult | HealthError:
    """The program's return data: the outputs, or the HealthError it stopped at."""
    if data[0] == 0:
        (code,) = struct.unpack_from("<I", data, 1)
        if len(data) != 5:
            raise ValueError(f"malformed error return data {data.hex()}")
        return HealthError.from_code(code)
    at = 1

    def i128() -> int:
        nonlocal at
        value = int.from_bytes(data[at:at + 16], "little", signed=True)
        at += 16
        return value

    def option_i128() -> int | None:
        nonlocal at
        tag, raw = _OPTION_I128.unpack_from(data, at)
        at += _OPTION_I128.size
        return int.from_bytes(raw, "little", signed=True) if tag else None

    init_health, maint_health, free_collateral = i128(), i128(), i128()
    health_factor, margin_ratio = option_i128(), option_i128()
    assets_init, liabilities_init, assets_maint, liabilities_maint, equity, notional, worst_notional = (i128() for _ in range(7))
    count = data[at]
    at += 1
    prices: list[int | None] = []
    for _ in range(count):
        tag, price = struct.unpack_from("<Bq", data, at)
        at += 9
        prices.append(price if tag else None)
    if at != len(data):
        raise ValueError(f"{len(data) - at} trailing bytes in return data")
    return HealthResult(init_health, maint_health, free_collateral, health_factor, margin_ratio, assets_init, liabilities_init, assets_maint,
                        liabilities_maint, equity, notional, worst_notional, liquidation_prices=prices)


class HealthProgram:
    """qd-test-health deployed on a Chain."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        chain.deploy(HEALTH_PROGRAM, HEALTH_PROGRAM_ID)

    def send(self, collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool = False,
             cu_limit: int | None = None) -> TxResult:
        """One `evaluate` of the portfolio (which must succeed), its result with the CU."""
        result = self.chain.send([Instruction(HEALTH_PROGRAM_ID, encode_portfolio(collateral, perps, liquidation_prices), [])], cu_limit=cu_limit)
        if not result.ok:
            raise RuntimeError(f"qd-test-health failed: {result.error}\n" + "\n".join(result.logs))
        return result

    def evaluate(self, collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool = True) -> HealthResult | HealthError:
        """The engine's answer on SBF (liquidation searches need more than the default CU)."""
        return decode_evaluation(self.send(collateral, perps, liquidation_prices, cu_limit=1_400_000).return_data)


# ---------------------------------------------------------------- localnet transactions (solders only, no server)

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def signed(payer: Keypair, instructions: list[Instruction], blockhash: Hash, extra_signers: tuple[Keypair, ...] = ()) -> VersionedTransaction:
    """A signed transaction as an RPC client sends it."""
    tx = Transaction([payer, *extra_signers], Message(instructions, payer.pubkey()), blockhash)
    return VersionedTransaction.from_legacy(tx)


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash, cu_price: int | None = None, cu_limit: int | None = None) -> VersionedTransaction:
    """A SOL transfer, with compute-budget instructions when asked."""
    ixs: list[Instruction] = []
    if cu_limit is not None:
        ixs.append(set_compute_unit_limit(cu_limit))
    if cu_price is not None:
        ixs.append(set_compute_unit_price(cu_price))
    ixs.append(transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports)))
    return signed(payer, ixs, blockhash)


def memo_ix(text: str, signer: Pubkey) -> Instruction:
    """An SPL Memo signed by `signer`."""
    return Instruction(MEMO_PROGRAM_ID, text.encode(), [AccountMeta(signer, True, False)])


def transfer_checked_ix(source: Pubkey, mint: Pubkey, dest: Pubkey, owner: Pubkey, amount: int, decimals: int) -> Instruction:
    """An SPL Token TransferChecked."""
    return transfer_checked(TransferCheckedParams(program_id=token.TOKEN_PROGRAM_ID, source=source, mint=mint, dest=dest, owner=owner,
                                                  amount=amount, decimals=decimals))
