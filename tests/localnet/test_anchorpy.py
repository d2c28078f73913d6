"""anchorpy against the local validator, with the QuantDesk oracle program deployed from
target/deploy/qd_oracle.so: Provider + Program send transactions, fetch and scan accounts
(getProgramAccounts with anchorpy's discriminator memcmp), parse events from the logs, and
read return data from a simulation."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from anchorpy import Context, EventParser, Idl, Program, Provider, Wallet
from anchorpy.error import ProgramError
from quantdesk.clients import security
from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import connect
from solders.clock import Clock
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.responses import AccountNotification
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import VersionedTransaction

from quantdesk.localnet import LocalnetProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
IDL = Idl.from_json((ROOT / "idl" / "qd_oracle.json").read_text())
PROGRAM_ID = Pubkey.from_string("C9Vy9ftWPhg7cXG4THhSUNXTwbnRa5xjRE6gy3DjP7Yf")
CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")


def symbol_bytes(symbol: str) -> list[int]:
    return list(symbol.encode().ljust(16, b"\0"))


async def cluster_time(client: AsyncClient) -> int:
    info = (await client.get_account_info(CLOCK_SYSVAR)).value
    assert info is not None
    return Clock.from_bytes(info.data).unix_timestamp


async def test_oracle_program_through_anchorpy(node: LocalnetProcess) -> None:
    authority, publisher = Keypair(), Keypair()
    async with AsyncClient(node.rpc_url) as client:
        await client.request_airdrop(authority.pubkey(), 10**10)
        await client.request_airdrop(publisher.pubkey(), 10**10)
        provider = Provider(client, Wallet(authority))
        program = Program(IDL, PROGRAM_ID, provider)
        # Feeds are created by ORACLE_ADMIN holders: the authority becomes qd-security's super-admin.
        await security.SecurityClient(provider).send([security.SecurityInstructions().initialize(authority.pubkey())])
        symbol = f"T{Keypair().pubkey()}"[:12]
        feed = Pubkey.find_program_address([b"feed", bytes(symbol_bytes(symbol))], PROGRAM_ID)[0]

        init_sig = await program.rpc["initialize_feed"](
            symbol_bytes(symbol), -6, 60, [publisher.pubkey()], 1, 20,
            ctx=Context(accounts={"authority": authority.pubkey(), "security_config": security.CONFIG,
                                  "feed": feed, "system_program": SYSTEM_PROGRAM_ID, "instructions": security.INSTRUCTIONS_SYSVAR}))
        account = await program.account["PriceFeed"].fetch(feed)
        assert account.authority == authority.pubkey()
        assert list(account.publishers[: account.num_publishers]) == [publisher.pubkey()]

        async with connect(node.ws_url) as ws:
            await ws.account_subscribe(feed, encoding="base64")
            await ws.recv()
            publish_time = await cluster_time(client)
            publish_sig = await program.rpc["publish"](
                123_450_000, 10_000, publish_time,
                ctx=Context(accounts={"publisher": publisher.pubkey(), "feed": feed},
                            signers=[publisher]))
            (note,) = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(note, AccountNotification)
            pushed = program.coder.accounts.decode(note.result.value.data)
            assert pushed.price == 123_450_000

        fetched = await program.account["PriceFeed"].fetch(feed)
        assert (fetched.price, fetched.conf) == (123_450_000, 10_000)
        assert fetched.latest[0].publish_time == publish_time  # the aggregate is cluster-stamped
        # .all() is getProgramAccounts with a memcmp on the account discriminator
        feeds = {f.public_key for f in await program.account["PriceFeed"].all()}
        assert feed in feeds

        events = []
        parser = EventParser(PROGRAM_ID, program.coder)
        for sig in (init_sig, publish_sig):
            tx = (await client.get_transaction(sig)).value
            assert tx is not None and tx.transaction.meta.err is None
            parser.parse_logs(tx.transaction.meta.log_messages, events.append)
        assert [e.name for e in events] == ["FeedInitialized", "PricePublished"]
        assert events[1].data.price == 123_450_000 and events[1].data.publisher == publisher.pubkey()

        simulated = await program.simulate["read_price"](
            0, None, ctx=Context(accounts={"oracle": feed}))
        assert simulated.raw  # the program's logs came back from simulateTransaction
        sim = (await client.simulate_transaction(
            await _signed_read_price(program, feed, authority))).value
        assert sim.err is None and sim.return_data is not None
        assert sim.return_data.program_id == PROGRAM_ID
        price = program.coder.types.decode("NormalizedPrice", bytes(sim.return_data.data))
        assert price.price == 123_450_000

        # a preflight failure carries the program's error: anchorpy maps it to the IDL's error
        with pytest.raises(ProgramError) as info:
            await program.rpc["publish"](
                200_000_000, 1, publish_time,  # publish_time must increase
                ctx=Context(accounts={"publisher": publisher.pubkey(), "feed": feed},
                            signers=[publisher]))
        assert info.value.code == 6101  # NonIncreasingPublishTime


async def _signed_read_price(program: Program, feed: Pubkey,
                             payer: Keypair) -> VersionedTransaction:
    ix = program.instruction["read_price"](0, None, ctx=Context(accounts={"oracle": feed}))
    blockhash = (await program.provider.connection.get_latest_blockhash()).value.blockhash
    return VersionedTransaction(Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer])
