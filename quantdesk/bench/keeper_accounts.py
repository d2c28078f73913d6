"""Many margin accounts with positions, fast: a venue built in LiteSVM with one long and one short
trader made by real trades, then copies of those two under new owners (their margin account,
balances and trading account at the new owners' PDAs, with their canonical bumps, and each
copy's quote deposit set so that its liquidation price is its own), and the market's open
interest raised to match. The copies go into the local validator by quantdesk.localnet.load;
the keeper benchmark and the keeper tests start from them."""
from __future__ import annotations

import dataclasses
import hashlib
import struct
from dataclasses import dataclass

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.clients import collateral, core, liquidation
from quantdesk.clients import trading_state as ts
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PRICE, USDC, VENUE_PARAMS, Trader, Venue, order

__all__ = ["Book", "build"]

MARGIN_BUMP, BALANCES_BUMP, TRADING_BUMP = 10, 9, 9
"""The bump's offset in MarginAccount, CollateralBalances and TradingAccount (crates/*-state)."""
SIZE = 10 * BASE
"""Every copy's position: 10 base at PRICE (1,000 USDC notional)."""


@dataclass
class Book:
    """The venue, the copies' margin accounts with their liquidation prices, and the liquidator."""

    venue: Venue
    liquidator: Trader
    thresholds: dict[Pubkey, int]  # margin account -> the price at which its maintenance health turns negative
    longs: list[Pubkey]
    shorts: list[Pubkey]
    accounts: dict[Pubkey, Account]


def _pda(seeds: list[bytes], program: Pubkey) -> tuple[Pubkey, int]:
    return Pubkey.find_program_address(seeds, program)


def _patched(data: bytes, old: dict[bytes, bytes], bump_at: int, bump: int) -> bytes:
    for before, after in old.items():
        data = data.replace(before, after)
    return data[:bump_at] + bytes([bump]) + data[bump_at + 1:]


def _copy(v: Venue, template: Trader, owner: Pubkey, deposit: int) -> dict[Pubkey, Account]:
    """The template's three accounts under `owner` (sub-account 0), its quote balance `deposit`."""
    margin, margin_bump = _pda([core.MARGIN_SEED, bytes(owner), (0).to_bytes(2, "little")], core.PROGRAM_ID)
    balances, balances_bump = _pda([b"balances", bytes(margin)], collateral.PROGRAM_ID)
    trading, trading_bump = _pda([b"trading", bytes(margin)], ts.PROGRAM_ID)
    swap = {bytes(template.owner.pubkey()): bytes(owner), bytes(template.margin): bytes(margin)}
    out = {}
    for source, target, bump_at, bump in ((template.margin, margin, MARGIN_BUMP, margin_bump),
                                          (collateral.balances_address(template.margin), balances, BALANCES_BUMP, balances_bump),
                                          (template.trading, trading, TRADING_BUMP, trading_bump)):
        account = v.chain.account(source)
        assert account is not None
        data = _patched(bytes(account.data), swap, bump_at, bump)
        if target == balances:
            at = data.index(bytes(v.usdc)) + 32
            data = data[:at] + struct.pack("<q", deposit) + data[at + 8:]
        out[target] = Account(account.lamports, data, account.owner, False, 0)
    return out


def _owner(seed: bytes, i: int) -> Pubkey:
    """The i-th copy's owner (its own derivation: the chain derives its keys from `seed` alone)."""
    return Keypair.from_seed(hashlib.sha256(b"copy" + seed + i.to_bytes(8, "little")).digest()).pubkey()


def build(count: int, seed: bytes = b"quantdesk keeper bench") -> Book:
    """`count` accounts (an even number: half long, half short 10 base at PRICE), their quote
    deposits 60 to 460 USDC in even steps, so that no two longs (shorts) share a liquidation
    price: the longs' from about 99 down to 57, the shorts' from about 101 up to 140."""
    if count <= 0 or count % 2:
        raise ValueError(f"count = {count}: a positive even number of accounts")
    v = Venue(markets=(), seed=seed)
    v.add_market(0, "SOL-PERP", PRICE, VENUE_PARAMS)
    maker = v.trader(10_000_000 * USDC)
    templates = []
    for side in (BID, ASK):
        t = v.trader(1_000 * USDC)
        order_id = v.placed_id(t, order(side, MARKET, IOC, size=SIZE, price=PRICE * (102 if side == BID else 98) // 100))
        v.chain.advance(2, 2)
        assert v.make_at_auction(maker, t, order_id, SIZE).ok
        templates.append(t)
    liquidator = v.trader(50_000_000 * USDC)
    v.publish(PRICE, 0)
    accounts: dict[Pubkey, Account] = {}
    copies: dict[Pubkey, tuple[int, int]] = {}  # margin account -> (template, deposit)
    longs: list[Pubkey] = []
    shorts: list[Pubkey] = []
    for i in range(count):
        long = i % 2 == 0
        deposit = 60 * USDC + i // 2 * (400 * USDC // (count // 2))
        copy = _copy(v, templates[0 if long else 1], _owner(seed, i), deposit)
        accounts |= copy
        margin = next(k for k, a in copy.items() if a.owner == core.PROGRAM_ID)
        (longs if long else shorts).append(margin)
        copies[margin] = (0 if long else 1, deposit)
    market = v.market(0)
    extra = count // 2 * SIZE
    market = dataclasses.replace(market, open_interest_long=market.open_interest_long + extra, open_interest_short=market.open_interest_short + extra)
    market_key = ts.market_address(0)
    original = v.chain.account(market_key)
    assert original is not None
    v.chain.set_account(market_key, Account(original.lamports, ts.encode_market(market), original.owner, False, 0))
    for key, account in accounts.items():
        v.chain.set_account(key, account)
    return Book(v, liquidator, _thresholds(v, templates, copies), longs, shorts, accounts)


def _thresholds(v: Venue, templates: list[Trader], copies: dict[Pubkey, tuple[int, int]]) -> dict[Pubkey, int]:
    """Each copy's liquidation price: its template's health with the copy's deposit."""
    buffer_bps = v.global_config().liquidation_buffer_bps
    out = {}
    states = [v.health_state(t.margin) for t in templates]
    for margin, (template, deposit) in copies.items():
        state = states[template]
        balances = dataclasses.replace(state.balances, entries=[collateral.Balance(v.usdc, deposit)])
        h, inputs = liquidation.account_health(balances, state.configs, {}, state.trading, state.markets, {0: PRICE}, buffer_bps)
        ((_, p),) = inputs
        price = h.liquidation_price(p)
        assert price is not None
        out[margin] = price
    return out
