"""Client for qd-core: GlobalConfig, margin-account and insurance-fund addresses, instruction
builders, account and event decoders, the fund's share math and sweep split (the programs'
exactly), the health lists of liquidation steps, and an async client that creates, lists and
manages an owner's margin accounts, liquidates accounts and resolves bankruptcies, and creates,
stakes into and sweeps fees into the insurance fund."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from anchorpy import Context, Program, Provider
from anchorpy.program.common import Event
from based58 import b58encode

# core and collateral import each other as modules; neither reads the other's names at import time.
from quantdesk.clients import collateral, security, trading_state
from quantdesk.clients import idl as idl_mod
from quantdesk.clients.rpc import AccountReads, ProgramClient, Receipt
from quantdesk.clients.security import ALL_MARKETS, INSTRUCTIONS_SYSVAR, MAX_MARKETS
from quantdesk.clients.token import TOKEN_PROGRAM_ID, associated_address
from quantdesk.clients.trading_state import market_address, trading_address
from solana.rpc.types import MemcmpOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID

__all__ = ["ALL_MARKETS", "AUTHORITY", "AUTHORITY_SEED", "BPS", "CoreClient", "CoreInstructions", "DEFAULT_MAX_SUB_ACCOUNTS", "GLOBAL",
           "GLOBAL_SEED", "GlobalConfig", "I64_MAX", "INSURANCE_SEED", "INSURANCE_VAULT_SEED", "InsuranceFund", "Limits", "LiquidationView",
           "MARGIN_ACCOUNT_DISCRIMINATOR", "MARGIN_SEED", "MAX_FEE_SHARE_BPS", "MAX_SUB_ACCOUNTS_LIMIT", "MAX_UNSTAKE_DELAY_SECS",
           "MIN_UNSTAKE_DELAY_SECS", "MarginAccount", "NAME", "NAME_LEN", "OWNER_OFFSET", "PROGRAM_ID", "PerpLiquidationView", "STAKE_DISCRIMINATOR",
           "STAKE_SEED", "STAKE_STAKER_OFFSET", "STATUS_BANKRUPT", "STATUS_BEING_LIQUIDATED", "STATUS_FROZEN", "STATUS_OFFSET", "Stake", "Sweep",
           "U64_MAX", "VIRTUAL_SHARES", "decode_global", "decode_insurance_fund", "decode_liquidation_view", "decode_margin_account", "decode_stake",
           "encode_name", "insurance_fund_address", "insurance_vault_address", "liquidated_health", "liquidator_health", "margin_account_address",
           "margin_account_filter_bytes", "margin_account_filters", "parse_events", "stake_address"]


NAME = "qd_core"
PROGRAM_ID = idl_mod.program_id(NAME)
GLOBAL_SEED = b"global"
MARGIN_SEED = b"margin"
GLOBAL = Pubkey.find_program_address([GLOBAL_SEED], PROGRAM_ID)[0]
AUTHORITY_SEED = b"authority"
AUTHORITY = Pubkey.find_program_address([AUTHORITY_SEED], PROGRAM_ID)[0]
"""qd-core's CPI signer: the insurance vault's token authority; qd-trading's take_fees and
qd-collateral's collect_fees and cover_from_insurance accept no other."""
INSURANCE_SEED = b"insurance"
INSURANCE_VAULT_SEED = b"insurance_vault"
STAKE_SEED = b"stake"

NAME_LEN = 32
DEFAULT_MAX_SUB_ACCOUNTS = 16
MAX_SUB_ACCOUNTS_LIMIT = 256

# MarginAccount.status bits (account offset 9).
STATUS_FROZEN = 1 << 0
STATUS_BEING_LIQUIDATED = 1 << 1
STATUS_BANKRUPT = 1 << 2

# Fixed offsets keepers filter on (crates/qd-core-state).
STATUS_OFFSET = 9
OWNER_OFFSET = 16
MARGIN_ACCOUNT_DISCRIMINATOR = idl_mod.discriminator("account", "MarginAccount")
STAKE_DISCRIMINATOR = idl_mod.discriminator("account", "Stake")
STAKE_STAKER_OFFSET = 48

# The insurance fund (crates/qd-core-state).
VIRTUAL_SHARES = 10**3
"""Share price = (balance + 1) / (total_shares + VIRTUAL_SHARES): ERC-4626's offset."""
MIN_UNSTAKE_DELAY_SECS = 1
MAX_UNSTAKE_DELAY_SECS = 90 * 86_400
MAX_FEE_SHARE_BPS = 10_000
BPS = 10_000
U64_MAX = 2**64 - 1
"""liquidate_perp's `max_base` without a limit of the liquidator's own."""
I64_MAX = 2**63 - 1
"""liquidate_collateral's `max_quote` without a limit of the liquidator's own."""


def margin_account_address(owner: Pubkey, sub_id: int) -> Pubkey:
    """The margin account PDA [b"margin", owner, sub_id u16 LE] (canonical bump)."""
    return Pubkey.find_program_address([MARGIN_SEED, bytes(owner), sub_id.to_bytes(2, "little")], PROGRAM_ID)[0]


def insurance_fund_address(mint: Pubkey) -> Pubkey:
    """The InsuranceFund PDA [b"insurance", mint]."""
    return Pubkey.find_program_address([INSURANCE_SEED, bytes(mint)], PROGRAM_ID)[0]


def insurance_vault_address(mint: Pubkey) -> Pubkey:
    """The fund's vault, a token account at PDA [b"insurance_vault", mint] whose authority is AUTHORITY."""
    return Pubkey.find_program_address([INSURANCE_VAULT_SEED, bytes(mint)], PROGRAM_ID)[0]


def stake_address(fund: Pubkey, staker: Pubkey) -> Pubkey:
    """`staker`'s Stake PDA [b"stake", fund, staker]."""
    return Pubkey.find_program_address([STAKE_SEED, bytes(fund), bytes(staker)], PROGRAM_ID)[0]


def encode_name(name: str) -> bytes:
    """A label as the 32 zero-padded UTF-8 bytes the program stores."""
    raw = name.encode("utf-8")
    if len(raw) > NAME_LEN or b"\0" in raw:
        raise ValueError(f"name must be at most {NAME_LEN} UTF-8 bytes without NUL: {name!r}")
    return raw.ljust(NAME_LEN, b"\0")


def margin_account_filter_bytes(owner: Pubkey) -> list[tuple[int, bytes]]:
    """(offset, bytes) memcmp filters selecting `owner`'s margin accounts."""
    return [(0, MARGIN_ACCOUNT_DISCRIMINATOR), (OWNER_OFFSET, bytes(owner))]


def margin_account_filters(owner: Pubkey) -> list[MemcmpOpts]:
    """getProgramAccounts filters for `owner`'s margin accounts: discriminator @0, owner @16."""
    return [MemcmpOpts(offset, b58encode(raw).decode()) for offset, raw in margin_account_filter_bytes(owner)]


@dataclass(frozen=True)
class GlobalConfig:
    """A decoded GlobalConfig account."""

    address: Pubkey
    version: int
    bump: int
    admin: Pubkey
    quote_mint: Pubkey
    max_sub_accounts: int
    margin_accounts: int
    collateral_program: Pubkey
    oracle_program: Pubkey
    trading_program: Pubkey
    security_program: Pubkey
    audit_seq: int
    """Sequence number of the latest admin action (the `seq` of its event)."""
    liquidation_buffer_bps: int = 0
    """A liquidation continues until the maintenance health with this buffer is >= 0."""


@dataclass(frozen=True)
class Limits:
    """The owner's own limits on an account."""

    max_leverage_x100: int
    """0: the markets' own limits; else 100..=10000 (1x..100x)."""
    allowed_markets: int
    """Bit i set: perp market i may be traded."""
    reduce_only: bool

    def allows_market(self, market: int) -> bool:
        return 0 <= market < MAX_MARKETS and bool(self.allowed_markets >> market & 1)


@dataclass(frozen=True)
class MarginAccount:
    """A decoded MarginAccount."""

    address: Pubkey
    owner: Pubkey
    sub_id: int
    name: str
    status: int
    delegate: Pubkey | None
    freeze_reason: int
    limits: Limits
    audit_seq: int
    created_slot: int
    init_health: int
    maint_health: int
    health_slot: int
    bump: int

    @property
    def frozen(self) -> bool:
        return bool(self.status & STATUS_FROZEN)

    @property
    def being_liquidated(self) -> bool:
        return bool(self.status & STATUS_BEING_LIQUIDATED)

    @property
    def bankrupt(self) -> bool:
        return bool(self.status & STATUS_BANKRUPT)

    def summary(self) -> str:
        """One readable line: `#3 "hedge" owner=... frozen(reason 7) delegate=... lev<=5.00x ...`."""
        flags = [name for name, on in (("frozen", self.frozen), ("liquidating", self.being_liquidated), ("bankrupt", self.bankrupt)) if on]
        status = ",".join(flags) or "active"
        if self.frozen:
            status += f"(reason {self.freeze_reason})"
        lev = "market" if self.limits.max_leverage_x100 == 0 else f"{self.limits.max_leverage_x100 / 100:.2f}x"
        markets = "all" if self.limits.allowed_markets == ALL_MARKETS else f"{self.limits.allowed_markets:#x}"
        return (
            f"#{self.sub_id} {self.name!r} {self.address} owner={self.owner} {status}"
            f" delegate={self.delegate or '-'} leverage<={lev} markets={markets}"
            f"{' reduce-only' if self.limits.reduce_only else ''}"
            f" health(init={self.init_health}, maint={self.maint_health} @ slot {self.health_slot})"
        )


@dataclass(frozen=True)
class InsuranceFund:
    """A decoded InsuranceFund, with the program's share math."""

    address: Pubkey
    mint: Pubkey
    vault: Pubkey
    fee_share_bps: int
    unstake_delay_secs: int
    balance: int
    """The stakers' tokens as counted (a donation to the vault is not)."""
    total_shares: int
    total_paid: int
    total_swept: int
    seq: int
    bump: int
    vault_bump: int

    def shares_for(self, amount: int) -> int:
        """Shares a stake of `amount` mints: floor(amount * (total_shares + V) / (balance + 1))."""
        return amount * (self.total_shares + VIRTUAL_SHARES) // (self.balance + 1)

    def value_of(self, shares: int) -> int:
        """What `shares` are worth now: floor(shares * (balance + 1) / (total_shares + V))."""
        return shares * (self.balance + 1) // (self.total_shares + VIRTUAL_SHARES)


@dataclass(frozen=True)
class Stake:
    """A decoded Stake: one staker's shares of a fund and its pending unstake request."""

    address: Pubkey
    fund: Pubkey
    staker: Pubkey
    shares: int
    unstake_shares: int
    """Shares of the pending request; 0: none."""
    unstake_value: int
    """Their value at the request: the most the withdrawal pays."""
    unstake_request_ts: int
    bump: int

    @property
    def pending(self) -> bool:
        return self.unstake_shares != 0

    def unlock_ts(self, fund: InsuranceFund) -> int | None:
        """When the pending request may be withdrawn (the fund's delay as it is now); None without one."""
        return self.unstake_request_ts + fund.unstake_delay_secs if self.pending else None

    def payout(self, fund: InsuranceFund) -> int:
        """What withdrawing the pending request pays now: the lower of its value then and now."""
        return min(self.unstake_value, fund.value_of(self.unstake_shares)) if self.pending else 0


@dataclass(frozen=True)
class Sweep:
    """One sweep of a market's pools, as sweep_fees computes it."""

    liquidation_fees: int
    trading_fees: int
    to_insurance: int
    to_revenue: int

    @classmethod
    def of(cls, fee_share_bps: int, liquidation_fee_pool: int, fee_pool: int, pnl_pool: int) -> Sweep:
        """The liquidation fees, then the trading fees, as far as the PnL pool backs them (a
        negative pool counting as empty); the fund takes the liquidation fees and
        floor(trading fees * fee_share_bps / 10,000), the protocol's revenue the rest."""
        pnl = max(pnl_pool, 0)
        ins = min(max(liquidation_fee_pool, 0), pnl)
        fees = min(max(fee_pool, 0), pnl - ins)
        share = fees * min(fee_share_bps, MAX_FEE_SHARE_BPS) // BPS
        return cls(ins, fees, ins + share, fees - share)

    @property
    def empty(self) -> bool:
        return self.liquidation_fees == 0 and self.trading_fees == 0


def liquidated_health(state: collateral.HealthState, market_index: int | None = None) -> list[AccountMeta]:
    """The liquidated account's health list for a step, from its accounts as they are: without
    the quote config (a fixed account of every step) and, for a step in `market_index`, that
    market (fixed too). liquidate_orders takes it with `market_index` None."""
    return collateral.health_accounts(state.balances, state.configs, state.trading, state.markets, quote_held=True, fixed_market=market_index)


def liquidator_health(state: collateral.HealthState, market_index: int, asset: Pubkey | None = None) -> list[AccountMeta]:
    """The liquidator's health list for a step in `market_index` as it will be after the step
    (the program checks its initial health then): a collateral step's `asset` appended to its
    balances when it holds none yet (`state.configs` must hold the asset's config), the position
    it takes in `market_index` left out with the quote config (fixed accounts)."""
    balances = state.balances
    if asset is not None and all(e.mint != asset for e in balances.entries):
        balances = dataclasses.replace(balances, entries=[*balances.entries, collateral.Balance(asset, 1)])
    return collateral.health_accounts(balances, state.configs, state.trading, state.markets, quote_held=True, fixed_market=market_index)


class CoreInstructions:
    """Builds qd-core instructions with anchorpy's IDL coder (no network use)."""

    def __init__(self, program: Program | None = None) -> None:
        self.program = program if program is not None else idl_mod.program(NAME)

    def _ix(self, name: str, *args: Any, accounts: dict[str, Pubkey]) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts))

    def initialize(self, admin: Pubkey, quote_mint: Pubkey, max_sub_accounts: int = DEFAULT_MAX_SUB_ACCOUNTS) -> Instruction:
        return self._ix(
            "initialize",
            max_sub_accounts,
            accounts={
                "admin": admin,
                "global": GLOBAL,
                "quote_mint": quote_mint,
                "system_program": SYSTEM_PROGRAM_ID,
                "program": PROGRAM_ID,
                "program_data": idl_mod.program_data_address(PROGRAM_ID),
            },
        )

    def set_max_sub_accounts(self, admin: Pubkey, max_sub_accounts: int) -> Instruction:
        return self._ix("set_max_sub_accounts", max_sub_accounts, accounts={"admin": admin, "global": GLOBAL, "instructions": INSTRUCTIONS_SYSVAR})

    def create_margin_account(self, owner: Pubkey, sub_id: int, name: str = "") -> Instruction:
        return self._ix(
            "create_margin_account",
            sub_id,
            list(encode_name(name)),
            accounts={
                "owner": owner,
                "global": GLOBAL,
                "margin_account": margin_account_address(owner, sub_id),
                "system_program": SYSTEM_PROGRAM_ID,
            },
        )

    def close_margin_account(self, owner: Pubkey, margin_account: Pubkey) -> Instruction:
        """The account's qd-collateral balances account and qd-trading account must be closed first."""
        return self._ix("close_margin_account", accounts={"owner": owner, "global": GLOBAL, "margin_account": margin_account,
                                                          "collateral_balances": collateral.balances_address(margin_account),
                                                          "trading_account": trading_address(margin_account)})

    def set_delegate(self, owner: Pubkey, margin_account: Pubkey, delegate: Pubkey | None) -> Instruction:
        """`delegate=None` removes the delegate."""
        return self._ix("set_delegate", delegate or Pubkey.default(), accounts={"owner": owner, "margin_account": margin_account})

    def set_limits(self, owner: Pubkey, margin_account: Pubkey, max_leverage_x100: int = 0,
                   allowed_markets: int = ALL_MARKETS, reduce_only: bool = False) -> Instruction:
        return self._ix("set_limits", max_leverage_x100, allowed_markets, reduce_only,
                        accounts={"owner": owner, "margin_account": margin_account})

    def set_frozen(self, security_authority: Pubkey, margin_account: Pubkey, frozen: bool, reason: int = 0) -> Instruction:
        """Only valid as qd-security's CPI (its authority PDA signs); built here for tests."""
        return self._ix("set_frozen", frozen, reason, accounts={"security_authority": security_authority, "margin_account": margin_account})

    def _liquidation(self, name: str, *args: Any, accounts: dict[str, Pubkey], health: list[AccountMeta]) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts, remaining_accounts=health))

    @staticmethod
    def _parties(liquidator: Pubkey, liquidator_margin: Pubkey, margin_account: Pubkey) -> dict[str, Pubkey]:
        return {"liquidator": liquidator, "security_config": security.CONFIG, "global": GLOBAL, "liquidator_margin_account": liquidator_margin,
                "margin_account": margin_account, "trading_account": trading_address(margin_account),
                "balances": collateral.balances_address(margin_account)}

    def liquidate_orders(self, liquidator: Pubkey, liquidator_margin: Pubkey, margin_account: Pubkey, quote_mint: Pubkey,
                         health: list[AccountMeta]) -> Instruction:
        """`health`: the account's list without the quote config (`collateral.health_accounts(..., quote_held=True)`)."""
        accounts = self._parties(liquidator, liquidator_margin, margin_account) | {
            "quote_config": collateral.config_address(quote_mint), "trading_program": trading_state.PROGRAM_ID, "core_authority": AUTHORITY}
        return self._liquidation("liquidate_orders", accounts=accounts, health=health)

    def liquidate_perp(self, liquidator: Pubkey, liquidator_margin: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey,
                       quote_mint: Pubkey, max_base: int, health: list[AccountMeta], liquidator_health: list[AccountMeta]) -> Instruction:
        """`health`, `liquidator_health`: each account's list without the quote config and this market (`trading.health_accounts`);
        the liquidator's as it will be after the step."""
        accounts = self._parties(liquidator, liquidator_margin, margin_account) | {
            "liquidator_trading_account": trading_address(liquidator_margin), "liquidator_balances": collateral.balances_address(liquidator_margin),
            "market": trading_state.market_address(market_index), "oracle": oracle, "quote_config": collateral.config_address(quote_mint),
            "trading_program": trading_state.PROGRAM_ID, "core_authority": AUTHORITY}
        return self._liquidation("liquidate_perp", market_index, max_base, accounts=accounts, health=[*health, *liquidator_health])

    def liquidate_collateral(self, liquidator: Pubkey, liquidator_margin: Pubkey, margin_account: Pubkey, market_index: int, oracle: Pubkey,
                             quote_mint: Pubkey, asset: collateral.CollateralConfig, max_quote: int, health: list[AccountMeta],
                             liquidator_health: list[AccountMeta]) -> Instruction:
        """The liquidator repays up to `max_quote` of the account's debt in `market_index` and takes `asset`; lists as for
        liquidate_perp (the liquidator's holding the asset after the step)."""
        if asset.oracle is None:
            raise ValueError("the quote mint is not collateral to liquidate")
        accounts = self._parties(liquidator, liquidator_margin, margin_account) | {
            "liquidator_trading_account": trading_address(liquidator_margin), "liquidator_balances": collateral.balances_address(liquidator_margin),
            "market": trading_state.market_address(market_index), "oracle": oracle, "asset_config": asset.address, "asset_oracle": asset.oracle,
            "quote_config": collateral.config_address(quote_mint), "collateral_program": collateral.PROGRAM_ID,
            "trading_program": trading_state.PROGRAM_ID, "core_authority": AUTHORITY}
        return self._liquidation("liquidate_collateral", market_index, max_quote, accounts=accounts, health=[*health, *liquidator_health])

    def resolve_bankruptcy(self, signer: Pubkey, margin_account: Pubkey, market_index: int, quote_mint: Pubkey,
                           token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """Permissionless: the bankrupt account's debt in `market_index`, paid by the insurance fund and socialized."""
        return self._ix("resolve_bankruptcy", market_index, accounts={
            "signer": signer, "security_config": security.CONFIG, "margin_account": margin_account,
            "trading_account": trading_address(margin_account), "balances": collateral.balances_address(margin_account),
            "market": market_address(market_index), "insurance_fund": insurance_fund_address(quote_mint),
            "insurance_vault": insurance_vault_address(quote_mint), "quote_config": collateral.config_address(quote_mint),
            "vault": collateral.vault_address(quote_mint), "quote_mint": quote_mint, "token_program": token_program,
            "collateral_program": collateral.PROGRAM_ID, "trading_program": trading_state.PROGRAM_ID, "core_authority": AUTHORITY})

    @staticmethod
    def _state_accounts(margin_account: Pubkey) -> dict[str, Pubkey]:
        return {"global": GLOBAL, "margin_account": margin_account, "trading_account": trading_address(margin_account),
                "balances": collateral.balances_address(margin_account)}

    def view_liquidation(self, margin_account: Pubkey, health: list[AccountMeta]) -> Instruction:
        """`health`: qd-collateral's list (`collateral.health_accounts`); simulate it and `decode_liquidation_view` the return data."""
        return self._liquidation("view_liquidation", accounts=self._state_accounts(margin_account), health=health)

    def exit_liquidation(self, margin_account: Pubkey, health: list[AccountMeta]) -> Instruction:
        """Permissionless: ends a liquidation whose end health is back at or above zero."""
        return self._liquidation("exit_liquidation", accounts=self._state_accounts(margin_account), health=health)

    # -- the insurance fund
    def create_insurance_fund(self, admin: Pubkey, mint: Pubkey, unstake_delay_secs: int, fee_share_bps: int,
                              token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """The GlobalConfig admin creates the quote mint's fund and vault and pays their rent."""
        return self._ix("create_insurance_fund", unstake_delay_secs, fee_share_bps, accounts={
            "admin": admin,
            "global": GLOBAL,
            "fund": insurance_fund_address(mint),
            "vault": insurance_vault_address(mint),
            "mint": mint,
            "token_program": token_program,
            "system_program": SYSTEM_PROGRAM_ID,
            "instructions": INSTRUCTIONS_SYSVAR,
        })

    def set_liquidation_buffer(self, buffer_bps: int) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction` (RISK_MANAGER or ADMIN)."""
        return self._ix("set_liquidation_buffer", buffer_bps, accounts={"timelock": security.AUTHORITY, "global": GLOBAL})

    def set_insurance_params(self, mint: Pubkey, unstake_delay_secs: int, fee_share_bps: int) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction` (ADMIN)."""
        return self._ix("set_insurance_params", unstake_delay_secs, fee_share_bps,
                        accounts={"timelock": security.AUTHORITY, "fund": insurance_fund_address(mint)})

    def stake(self, staker: Pubkey, mint: Pubkey, amount: int, source: Pubkey | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """`source` defaults to the staker's associated token account; the first stake creates its Stake account."""
        fund = insurance_fund_address(mint)
        return self._ix("stake", amount, accounts={
            "staker": staker,
            "security_config": security.CONFIG,
            "fund": fund,
            "stake": stake_address(fund, staker),
            "vault": insurance_vault_address(mint),
            "source": source or associated_address(staker, mint, token_program),
            "mint": mint,
            "token_program": token_program,
            "system_program": SYSTEM_PROGRAM_ID,
        })

    def request_unstake(self, staker: Pubkey, mint: Pubkey, shares: int) -> Instruction:
        fund = insurance_fund_address(mint)
        return self._ix("request_unstake", shares, accounts={"staker": staker, "fund": fund, "stake": stake_address(fund, staker)})

    def cancel_unstake(self, staker: Pubkey, mint: Pubkey) -> Instruction:
        fund = insurance_fund_address(mint)
        return self._ix("cancel_unstake", accounts={"staker": staker, "fund": fund, "stake": stake_address(fund, staker)})

    def unstake(self, staker: Pubkey, mint: Pubkey, destination: Pubkey | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """`destination` defaults to the staker's associated token account."""
        fund = insurance_fund_address(mint)
        return self._ix("unstake", accounts={
            "staker": staker,
            "security_config": security.CONFIG,
            "fund": fund,
            "stake": stake_address(fund, staker),
            "vault": insurance_vault_address(mint),
            "destination": destination or associated_address(staker, mint, token_program),
            "mint": mint,
            "token_program": token_program,
            "core_authority": AUTHORITY,
        })

    def sweep_fees(self, mint: Pubkey, market_index: int, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
        """Permissionless: market `market_index`'s fees into the fund of `mint` (the quote) and the protocol's revenue."""
        return self._ix("sweep_fees", accounts={
            "security_config": security.CONFIG,
            "fund": insurance_fund_address(mint),
            "fund_vault": insurance_vault_address(mint),
            "market": market_address(market_index),
            "quote_config": collateral.config_address(mint),
            "collateral_vault": collateral.vault_address(mint),
            "mint": mint,
            "token_program": token_program,
            "collateral_authority": collateral.VAULT_AUTHORITY,
            "core_authority": AUTHORITY,
            "trading_program": trading_state.PROGRAM_ID,
            "collateral_program": collateral.PROGRAM_ID,
        })


def decode_global(address: Pubkey, data: bytes, program: Program | None = None) -> GlobalConfig:
    """Decodes GlobalConfig account data (`ValueError` for another account type)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "GlobalConfig", data)
    return GlobalConfig(address, c.version, c.bump, c.admin, c.quote_mint, c.max_sub_accounts, c.margin_accounts,
                        c.collateral_program, c.oracle_program, c.trading_program, c.security_program, c.audit_seq, c.liquidation_buffer_bps)


def decode_margin_account(address: Pubkey, data: bytes, program: Program | None = None) -> MarginAccount:
    """Decodes MarginAccount data (`ValueError` for another account type)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "MarginAccount", data)
    return MarginAccount(
        address=address,
        owner=c.owner,
        sub_id=c.sub_id,
        name=bytes(c.name).rstrip(b"\0").decode("utf-8"),
        status=c.status,
        delegate=None if c.delegate == Pubkey.default() else c.delegate,
        freeze_reason=c.freeze_reason,
        limits=Limits(c.max_leverage_x100, c.allowed_markets, bool(c.reduce_only)),
        audit_seq=c.audit_seq,
        created_slot=c.created_slot,
        init_health=c.init_health,
        maint_health=c.maint_health,
        health_slot=c.health_slot,
        bump=c.bump,
    )


@dataclass(frozen=True)
class PerpLiquidationView:
    """One position in `view_liquidation`."""

    market_index: int
    base: int
    price: int
    max_base: int
    """What one liquidate_perp may take now (0 while the account is not liquidatable)."""
    fee_bps: int


@dataclass(frozen=True)
class LiquidationView:
    """`view_liquidation`'s return data."""

    liquidatable: bool
    being_liquidated: bool
    bankrupt: bool
    maint_health: int
    liquidation_end_health: int
    buffer_bps: int
    perps: list[PerpLiquidationView]


def decode_liquidation_view(data: bytes, program: Program | None = None) -> LiquidationView:
    c = (program or idl_mod.program(NAME)).coder.types.decode("LiquidationView", data)
    perps = [PerpLiquidationView(p.market_index, p.base, p.price, p.max_base, p.fee_bps) for p in c.perps]
    return LiquidationView(c.liquidatable, c.being_liquidated, c.bankrupt, c.maint_health, c.liquidation_end_health, c.buffer_bps, perps)



def decode_insurance_fund(address: Pubkey, data: bytes, program: Program | None = None) -> InsuranceFund:
    """Decodes InsuranceFund data (`ValueError` for another account type)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "InsuranceFund", data)
    return InsuranceFund(address, c.mint, c.vault, c.fee_share_bps, c.unstake_delay_secs, c.balance, c.total_shares, c.total_paid, c.total_swept,
                         c.seq, c.bump, c.vault_bump)


def decode_stake(address: Pubkey, data: bytes, program: Program | None = None) -> Stake:
    """Decodes Stake data (`ValueError` for another account type)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "Stake", data)
    return Stake(address, c.fund, c.staker, c.shares, c.unstake_shares, c.unstake_value, c.unstake_request_ts, c.bump)


def parse_events(logs: list[str], program: Program | None = None) -> list[Event]:
    """The program's Anchor events in a transaction's logs, in order."""
    return idl_mod.parse_events(program or idl_mod.program(NAME), logs)


class CoreClient(ProgramClient):
    """Manages margin accounts through an RPC node (the local validator or a cluster). The
    provider's wallet pays fees; the owner keypair signs and pays rent."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(NAME, provider)
        self.ix = CoreInstructions(self.program)
        self.collateral = collateral.CollateralClient(provider)
        self._quote_mint: Pubkey | None = None

    def quote_keys(self) -> list[Pubkey]:
        """What a read must add to learn the quote mint: GlobalConfig, until it is known."""
        return [GLOBAL] if self._quote_mint is None else []

    def quote_from(self, reads: AccountReads) -> Pubkey:
        """The quote mint, from GlobalConfig in `reads` the first time (it never changes)."""
        if self._quote_mint is None:
            self._quote_mint = decode_global(GLOBAL, reads.data(GLOBAL, PROGRAM_ID, "GlobalConfig"), self.program).quote_mint
        return self._quote_mint

    async def fetch_quote_mint(self) -> Pubkey:
        """The venue's quote mint (GlobalConfig; read once)."""
        reads = self.reads()
        await reads.load(self.quote_keys())
        return self.quote_from(reads)

    async def fetch_global(self) -> GlobalConfig:
        return decode_global(GLOBAL, await self.fetch_account_data(GLOBAL, "GlobalConfig"), self.program)

    async def fetch_margin_account(self, address: Pubkey) -> MarginAccount:
        return decode_margin_account(address, await self.fetch_account_data(address, "margin account"), self.program)

    async def fetch_margin_accounts(self, owner: Pubkey) -> list[MarginAccount]:
        """All of `owner`'s margin accounts (getProgramAccounts, discriminator and owner filters), by sub_id."""
        resp = await self.connection.get_program_accounts(PROGRAM_ID, encoding="base64", filters=margin_account_filters(owner))
        accounts = [decode_margin_account(a.pubkey, bytes(a.account.data), self.program) for a in resp.value]
        return sorted(accounts, key=lambda m: m.sub_id)

    async def fetch_insurance_fund(self, mint: Pubkey) -> InsuranceFund:
        """The insurance fund of `mint` (the quote)."""
        address = insurance_fund_address(mint)
        return decode_insurance_fund(address, await self.fetch_account_data(address, f"insurance fund for {mint}"), self.program)

    async def fetch_stake(self, mint: Pubkey, staker: Pubkey) -> Stake:
        """`staker`'s stake in the fund of `mint`."""
        address = stake_address(insurance_fund_address(mint), staker)
        return decode_stake(address, await self.fetch_account_data(address, f"stake of {staker}"), self.program)

    async def create(self, owner: Keypair, sub_id: int, name: str = "") -> Pubkey:
        await self.send([self.ix.create_margin_account(owner.pubkey(), sub_id, name)], [owner])
        return margin_account_address(owner.pubkey(), sub_id)

    async def close(self, owner: Keypair, sub_id: int) -> Signature:
        return await self.send([self.ix.close_margin_account(owner.pubkey(), margin_account_address(owner.pubkey(), sub_id))], [owner])

    async def set_delegate(self, owner: Keypair, sub_id: int, delegate: Pubkey | None) -> Signature:
        return await self.send([self.ix.set_delegate(owner.pubkey(), margin_account_address(owner.pubkey(), sub_id), delegate)], [owner])

    async def set_limits(self, owner: Keypair, sub_id: int, max_leverage_x100: int = 0,
                         allowed_markets: int = ALL_MARKETS, reduce_only: bool = False) -> Signature:
        margin = margin_account_address(owner.pubkey(), sub_id)
        return await self.send([self.ix.set_limits(owner.pubkey(), margin, max_leverage_x100, allowed_markets, reduce_only)], [owner])

    # -- liquidation: every step reads its accounts as fetch_health_states does (two HTTP requests
    # at most whatever they hold, the blockhash and GlobalConfig in the first), then sends in a
    # third; a refusal raises errors.ProgramError with the program's error name.
    async def _states(self, margin_accounts: Sequence[Pubkey], reads: AccountReads, *, markets: Sequence[int] = (),
                      mints: Sequence[Pubkey] = ()) -> list[collateral.HealthState]:
        return await self.collateral.fetch_health_states(margin_accounts, reads, markets=markets, mints=mints, extra=self.quote_keys(), blockhash=True)

    def _wallet(self) -> Pubkey:
        return self.program.provider.wallet.public_key

    async def fetch_liquidation_view(self, margin_account: Pubkey) -> LiquidationView:
        """view_liquidation of the account as it is now (the programs' Liquidation-guarded
        prices), simulated: its accounts in two HTTP requests, the simulation in a third."""
        [state] = await self.collateral.fetch_health_states([margin_account])
        return decode_liquidation_view(await self.simulate([self.ix.view_liquidation(margin_account, state.health_accounts())]), self.program)

    async def liquidate_orders(self, liquidator: Keypair, liquidator_margin: Pubkey, margin_account: Pubkey) -> Receipt:
        """`liquidator` (the owner of `liquidator_margin`) takes every open order of the
        liquidatable `margin_account` off the book (LiquidationOrdersCancelled)."""
        reads = self.reads()
        [state] = await self._states([margin_account], reads)
        ix = self.ix.liquidate_orders(liquidator.pubkey(), liquidator_margin, margin_account, self.quote_from(reads), liquidated_health(state))
        return await self.submit([ix], [liquidator], reads.blockhash)

    async def liquidate_perp(self, liquidator: Keypair, liquidator_margin: Pubkey, margin_account: Pubkey, market_index: int,
                             max_base: int = U64_MAX) -> Receipt:
        """`liquidator_margin` takes over up to `max_base` of the account's position in
        `market_index` at the Liquidation-guarded oracle price, as much as one step may
        (PerpLiquidated); it must keep its initial health."""
        reads = self.reads()
        state, mine = await self._states([margin_account, liquidator_margin], reads, markets=[market_index])
        market = state.markets[market_index]
        ix = self.ix.liquidate_perp(liquidator.pubkey(), liquidator_margin, margin_account, market_index, market.oracle, self.quote_from(reads), max_base,
                                    liquidated_health(state, market_index), liquidator_health(mine, market_index))
        return await self.submit([ix], [liquidator], reads.blockhash)

    async def liquidate_collateral(self, liquidator: Keypair, liquidator_margin: Pubkey, margin_account: Pubkey, market_index: int, mint: Pubkey,
                                   max_quote: int = I64_MAX) -> Receipt:
        """`liquidator_margin` repays up to `max_quote` of the account's debt in `market_index`
        (a flat position's negative PnL, its quote settled first) with its own quote and takes
        `mint` at the collateral's discount (CollateralLiquidated)."""
        reads = self.reads()
        state, mine = await self._states([margin_account, liquidator_margin], reads, markets=[market_index], mints=[mint])
        ix = self.ix.liquidate_collateral(liquidator.pubkey(), liquidator_margin, margin_account, market_index, state.markets[market_index].oracle,
                                          self.quote_from(reads), state.configs[mint], max_quote, liquidated_health(state, market_index),
                                          liquidator_health(mine, market_index, mint))
        return await self.submit([ix], [liquidator], reads.blockhash)

    async def exit_liquidation(self, margin_account: Pubkey) -> Receipt:
        """Permissionless (the provider's wallet sends it): ends the account's liquidation once
        its liquidation-end health is back at or above zero (LiquidationEnded)."""
        reads = self.reads()
        [state] = await self.collateral.fetch_health_states([margin_account], reads, blockhash=True)
        return await self.submit([self.ix.exit_liquidation(margin_account, state.health_accounts())], (), reads.blockhash)

    async def resolve_bankruptcy(self, margin_account: Pubkey, market_index: int, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Receipt:
        """Permissionless (the provider's wallet signs): the bankrupt account's debt in
        `market_index` paid by the quote's insurance fund up to the market's cap, the rest
        socialized over the market's open positions (InsurancePaid, BankruptcyResolved; qd-trading's
        LossSocialized)."""
        reads = self.reads()
        await reads.load(self.quote_keys(), blockhash=True)
        ix = self.ix.resolve_bankruptcy(self._wallet(), margin_account, market_index, self.quote_from(reads), token_program)
        return await self.submit([ix], (), reads.blockhash)

    # -- the insurance fund (of the quote mint)
    async def create_insurance_fund(self, admin: Keypair, unstake_delay_secs: int, fee_share_bps: int,
                                    token_program: Pubkey = TOKEN_PROGRAM_ID) -> Receipt:
        """The GlobalConfig admin creates the quote's fund and vault (InsuranceFundCreated)."""
        reads = self.reads()
        await reads.load(self.quote_keys(), blockhash=True)
        ix = self.ix.create_insurance_fund(admin.pubkey(), self.quote_from(reads), unstake_delay_secs, fee_share_bps, token_program)
        return await self.submit([ix], [admin], reads.blockhash)

    async def stake(self, staker: Keypair, amount: int, source: Pubkey | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Receipt:
        """`staker` stakes `amount` of the quote from `source` (its associated token account by
        default) for shares of the fund (Staked)."""
        reads = self.reads()
        await reads.load(self.quote_keys(), blockhash=True)
        return await self.submit([self.ix.stake(staker.pubkey(), self.quote_from(reads), amount, source, token_program)], [staker], reads.blockhash)

    async def sweep_fees(self, market_index: int, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Receipt:
        """The permissionless crank (the provider's wallet sends it): the market's liquidation
        fees and the fund's share of its trading fees into the fund, the rest the protocol's
        revenue (FeesSwept)."""
        reads = self.reads()
        await reads.load(self.quote_keys(), blockhash=True)
        return await self.submit([self.ix.sweep_fees(self.quote_from(reads), market_index, token_program)], (), reads.blockhash)
