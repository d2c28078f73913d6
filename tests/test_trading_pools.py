"""The markets' fee and PnL pools (step 8): fees are charged to positions and pooled per market;
settle_pnl moves a loss from the quote balance into the market's PnL pool (never below a zero
balance) and a profit out of it only up to what the pool holds beyond the fees, so a winner can
never withdraw other users' deposits and no withdrawal meets an empty vault. Fills write neither
the quote config nor any balance: nothing every market's fills share."""
from __future__ import annotations

from quantdesk.clients import collateral, idl
from quantdesk.clients import trading_state as ts
from quantdesk.clients.trading import Side
from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey

from quantdesk.world import ASK, BASE, BID, IOC, MARKET, PRICE, USDC, Trader, Venue, account_meta, order, refused

COLLATERAL_E = idl.error_codes(collateral.NAME)


def trade(v: Venue, taker: Trader, maker: Trader, side: Side, size: int, price: int, reduce_only: bool = False) -> None:
    """`taker`'s market order of `size` on `side` at exactly `price` (a flat auction), filled at
    once by `maker` with place_and_make."""
    taker_order = v.placed_id(taker, order(side, MARKET, IOC, size=size, price=price, auction=(price, price, 2), reduce_only=reduce_only))
    result = v.place_and_make(maker, taker, taker_order, price, size)
    assert result.ok, result.logs


def settled(v: Venue, t: Trader) -> tuple[int, int]:
    """settle_pnl of `t` in market 0: (moved into the balance, left unsettled)."""
    result = v.settle(t)
    assert result.ok, result.logs
    (event,) = [e.data for e in v.events(result) if e.name == "PnlSettled"]
    return event.pnl, event.unsettled


def equity(v: Venue, t: Trader, price: int) -> int:
    """Quote balance plus the position's value at `price` (cost basis, realized PnL and fees)."""
    p = v.account(t).position(0)
    assert p is not None
    return v.quote_balance(t) + p.quote_entry + p.realized_pnl + p.base * price // BASE


def withdraw_all(v: Venue, t: Trader) -> int:
    """`t` withdraws its whole quote balance (which must succeed); returns the amount."""
    amount = v.quote_balance(t)
    if amount:
        result = v.withdraw(t, v.usdc, amount)
        assert result.ok, result.logs
    return amount


def test_a_price_shock_pays_the_winner_only_what_the_loser_paid() -> None:
    """The review's scenario: a 95 SOL long at 100 backed by 1,000 USDC, the feed 100 -> 70. Its
    equity reaches -1,859.50; the winner (the short) closes for +2,845.25 and settles before the
    loser has paid anything: nothing moves. The loser closes and pays all it has (1,000) into the
    pool; the winner then takes that less the fees, the rest of its profit waits, and the loser's
    remaining loss stays unsettled against a zero balance. Every depositor withdraws everything
    it holds, the honest one last, and the vault still holds exactly the fees."""
    v = Venue()
    honest = v.trader(deposit=5_000 * USDC)  # never trades
    loser, winner, desk = v.trader(deposit=1_000 * USDC), v.trader(deposit=10_000 * USDC), v.trader(deposit=100_000 * USDC)
    size = 95 * BASE
    trade(v, loser, winner, BID, size, PRICE)
    for price in (90, 80, 70, 70):  # in steps the oracle's EMA-deviation guards accept
        v.advance(40, price=price * USDC)
    assert equity(v, loser, 70 * USDC) == -1_859_500_000

    # The winner buys back at 70 from a desk and settles first: the pool holds nothing.
    trade(v, winner, desk, BID, size, 70 * USDC)
    profit = 2_850 * USDC + 1_900_000 - 6_650_000  # its maker rebate, its taker fee
    assert v.account(winner).position(0).realized_pnl == profit
    assert settled(v, winner) == (0, profit)
    assert v.quote_balance(winner) == 10_000 * USDC and v.market().pnl_pool == 0

    # The loser sells to the desk at 70 (reduce-only: its health is below zero) and pays all it has.
    trade(v, loser, desk, ASK, size, 70 * USDC, reduce_only=True)
    loss = -2_850 * USDC - 9_500_000 - 6_650_000
    assert v.account(loser).position(0).realized_pnl == loss
    assert settled(v, loser) == (-1_000 * USDC, loss + 1_000 * USDC)
    assert v.quote_balance(loser) == 0
    m = v.market()
    assert (m.pnl_pool, m.fee_pool) == (1_000 * USDC, 18_240_000)  # three fills' net fees: 7.60 + 5.32 + 5.32

    # The winner is paid what the loser paid, less the fees (senior claims on the pool).
    paid = 1_000 * USDC - m.fee_pool
    assert settled(v, winner) == (paid, profit - paid)
    # Nothing is left for the desk's rebates: they wait too.
    assert settled(v, desk) == (0, 2_660_000)
    assert v.market().pnl_pool == v.market().fee_pool == v.protocol_balance()
    v.check_invariants([honest, loser, winner, desk])

    # The winner cannot withdraw what it was not paid.
    refused(v, [v.collateral.withdraw(winner.owner.pubkey(), winner.margin, v.usdc, 10_000 * USDC + paid + 1, v.health(winner.margin))],
            "InsufficientBalance", COLLATERAL_E)
    # Every depositor takes out everything it holds; the honest depositor last. None meets a
    # shortfall: the loser and the winner together leave with less than they brought.
    out = {t: withdraw_all(v, t) for t in (winner, loser, desk, honest)}
    assert out[winner] + out[loser] == 10_000 * USDC + paid < 11_000 * USDC
    assert out[honest] == 5_000 * USDC and out[desk] == 100_000 * USDC
    config = v.collateral_config(v.usdc)
    assert (config.total_balances, config.protocol_balance, v.tokens(config.vault)) == (0, m.fee_pool, m.fee_pool)
    v.check_invariants([honest, loser, winner, desk])


def test_a_winner_settling_before_the_loser_waits_and_is_paid_after() -> None:
    v = Venue()
    winner, loser = v.trader(), v.trader()
    trade(v, winner, loser, BID, BASE, PRICE)
    trade(v, winner, loser, ASK, BASE, 102 * USDC)
    profit = v.account(winner).position(0).realized_pnl
    assert profit == 2 * USDC - 100_000 - 102_000
    # First: nothing is in the pool. The settle succeeds (funding is settled) and moves nothing;
    # the profit waits in the flat position, which keeps its slot (the account cannot close).
    assert settled(v, winner) == (0, profit)
    assert [(p.base, p.realized_pnl) for p in v.account(winner).positions] == [(0, profit)]
    refused(v, [v.trading.close_trading_account(winner.owner.pubkey(), winner.margin)], "TradingAccountNotEmpty")
    # The loser pays; then the winner is paid in full and its position is freed.
    assert settled(v, loser) == (-2 * USDC + 40_400, 0)
    assert settled(v, winner) == (profit, 0)
    assert v.account(winner).positions == [] and v.quote_balance(winner) == 10_000 * USDC + profit
    v.check_invariants([winner, loser])


def test_fees_are_senior_claims_on_the_pool() -> None:
    """What the pool holds up to the fee pool is the protocol's: while the pool holds only fees,
    no winner (nor a maker's rebate) is paid from it."""
    v = Venue()
    payer, rebated = v.trader(), v.trader()
    # A round trip at 100: the taker realizes two taker fees (-0.20), the maker two rebates (+0.04).
    trade(v, payer, rebated, BID, BASE, PRICE)
    trade(v, payer, rebated, ASK, BASE, PRICE)
    assert settled(v, payer) == (-200_000, 0)
    # A winner (+2 less its fees) whose loser has not settled.
    winner, loser = v.trader(), v.trader()
    trade(v, winner, loser, BID, BASE, PRICE)
    trade(v, winner, loser, ASK, BASE, 102 * USDC)
    m = v.market()
    assert m.pnl_pool == 200_000 < m.fee_pool == 160_000 + 161_600
    # The pool holds only fees: neither the rebate nor the profit is paid.
    profit = v.account(winner).position(0).realized_pnl
    assert settled(v, rebated) == (0, 40_000)
    assert settled(v, winner) == (0, profit)
    # Once the loser has paid, both are paid, and the pool keeps exactly the fees.
    assert settled(v, loser) == (-2 * USDC + 40_400, 0)
    assert settled(v, winner) == (profit, 0)
    assert settled(v, rebated) == (40_000, 0)
    m = v.market()
    assert m.pnl_pool == m.fee_pool == v.protocol_balance()
    v.check_invariants([payer, rebated, winner, loser])


def write_locked(ixs: list[Instruction], payer: Pubkey) -> set[Pubkey]:
    """The accounts but the fee payer that a transaction of `ixs` write-locks: writable in its
    message header (signed then unsigned keys, each group's read-only ones last) and not an
    invoked program (the runtime demotes those: an absent optional account is the program id)."""
    message = Message(ixs, payer)
    h, keys = message.header, list(message.account_keys)
    signed = h.num_required_signatures
    return {k for i, k in enumerate(keys)
            if (i < signed - h.num_readonly_signed_accounts or signed <= i < len(keys) - h.num_readonly_unsigned_accounts)
            and not message.is_key_called_as_program(i)} - {payer}


def test_fills_write_only_the_market_and_the_parties_trading_accounts() -> None:
    """Neither fill instruction takes the quote config (or any balances) writable, so fills of
    different markets share no write lock; they leave the quote config and the balances as they
    were."""
    v = Venue()
    config = collateral.config_address(v.usdc)
    taker, maker, order_id = v.taker_in_auction()
    make = v.make_ix(maker, taker, order_id)
    assert not account_meta(make, "quote_config").is_writable
    assert collateral.PROGRAM_ID not in {m.pubkey for m in make.accounts}
    assert write_locked([make], v.admin.pubkey()) == {maker.trading, taker.trading, ts.market_address(0)}
    before = {a: v.raw(a) for a in (config, maker.balances, taker.balances)}
    assert v.place_and_make(maker, taker, order_id, PRICE, BASE).ok
    assert {a: v.raw(a) for a in before} == before

    makers = [v.trader() for _ in range(4)]
    asks = [v.placed_id(m, order(ASK, price=100_500_000)) for m in makers]
    buyer = v.trader()
    bid = v.placed_id(buyer, order(BID, tif=IOC, size=4 * BASE, price=101 * USDC))
    v.advance(10)
    fill = v.fill_ix(buyer, bid, list(zip(makers, asks)))
    assert not account_meta(fill, "quote_config").is_writable
    assert write_locked([fill], v.admin.pubkey()) == {buyer.trading, ts.market_address(0), *(m.trading for m in makers)}
    before = {a: v.raw(a) for a in (config, buyer.balances, *(m.balances for m in makers))}
    result = v.fill(buyer, bid, list(zip(makers, asks)))
    assert result.ok, result.logs
    assert len([e for e in v.events(result) if e.name == "Fill"]) == 4
    assert {a: v.raw(a) for a in before} == before
    v.check_invariants([taker, maker, buyer, *makers])
