"""Demo part 3, qd-collateral and the health engine: the admin lists USDC (the quote, priced at 1)
and a SOL-like token priced by the SOL/USD feed; the desk deposits both into its master account,
moves SOL to a sub-account, withdraws, and is refused what it may not do; each account's health
is computed off-chain with the engine's Python mirror and checked against the program's own
`view_health`; the vaults hold exactly the balances."""
from __future__ import annotations

import dataclasses

from anchorpy import Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.clients import collateral, oracle, token
from quantdesk.clients.collateral import CollateralClient
from quantdesk.clients.oracle import OracleClient
from quantdesk.demo.access import Actors
from quantdesk.demo.common import fund, refused
from quantdesk.world import QUOTE_PARAMS, SOL, SOL_PARAMS, USDC

SOL_FEED = "SOL/USD"


async def run(connection: AsyncClient, super_admin: Keypair, actors: Actors, publishers: list[Keypair]) -> dict[Pubkey, str]:
    """Returns the listed mints' symbols (later parts print the same tables)."""
    print("== qd-collateral: cross-collateral deposits, withdrawals, transfers and health ==")
    client = CollateralClient(Provider(connection, Wallet(super_admin)))
    feeds = OracleClient(client.program.provider)
    owner, master, alpha = actors.desk.owner, actors.desk.master, actors.desk.accounts[1]
    await fund(connection, owner, sol=2)

    async def fresh_price() -> None:
        """Every publisher publishes SOL/USD again (a quorum): withdrawals need a price valid for
        margin (50 slots, 20 s)."""
        feed = await feeds.fetch_feed(SOL_FEED)
        await feeds.publish_all(SOL_FEED, [(p, feed.price, feed.conf) for p in publishers])

    rent = (await connection.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
    sol_mint = Keypair()
    await client.send(token.create_mint(super_admin.pubkey(), sol_mint.pubkey(), super_admin.pubkey(), 9, rent), [sol_mint])
    usdc, sol = actors.quote_mint, sol_mint.pubkey()
    symbols = {usdc: "USDC", sol: "SOL"}
    await client.send([client.ix.create_collateral(actors.admin.pubkey(), usdc, None, QUOTE_PARAMS),
                       client.ix.create_collateral(actors.admin.pubkey(), sol, oracle.feed_address(SOL_FEED), dataclasses.replace(SOL_PARAMS, account_cap=5_000 * SOL))],
                      [actors.admin])
    for mint in (usdc, sol):
        c = await client.fetch_config(mint)
        oracle_name = "fixed at 1 (quote)" if c.oracle is None else f"{SOL_FEED} feed {c.oracle}"
        print(f"  listed {symbols[mint]:<4} {c.decimals} decimals, weights init {c.params.init_weight_bps / 100:g}% / maint "
              f"{c.params.maint_weight_bps / 100:g}%, vault {c.vault}, price {oracle_name}")

    for mint, amount in ((usdc, 50_000 * USDC), (sol, 200 * SOL)):
        ata = token.associated_address(owner.pubkey(), mint)
        await client.send([token.create_associated_account(super_admin.pubkey(), owner.pubkey(), mint),
                           token.mint_to_instruction(mint, ata, super_admin.pubkey(), amount)])
    await client.send([client.ix.open_balances(owner.pubkey(), master), client.ix.open_balances(owner.pubkey(), alpha)], [owner])

    print("\nthe desk deposits 25,000 USDC and 100 SOL into its master account, then moves 40 SOL to 'alpha'")
    await client.deposit(owner, master, usdc, 25_000 * USDC)
    await client.deposit(owner, master, sol, 100 * SOL)
    await fresh_price()
    await client.transfer(owner, master, alpha, sol, 40 * SOL)
    await client.withdraw(owner, master, usdc, 2_500 * USDC)
    print("  and withdraws 2,500 USDC back to its wallet")

    health = await client.fetch_health_accounts(master)
    await refused("withdraw 100 SOL from master (it holds 60)", collateral.NAME,
                  client.simulate([client.ix.withdraw(owner.pubkey(), master, sol, 100 * SOL, health)], [owner]))
    delegate = actors.desk.delegate
    if delegate is None:
        raise ValueError("the desk's 'alpha' names no delegate")
    await refused("the trader (alpha's delegate) withdraws from alpha", collateral.NAME,
                  client.simulate([client.ix.withdraw(delegate.pubkey(), alpha, sol, SOL, await client.fetch_health_accounts(alpha))], [delegate]))
    await refused("deposit 5,001 SOL into master (per-account cap 5,000)", collateral.NAME,
                  client.simulate([client.ix.deposit(owner.pubkey(), master, sol, 5_001 * SOL)], [owner]))

    print("\nhealth (prices valid for margin; off-chain with clients/health.py, checked against on-chain view_health):")
    for name, margin in (("master", master), ("alpha", alpha)):
        await fresh_price()
        await show_health(client, name, margin, symbols)

    print("\nvaults (conservation: vault amount == sum of balances + protocol balance):")
    for mint in (usdc, sol):
        c = await client.fetch_config(mint)
        vault = await connection.get_token_account_balance(c.vault)
        print(f"  {symbols[mint]:<4} vault {int(vault.value.amount):>16,}  balances {c.total_balances:>16,}  protocol {c.protocol_balance:>4,}")
        assert int(vault.value.amount) == c.total_balances + c.protocol_balance
    return symbols


async def show_health(client: CollateralClient, name: str, margin: Pubkey, symbols: dict[Pubkey, str]) -> None:
    """Prints `margin`'s health table (the Python mirror), once the program's own view_health agrees."""
    report = await client.fetch_health(margin)
    view = await client.fetch_health_view(margin)
    assert (view.init_health, view.maint_health, view.free_collateral, view.health_factor_bps) == (
        report.result.init_health, report.result.maint_health, report.result.free_collateral, report.result.health_factor_bps), (view, report)
    print(f"\n  {name} ({margin}):")
    print("    " + report.table(symbols).replace("\n", "\n    "))
    print("    on-chain view_health: equal")

