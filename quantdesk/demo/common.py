"""Helpers every demo part uses: funding wallets on the local validator, printing amounts and
printing the named error of a refused attempt."""
from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

from quantdesk.clients import idl
from quantdesk.clients.errors import ProgramError
from quantdesk.clients.health import format_quote
from quantdesk.world import SOL


async def fund(connection: AsyncClient, *who: Keypair, sol: int = 10) -> None:
    """Airdrops `sol` SOL to each wallet (the local validator's faucet)."""
    for kp in who:
        sig = (await connection.request_airdrop(kp.pubkey(), sol * SOL)).value
        await connection.confirm_transaction(sig, commitment=Confirmed)


# Amounts in quote units / 6-decimal prices, as every demo prints them.
usd = format_quote


async def refused(label: str, program: str, attempt: Awaitable[Any]) -> None:
    """Runs a simulation that must fail and prints the program's named error."""
    try:
        await attempt
    except ProgramError as e:
        print(f"  {label:<62} refused: {idl.error_name(program, e.code or 0)}")
        return
    raise AssertionError(f"{label}: expected a refusal")
