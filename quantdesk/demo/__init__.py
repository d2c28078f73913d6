"""`make demo`: the QuantDesk programs end to end on the local validator, through the same
anchorpy/solana-py clients a desk would point at a real cluster. Each part is a module."""
from __future__ import annotations

from anchorpy import Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

from quantdesk.clients.oracle import OracleClient
from quantdesk.demo import access, advanced, collateral, keepers, liquidation, oracle, trading
from quantdesk.demo.common import fund
from quantdesk.localnet import run_in_background


async def run() -> int:
    async with run_in_background(log_level="warning") as node:
        print(f"local validator: {node.rpc_url} (PubSub {node.ws_url})\n")
        connection = AsyncClient(node.rpc_url, commitment=Confirmed)
        try:
            authority = Keypair()
            await fund(connection, authority)
            actors = await access.run(connection, node.rpc_url, authority)
            print()
            publishers = await oracle.run(OracleClient(Provider(connection, Wallet(authority))), actors.oracle_admin)
            print()
            symbols = await collateral.run(connection, authority, actors, publishers)
            print()
            await trading.run(connection, node.rpc_url, authority, actors, publishers, symbols)
            print()
            await liquidation.run(connection, node.rpc_url, authority, actors, publishers)
            print()
            await keepers.run(connection, node.rpc_url, node.ws_url, authority, actors, publishers)
            print()
            await advanced.run(connection, node.rpc_url, node.ws_url, authority, actors, publishers)
        finally:
            await connection.close()
    print("\nlocal validator stopped")
    return 0
