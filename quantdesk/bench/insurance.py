"""The insurance fund's CU scenarios: qd-core's instructions (the first stake creates the Stake
account; the sweep makes both CPIs), then the CPI-only instructions of qd-trading and
qd-collateral alone, with the signature qd-core's CPI grants."""
from __future__ import annotations

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.clients import core
from quantdesk.world import UNSTAKE_DELAY, USDC, Venue


def measure() -> CuTable:
    table = CuTable("insurance")
    v = Venue(seed=BENCH_SEED)
    table.record("create_insurance_fund", v.create_insurance_fund())
    # Timelocked: the figure is the proposal's execution (qd-security invoking the change).
    table.record("set_insurance_params", v.govern(v.core.set_insurance_params(v.usdc, UNSTAKE_DELAY, 2_500)))
    staker = v.staker(100_000 * USDC)
    table.record("stake_first", v.stake(staker, 10_000 * USDC))
    table.record("stake", v.stake(staker, 10_000 * USDC))
    shares = v.stake_state(staker)
    assert shares is not None
    table.record("request_unstake", v.request_unstake(staker, shares.shares // 2))
    table.record("cancel_unstake", v.cancel_unstake(staker))
    assert v.request_unstake(staker, shares.shares // 2).ok
    v.fill_pools(0, 50 * USDC, 1_000 * USDC, 2_000 * USDC)
    table.record("sweep_fees", v.sweep())
    v.chain.advance(1, UNSTAKE_DELAY)
    table.record("unstake", v.unstake(staker))
    # The callees alone.
    v.fill_pools(0, 50 * USDC, 1_000 * USDC, 2_000 * USDC)
    table.record("take_fees", v.chain.send_unverified([v.trading.take_fees(core.AUTHORITY, 0, 50 * USDC, 1_000 * USDC)]))
    fund_vault = core.insurance_vault_address(v.usdc)
    table.record("collect_fees", v.chain.send_unverified([v.collateral.collect_fees(core.AUTHORITY, v.usdc, fund_vault, 300 * USDC, 750 * USDC)]))
    table.record("collect_fees_revenue_only", v.chain.send_unverified([v.collateral.collect_fees(core.AUTHORITY, v.usdc, fund_vault, 0, 1)]))
    table.record("cover_from_insurance", v.chain.send_unverified([v.collateral.cover_from_insurance(core.AUTHORITY, v.usdc, fund_vault, 100 * USDC)]))
    return table
