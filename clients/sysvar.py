"""Cluster sysvars read over RPC."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from quantdesk.clients.rpc import AccountReads
from solana.rpc.async_api import AsyncClient
from solders.pubkey import Pubkey

__all__ = ["CLOCK", "ClockSysvar", "SYSVAR_OWNER", "decode_clock", "fetch_clock"]



CLOCK = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")


@dataclass(frozen=True)
class ClockSysvar:
    slot: int
    epoch_start_timestamp: int
    epoch: int
    leader_schedule_epoch: int
    unix_timestamp: int


def decode_clock(data: bytes) -> ClockSysvar:
    """The Clock sysvar's data as programs see it (slot and unix time for publish times and staleness)."""
    return ClockSysvar(*struct.unpack_from("<QqQQq", data))


async def fetch_clock(connection: AsyncClient) -> ClockSysvar:
    """The Clock sysvar as programs see it, read now."""
    reads = AccountReads(connection)
    await reads.load([CLOCK])
    return decode_clock(reads.data(CLOCK, SYSVAR_OWNER, "Clock sysvar"))
