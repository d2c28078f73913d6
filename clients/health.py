"""The health engine in Python: an exact mirror of crates/qd-health, so keepers, the risk monitor
and the UI compute the very numbers the programs compute (tests/test_health.py holds the two
equal on SBF, outputs and error codes alike).

    from quantdesk.clients import health
    result = health.compute([health.CollateralInput(...)], [health.PerpInput(...)])
    result.maint_health < 0            # liquidatable
    health.format_ratio(result.health_factor_bps)   # "1.53"

Units (as on-chain): prices have 6 decimals; collateral balances are native token units
(`decimals` 0..=18, negative = debt); perp base amounts have 9 decimals; the funding index is
quote native units per whole base unit scaled by 1e6; weights and ratios are basis points. Every
output is in quote native units (6 decimals).

Every step is the Rust step: the same floor/ceil rounding (against the account), the same
validation order and errors, and an i128 (or i64) range check exactly where the Rust checks, so
inputs that overflow there raise `HealthError("MathOverflow", 6250)` here. Steps the Rust leaves
unchecked because they are bounded (a perp's valuation) are plain integer arithmetic here."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

__all__ = ["BASE_SCALE", "BPS", "CollateralInput", "ERRORS", "ERROR_NAMES", "FUNDING_SCALE", "Health", "HealthError", "HealthResult", "I128_MAX",
           "I128_MIN", "I64_MAX", "I64_MIN", "MAX_DECIMALS", "PRICE_SEARCH_MAX", "PerpInput", "PerpMarketParams", "PerpTerms", "PerpTransfer",
           "QUOTE_DECIMALS", "SIZE_FACTOR_SCALE", "U16_MAX", "U64_MAX", "collateral_for", "collateral_value", "compute", "format_percent",
           "format_quote", "format_ratio", "funding_pnl", "max_collateral_repay", "max_liquidatable_base", "perp_transfer", "position_after",
           "summary"]


I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
I128_MIN, I128_MAX = -(1 << 127), (1 << 127) - 1
U16_MAX, U64_MAX = (1 << 16) - 1, (1 << 64) - 1

BPS = 10_000
"""100% in basis points: the largest weight or margin ratio."""
BASE_SCALE = 10**9
"""Perp base amounts have 9 decimals."""
FUNDING_SCALE = 10**6
SIZE_FACTOR_SCALE = 10**9
QUOTE_DECIMALS = 6
MAX_DECIMALS = 18
PRICE_SEARCH_MAX = 10**15
"""Liquidation prices are searched in 1..=PRICE_SEARCH_MAX."""

ERRORS: dict[str, int] = {
    "MathOverflow": 6250,
    "InvalidDecimals": 6251,
    "NonPositiveInputPrice": 6252,
    "WeightTooLarge": 6253,
    "MaintWeightBelowInit": 6254,
    "MarginRatioTooLarge": 6255,
    "MaintMarginAboveInit": 6256,
    "NegativeOrderTotal": 6257,
    # Raised by the programs' initial-health checks, not by the engine itself.
    "InsufficientHealth": 6258,
}
"""HealthError names and codes, as in crates/qd-health/src/error.rs."""
ERROR_NAMES = {code: name for name, code in ERRORS.items()}


class HealthError(Exception):
    """A health computation refused (invalid input) or overflowed: the Rust `HealthError`."""

    def __init__(self, name: str, code: int | None = None) -> None:
        self.name = name
        self.code = ERRORS[name] if code is None else code
        super().__init__(f"{name} ({self.code})")

    @classmethod
    def from_code(cls, code: int) -> HealthError:
        return cls(ERROR_NAMES[code], code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HealthError) and (self.name, self.code) == (other.name, other.code)

    def __hash__(self) -> int:
        return hash((self.name, self.code))


def _overflow() -> HealthError:
    return HealthError("MathOverflow")


def _i128(x: int) -> int:
    """`x`, where the Rust checks that it fits i128."""
    if not I128_MIN <= x <= I128_MAX:
        raise _overflow()
    return x


def _i64(x: int) -> int:
    """`x`, where the Rust checks that it fits i64."""
    if not I64_MIN <= x <= I64_MAX:
        raise _overflow()
    return x


def _ceil_div(x: int, d: int) -> int:
    return -((-x) // d)


def _field_range(obj: object, name: str, lo: int, hi: int) -> None:
    value = getattr(obj, name)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{type(obj).__name__}.{name} = {value!r} is outside its on-chain type [{lo}, {hi}]")


@dataclass(frozen=True)
class CollateralInput:
    """A collateral balance and how it counts (the Rust `CollateralInput`)."""

    balance: int
    """Native units of the token (i64); negative is a debt."""
    decimals: int
    """The token's decimals (u8; 0..=18 is valid)."""
    price: int
    """Quote per whole token, 6 decimals (i64; > 0 is valid)."""
    init_weight_bps: int
    maint_weight_bps: int

    def __post_init__(self) -> None:
        _field_range(self, "balance", I64_MIN, I64_MAX)
        _field_range(self, "decimals", 0, 255)
        _field_range(self, "price", I64_MIN, I64_MAX)
        _field_range(self, "init_weight_bps", 0, U16_MAX)
        _field_range(self, "maint_weight_bps", 0, U16_MAX)


@dataclass(frozen=True)
class PerpMarketParams:
    """A perp market's risk parameters (the Rust `PerpMarketParams`)."""

    init_margin_bps: int
    maint_margin_bps: int
    size_margin_factor: int
    """Extra margin ratio (bps) per whole base unit of |position|, scaled by 1e9 (u64)."""
    upnl_init_weight_bps: int
    upnl_maint_weight_bps: int

    def __post_init__(self) -> None:
        for name in ("init_margin_bps", "maint_margin_bps", "upnl_init_weight_bps", "upnl_maint_weight_bps"):
            _field_range(self, name, 0, U16_MAX)
        _field_range(self, "size_margin_factor", 0, U64_MAX)


@dataclass(frozen=True)
class PerpInput:
    """A perp position with the account's open orders in its market (the Rust `PerpInput`); all
    amounts i64."""

    base: int
    """Position size, 9 decimals; negative is short."""
    quote: int
    """Signed quote amount, realized but unsettled PnL folded in."""
    funding_snapshot: int
    cumulative_funding: int
    bids_base: int
    bids_quote: int
    asks_base: int
    asks_quote: int
    price: int
    """Mark price, 6 decimals."""
    market: PerpMarketParams

    def __post_init__(self) -> None:
        for name in ("base", "quote", "funding_snapshot", "cumulative_funding", "bids_base", "bids_quote", "asks_base", "asks_quote", "price"):
            _field_range(self, name, I64_MIN, I64_MAX)


@dataclass(frozen=True)
class HealthResult:
    """Everything the engine reports about one margin account (quote native units)."""

    init_health: int
    maint_health: int
    free_collateral: int
    health_factor_bps: int | None
    """floor(maintenance assets * 10_000 / maintenance liabilities); None without liabilities."""
    margin_ratio_bps: int | None
    """floor(equity * 10_000 / notional); None without positions."""
    assets_init: int
    """Weighted collateral and unrealized profit at the initial level."""
    liabilities_init: int
    """Debts, losses and margin requirements at the initial level."""
    assets_maint: int
    liabilities_maint: int
    equity: int
    """Unweighted: collateral values plus the positions' PnL."""
    notional: int
    worst_notional: int
    """Each position's notional if the side of its orders that leaves it largest filled."""
    liquidation_prices: list[int | None] = field(default_factory=list)
    """Per perp, in order (empty when not asked for); 6 decimals."""


@dataclass(frozen=True)
class _Parts:
    asset: int
    liability: int

    @property
    def net(self) -> int:
        return self.asset - self.liability


def _check_collateral(c: CollateralInput) -> None:
    if c.decimals > MAX_DECIMALS:
        raise HealthError("InvalidDecimals")
    if c.price <= 0:
        raise HealthError("NonPositiveInputPrice")
    if c.init_weight_bps > BPS or c.maint_weight_bps > BPS:
        raise HealthError("WeightTooLarge")
    if c.maint_weight_bps < c.init_weight_bps:
        raise HealthError("MaintWeightBelowInit")


def collateral_value(c: CollateralInput) -> int:
    """A balance's unweighted value in quote units: floor(balance * price / 10^decimals)."""
    scale: int = 10**c.decimals  # an int: decimals is never negative (__post_init__); typeshed types int ** int as Any
    return c.balance * c.price // scale


def _check_perp(p: PerpInput) -> None:
    m = p.market
    if p.price <= 0:
        raise HealthError("NonPositiveInputPrice")
    if m.init_margin_bps > BPS or m.maint_margin_bps > BPS:
        raise HealthError("MarginRatioTooLarge")
    if m.maint_margin_bps > m.init_margin_bps:
        raise HealthError("MaintMarginAboveInit")
    if m.upnl_init_weight_bps > BPS or m.upnl_maint_weight_bps > BPS:
        raise HealthError("WeightTooLarge")
    if min(p.bids_base, p.bids_quote, p.asks_base, p.asks_quote) < 0:
        raise HealthError("NegativeOrderTotal")


def funding_pnl(base: int, snapshot: int, cumulative: int) -> int:
    """What a position of `base` owes (< 0) or is owed since the index was `snapshot`, the index
    being `cumulative` now; longs pay when the index rises. Both order scenarios carry this same
    amount, and qd-trading settles positions with it (Rust `qd_health::funding_pnl`)."""
    return (-(base * (cumulative - snapshot))) // (BASE_SCALE * FUNDING_SCALE)


def _funding_pnl(p: PerpInput) -> int:
    return funding_pnl(p.base, p.funding_snapshot, p.cumulative_funding)


def _size_ratio(base: int, factor: int) -> int:
    return min(_ceil_div(abs(base) * factor, BASE_SCALE * SIZE_FACTOR_SCALE), BPS)


def _ratio(margin_bps: int, size_ratio: int) -> int:
    return min(margin_bps + size_ratio, BPS)


def _value(base: int, quote: int, price: int) -> tuple[int, int]:
    """(pnl, notional) of `base` at `price`, `quote` including the funding."""
    return base * price // BASE_SCALE + quote, _ceil_div(abs(base) * price, BASE_SCALE)


def _parts(pnl: int, notional: int, ratio_bps: int, upnl_weight_bps: int) -> _Parts:
    requirement = _ceil_div(notional * ratio_bps, BPS)
    if pnl > 0:
        return _Parts(pnl * upnl_weight_bps // BPS, requirement)
    return _Parts(0, requirement - pnl)


def _init_parts(p: PerpInput, base: int, quote: int) -> _Parts:
    m = p.market
    pnl, notional = _value(base, quote, p.price)
    return _parts(pnl, notional, _ratio(m.init_margin_bps, _size_ratio(base, m.size_margin_factor)), m.upnl_init_weight_bps)


@dataclass(frozen=True)
class _Contribution:
    """What one balance or position adds at every level (the Rust `Contribution`)."""

    init: _Parts
    maint: _Parts
    end: _Parts
    equity: int
    notional: int
    worst_notional: int


_SUMS = ("assets_init", "liabilities_init", "assets_maint", "liabilities_maint", "assets_end", "liabilities_end", "equity", "notional",
         "worst_notional")


class Health:
    """The running sums of a margin account's health (the Rust `Health` accumulator), with the
    liquidation-end level of `buffer_bps` (maintenance margin ratios raised by it, maintenance
    asset weights lowered by it; 0: the maintenance level). A failed `add_*` or `remove_*`
    leaves them unchanged."""

    def __init__(self, buffer_bps: int = 0) -> None:
        if not 0 <= buffer_bps <= U16_MAX:
            raise ValueError(f"buffer_bps = {buffer_bps} is outside u16")
        self.buffer_bps = buffer_bps
        self.assets_init = 0
        self.liabilities_init = 0
        self.assets_maint = 0
        self.liabilities_maint = 0
        self.assets_end = 0
        self.liabilities_end = 0
        self.equity = 0
        self.notional = 0
        self.worst_notional = 0

    def copy(self) -> Health:
        h = Health(self.buffer_bps)
        for name in _SUMS:
            setattr(h, name, getattr(self, name))
        return h

    def end_weight(self, maint_weight_bps: int) -> int:
        return max(maint_weight_bps - self.buffer_bps, 0)

    def end_margin(self, maint_margin_bps: int) -> int:
        return min(maint_margin_bps + self.buffer_bps, U16_MAX)

    def _collateral_contribution(self, c: CollateralInput) -> _Contribution:
        _check_collateral(c)
        value = collateral_value(c)

        def part(weight: int) -> _Parts:
            return _Parts(_i128(value * weight) // BPS, 0) if value >= 0 else _Parts(0, _i128(-value))

        maint = part(c.maint_weight_bps)
        end = maint if self.buffer_bps == 0 else part(self.end_weight(c.maint_weight_bps))
        return _Contribution(part(c.init_weight_bps), maint, end, value, 0, 0)

    def _perp_contribution(self, p: PerpInput) -> _Contribution:
        _check_perp(p)
        m = p.market
        funding = _funding_pnl(p)
        # The position after all bids (asks) fill must fit i64.
        bids = (_i64(p.base + p.bids_base), _i64(p.quote - p.bids_quote) + funding)
        asks = (_i64(p.base - p.asks_base), _i64(p.quote + p.asks_quote) + funding)
        pnl, notional = _value(p.base, p.quote + funding, p.price)
        size_ratio = _size_ratio(p.base, m.size_margin_factor)
        maint = _parts(pnl, notional, _ratio(m.maint_margin_bps, size_ratio), m.upnl_maint_weight_bps)
        end = maint if self.buffer_bps == 0 else _parts(pnl, notional, _ratio(self.end_margin(m.maint_margin_bps), size_ratio), m.upnl_maint_weight_bps)
        # With no orders on a side, that scenario is the position as it is.
        bid = _init_parts(p, *bids)
        ask = _init_parts(p, *asks)
        init = ask if ask.net < bid.net else bid
        filled = [b for (b, _), has in ((bids, p.bids_base != 0 or p.bids_quote != 0), (asks, p.asks_base != 0 or p.asks_quote != 0)) if has]
        worst = _ceil_div(max([abs(p.base), *(abs(b) for b in filled)]) * p.price, BASE_SCALE)
        return _Contribution(init, maint, end, pnl, notional, worst)

    def _apply(self, c: _Contribution, sign: int) -> None:
        parts = (c.init.asset, c.init.liability, c.maint.asset, c.maint.liability, c.end.asset, c.end.liability, c.equity, c.notional,
                 c.worst_notional)
        sums = [_i128(getattr(self, name) + sign * x) for name, x in zip(_SUMS, parts, strict=True)]
        for name, value in zip(_SUMS, sums, strict=True):
            setattr(self, name, value)

    def add_collateral(self, c: CollateralInput) -> None:
        self._apply(self._collateral_contribution(c), 1)

    def remove_collateral(self, c: CollateralInput) -> None:
        """Takes back what `add_collateral(c)` added."""
        self._apply(self._collateral_contribution(c), -1)

    def add_perp(self, p: PerpInput) -> None:
        self._apply(self._perp_contribution(p), 1)

    def remove_perp(self, p: PerpInput) -> None:
        """Takes back what `add_perp(p)` added."""
        self._apply(self._perp_contribution(p), -1)

    def init_health(self) -> int:
        return _i128(self.assets_init - self.liabilities_init)

    def maint_health(self) -> int:
        return _i128(self.assets_maint - self.liabilities_maint)

    def liquidation_end_health(self) -> int:
        return _i128(self.assets_end - self.liabilities_end)

    def is_liquidatable(self, being_liquidated: bool) -> bool:
        """Maintenance health below 0, or (once a liquidation started) end health below 0."""
        return self.maint_health() < 0 or (being_liquidated and self.liquidation_end_health() < 0)

    def free_collateral(self) -> int:
        return max(self.init_health(), 0)

    def health_factor_bps(self) -> int | None:
        if self.liabilities_maint == 0:
            return None
        return _i128(self.assets_maint * BPS) // self.liabilities_maint

    def margin_ratio_bps(self) -> int | None:
        if self.notional == 0:
            return None
        return _i128(self.equity * BPS) // self.notional

    def liquidation_price(self, p: PerpInput) -> int | None:
        """The price of `p`'s market (already added) at which the maintenance health turns
        negative, by the same bisection as the Rust (see `Health::liquidation_price` there):
        the largest such price for a long, the smallest for a short; None when flat or when
        no price in 1..=PRICE_SEARCH_MAX liquidates it."""
        _check_perp(p)
        if p.base == 0:
            return None
        m = p.market
        base, quote = p.base, p.quote + _funding_pnl(p)
        ratio, weight = _ratio(m.maint_margin_bps, _size_ratio(base, m.size_margin_factor)), m.upnl_maint_weight_bps
        own = _parts(*_value(base, quote, p.price), ratio, weight)
        assets_other = _i128(self.assets_maint - own.asset)
        liabilities_other = _i128(self.liabilities_maint - own.liability)
        health_other = _i128(assets_other - liabilities_other)

        def negative_at(price: int) -> bool:
            return _i128(health_other + _parts(*_value(base, quote, price), ratio, weight).net) < 0

        long = base > 0
        if long:
            if not negative_at(1):
                return None
            if negative_at(PRICE_SEARCH_MAX):
                return PRICE_SEARCH_MAX
        else:
            if not negative_at(PRICE_SEARCH_MAX):
                return None
            if negative_at(1):
                return 1
        lo, hi = 1, PRICE_SEARCH_MAX
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            if negative_at(mid) == long:
                lo = mid
            else:
                hi = mid
        return lo if long else hi


# ---------------------------------------------------------------- liquidation (crates/qd-health/src/liquidation.rs)

@dataclass(frozen=True)
class PerpTerms:
    """A perp market's liquidation terms (the Rust `PerpTerms`)."""

    liquidator_fee_bps: int
    insurance_fee_bps: int
    lot_size: int
    max_fraction_bps: int
    whole_base: int
    """A position of at most this |base| may be taken whole in one step."""


@dataclass(frozen=True)
class PerpTransfer:
    """One perp liquidation step (the Rust `PerpTransfer`)."""

    base: int
    quote: int
    """floor(base * price / 1e9): what changes hands for the base."""
    liquidator_fee: int
    insurance_fee: int


def perp_transfer(base: int, price: int, terms: PerpTerms) -> PerpTransfer:
    """The step moving `base` at `price` (> 0): fees rounded up, against the account."""
    if price <= 0:
        raise HealthError("NonPositiveInputPrice")
    quote = _i64(base * price // BASE_SCALE)
    return PerpTransfer(base, quote, _ceil_div(quote * terms.liquidator_fee_bps, BPS), _ceil_div(quote * terms.insurance_fee_bps, BPS))


def position_after(p: PerpInput, t: PerpTransfer) -> PerpInput:
    """The account's position after step `t` (funding settled, quote moved, fees paid)."""
    if t.base > min(abs(p.base), I64_MAX):
        raise _overflow()
    funding = _i64(_funding_pnl(p))
    base, flow = (p.base - t.base, t.quote) if p.base > 0 else (p.base + t.base, -t.quote)
    quote = _i64(_i64(_i64(p.quote + funding) + flow) - _i64(t.liquidator_fee + t.insurance_fee))
    return replace(p, base=base, quote=quote, funding_snapshot=p.cumulative_funding)


def _discounted_price(price: int, fee_bps: int) -> int:
    if price <= 0:
        raise HealthError("NonPositiveInputPrice")
    if fee_bps >= BPS:
        raise HealthError("WeightTooLarge")
    return _ceil_div(price * (BPS - fee_bps), BPS)


def collateral_for(quote: int, c: CollateralInput, fee_bps: int) -> int:
    """The collateral (native units) a liquidator receives for repaying `quote` at a discount of `fee_bps`."""
    _check_collateral(c)
    price = _discounted_price(c.price, fee_bps)
    scale: int = 10**c.decimals
    return _i64(max(quote, 0) * scale // price)


def _end_net(h: Health, p: PerpInput, base: int, quote: int) -> int:
    m = p.market
    pnl, notional = _value(base, quote, p.price)
    return _parts(pnl, notional, _ratio(h.end_margin(m.maint_margin_bps), _size_ratio(base, m.size_margin_factor)), m.upnl_maint_weight_bps).net


def max_liquidatable_base(h: Health, p: PerpInput, terms: PerpTerms) -> int:
    """How much of `p`'s position (already added to `h`) one liquidation step may take: the
    least lot multiple whose step brings the end health to 0 (the whole position when none
    does), capped per step (the Rust `Health::max_liquidatable_base`, same bisection)."""
    _check_perp(p)
    if p.base == 0:
        return 0
    held = abs(p.base)
    own = _end_net(h, p, p.base, p.quote + _funding_pnl(p))
    end = h.liquidation_end_health()
    if end >= 0:
        return 0
    other = _i128(end - own)
    lot = max(terms.lot_size, 1)

    def size(k: int) -> int:
        return min(k * lot, held)

    def healthy_after(k: int) -> bool:
        after = position_after(p, perp_transfer(size(k), p.price, terms))
        return _i128(other + _end_net(h, p, after.base, after.quote)) >= 0

    lots = -(-held // lot)
    if not healthy_after(lots):
        needed = held
    else:
        lo, hi = 0, lots
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            if healthy_after(mid):
                hi = mid
            else:
                lo = mid
        needed = size(hi)
    if held <= terms.whole_base:
        cap = held
    else:
        share = held * terms.max_fraction_bps // BPS
        cap = min(max(share - share % lot, terms.whole_base), held)
    return min(needed, cap)


def max_collateral_repay(h: Health, c: CollateralInput, fee_bps: int, debt: PerpInput) -> int:
    """How much of `debt`'s negative quote (a flat position) one collateral liquidation step
    may repay with `c` (both already added to `h`): the Rust `Health::max_collateral_repay`."""
    _check_perp(debt)
    price = _discounted_price(c.price, fee_bps)
    _check_collateral(c)
    owed = -(debt.quote + _funding_pnl(debt))
    end = h.liquidation_end_health()
    if debt.base != 0 or owed <= 0 or c.balance <= 0 or end >= 0:
        return 0
    slope = BPS - fee_bps - h.end_weight(c.maint_weight_bps)
    if slope <= 0:
        return 0
    needed = _ceil_div(_i128(_i128(-end + 2) * (BPS - fee_bps)), slope)
    scale: int = 10**c.decimals
    covered = c.balance * price // scale
    return _i64(min(needed, owed, covered))


def compute(collateral: Sequence[CollateralInput], perps: Sequence[PerpInput], liquidation_prices: bool = True) -> HealthResult:
    """The account's health from its collateral and perp positions, in the order the programs
    add them (collateral first); raises HealthError as the Rust engine would fail."""
    h = Health()
    for c in collateral:
        h.add_collateral(c)
    for p in perps:
        h.add_perp(p)
    outputs = (h.init_health(), h.maint_health(), h.free_collateral(), h.health_factor_bps(), h.margin_ratio_bps())
    prices = [h.liquidation_price(p) for p in perps] if liquidation_prices else []
    return HealthResult(*outputs, h.assets_init, h.liabilities_init, h.assets_maint, h.liabilities_maint, h.equity, h.notional, h.worst_notional, prices)


def format_ratio(bps: int | None) -> str:
    """A basis-point ratio as a decimal with two places, truncated toward zero: 15_300 -> "1.53"
    (a health factor as a UI shows it); None (no liabilities) -> "∞"."""
    if bps is None:
        return "∞"
    sign = "-" if bps < 0 else ""
    hundredths = abs(bps) // 100
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def format_percent(bps: int | None) -> str:
    """A basis-point ratio as a percentage: -1_112 -> "-11.12%"; None -> "n/a"."""
    if bps is None:
        return "n/a"
    sign = "-" if bps < 0 else ""
    return f"{sign}{abs(bps) // 100}.{abs(bps) % 100:02d}%"


def format_quote(amount: int) -> str:
    """Quote native units (6 decimals) as a readable amount: -1_234_500_000 -> "-1,234.500000"."""
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**QUOTE_DECIMALS)
    return f"{sign}{whole:,}.{fraction:0{QUOTE_DECIMALS}d}"


def summary(result: HealthResult) -> str:
    """A few readable lines about an account's health (for logs and the demo)."""
    lines = [
        f"health factor {format_ratio(result.health_factor_bps)}  (liquidatable below 1.00)",
        f"initial health {format_quote(result.init_health)}  free collateral {format_quote(result.free_collateral)}",
        f"maintenance health {format_quote(result.maint_health)}  (assets {format_quote(result.assets_maint)}, liabilities {format_quote(result.liabilities_maint)})",
        f"equity {format_quote(result.equity)}  notional {format_quote(result.notional)}  margin ratio {format_percent(result.margin_ratio_bps)}",
    ]
    for i, price in enumerate(result.liquidation_prices):
        lines.append(f"perp {i}: liquidation price {'none' if price is None else format_quote(price)}")
    return "\n".join(lines)
