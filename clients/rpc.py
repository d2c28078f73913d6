"""The RPC half every program client shares: the anchorpy Program bound to a Provider, account
reads batched through getMultipleAccounts, and sends and simulations that fail with one set of
named exceptions (clients/errors).

Round trips: `AccountReads.load` reads any number of accounts (100 keys a getMultipleAccounts
call, all calls of one load in a single HTTP request: a JSON-RPC batch), with the latest
blockhash in that same request when asked. `ProgramClient.submit` sends in one HTTP request
that also asks getTransaction for the signature: a node that executes before answering (the
local validator) confirms it there and then, with its logs and return data; elsewhere it polls
getTransaction (with getBlockHeight, one request a poll) until the transaction is confirmed or
its blockhash expires. A simulation is one request (the node replaces the blockhash)."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from anchorpy import Program, Provider
from quantdesk.clients import errors, idl
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solders.account import Account
from solders.account_decoder import UiAccountEncoding
from solders.commitment_config import CommitmentLevel
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.config import RpcAccountInfoConfig, RpcContextConfig, RpcSendTransactionConfig, RpcSimulateTransactionConfig, RpcTransactionConfig
from solders.rpc.requests import GetBlockHeight, GetLatestBlockhash, GetMultipleAccounts, GetTransaction, SendRawTransaction, SimulateVersionedTransaction
from solders.rpc.responses import (
    GetBlockHeightResp,
    GetLatestBlockhashResp,
    GetMultipleAccountsResp,
    GetTransactionResp,
    RpcSimulateTransactionResult,
    SendTransactionResp,
    SimulateTransactionResp,
)
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import EncodedConfirmedTransactionWithStatusMeta, UiTransactionEncoding, UiTransactionStatusMeta

__all__ = ["AccountReads", "Blockhash", "CONFIRM_POLL_SECS", "CONFIRM_TIMEOUT_SECS", "MAX_MULTIPLE_ACCOUNTS", "ProgramClient", "Receipt",
           "fetch_blockhash", "rpc_request", "simulation_result"]



MAX_MULTIPLE_ACCOUNTS = 100
"""Keys per getMultipleAccounts call (agave's limit)."""
CONFIRM_POLL_SECS = 0.4
CONFIRM_TIMEOUT_SECS = 90.0

_Body = Any
"""A solders request object (solders.rpc.requests)."""


def _commitment(connection: AsyncClient) -> CommitmentLevel:
    return CommitmentLevel.from_string(str(connection.commitment))


def _confirmed(connection: AsyncClient) -> CommitmentLevel:
    """getTransaction's commitment: the connection's, at least confirmed (it has no processed)."""
    level = _commitment(connection)
    return CommitmentLevel.Confirmed if level == CommitmentLevel.Processed else level


async def rpc_request(connection: AsyncClient, bodies: Sequence[_Body]) -> list[dict[str, Any]]:
    """Sends `bodies` (solders requests with distinct ids) in one HTTP request, a JSON-RPC batch
    when there are several, and returns the raw answers in the order of `bodies`."""
    provider = connection._provider  # solana-py's HTTP transport: its session sends batches too
    raw = await (provider.make_request_unparsed(bodies[0]) if len(bodies) == 1 else provider.make_batch_request_unparsed(tuple(bodies)))
    decoded = json.loads(raw)
    answers = {a.get("id"): a for a in (decoded if isinstance(decoded, list) else [decoded])}
    return [answers.get(b.id, {"error": {"code": None, "message": f"no answer to request {b.id}"}}) for b in bodies]


class _Response(Protocol):
    """A solders response class (solders.rpc.responses)."""

    @staticmethod
    def from_json(raw: str) -> object: ...


_R = TypeVar("_R", bound=_Response)


def _parse(parser: type[_R], answer: dict[str, Any]) -> _R:
    """`answer` parsed by solders' `parser`; an error answer raises RPCException (as solana-py's calls do):
    with solders' RPCError, or with the answer's error object for a code solders does not know (it
    parses those as the bare code, an int)."""
    parsed = parser.from_json(json.dumps(answer))
    if isinstance(parsed, parser):
        return parsed
    raise RPCException(answer.get("error", parsed) if isinstance(parsed, int) else parsed)


@dataclass(frozen=True)
class Blockhash:
    """A recent blockhash and the last block height at which a transaction on it can land."""

    hash: Hash
    last_valid_block_height: int


def _blockhash_body(connection: AsyncClient, request_id: int) -> GetLatestBlockhash:
    return GetLatestBlockhash(RpcContextConfig(_commitment(connection)), id=request_id)


def _blockhash_from(answer: dict[str, Any]) -> Blockhash:
    value = _parse(GetLatestBlockhashResp, answer).value
    return Blockhash(value.blockhash, value.last_valid_block_height)


async def fetch_blockhash(connection: AsyncClient) -> Blockhash:
    """The latest blockhash (one request)."""
    return _blockhash_from((await rpc_request(connection, [_blockhash_body(connection, 0)]))[0])


class AccountReads:
    """One operation's view of the chain: each account read once, with getMultipleAccounts (up to
    100 keys a call, every call of a `load` in one HTTP request), optionally with the latest
    blockhash in the same request."""

    def __init__(self, connection: AsyncClient) -> None:
        self.connection = connection
        self.accounts: dict[Pubkey, Account | None] = {}
        self.blockhash: Blockhash | None = None

    async def load(self, keys: Iterable[Pubkey], blockhash: bool = False) -> None:
        """Reads those of `keys` not read yet (and the blockhash, when asked and not read yet):
        one HTTP request, none when there is nothing new to read."""
        missing = list(dict.fromkeys(k for k in keys if k not in self.accounts))
        chunks = [missing[i:i + MAX_MULTIPLE_ACCOUNTS] for i in range(0, len(missing), MAX_MULTIPLE_ACCOUNTS)]
        config = RpcAccountInfoConfig(UiAccountEncoding.Base64, commitment=_commitment(self.connection))
        bodies: list[_Body] = [GetMultipleAccounts(chunk, config, id=i) for i, chunk in enumerate(chunks)]
        want_blockhash = blockhash and self.blockhash is None
        if want_blockhash:
            bodies.append(_blockhash_body(self.connection, len(bodies)))
        if not bodies:
            return
        answers = await rpc_request(self.connection, bodies)
        for chunk, answer in zip(chunks, answers):
            self.accounts.update(zip(chunk, _parse(GetMultipleAccountsResp, answer).value))
        if want_blockhash:
            self.blockhash = _blockhash_from(answers[-1])

    def get(self, key: Pubkey) -> Account | None:
        """The account at `key` as read (None: no account); `KeyError` if it was never loaded."""
        return self.accounts[key]

    def data(self, key: Pubkey, owner: Pubkey, what: str = "account") -> bytes:
        """The data of the account at `key`: `LookupError` if there is none, `ValueError` if
        `owner` does not own it."""
        info = self.get(key)
        if info is None:
            raise LookupError(f"no {what} at {key}")
        if info.owner != owner:
            raise ValueError(f"{key} is not owned by {idl.program_names().get(owner, str(owner)).replace('_', '-')}")
        return bytes(info.data)

    def owned_data(self, key: Pubkey, owner: Pubkey) -> bytes | None:
        """The data of the account at `key` when `owner` owns one there, else None."""
        info = self.get(key)
        return bytes(info.data) if info is not None and info.owner == owner else None


@dataclass(frozen=True)
class Receipt:
    """A confirmed, successful transaction: its signature, slot, logs, return data (b"" when
    none was set) and compute units."""

    signature: Signature
    slot: int
    logs: list[str]
    return_data: bytes
    compute_units: int | None


class ProgramClient:
    """A program's client over an RPC node (the local validator or a cluster)."""

    def __init__(self, name: str, provider: Provider) -> None:
        self.program: Program = idl.program(name, provider)
        self.connection: AsyncClient = provider.connection

    def reads(self) -> AccountReads:
        """A fresh view for one operation's batched reads."""
        return AccountReads(self.connection)

    async def fetch_account_data(self, address: Pubkey, what: str = "account") -> bytes:
        """The data of the account at `address`: `LookupError` if there is none, `ValueError` if
        this program does not own it."""
        reads = self.reads()
        await reads.load([address])
        return reads.data(address, self.program.program_id, what)

    def signed(self, instructions: Sequence[Instruction], signers: Sequence[Keypair], blockhash: Hash) -> VersionedTransaction:
        """A transaction on `blockhash`, paid and signed by the provider's wallet, co-signed by `signers`."""
        wallet = self.program.provider.wallet
        message = Message.new_with_blockhash(list(instructions), wallet.public_key, blockhash)
        keys = {wallet.public_key: wallet.payer} | {s.pubkey(): s for s in signers}  # a signer may also be the payer
        return VersionedTransaction(message, list(keys.values()))

    async def submit(self, instructions: Sequence[Instruction], signers: Sequence[Keypair] = (), blockhash: Blockhash | None = None,
                     skip_preflight: bool = False) -> Receipt:
        """Signs with the provider's wallet (fee payer) and `signers`, on `blockhash` (fetched
        when None), sends, confirms and returns the Receipt. A failure, in the node's preflight
        simulation or on chain, raises `errors.ProgramError` (a program's custom error) or
        another `errors.TransactionFailed`."""
        recent = blockhash if blockhash is not None else await fetch_blockhash(self.connection)
        tx = self.signed(instructions, signers, recent.hash)
        signature, program_ids = tx.signatures[0], [ix.program_id for ix in instructions]
        config = RpcSendTransactionConfig(skip_preflight=skip_preflight, preflight_commitment=_commitment(self.connection))
        send = SendRawTransaction(bytes(tx), config, id=0)
        sent, landed = await rpc_request(self.connection, [send, self._get_transaction(signature, 1)])
        if "error" in sent:
            raise errors.from_rpc_error(sent["error"], SendTransactionResp.from_json(json.dumps(sent)), program_ids)
        found = _parse(GetTransactionResp, landed).value
        if found is None:
            found = await self._await_confirmation(signature, recent.last_valid_block_height)
        return self._receipt(signature, found, program_ids)

    async def send(self, instructions: Sequence[Instruction], signers: Sequence[Keypair] | None = None, blockhash: Blockhash | None = None) -> Signature:
        """`submit`, returning the signature."""
        return (await self.submit(instructions, signers or (), blockhash)).signature

    def _get_transaction(self, signature: Signature, request_id: int) -> GetTransaction:
        config = RpcTransactionConfig(UiTransactionEncoding.Json, commitment=_confirmed(self.connection), max_supported_transaction_version=0)
        return GetTransaction(signature, config, id=request_id)

    async def _await_confirmation(self, signature: Signature, last_valid_block_height: int) -> EncodedConfirmedTransactionWithStatusMeta:
        """Polls getTransaction (with getBlockHeight, one request a poll) until `signature` is
        confirmed; `TransactionExpired` once the block height passes the blockhash's last valid
        one, or after CONFIRM_TIMEOUT_SECS."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONFIRM_TIMEOUT_SECS
        while loop.time() < deadline:
            await asyncio.sleep(CONFIRM_POLL_SECS)
            height = GetBlockHeight(RpcContextConfig(_commitment(self.connection)), id=1)
            landed, block_height = await rpc_request(self.connection, [self._get_transaction(signature, 0), height])
            found = _parse(GetTransactionResp, landed).value
            if found is not None:
                return found
            if _parse(GetBlockHeightResp, block_height).value > last_valid_block_height:
                raise errors.TransactionExpired(f"{signature} was not confirmed before its blockhash expired", signature=signature)
        raise errors.TransactionExpired(f"{signature} was not confirmed within {CONFIRM_TIMEOUT_SECS:.0f} s", signature=signature)

    @staticmethod
    def _receipt(signature: Signature, found: EncodedConfirmedTransactionWithStatusMeta, program_ids: Sequence[Pubkey]) -> Receipt:
        meta = found.transaction.meta
        logs = list(meta.log_messages or []) if meta is not None else []
        if meta is not None and meta.err is not None:
            raise errors.from_transaction_error(meta.err, logs, program_ids, signature)
        data = meta.return_data if meta is not None else None
        units = meta.compute_units_consumed if meta is not None else None
        return Receipt(signature, found.slot, logs, bytes(data.data) if data is not None else b"", units)

    async def fetch_meta(self, signature: Signature) -> UiTransactionStatusMeta:
        """The status meta of a confirmed transaction (`LookupError` if there is none)."""
        tx = _parse(GetTransactionResp, (await rpc_request(self.connection, [self._get_transaction(signature, 0)]))[0]).value
        if tx is None or tx.transaction.meta is None:
            raise LookupError(f"transaction {signature} not found")
        return tx.transaction.meta

    async def fetch_logs(self, signature: Signature) -> list[str]:
        """The program logs of a confirmed transaction (for its Anchor events)."""
        return list((await self.fetch_meta(signature)).log_messages or [])

    async def fetch_return_data(self, signature: Signature) -> bytes:
        """The return data a confirmed transaction ended with (b"" when none was set)."""
        data = (await self.fetch_meta(signature)).return_data
        return bytes(data.data) if data is not None else b""

    async def simulate(self, instructions: Sequence[Instruction], signers: Sequence[Keypair] | None = None) -> bytes:
        """Runs `instructions` in a simulation (one request: the node puts in its latest
        blockhash) and returns their return data; a failure raises `errors.ProgramError` or
        another `errors.TransactionFailed`, with the logs."""
        [data] = await self.simulate_each([instructions], signers)
        return data

    async def simulate_each(self, transactions: Sequence[Sequence[Instruction]], signers: Sequence[Keypair] | None = None) -> list[bytes]:
        """Simulates each instruction list as its own transaction, all in one HTTP request, and
        returns their return data in order; the first failure raises as `simulate` does."""
        config = RpcSimulateTransactionConfig(sig_verify=False, replace_recent_blockhash=True, commitment=_commitment(self.connection))
        bodies = [SimulateVersionedTransaction(self.signed(ixs, signers or (), Hash.default()), config, id=i) for i, ixs in enumerate(transactions)]
        answers = await rpc_request(self.connection, bodies) if bodies else []
        return [_simulated(answer, [ix.program_id for ix in ixs]) for ixs, answer in zip(transactions, answers)]


def simulation_result(answer: dict[str, Any], program_ids: Sequence[Pubkey]) -> RpcSimulateTransactionResult:
    """A simulateTransaction answer's result (units consumed, logs, return data), or its failure
    raised by name. `program_ids`: the program of each top-level instruction."""
    parsed = SimulateTransactionResp.from_json(json.dumps(answer))
    if "error" in answer or not isinstance(parsed, SimulateTransactionResp):  # RPCError (or a bare code): solders parses no other error answer
        raise errors.from_rpc_error(answer.get("error", {}), parsed, program_ids, simulated=True)
    sim = parsed.value
    if sim.err is not None:
        raise errors.from_transaction_error(sim.err, list(sim.logs or []), program_ids, simulated=True)
    return sim


def _simulated(answer: dict[str, Any], program_ids: Sequence[Pubkey]) -> bytes:
    """The return data of a simulateTransaction answer, or its failure raised by name."""
    sim = simulation_result(answer, program_ids)
    return bytes(sim.return_data.data) if sim.return_data is not None else b""
