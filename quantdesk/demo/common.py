"""Helpers every demo part uses: funding wallets on the local validator and printing amounts."""
from __future__ import annotations

from decimal import Decimal

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

SOL = 1_000_000_000


async def fund(connection: AsyncClient, *who: Keypair, sol: int = 10) -> None:
    """Airdrops `sol` SOL to each wallet (the local validator's faucet)."""
    for kp in who:
        sig = (await connection.request_airdrop(kp.pubkey(), sol * SOL)).value
        await connection.confirm_transaction(sig, commitment=Confirmed)


def usd(value: int, expo: int = -6) -> str:
    """A fixed-point amount (6 decimals by default) as a readable number."""
    return f"{Decimal(value).scaleb(expo):,.6f}"
