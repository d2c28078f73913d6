"""qd-collateral CU scenarios: every instruction, and the health check's cost curve: withdraw and
view_health on an account holding 1..8 collateral mints (the quote, then 9-decimal assets each
priced by its own qd-oracle feed), then with 1 and 7 perp positions as well (each market priced by
one of those feeds). The issue's budget: at most 1,500 CU per extra collateral."""
from __future__ import annotations

from solders.pubkey import Pubkey

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.clients import collateral, core, trading_state
from quantdesk.clients.collateral import MAX_BALANCES, Params
from quantdesk.world import QUOTE_PARAMS, SOL, SOL_PARAMS, USDC, Trader, Venue, forge

PER_ENTRY_BUDGET = 1_500


def curve(table: CuTable, prefix: str) -> list[int]:
    """Increments of `prefix`_1..8: the cost of each extra collateral."""
    values = [table.cu[f"{prefix}_{n}"] for n in range(1, MAX_BALANCES + 1)]
    return [b - a for a, b in zip(values, values[1:])]


def measure() -> CuTable:
    table = CuTable("qd_collateral", {"withdraw_per_extra_collateral": PER_ENTRY_BUDGET, "view_health_per_extra_collateral": PER_ENTRY_BUDGET})
    v = Venue(quote_params=None, markets=(), seed=BENCH_SEED)
    chain, ix, admin, quote = v.chain, v.collateral, v.admin, v.usdc
    assets = [(chain.create_mint(9), v.add_feed(f"ASSET{k}/USD", (k + 1) * 10 * USDC)) for k in range(MAX_BALANCES - 1)]
    table.record("create_collateral_quote", v.send([ix.create_collateral(admin.pubkey(), quote, None, QUOTE_PARAMS)]))
    first, first_feed = assets[0]
    table.record("create_collateral", v.send([ix.create_collateral(admin.pubkey(), first, first_feed, SOL_PARAMS)]))
    for mint, feed in assets[1:]:
        assert v.send([ix.create_collateral(admin.pubkey(), mint, feed, SOL_PARAMS)]).ok
    # Timelocked: the figures are the proposals' executions (qd-security invoking the change).
    table.record("set_collateral_params", v.govern(ix.set_collateral_params(first, Params(7_500, 9_000, 10**15))))
    table.record("set_collateral_oracle", v.govern(ix.set_collateral_oracle(first, first_feed, collateral.DEFAULT_GUARDS)))

    owner = chain.keypair()
    main, sub = v.margin_account(owner, 0, balances=False), v.margin_account(owner, 1, balances=False)
    table.record("open_balances", v.send([ix.open_balances(owner.pubkey(), main)], owner))
    assert v.send([ix.open_balances(owner.pubkey(), sub)], owner).ok
    mints = [quote] + [m for m, _ in assets]
    for mint in mints:
        v.fund(owner, mint, 10**12)

    table.record("deposit_new_entry", v.send([ix.deposit(owner.pubkey(), main, quote, 1_000 * USDC)], owner))
    table.record("deposit", v.send([ix.deposit(owner.pubkey(), main, quote, 1_000 * USDC)], owner))
    trader = Trader(owner, main)
    for n, mint in enumerate(mints, start=1):
        if n > 1:
            assert v.deposit(trader, mint, 10 * SOL).ok
        table.record(f"view_health_{n}", v.send([ix.view_health(main, v.health(main))]))
        table.record(f"withdraw_{n}", v.withdraw(trader, quote, USDC))
    # Perp positions count in the same checks: qd-trading's accounts written into the chain, one
    # market per asset feed, a small long in each (flat markets cost the same: every position is
    # valued with its orders).
    for k, (_, feed) in enumerate(assets):
        market = trading_state.PerpMarket(index=k, init_margin_bps=1_000, maint_margin_bps=500, upnl_init_weight_bps=5_000,
                                          upnl_maint_weight_bps=8_000, oracle=feed, guards=collateral.DEFAULT_GUARDS)
        forge(chain, trading_state.encode_market(market), trading_state.PROGRAM_ID, 10**9, trading_state.market_address(k))
    for n in (1, len(assets)):
        positions = [trading_state.Position(k, base=SOL // 100, quote_entry=-(k + 1) * USDC // 10) for k in range(n)]
        account = trading_state.TradingAccount(margin_account=main, owner=owner.pubkey(), positions=positions)
        forge(chain, account.encode(), trading_state.PROGRAM_ID, 10**9, trader.trading)
        table.record(f"view_health_8_perps_{n}", v.send([ix.view_health(main, v.health(main))]))
        table.record(f"withdraw_8_perps_{n}", v.withdraw(trader, quote, USDC))
    table.record("transfer_8_perps_7", v.transfer(trader, sub, quote, USDC))
    table.record("adjust_balance", chain.send_unverified([ix.adjust_balance(collateral_core_authority(), quote, sub, -USDC // 2)]))
    table.record("withdraw_all_1", v.withdraw(Trader(owner, sub), quote, USDC // 2))
    table.record("close_balances", v.send([ix.close_balances(owner.pubkey(), sub)], owner))
    for prefix in ("withdraw", "view_health"):
        table.derive(f"{prefix}_per_extra_collateral", max(curve(table, prefix)))
    return table


def collateral_core_authority() -> Pubkey:
    """qd-core's [b"authority"] PDA: adjust_balance alone, with the signature its CPI would grant."""
    return Pubkey.find_program_address([collateral.AUTHORITY_SEED], core.PROGRAM_ID)[0]

