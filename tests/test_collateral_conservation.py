"""Randomized sequences of deposits, withdrawals, transfers, adjustments by CPI and price moves
against qd-collateral (LiteSVM), checked after every action against a model:
- conservation, per mint: vault token amount == sum of all balances + the protocol balance, and
  the config's running total equals the sum of the balances accounts;
- the program accepts an action exactly when the model does (balance, same owner, initial health
  computed by the health engine's Python mirror at the feed's price), and balances match.
At least 1,000 actions in total (asserted)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quantdesk.clients import collateral, token
from quantdesk.clients import trading_state as ts
from solders.pubkey import Pubkey

from quantdesk.world import SOL, SOL_PARAMS, USDC, Venue

EXAMPLES = 25
ACTIONS_PER_EXAMPLE = 50
executed = 0


@dataclass(frozen=True)
class Act:
    kind: str  # deposit, withdraw, transfer, adjust, price
    account: int
    other: int
    quote: bool
    amount: int


acts = st.builds(
    Act,
    kind=st.sampled_from(["deposit", "deposit", "withdraw", "withdraw", "transfer", "adjust", "price"]),
    account=st.integers(0, 2),
    other=st.integers(0, 2),
    quote=st.booleans(),
    # Mostly ordinary sizes, sometimes more than anyone holds.
    amount=st.one_of(st.integers(1, 5_000), st.integers(1, 200_000)),
)


class Model:
    """What the balances should be, and whether an action should pass."""

    def __init__(self, v: Venue) -> None:
        self.v = v
        funds = {v.usdc: 1_000_000 * USDC, v.sol: 1_000 * SOL}
        desk, other = v.desk(funds=funds), v.desk(1, funds)
        self.traders = [desk.trader(0), desk.trader(1), other.trader(0)]
        self.owners = [t.owner for t in self.traders]
        self.accounts = [t.margin for t in self.traders]
        self.balances: list[dict[Pubkey, int]] = [{}, {}, {}]
        self.price = v.feed_state().price

    def init_health(self, balances: dict[Pubkey, int]) -> int:
        return self.v.mirror_of(balances, self.price).init_health

    def after(self, i: int, mint: Pubkey, delta: int) -> dict[Pubkey, int]:
        b = dict(self.balances[i])
        b[mint] = b.get(mint, 0) + delta
        return b

    def apply(self, a: Act) -> None:
        v = self.v
        mint = v.usdc if a.quote else v.sol
        units = USDC if a.quote else SOL // 100  # SOL in 0.01 steps
        amount = a.amount * units
        i, j = a.account, a.other
        held = self.balances[i].get(mint, 0)
        if a.kind == "deposit":
            expect = v.tokens(token.associated_address(self.owners[i].pubkey(), mint)) >= amount  # the wallet's own limit
            result = v.deposit(self.traders[i], mint, amount)
            changes = [(i, amount)]
        elif a.kind == "withdraw":
            vault = v.tokens(collateral.vault_address(mint))  # short while the protocol owes (credited PnL)
            expect = held >= amount and self.init_health(self.after(i, mint, -amount)) >= 0 and vault >= amount
            result = v.withdraw(self.traders[i], mint, amount)
            changes = [(i, -amount)]
        elif a.kind == "transfer":
            j = j if j != i else (i + 1) % 3
            same_owner = self.owners[i] == self.owners[j]
            expect = same_owner and held >= amount and self.init_health(self.after(i, mint, -amount)) >= 0
            o = self.owners[i]
            ix = v.collateral.transfer(o.pubkey(), self.accounts[i], self.accounts[j], mint, amount, v.health(self.accounts[i]))
            result = v.send([ix], o)
            changes = [(i, -amount), (j, amount)]
        elif a.kind == "adjust":
            delta = amount if a.other == 0 else -amount  # PnL either way; only the quote may go negative
            expect = a.quote or held + delta >= 0
            result = v.adjust(mint, self.accounts[i], delta)
            changes = [(i, delta)]
        else:
            self.price = 50 * USDC + a.amount * 1_250  # 50..300 USDC
            v.publish(self.price, v.sol_feed)
            return
        assert result.ok == expect, (a, result.error, result.logs[-3:])
        if result.ok:
            for k, d in changes:
                self.balances[k] = self.after(k, mint, d)

    def check(self) -> None:
        v = self.v
        for i, margin in enumerate(self.accounts):
            on_chain = {e.mint: e.balance for e in v.balances(margin).entries}
            assert on_chain == {m: b for m, b in self.balances[i].items() if b != 0}
        v.check_conservation(self.accounts)


def test_conservation_over_random_action_sequences() -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(st.lists(acts, min_size=ACTIONS_PER_EXAMPLE, max_size=ACTIONS_PER_EXAMPLE))
    def run(sequence: list[Act]) -> None:
        global executed
        v = Venue(markets=(), asset=SOL_PARAMS)
        v.chain.deploy("qd_test_adjuster", ts.PROGRAM_ID)  # a stand-in for qd-trading: the real adjust_balance CPI
        # No EMA-deviation limit: the random walk below may jump further than a real feed.
        guards = {a: dataclasses.replace(g, max_ema_deviation_bps=0) for a, g in collateral.DEFAULT_GUARDS.items()}
        assert v.govern(v.collateral.set_collateral_oracle(v.sol, v.sol_feed, guards)).ok
        model = Model(v)
        for a in sequence:
            model.apply(a)
            model.check()
            executed += 1

    run()
    assert executed >= 1_000
