"""qd-trading's compute budgets (quantdesk/bench/trading.py, `make bench`): a limit order with 8
positions, place-and-make with 1 and 8 positions on each side, a cancel on a full account and
the funding crank stay within the issue's targets, and each extra position costs the health
check about the same. Fills write no account shared by every market any more: a market takes
more fills a block than the whole venue did, and the venue as many as the block limit allows."""
from __future__ import annotations

from quantdesk.clients.trading_state import MAX_POSITIONS

from quantdesk.bench import blocks
from quantdesk.bench import trading as bench


def test_trading_instructions_stay_within_their_cu_targets() -> None:
    table = bench.measure()
    assert set(bench.TARGETS) <= set(table.cu)
    assert not table.over_target(), "\n".join(table.lines())
    steps = bench.curve(table)
    assert len(steps) == MAX_POSITIONS - 1
    # Every other market in the health list costs its market and oracle reads once, linearly.
    assert min(steps) > 0 and max(steps) - min(steps) <= 100, steps


def test_fills_per_block_no_longer_share_the_quote_configs_write_limit() -> None:
    table = bench.measure()
    report = blocks.report(table)
    for name in blocks.FILLS:
        entry = report[name]
        assert isinstance(entry, dict)
        before, after = entry["before"], entry["after"]
        assert before["fills_per_block_venue"] == before["fills_per_block_one_market"] < after["fills_per_block_one_market"]
        assert after["fills_per_block_venue"] == blocks.BLOCK_UNITS // table.cu[name] * blocks.FILLS[name] > after["fills_per_block_one_market"]
