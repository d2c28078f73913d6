"""Cluster sysvars read over RPC."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from solana.rpc.async_api import AsyncClient
from solders.pubkey import Pubkey

CLOCK = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")


@dataclass(frozen=True)
class ClockSysvar:
    slot: int
    epoch_start_timestamp: int
    epoch: int
    leader_schedule_epoch: int
    unix_timestamp: int


async def clock(connection: AsyncClient) -> ClockSysvar:
    """The Clock sysvar as programs see it (slot and unix time for publish times and staleness)."""
    info = (await connection.get_account_info(CLOCK)).value
    if info is None:
        raise LookupError("the Clock sysvar account is missing")
    return ClockSysvar(*struct.unpack_from("<QqQQq", bytes(info.data)))
