"""The liquidation view computed off-chain: the Python mirror of qd-core's `view_liquidation`
(crates/qd-health `liquidation` through clients/health.py), so keepers judge every account the
way the program will, without a simulation per account. tests/test_liquidation.py holds the two
equal on random portfolios.

    view = liquidation.view(balances, configs, collateral_prices, trading, markets, market_prices, buffer_bps, status)
    view.liquidatable, view.perps[0].max_base

Prices are the oracle prices the program would read with the Liquidation guards: `collateral_prices`
by mint (the quote's is ignored: it is 1), `market_prices` by market index."""
from __future__ import annotations

from collections.abc import Mapping

from quantdesk.clients import health
from quantdesk.clients.collateral import QUOTE_PRICE, CollateralBalances, CollateralConfig, collateral_input
from quantdesk.clients.core import STATUS_BEING_LIQUIDATED, LiquidationView, PerpLiquidationView
from quantdesk.clients.trading_state import PerpMarket, TradingAccount, perp_input
from solders.pubkey import Pubkey

__all__ = ["account_health", "bankrupt", "terms", "view"]


def terms(market: PerpMarket) -> health.PerpTerms:
    """The market's liquidation terms."""
    return health.PerpTerms(market.liquidator_fee_bps, market.insurance_fee_bps, market.lot_size, market.liquidation_max_fraction_bps,
                            market.liquidation_whole_base)


def account_health(balances: CollateralBalances, configs: Mapping[Pubkey, CollateralConfig], collateral_prices: Mapping[Pubkey, int],
                   trading: TradingAccount | None, markets: Mapping[int, PerpMarket], market_prices: Mapping[int, int],
                   buffer_bps: int) -> tuple[health.Health, list[tuple[PerpMarket, health.PerpInput]]]:
    """The account's health with the liquidation-end level, added in the program's order, and
    each position's market and input."""
    h = health.Health(buffer_bps)
    for entry in balances.entries:
        config = configs[entry.mint]
        h.add_collateral(collateral_input(config, entry.balance, QUOTE_PRICE if config.is_quote else collateral_prices[entry.mint]))
    inputs = []
    for position in trading.positions if trading is not None else []:
        market = markets[position.market_index]
        p = perp_input(position, market, market_prices[position.market_index])
        h.add_perp(p)
        inputs.append((market, p))
    return h, inputs


def view(balances: CollateralBalances, configs: Mapping[Pubkey, CollateralConfig], collateral_prices: Mapping[Pubkey, int],
         trading: TradingAccount | None, markets: Mapping[int, PerpMarket], market_prices: Mapping[int, int], buffer_bps: int,
         status: int) -> LiquidationView:
    """What `view_liquidation` returns for this account (`status`: its MarginAccount status byte)."""
    h, inputs = account_health(balances, configs, collateral_prices, trading, markets, market_prices, buffer_bps)
    being_liquidated = bool(status & STATUS_BEING_LIQUIDATED)
    liquidatable = h.is_liquidatable(being_liquidated)
    perps = [PerpLiquidationView(market.index, p.base, p.price, health.max_liquidatable_base(h, p, terms(market)) if liquidatable else 0,
                                 market.liquidator_fee_bps + market.insurance_fee_bps) for market, p in inputs]
    return LiquidationView(liquidatable, being_liquidated, bankrupt(balances, trading), h.maint_health(), h.liquidation_end_health(),
                           buffer_bps, perps)


def bankrupt(balances: CollateralBalances, trading: TradingAccount | None) -> bool:
    """Nothing but a debt is left: no balance, no position, a flat position owing (qd-core's
    `is_bankrupt`: resolve_bankruptcy applies once no order is open either)."""
    return not balances.entries and trading is not None and all(p.base == 0 for p in trading.positions) and any(
        p.realized_pnl < 0 for p in trading.positions)
