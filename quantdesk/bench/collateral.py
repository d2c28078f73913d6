"""qd-collateral CU scenarios: every instruction, and the health check's cost curve: withdraw and
view_health on an account holding 1..8 collateral mints (the quote, then 9-decimal assets each
priced by its own qd-oracle feed), then with 1 and 7 perp positions as well (each market priced by
one of those feeds). The issue's budget: at most 1,500 CU per extra collateral."""
from __future__ import annotations

from solders.account import Account
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from quantdesk.bench.cu import CuTable
from quantdesk.chain import Chain
from quantdesk.clients import collateral, core, oracle, security, token, trading_state
from quantdesk.clients.collateral import MAX_BALANCES, Params

PER_ENTRY_BUDGET = 1_500
USDC, SOL = 10**6, 10**9


def config_on(chain: Chain, mint: Pubkey) -> collateral.CollateralConfig:
    address = collateral.config_address(mint)
    account = chain.account(address)
    assert account is not None, f"no collateral config for {mint}"
    return collateral.decode_config(address, bytes(account.data))


def balances_on(chain: Chain, margin: Pubkey) -> collateral.CollateralBalances:
    address = collateral.balances_address(margin)
    account = chain.account(address)
    assert account is not None, f"no collateral balances for {margin}"
    return collateral.decode_balances(address, bytes(account.data))


def trading_on(chain: Chain, margin: Pubkey) -> trading_state.TradingAccount | None:
    """`margin`'s trading account, None when qd-trading does not own its PDA."""
    account = chain.account(trading_state.trading_address(margin))
    if account is None or account.owner != trading_state.PROGRAM_ID:
        return None
    return trading_state.decode_trading_account(bytes(account.data))


def market_on(chain: Chain, index: int) -> trading_state.PerpMarket:
    account = chain.account(trading_state.market_address(index))
    assert account is not None, f"no perp market {index}"
    return trading_state.decode_market(bytes(account.data))


def health_accounts_on(chain: Chain, margin: Pubkey) -> list[AccountMeta]:
    """`margin`'s health accounts (collateral, then perp positions) from the chain's current state."""
    balances = balances_on(chain, margin)
    trading = trading_on(chain, margin)
    markets = {p.market_index: market_on(chain, p.market_index) for p in (trading.positions if trading is not None else [])}
    return collateral.health_accounts(balances, {e.mint: config_on(chain, e.mint) for e in balances.entries}, trading, markets)


def curve(table: CuTable, prefix: str) -> list[int]:
    """Increments of `prefix`_1..8: the cost of each extra collateral."""
    values = [table.cu[f"{prefix}_{n}"] for n in range(1, MAX_BALANCES + 1)]
    return [b - a for a, b in zip(values, values[1:])]


def measure() -> CuTable:
    table = CuTable("qd_collateral", {"withdraw_per_extra_collateral": PER_ENTRY_BUDGET, "view_health_per_extra_collateral": PER_ENTRY_BUDGET})
    chain = Chain()
    ix, sec, cix, oix = collateral.CollateralInstructions(), security.SecurityInstructions(), core.CoreInstructions(), oracle.OracleInstructions()
    admin = chain.payer
    quote = chain.create_mint(6)
    assert chain.send([sec.initialize(admin.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY), cix.initialize(admin.pubkey(), quote)]).ok
    publisher = chain.keypair()
    assets: list[tuple[Pubkey, Pubkey]] = []
    for k in range(MAX_BALANCES - 1):
        symbol = f"ASSET{k}/USD"
        assert chain.send([oix.initialize_feed(admin.pubkey(), symbol, -6, 30, [publisher.pubkey()])]).ok
        feed = oracle.feed_address(symbol)
        assert chain.send([oix.publish(publisher.pubkey(), feed, (k + 1) * 10 * USDC, 10_000, chain.clock.unix_timestamp)], [publisher]).ok
        assets.append((chain.create_mint(9), feed))
    table.record("create_collateral_quote", chain.send([ix.create_collateral(admin.pubkey(), quote, None, Params(10_000, 10_000, 10**15))]))
    first, first_feed = assets[0]
    table.record("create_collateral", chain.send([ix.create_collateral(admin.pubkey(), first, first_feed, Params(8_000, 9_000, 10**15))]))
    for mint, feed in assets[1:]:
        assert chain.send([ix.create_collateral(admin.pubkey(), mint, feed, Params(8_000, 9_000, 10**15))]).ok
    # Timelocked: the figures are the proposals' executions (qd-security invoking the change).
    table.record("set_collateral_params", security.enact_instruction(chain, admin, ix.set_collateral_params(first, Params(7_500, 9_000, 10**15))))
    table.record("set_collateral_oracle", security.enact_instruction(chain, admin, ix.set_collateral_oracle(first, first_feed, collateral.DEFAULT_GUARDS)))

    owner = chain.keypair()
    main, sub = core.margin_account_address(owner.pubkey(), 0), core.margin_account_address(owner.pubkey(), 1)
    assert chain.send([cix.create_margin_account(owner.pubkey(), 0), cix.create_margin_account(owner.pubkey(), 1)], [owner]).ok
    table.record("open_balances", chain.send([ix.open_balances(owner.pubkey(), main)], [owner]))
    assert chain.send([ix.open_balances(owner.pubkey(), sub)], [owner]).ok
    mints = [quote] + [m for m, _ in assets]
    for mint in mints:
        ata = token.associated_address(owner.pubkey(), mint)
        assert chain.send([token.create_associated_account(admin.pubkey(), owner.pubkey(), mint),
                           token.mint_to_instruction(mint, ata, admin.pubkey(), 10**12)]).ok

    table.record("deposit_new_entry", chain.send([ix.deposit(owner.pubkey(), main, quote, 1_000 * USDC)], [owner]))
    table.record("deposit", chain.send([ix.deposit(owner.pubkey(), main, quote, 1_000 * USDC)], [owner]))
    for n, mint in enumerate(mints, start=1):
        if n > 1:
            assert chain.send([ix.deposit(owner.pubkey(), main, mint, 10 * SOL)], [owner]).ok
        table.record(f"view_health_{n}", chain.send([ix.view_health(main, health_accounts_on(chain, main))]))
        table.record(f"withdraw_{n}", chain.send([ix.withdraw(owner.pubkey(), main, quote, USDC, health_accounts_on(chain, main))], [owner]))
    # Perp positions count in the same checks: qd-trading's accounts written into the chain, one
    # market per asset feed, a small long in each (flat markets cost the same: every position is
    # valued with its orders).
    for k, (_, feed) in enumerate(assets):
        market = trading_state.PerpMarket(index=k, init_margin_bps=1_000, maint_margin_bps=500, upnl_init_weight_bps=5_000,
                                          upnl_maint_weight_bps=8_000, oracle=feed, guards=collateral.DEFAULT_GUARDS)
        chain.set_account(trading_state.market_address(k), Account(10**9, trading_state.encode_market(market), trading_state.PROGRAM_ID))
    for n in (1, len(assets)):
        positions = [trading_state.Position(k, base=SOL // 100, quote_entry=-(k + 1) * USDC // 10) for k in range(n)]
        account = trading_state.TradingAccount(margin_account=main, owner=owner.pubkey(), positions=positions)
        chain.set_account(trading_state.trading_address(main), Account(10**9, account.encode(), trading_state.PROGRAM_ID))
        table.record(f"view_health_8_perps_{n}", chain.send([ix.view_health(main, health_accounts_on(chain, main))]))
        table.record(f"withdraw_8_perps_{n}", chain.send([ix.withdraw(owner.pubkey(), main, quote, USDC, health_accounts_on(chain, main))], [owner]))
    table.record("transfer_8_perps_7", chain.send([ix.transfer(owner.pubkey(), main, sub, quote, USDC, health_accounts_on(chain, main))], [owner]))
    table.record("adjust_balance", chain.send_unverified([ix.adjust_balance(collateral_core_authority(), quote, sub, -USDC // 2)]))
    table.record("withdraw_all_1", chain.send([ix.withdraw(owner.pubkey(), sub, quote, USDC // 2, health_accounts_on(chain, sub))], [owner]))
    table.record("close_balances", chain.send([ix.close_balances(owner.pubkey(), sub)], [owner]))
    for prefix in ("withdraw", "view_health"):
        table.derive(f"{prefix}_per_extra_collateral", max(curve(table, prefix)))
    return table


def collateral_core_authority() -> Pubkey:
    """qd-core's [b"authority"] PDA: adjust_balance alone, with the signature its CPI would grant."""
    return Pubkey.find_program_address([collateral.AUTHORITY_SEED], core.PROGRAM_ID)[0]

