"""Randomized action sequences (hypothesis) over LiteSVM with liquidations: seven margin accounts
of different owners (four traders, one holding SOL collateral, two liquidators, one maker) trade
SOL-PERP while its price walks and shocks by up to 40%; liquidators liquidate whatever the view
says they may (orders, perps, collateral for debts, bankruptcies), the fee sweep feeds the
insurance fund, funding runs, accounts settle, deposit and try to withdraw.

Checked on every accepted liquidation step: the account was liquidatable before it (a
liquidation starts only below maintenance health; once started it continues while the
liquidation-end health is below 0), and the step raised its maintenance health or closed what it
touched. After each liquidator's turn: the end health is >= 0 or nothing is left to liquidate
(no position, no collateral: at most a debt, which resolve_bankruptcy then clears). A healthy
account is refused by name. After every action: the ledger (zero-sum PnL including fees, pools,
insurance payments and socialized losses; `Venue.check_invariants`), and for the quote: the
collateral vault equals the balances plus the protocol balance, which is the PnL pool plus
revenue, and the insurance vault holds at least the fund's balance; no quote balance is
negative; no withdrawal ever fails with VaultShortfall. At least 2,000 actions (asserted)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from quantdesk.clients import collateral, core, idl

from quantdesk.chain import TxResult
from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PARAMS, PRICE, SOL, SOL_PARAMS, USDC, Trader, Venue, order

EXAMPLES = 10
ACTIONS_PER_EXAMPLE = 200
CORE = idl.error_codes(core.NAME)
COLLATERAL = idl.error_codes(collateral.NAME)
MARKET_PARAMS = dataclasses.replace(PARAMS, funding_period_secs=60)
# Shocks leave the feed's EMA far behind: no EMA-deviation limit, so trading continues after them.
GUARDS = {a: dataclasses.replace(g, max_ema_deviation_bps=0) for a, g in collateral.DEFAULT_GUARDS.items()}
executed = 0
steps_taken: dict[str, int] = {}


@dataclass(frozen=True)
class Act:
    kind: str
    who: int
    pick: int
    size: int


acts = st.builds(Act, st.sampled_from(["trade", "trade", "trade", "move", "move", "shock", "liquidate", "liquidate", "settle", "withdraw",
                                       "deposit", "funding", "sweep"]),
                 st.integers(0, 3), st.integers(0, 10**6), st.integers(1, 60))


class Run:
    def __init__(self) -> None:
        v = self.v = Venue(asset=SOL_PARAMS)
        for change in [v.trading.set_market_params(0, MARKET_PARAMS), v.trading.set_market_oracle(0, v.feeds[0], GUARDS)]:
            assert v.govern(change).ok
        self.traders = [v.trader(d) for d in (2_000 * USDC, 5_000 * USDC, 1_000 * USDC)]
        holder = v.trader(0)
        v.fund(holder.owner, v.sol, 20 * SOL)
        assert v.deposit(holder, v.sol, 20 * SOL).ok
        self.traders.append(holder)
        self.liquidators = [v.trader(500_000 * USDC) for _ in range(2)]
        self.maker = v.trader(10**7 * USDC)
        assert v.create_insurance_fund().ok
        staker = v.staker(20_000 * USDC)
        assert v.stake(staker, 20_000 * USDC).ok
        self.price = PRICE

    @property
    def everyone(self) -> list[Trader]:
        return [*self.traders, *self.liquidators, self.maker]

    def publish(self, price: int) -> None:
        self.price = min(max(price, 10 * USDC), 1_000 * USDC)
        v = self.v
        v.chain.advance(1, 1)
        sol = v.feed_state(v.sol_feed).price
        now = v.chain.clock.unix_timestamp
        ixs = [v.oracle.publish(v.publisher.pubkey(), v.feeds[0], self.price, self.price // 10_000, now),
               v.oracle.publish(v.publisher.pubkey(), v.sol_feed, sol, sol // 10_000, now)]
        assert v.send(ixs, v.publisher).ok

    def apply(self, a: Act) -> None:
        v, t = self.v, self.traders[a.who]
        if a.kind == "trade":
            # Up to about 9x the free collateral: leveraged enough for shocks to liquidate.
            bid = a.pick % 2 == 0
            limit = self.price * (103 if bid else 97) // 100 // MARKET_PARAMS.tick_size * MARKET_PARAMS.tick_size
            free = v.view(t.margin).free_collateral
            lot = MARKET_PARAMS.lot_size
            size = max(free * 9 * a.size // 60 * BASE // limit // lot * lot, MARKET_PARAMS.min_order_size)
            placed = v.place(t, order(BID if bid else ASK, MARKET, IOC, size=size, price=limit))
            if placed.ok:
                order_id = int.from_bytes(placed.return_data, "little")
                v.advance(2, self.price)
                v.make_at_auction(self.maker, t, order_id, size)
        elif a.kind == "move":
            self.publish(self.price * (10_000 + a.pick % 601 - 300) // 10_000)
        elif a.kind == "shock":
            self.publish(self.price * (10_000 + (a.pick % 8_001) - 4_000) // 10_000)
        elif a.kind == "liquidate":
            self.liquidate(self.liquidators[a.pick % 2], t)
        elif a.kind == "settle":
            v.settle(t)
        elif a.kind == "withdraw":
            result = v.withdraw(t, v.usdc, max(v.quote_balance(t) * (a.pick % 101) // 100, 1))
            assert result.ok or result.custom_error != COLLATERAL["VaultShortfall"], result.logs
        elif a.kind == "deposit":
            v.fund(t.owner, v.usdc, a.size * 100 * USDC)
            assert v.deposit(t, v.usdc, a.size * 100 * USDC).ok
        elif a.kind == "funding":
            v.chain.advance(60, 60)
            self.publish(self.price)
            v.update_funding()
        elif a.kind == "sweep":
            v.sweep()

    def step(self, name: str, send: TxResult) -> bool:
        if send.ok:
            steps_taken[name] = steps_taken.get(name, 0) + 1
        return send.ok

    def liquidate(self, liquidator: Trader, t: Trader) -> None:
        """Every step the liquidator may take on `t`, each checked against the view before it."""
        v = self.v
        took = False
        for _ in range(30):
            before = v.view_liquidation(t.margin)
            assert before == v.liquidation_mirror(t.margin)
            flagged = v.margin_state(t.margin).being_liquidated
            account = v.account(t)
            positions = [p for p in account.positions if p.base != 0]
            if not before.liquidatable:
                # Refused by name, whichever step is tried.
                result = v.liquidate_perp(liquidator, t) if positions else v.liquidate_orders(liquidator, t)
                assert not result.ok and result.custom_error in (CORE["NotLiquidatable"], CORE["NoPositionToLiquidate"]), result.logs
                debt = [p for p in account.positions if p.base == 0 and p.realized_pnl < 0]
                if debt and not v.balances(t.margin).entries and not positions:
                    assert self.step("resolve_bankruptcy", v.resolve_bankruptcy(t))
                    continue
                break
            if not flagged:
                assert before.maint_health < 0
            took = True
            if account.orders:
                # Closes what it touches: every order.
                assert self.step("liquidate_orders", v.liquidate_orders(liquidator, t))
                assert v.account(t).orders == []
                continue
            if positions:
                assert self.step("liquidate_perp", v.liquidate_perp(liquidator, t)), "a liquidatable position must be liquidatable"
            elif v.quote_balance(t) > 0:
                assert v.settle(t).ok
                continue
            elif v.balances(t.margin).balance_of(v.sol) > 0:
                result = v.liquidate_collateral(liquidator, t, v.sol)
                if not self.step("liquidate_collateral", result):
                    assert result.custom_error == CORE["NothingToLiquidate"], result.logs
                    break
            else:
                assert self.step("resolve_bankruptcy", v.resolve_bankruptcy(t))
                continue
            after = v.view_liquidation(t.margin)
            closed = not any(p.base for p in v.account(t).positions) or v.balances(t.margin).balance_of(v.sol) == 0
            assert after.maint_health > before.maint_health or closed or not positions, (before, after)
        if took:
            state = v.view_liquidation(t.margin)
            left = any(p.base for p in v.account(t).positions) or v.balances(t.margin).balance_of(v.sol) > 0
            assert state.liquidation_end_health >= 0 or not left, state

    def check(self) -> None:
        v = self.v
        v.check_invariants(self.everyone)
        quote = v.collateral_config(v.usdc)
        assert v.tokens(quote.vault) == quote.total_balances + quote.protocol_balance
        fund = v.insurance_fund()
        assert v.tokens(fund.vault) >= fund.balance
        assert all(v.quote_balance(t) >= 0 for t in self.everyone)
        sol = v.collateral_config(v.sol)
        assert v.tokens(sol.vault) == sol.total_balances + sol.protocol_balance


def test_liquidation_invariants_over_random_price_paths() -> None:
    # Derandomized: the same 2,000 actions on every run, so the step counts below are stable.
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], database=None,
              phases=[Phase.generate], derandomize=True)
    @given(st.lists(acts, min_size=ACTIONS_PER_EXAMPLE, max_size=ACTIONS_PER_EXAMPLE))
    def run(sequence: list[Act]) -> None:
        global executed
        r = Run()
        for a in sequence:
            r.apply(a)
            r.check()
            executed += 1

    run()
    assert executed >= EXAMPLES * ACTIONS_PER_EXAMPLE
    # Every kind of step happened.
    assert {"liquidate_perp", "liquidate_collateral", "resolve_bankruptcy"} <= steps_taken.keys(), steps_taken
    print(f"{executed} actions; liquidation steps: {steps_taken}")
