"""The venue as the account cache holds it, indexed the way keepers ask: markets by index,
collateral configs by mint, prices by market and mint, and each margin account's balances and
trading account by the margin account's address. It turns the cache's raw changes into what
changed for the venue (an account's inputs, a price, a market's risk terms, a config) and tells
its listeners synchronously, so a bot reacts within the notification's own callback."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from quantdesk.clients import collateral, health, liquidation
from quantdesk.clients.collateral import QUOTE_PRICE, CollateralBalances, CollateralConfig
from quantdesk.clients.core import GlobalConfig, InsuranceFund, MarginAccount
from quantdesk.clients.oracle import Feed, normalized_price
from quantdesk.clients.trading_state import PerpMarket, TradingAccount
from quantdesk.keeper.cache import AccountCache, Change
from solders.pubkey import Pubkey

__all__ = ["Event", "VenueView"]


@dataclass(frozen=True, slots=True)
class Event:
    """What changed: `kind` is "account" (key: a margin account whose inputs changed), "price"
    (key: a market index or a collateral mint whose price moved), "market" (key: a market index
    whose risk terms or funding indices changed), "config" (key: a mint whose collateral terms
    changed) or "global" (the liquidation buffer); `received_at` is the cache's stamp."""

    kind: str
    key: Any
    received_at: float


def _keep(store: dict[Any, Any], key: Any, value: Any) -> None:
    """The entry's new value, or none (the account was closed)."""
    if value is None:
        store.pop(key, None)
    else:
        store[key] = value


def _risk_terms(m: PerpMarket) -> tuple[int, ...]:
    """The market fields an account's health reads (fills move the others: open interest, pools)."""
    return (m.init_margin_bps, m.maint_margin_bps, m.upnl_init_weight_bps, m.upnl_maint_weight_bps, m.size_margin_factor,
            m.cumulative_funding_long, m.cumulative_funding_short, m.liquidator_fee_bps, m.insurance_fee_bps, m.lot_size,
            m.liquidation_max_fraction_bps, m.liquidation_whole_base, int.from_bytes(bytes(m.oracle), "little"), m.status)


class VenueView:
    def __init__(self, cache: AccountCache) -> None:
        self.cache = cache
        self.global_config: GlobalConfig | None = None
        self.markets: dict[int, PerpMarket] = {}
        self.configs: dict[Pubkey, CollateralConfig] = {}
        self.funds: dict[Pubkey, InsuranceFund] = {}
        self.feeds: dict[Pubkey, Feed] = {}
        self.margins: dict[Pubkey, MarginAccount] = {}
        self.balances: dict[Pubkey, CollateralBalances] = {}
        self.trading: dict[Pubkey, TradingAccount] = {}
        self._market_prices: dict[int, int] = {}
        self._collateral_prices: dict[Pubkey, int] = {}
        self._listeners: list[Callable[[Event], None]] = []
        for name, store in cache.stores.items():
            for entry in store.values():
                self._absorb(Change(name, entry.pubkey, None, entry, "snapshot"), notify=False)
        cache.on_change(self._on_change)

    # -- listeners -----------------------------------------------------------------------------

    def listen(self, callback: Callable[[Event], None]) -> None:
        self._listeners.append(callback)

    def _on_change(self, change: Change) -> None:
        started = time.process_time()
        events = self._absorb(change, notify=True)
        for event in events:
            for callback in self._listeners:
                callback(event)
        if change.account_type == "feed":
            self.cache.metrics.feed_update_cpu.observe(time.process_time() - started)

    def _absorb(self, change: Change, *, notify: bool) -> list[Event]:
        """Applies one cache change; the venue events it makes (none while building)."""
        value: Any = change.new.value if change.new is not None else None
        old: Any = change.old.value if change.old is not None else None
        at = change.received_at
        events: list[Event] = []
        match change.account_type:
            case "global":
                self.global_config = value
                events.append(Event("global", None, at))
            case "insurance_fund":
                _keep(self.funds, (value or old).mint, value)
            case "margin_account":
                _keep(self.margins, change.pubkey, value)
                events.append(Event("account", change.pubkey, at))
            case "balances":
                margin = (value or old).margin_account
                _keep(self.balances, margin, value)
                events.append(Event("account", margin, at))
            case "trading_account":
                margin = (value or old).margin_account
                _keep(self.trading, margin, value)
                events.append(Event("account", margin, at))
            case "market":
                index = (value or old).index
                _keep(self.markets, index, value)
                if old is None or value is None or _risk_terms(old) != _risk_terms(value):
                    events.append(Event("market", index, at))
                events += self._reprice(at)
            case "collateral_config":
                mint = (value or old).mint
                _keep(self.configs, mint, value)
                events.append(Event("config", mint, at))
                events += self._reprice(at)
            case "feed":
                _keep(self.feeds, change.pubkey, value)
                events += self._reprice(at)
        return events if notify else []

    def _reprice(self, at: float) -> list[Event]:
        """Recomputes every market's and collateral's price from its feed; a price event for each that moved."""
        events = []
        markets = {i: self._feed_price(m.oracle) for i, m in self.markets.items()}
        mints = {mint: QUOTE_PRICE if c.is_quote else self._feed_price(c.oracle) for mint, c in self.configs.items()}
        events += [Event("price", index, at) for index, price in markets.items() if self._market_prices.get(index) != price]
        events += [Event("price", mint, at) for mint, price in mints.items() if self._collateral_prices.get(mint) != price]
        self._market_prices = {k: p for k, p in markets.items() if p is not None}
        self._collateral_prices = {k: p for k, p in mints.items() if p is not None}
        return events

    def _feed_price(self, oracle: Pubkey | None) -> int | None:
        feed = self.feeds.get(oracle) if oracle is not None else None
        return normalized_price(feed) if feed is not None and feed.price > 0 else None

    # -- reads ---------------------------------------------------------------------------------

    @property
    def quote_mint(self) -> Pubkey | None:
        return self.global_config.quote_mint if self.global_config is not None else None

    @property
    def buffer_bps(self) -> int:
        return self.global_config.liquidation_buffer_bps if self.global_config is not None else 0

    def market_price(self, index: int) -> int | None:
        return self._market_prices.get(index)

    def collateral_price(self, mint: Pubkey) -> int | None:
        return self._collateral_prices.get(mint)

    def market_prices(self) -> dict[int, int]:
        return self._market_prices

    def collateral_prices(self) -> dict[Pubkey, int]:
        return self._collateral_prices

    def margin_accounts(self) -> Iterable[Pubkey]:
        return self.margins.keys()

    def exposures(self, margin: Pubkey) -> set[Any]:
        """The market indices and non-quote mints whose price moves the account's health."""
        keys: set[Any] = {p.market_index for p in self.trading[margin].positions} if margin in self.trading else set()
        if margin in self.balances:
            keys |= {e.mint for e in self.balances[margin].entries if not self._is_quote(e.mint)}
        return keys

    def _is_quote(self, mint: Pubkey) -> bool:
        config = self.configs.get(mint)
        return config is not None and config.is_quote

    def health(self, margin: Pubkey) -> tuple[health.Health, list[tuple[PerpMarket, health.PerpInput]]]:
        """The account's health at the cached prices (KeyError: an input is not cached yet)."""
        empty = CollateralBalances(Pubkey.default(), margin, Pubkey.default(), 0, [])
        return liquidation.account_health(self.balances.get(margin, empty), self.configs, self._collateral_prices, self.trading.get(margin),
                                          self.markets, self._market_prices, self.buffer_bps)

    def health_state(self, margin: Pubkey, markets: Iterable[int] = (), mints: Iterable[Pubkey] = ()) -> collateral.HealthState:
        """The account's accounts as an instruction's health list reads them."""
        balances = self.balances.get(margin) or CollateralBalances(collateral.balances_address(margin), margin, Pubkey.default(), 0, [])
        trading = self.trading.get(margin)
        wanted_mints = {e.mint for e in balances.entries} | set(mints)
        wanted_markets = {p.market_index for p in trading.positions} if trading is not None else set()
        wanted_markets |= set(markets)
        return collateral.HealthState(margin, balances, {m: self.configs[m] for m in wanted_mints}, trading,
                                      {i: self.markets[i] for i in wanted_markets})
