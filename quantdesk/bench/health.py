"""The health engine (crates/qd-health) on SBF, through the test-only program
tests/programs/qd-test-health: its wire format, and the CU of n collateral entries and of n perp
positions (health only, no liquidation prices), n = 1..8.

The program's `evaluate` instruction carries a whole portfolio and returns every output (or the
HealthError code) as return data, so tests/test_health.py compares it with clients/health.py
one transaction per portfolio."""
from __future__ import annotations

import struct
from collections.abc import Sequence

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from quantdesk.bench.cu import CuTable
from quantdesk.chain import Chain, TxResult
from quantdesk.clients import idl
from quantdesk.clients.health import CollateralInput, HealthError, HealthResult, PerpInput, PerpMarketParams

PROGRAM_ID = Pubkey.from_string("Hk3ZMZFdMbegCMcWaLtEtiTz1ZwH4FNvdirHRd9c6EAE")
"""Test-only program id (no keypair kept), as in tests/programs/qd-test-health/src/lib.rs."""
NAME = "qd_test_health"
EVALUATE = idl.discriminator("global", "evaluate")
MAX_ENTRIES = 8
"""Collateral entries and perps per instruction, each."""
LIQUIDATION_PRICES = 1
"""Flag bit: also compute each perp's liquidation price."""

_COLLATERAL = struct.Struct("<qBqHH")
_PERP = struct.Struct("<9q HHQHH")
_OPTION_I128 = struct.Struct("<B16s")


def encode(collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool) -> bytes:
    """`evaluate` instruction data for a portfolio."""
    if len(collateral) > MAX_ENTRIES or len(perps) > MAX_ENTRIES:
        raise ValueError(f"at most {MAX_ENTRIES} collateral entries and {MAX_ENTRIES} perps")
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


def decode(data: bytes) -> HealthResult | HealthError:
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
    sums = [i128() for _ in range(7)]
    count = data[at]
    at += 1
    prices: list[int | None] = []
    for _ in range(count):
        tag, price = struct.unpack_from("<Bq", data, at)
        at += 9
        prices.append(price if tag else None)
    if at != len(data):
        raise ValueError(f"{len(data) - at} trailing bytes in return data")
    return HealthResult(init_health, maint_health, free_collateral, health_factor, margin_ratio, *sums, liquidation_prices=prices)


class HealthProgram:
    """qd-test-health deployed on a Chain."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        chain.deploy(NAME, PROGRAM_ID)

    def send(self, collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool = False,
             cu_limit: int | None = None) -> TxResult:
        result = self.chain.send([Instruction(PROGRAM_ID, encode(collateral, perps, liquidation_prices), [])], cu_limit=cu_limit)
        if not result.ok:
            raise RuntimeError(f"qd-test-health failed: {result.error}\n" + "\n".join(result.logs))
        return result

    def evaluate(self, collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool = True) -> HealthResult | HealthError:
        """The engine's answer on SBF (liquidation searches need more than the default CU)."""
        return decode(self.send(collateral, perps, liquidation_prices, cu_limit=1_400_000).return_data)


def bench_collateral(i: int) -> CollateralInput:
    """A 9-decimal SOL-like balance at 150.123456 with 80% / 90% weights (i varies the size)."""
    return CollateralInput(balance=2_500_000_000 + i * 1_000_000_007, decimals=9, price=150_123_456, init_weight_bps=8_000, maint_weight_bps=9_000)


def bench_perp(i: int) -> PerpInput:
    """The expensive case: a 10-unit long marked below entry, bids and asks resting (both order
    scenarios evaluated), funding owed and a size-dependent margin (both 64 x 64-bit products)."""
    market = PerpMarketParams(init_margin_bps=1_000, maint_margin_bps=500, size_margin_factor=50_000_000_000,
                              upnl_init_weight_bps=5_000, upnl_maint_weight_bps=8_000)
    return PerpInput(base=10_000_000_000 + i * 7_000_003, quote=-1_000_000_000, funding_snapshot=1_000_000_000, cumulative_funding=26_000_000_000,
                     bids_base=2_000_000_000, bids_quote=188_000_000, asks_base=5_000_000_000, asks_quote=505_000_000,
                     price=95_123_456, market=market)


def measure() -> CuTable:
    """`collateral_n`: n collateral entries; `perps_n`: n perps (health only, no collateral)."""
    table = CuTable("qd_health")
    program = HealthProgram(Chain())
    for n in range(1, MAX_ENTRIES + 1):
        table.record(f"collateral_{n}", program.send([bench_collateral(i) for i in range(n)], []))
    for n in range(1, MAX_ENTRIES + 1):
        table.record(f"perps_{n}", program.send([], [bench_perp(i) for i in range(n)]))
    return table
