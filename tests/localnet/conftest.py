"""A local validator subprocess shared by the tests of this package (one per session)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed

from quantdesk.localnet import LocalnetProcess, run_in_background


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def node() -> AsyncIterator[LocalnetProcess]:
    # 100 ms slots keep tests that wait for slots short.
    # The workspace root, so the programs of Anchor.toml in target/deploy/ are deployed.
    async with run_in_background(slot_ms=100, root=Path(__file__).resolve().parents[2]) as process:
        yield process


@pytest_asyncio.fixture(loop_scope="session")
async def client(node: LocalnetProcess) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(node.rpc_url, commitment=Confirmed) as c:
        yield c
