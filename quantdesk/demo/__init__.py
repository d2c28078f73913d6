"""`make demo`: the QuantDesk programs end to end on the local validator, through the same
anchorpy/solana-py clients a desk would point at a real cluster. Each part is a module; the
indexer follows the whole demo and the last part (records) reads what it stored."""
from __future__ import annotations

from anchorpy import Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

from quantdesk.clients.oracle import OracleClient
from quantdesk.demo import access, advanced, collateral, keepers, liquidation, oracle, records, trading
from quantdesk.demo.common import fund
from quantdesk.localnet import run_in_background


async def run() -> int:
    async with run_in_background(log_level="warning") as node:
        print(f"local validator: {node.rpc_url} (PubSub {node.ws_url})\n")
        connection = AsyncClient(node.rpc_url, commitment=Confirmed)
        try:
            async with records.indexing(node.rpc_url, node.ws_url) as indexer:
                await _parts(connection, node.rpc_url, node.ws_url)
                print()
                await records.run(connection, node.rpc_url, indexer)
        finally:
            await connection.close()
    print("\nlocal validator stopped")
    return 0


async def _parts(connection: AsyncClient, rpc_url: str, ws_url: str) -> None:
    """The venue's parts, in order, each on what the ones before set up."""
    authority = Keypair()
    await fund(connection, authority)
    actors = await access.run(connection, rpc_url, authority)
    print()
    publishers = await oracle.run(OracleClient(Provider(connection, Wallet(authority))), actors.oracle_admin)
    print()
    symbols = await collateral.run(connection, authority, actors, publishers)
    print()
    await trading.run(connection, rpc_url, authority, actors, publishers, symbols)
    print()
    await liquidation.run(connection, rpc_url, authority, actors, publishers)
    print()
    await keepers.run(connection, rpc_url, ws_url, authority, actors, publishers)
    print()
    await advanced.run(connection, rpc_url, ws_url, authority, actors, publishers)
