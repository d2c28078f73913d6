"""The transaction sender: the one way every keeper bot sends a transaction.

`send(bot, key, instructions)`:
- one send per work key at a time: a second send of a key in flight returns IN_FLIGHT, sends nothing;
- priority fee: the configured percentile (nearest rank) of getRecentPrioritizationFees over the
  instructions' writable accounts, capped; the payer is left out (its fees are only the keeper's
  own, which would ratchet the fee up). SetComputeUnitPrice is omitted when the fee is 0;
- compute-unit limit: the simulation's unitsConsumed (of the very instructions sent, budget
  instructions included) times the margin, rounded up, at most max_cu (SetComputeUnitLimit);
- blockhash: a cached one, refreshed in the background and fetched when older than the
  configured age;
- sent with skipPreflight (it was just simulated), confirmed by signatureSubscribe on one shared
  websocket (keeper/signatures.py), then getSignatureStatuses when no notification came in time;
- retries with capped exponential backoff on transient errors only: HTTP errors and timeouts,
  RPC errors -32603/-32005/-32004/-32016, a confirmation timeout the status check confirms. An
  unconfirmed transaction is resent as it is (same signature: it cannot land twice) until its
  blockhash expires (block height past lastValidBlockHeight); only then is it built again on a
  fresh blockhash. A transaction handed to sendTransaction may be on the node even when the answer
  was lost (a timeout): out of attempts, it ends EXPIRED with its signature, never FAILED, so no
  caller takes it for undone. A program error, in simulation or on chain, is never retried: it is
  decoded by name (clients/errors.py) and is a LOST_RACE when the caller lists it in `lost_race`,
  else FAILED.

`close()` stops new sends (SenderClosed), lets those in flight confirm for close_grace_secs (no
retry is sent after close) and logs their outcomes."""
from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import OrderedDict
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

import httpx
from quantdesk.clients import errors, idl
from quantdesk.clients.rpc import Blockhash, fetch_blockhash, rpc_request, simulation_result
from quantdesk.keeper.backoff import Backoff
from quantdesk.keeper.config import SenderConfig
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from quantdesk.keeper.signatures import Confirmation, SignatureWatcher
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solders.commitment_config import CommitmentLevel
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.config import RpcContextConfig, RpcSendTransactionConfig, RpcSignatureStatusConfig, RpcSimulateTransactionConfig, RpcTransactionConfig
from solders.rpc.requests import GetBlockHeight, GetSignatureStatuses, GetTransaction, SendRawTransaction, SimulateVersionedTransaction
from solders.rpc.responses import GetSignatureStatusesResp, GetTransactionResp
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus, TransactionErrorInstructionError, TransactionErrorType, UiTransactionEncoding

__all__ = ["MAX_FEE_ACCOUNTS", "Outcome", "SendResult", "Sender", "SenderClosed", "TRANSIENT_RPC_CODES", "percentile"]

TRANSIENT_RPC_CODES = frozenset({-32603, -32005, -32004, -32016})
"""Internal error, node unhealthy (behind), block not available, minimum context slot not reached."""
MAX_FEE_ACCOUNTS = 128
RECENT_SIGNATURES = 4_096
"""How many built transactions the sender remembers, to never build one it built before."""
"""getRecentPrioritizationFees takes at most this many accounts (agave's MAX_TX_ACCOUNT_LOCKS)."""
CLOSE_SLACK_SECS = 5.0
"""Beyond the grace, what close() allows a send for its final status check."""


class SenderClosed(Exception):
    """send() after close(): nothing more is sent."""


class Outcome(StrEnum):
    LANDED = "landed"
    LOST_RACE = "lost_race"
    FAILED = "failed"
    IN_FLIGHT = "in_flight"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    signature: Signature | None
    error: str | None  # program error name, or the transient error's description
    code: int | None  # program error code
    program: str | None  # the program the error came from
    cu_limit: int | None
    priority_fee: int  # micro-lamports per CU
    attempts: int
    slot: int | None  # the slot it landed in


def percentile(values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile: the smallest value at least p% of `values` are at or below (0 for none)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(Fraction(str(p)) * len(ordered) / 100))  # exact: 0.7 * 10 is 7, not 7.000000000000001
    return ordered[rank - 1]


class _RpcAnswerError(Exception):
    def __init__(self, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('message', error)} ({error.get('code')})")
        self.code = error.get("code")


class _Retry(Exception):
    """A transient failure: `reason` labels the retry; `rebuild`: the transaction expired unlanded."""

    def __init__(self, reason: str, description: str, rebuild: bool = False) -> None:
        super().__init__(description)
        self.reason = reason
        self.rebuild = rebuild


@dataclass(frozen=True, slots=True)
class _Body:
    """A JSON-RPC request solders has no class for, sent alone through rpc_request."""

    method: str
    params: list[Any]
    id: int

    def to_json(self) -> str:
        return json.dumps({"jsonrpc": "2.0", "id": self.id, "method": self.method, "params": self.params})


@dataclass(frozen=True, slots=True)
class _Built:
    tx: VersionedTransaction
    blockhash: Blockhash
    program_ids: list[Pubkey]  # of every top-level instruction, budget ones included (error indices count them)
    cu_limit: int
    fee: int


@dataclass(slots=True)
class _Work:
    bot: str
    instructions: list[Instruction]
    signers: list[Keypair]
    lost_race: frozenset[str]
    detected_at: float | None
    built: _Built | None = None
    first_sent_at: float | None = None
    attempts: int = 0
    fee: int = 0
    cu_limit: int | None = None
    sent: set[Signature] = field(default_factory=set)  # each counted once in transactions_sent
    issued: bool = False  # `built` was handed to sendTransaction (answered or not): it may land
    expired: Blockhash | None = None  # the blockhash the last transaction expired on: never again


def _label(err: TransactionErrorType | None) -> str:
    """A runtime error's variant name (a bounded metric label), e.g. InsufficientFundsForFee."""
    inner: object = err.err if isinstance(err, TransactionErrorInstructionError) else err
    text = str(inner)
    return text.rsplit(".", 1)[-1].split("(", 1)[0] if inner is not None else "rpc_refused"


def _program_name(program_id: Pubkey | None) -> str | None:
    return None if program_id is None else idl.program_names().get(program_id, str(program_id))


class Sender:
    def __init__(self, rpc: AsyncClient, ws_url: str, payer: Keypair, metrics: Metrics, log: Log, config: SenderConfig) -> None:
        self.rpc = rpc
        self.payer = payer
        self.metrics = metrics
        self.log = log
        self.config = config
        self.watcher = SignatureWatcher(ws_url, metrics, log, Backoff(config.retry_initial_secs, config.retry_cap_secs))
        self._blockhash: Blockhash | None = None
        self._blockhash_at = 0.0
        self._blockhash_lock = asyncio.Lock()
        self._sends: dict[Hashable, asyncio.Task[SendResult]] = {}
        self._built: OrderedDict[Signature, None] = OrderedDict()  # the RECENT_SIGNATURES latest transactions built
        self._tasks: list[asyncio.Task[None]] = []
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._close_deadline: float | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Opens the signature websocket and starts the blockhash refresher."""
        self._tasks = [asyncio.create_task(self.watcher.run(), name="sender-signatures"),
                       asyncio.create_task(self._refresh_blockhashes(), name="sender-blockhash")]

    async def close(self) -> None:
        """Refuses new sends, gives those in flight close_grace_secs to confirm, logs their outcomes."""
        if self._closing.is_set():
            return
        self._close_deadline = time.monotonic() + self.config.close_grace_secs
        self._closing.set()
        pending = list(self._sends.values())
        outcomes: list[str] = []
        if pending:
            self.log.info("sender.closing", in_flight=len(pending), grace_secs=self.config.close_grace_secs)
            _, unfinished = await asyncio.wait(pending, timeout=self.config.close_grace_secs + CLOSE_SLACK_SECS)
            for send in unfinished:
                send.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            outcomes = [str(t.result().outcome) if not t.cancelled() and t.exception() is None else "abandoned" for t in pending]
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.log.info("sender.closed", in_flight=len(pending), outcomes=outcomes)

    def in_flight(self, key: Hashable) -> bool:
        return key in self._sends

    # -- blockhash -----------------------------------------------------------------------------

    async def _refresh_blockhashes(self) -> None:
        while True:
            try:
                await self._fetch_blockhash()
            except (httpx.HTTPError, SolanaRpcException, RPCException, OSError, TimeoutError) as exc:
                self.log.warning("sender.blockhash_failed", error=repr(exc))
            await asyncio.sleep(self.config.blockhash_max_age_secs / 2)

    async def _fetch_blockhash(self) -> Blockhash:
        async with self._blockhash_lock:
            self._blockhash = await fetch_blockhash(self.rpc)
            self._blockhash_at = time.monotonic()
            return self._blockhash

    async def _latest_blockhash(self, stale: Blockhash | None = None) -> Blockhash:
        """The cached blockhash, fetched when older than the configured age or the same as `stale`."""
        cached = self._blockhash
        if cached is None or cached == stale or time.monotonic() - self._blockhash_at > self.config.blockhash_max_age_secs:
            return await self._fetch_blockhash()
        return cached

    # -- send ----------------------------------------------------------------------------------

    async def send(self, bot: str, key: Hashable, instructions: Sequence[Instruction], signers: Sequence[Keypair] = (), *,
                   lost_race: Collection[str] = (), detected_at: float | None = None) -> SendResult:
        """Sends `instructions` (paid by the payer, co-signed by `signers`) for the work `key`
        and returns how it ended. Cancelling the caller does not cancel the send (close() waits for it)."""
        if self._closing.is_set():
            raise SenderClosed("the sender is closed: nothing more is sent")
        if key in self._sends:
            self.metrics.in_flight_skips.labels(bot).inc()
            self.log.debug("sender.in_flight", bot=bot, key=repr(key))
            return SendResult(Outcome.IN_FLIGHT, None, None, None, None, None, 0, 0, None)
        work = _Work(bot, list(instructions), list(signers), frozenset(lost_race), detected_at)
        task = asyncio.create_task(self._send(work), name=f"send-{bot}")
        self._sends[key] = task
        gauge = self.metrics.in_flight.labels(bot)
        gauge.inc()

        def finished(_: asyncio.Task[SendResult]) -> None:
            del self._sends[key]
            gauge.dec()

        task.add_done_callback(finished)
        return await asyncio.shield(task)

    async def _send(self, work: _Work) -> SendResult:
        backoff = Backoff(self.config.retry_initial_secs, self.config.retry_cap_secs)
        while True:
            work.attempts += 1
            try:
                if work.built is None:
                    work.built = await self._build(work)
                return await self._outcome(work, await self._deliver(work, work.built))
            except errors.ProgramError as exc:
                return self._program_error(work, exc)
            except errors.RuntimeFailure as exc:
                if exc.rpc_code not in TRANSIENT_RPC_CODES:
                    return self._failed(work, _label(exc.err), exc.reason, program=_program_name(exc.program_id))
                reason, description = "rpc_error", exc.reason
            except _RpcAnswerError as exc:
                if exc.code not in TRANSIENT_RPC_CODES:
                    return self._failed(work, "rpc_error", str(exc))
                reason, description = "rpc_error", str(exc)
            except _Retry as exc:
                reason, description = exc.reason, str(exc)
                if exc.rebuild and work.built is not None:
                    work.expired = work.built.blockhash
                    work.built = None
                    work.issued = False
            except (httpx.HTTPError, SolanaRpcException, OSError, TimeoutError) as exc:
                reason, description = "http", repr(exc)
            unconfirmed = reason in ("confirm_timeout", "blockhash_expired") or work.issued
            if self._closing.is_set() or work.attempts >= self.config.max_attempts:
                outcome = Outcome.EXPIRED if unconfirmed else Outcome.FAILED
                return self._failed(work, reason, description, outcome)
            delay = backoff.next()
            self.metrics.send_retries.labels(work.bot, reason).inc()
            self.log.warning("sender.retry", bot=work.bot, reason=reason, error=description, attempt=work.attempts, delay_secs=delay)
            await asyncio.sleep(delay)

    async def _build(self, work: _Work) -> _Built:
        """Fee, simulation and signature of a new transaction for `work` on the latest blockhash."""
        payer = self.payer.pubkey()
        writable = list(dict.fromkeys(m.pubkey for ix in work.instructions for m in ix.accounts if m.is_writable and m.pubkey != payer))
        work.fee = await self._priority_fee(writable[:MAX_FEE_ACCOUNTS])
        price = [set_compute_unit_price(work.fee)] if work.fee else []
        trial = [set_compute_unit_limit(self.config.max_cu), *price, *work.instructions]
        units = await self._simulate(trial, work.signers)
        work.cu_limit = min(self.config.max_cu, math.ceil(Fraction(str(self.config.cu_margin)) * units))
        blockhash = await self._latest_blockhash(work.expired)
        while True:
            final = [set_compute_unit_limit(work.cu_limit), *price, *work.instructions]
            tx = self._sign(final, work.signers, blockhash.hash)
            # The same instructions again on the same blockhash (a step repeated with the same
            # amount) would be the old transaction to the node: one more unit makes it new.
            if tx.signatures[0] not in self._built:
                break
            work.cu_limit += 1
        self._built[tx.signatures[0]] = None
        while len(self._built) > RECENT_SIGNATURES:
            self._built.popitem(last=False)
        return _Built(tx, blockhash, [ix.program_id for ix in final], work.cu_limit, work.fee)

    def _sign(self, instructions: Sequence[Instruction], signers: Sequence[Keypair], blockhash: Hash) -> VersionedTransaction:
        message = Message.new_with_blockhash(list(instructions), self.payer.pubkey(), blockhash)
        keys = {self.payer.pubkey(): self.payer} | {s.pubkey(): s for s in signers}  # a signer may also be the payer
        return VersionedTransaction(message, list(keys.values()))

    async def _call(self, body: Any) -> Any:
        (answer,) = await rpc_request(self.rpc, [body])
        if "error" in answer:
            raise _RpcAnswerError(type(body).__name__ if not isinstance(body, _Body) else body.method, answer["error"])
        return answer

    async def _priority_fee(self, writable: list[Pubkey]) -> int:
        answer = await self._call(_Body("getRecentPrioritizationFees", [[str(k) for k in writable]], next(self._ids)))
        fees = [int(entry["prioritizationFee"]) for entry in answer["result"]]
        return min(percentile(fees, self.config.fee_percentile), self.config.fee_cap_micro_lamports)

    async def _simulate(self, instructions: Sequence[Instruction], signers: Sequence[Keypair]) -> int:
        """The units the transaction consumes; its failure raised by name (a ProgramError, a RuntimeFailure)."""
        config = RpcSimulateTransactionConfig(sig_verify=False, replace_recent_blockhash=True, commitment=CommitmentLevel.Confirmed)
        body = SimulateVersionedTransaction(self._sign(instructions, signers, Hash.default()), config, id=next(self._ids))
        (answer,) = await rpc_request(self.rpc, [body])
        sim = simulation_result(answer, [ix.program_id for ix in instructions])
        return sim.units_consumed if sim.units_consumed is not None else self.config.max_cu

    async def _deliver(self, work: _Work, built: _Built) -> Confirmation:
        """Sends `built` and waits for its confirmation: the notification, else the status check."""
        signature = built.tx.signatures[0]
        future = await self.watcher.watch(signature)
        try:
            config = RpcSendTransactionConfig(skip_preflight=True, preflight_commitment=CommitmentLevel.Confirmed)
            work.issued = True
            (answer,) = await rpc_request(self.rpc, [SendRawTransaction(bytes(built.tx), config, id=next(self._ids))])
            if "error" in answer:
                error = answer["error"]
                if error.get("code") in TRANSIENT_RPC_CODES:
                    raise _Retry("rpc_error", f"sendTransaction: {error.get('message')} ({error.get('code')})")
                if "blockhash not found" in str(error.get("message", "")).lower():
                    raise _Retry("blockhash_expired", "sendTransaction: blockhash not found", rebuild=True)
                raise errors.from_rpc_error(error, None, built.program_ids)
            detect_to_send: float | None = None
            if work.first_sent_at is None:
                work.first_sent_at = time.monotonic()
                if work.detected_at is not None:
                    detect_to_send = max(0.0, work.first_sent_at - work.detected_at)
                    self.metrics.detect_to_send.labels(work.bot).observe(detect_to_send)
            if signature not in work.sent:
                work.sent.add(signature)
                self.metrics.transactions_sent.labels(work.bot).inc()
            self.log.info("sender.sent", bot=work.bot, signature=str(signature), attempt=work.attempts, cu_limit=built.cu_limit,
                          priority_fee=built.fee, detect_to_send_ms=None if detect_to_send is None else round(detect_to_send * 1_000, 3))
            confirmation = await self._wait(future)
            if confirmation is not None:
                return confirmation
            return await self._check_status(signature, built)
        finally:
            await self.watcher.forget(signature)

    async def _wait(self, future: asyncio.Future[Confirmation]) -> Confirmation | None:
        """The notification, or None after confirm_timeout_secs (cut to the grace once close() is called)."""
        deadline = time.monotonic() + self.config.confirm_timeout_secs
        closing = asyncio.create_task(self._closing.wait())
        try:
            while not future.done():
                end = deadline if self._close_deadline is None else min(deadline, self._close_deadline)
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return None
                waits: list[asyncio.Future[Any]] = [future] if closing.done() else [future, closing]
                await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            return future.result()
        finally:
            closing.cancel()

    async def _check_status(self, signature: Signature, built: _Built) -> Confirmation:
        """getSignatureStatuses (with getBlockHeight, one request) for a transaction whose notification did not come."""
        statuses = GetSignatureStatuses([signature], RpcSignatureStatusConfig(search_transaction_history=False), id=next(self._ids))
        height = GetBlockHeight(RpcContextConfig(CommitmentLevel.Confirmed), id=next(self._ids))
        status_answer, height_answer = await rpc_request(self.rpc, [statuses, height])
        for answer, method in ((status_answer, "getSignatureStatuses"), (height_answer, "getBlockHeight")):
            if "error" in answer:
                raise _RpcAnswerError(method, answer["error"])
        parsed = GetSignatureStatusesResp.from_json(json.dumps(status_answer))
        status = parsed.value[0] if isinstance(parsed, GetSignatureStatusesResp) else None
        if status is not None and status.confirmation_status in (TransactionConfirmationStatus.Confirmed, TransactionConfirmationStatus.Finalized):
            self.log.info("sender.status_confirmed", signature=str(signature), slot=status.slot)
            return Confirmation(status.slot, None if status.err is None else status.err)
        if int(height_answer["result"]) > built.blockhash.last_valid_block_height:
            raise _Retry("blockhash_expired", f"{signature} did not land before its blockhash expired", rebuild=True)
        raise _Retry("confirm_timeout", f"{signature} not confirmed within {self.config.confirm_timeout_secs:g} s")

    # -- outcomes ------------------------------------------------------------------------------

    async def _outcome(self, work: _Work, confirmation: Confirmation) -> SendResult:
        built = work.built
        assert built is not None
        signature = built.tx.signatures[0]
        if work.first_sent_at is not None:
            self.metrics.send_to_confirm.labels(work.bot).observe(time.monotonic() - work.first_sent_at)
        if confirmation.err is None:
            self.metrics.transactions_landed.labels(work.bot).inc()
            self.log.info("sender.landed", bot=work.bot, signature=str(signature), slot=confirmation.slot, attempts=work.attempts,
                          cu_limit=built.cu_limit, priority_fee=built.fee)
            return SendResult(Outcome.LANDED, signature, None, None, None, built.cu_limit, built.fee, work.attempts, confirmation.slot)
        failure = await self._landed_failure(signature, built)
        if isinstance(failure, errors.ProgramError):
            return self._program_error(work, failure, confirmation.slot)
        assert isinstance(failure, errors.RuntimeFailure)
        return self._failed(work, _label(failure.err), failure.reason, slot=confirmation.slot, program=_program_name(failure.program_id))

    async def _landed_failure(self, signature: Signature, built: _Built) -> errors.TransactionFailed:
        """The named error of a transaction that landed and failed, from its logs (getTransaction)."""
        config = RpcTransactionConfig(UiTransactionEncoding.Json, commitment=CommitmentLevel.Confirmed, max_supported_transaction_version=0)
        answer = await self._call(GetTransaction(signature, config, id=next(self._ids)))
        parsed = GetTransactionResp.from_json(json.dumps(answer))
        found = parsed.value if isinstance(parsed, GetTransactionResp) else None
        meta = found.transaction.meta if found is not None else None
        if meta is None or meta.err is None:
            raise _RpcAnswerError("getTransaction", {"code": -32603, "message": f"{signature} failed but its transaction is not available yet"})
        return errors.from_transaction_error(meta.err, list(meta.log_messages or []), built.program_ids, signature)

    def _program_error(self, work: _Work, exc: errors.ProgramError, slot: int | None = None) -> SendResult:
        signature = work.built.tx.signatures[0] if work.built is not None and slot is not None else None
        lost = exc.name in work.lost_race
        outcome = Outcome.LOST_RACE if lost else Outcome.FAILED
        (self.metrics.lost_races if lost else self.metrics.transaction_failures).labels(work.bot, exc.name).inc()
        self.log.info("sender.lost_race" if lost else "sender.failed", bot=work.bot, error=exc.name, code=exc.code, program=exc.program,
                      simulated=exc.simulated, signature=str(signature) if signature else None, attempts=work.attempts)
        return SendResult(outcome, signature, exc.name, exc.code, exc.program, work.cu_limit, work.fee, work.attempts, slot)

    def _failed(self, work: _Work, label: str, description: str, outcome: Outcome = Outcome.FAILED, slot: int | None = None,
                program: str | None = None) -> SendResult:
        signature = work.built.tx.signatures[0] if work.built is not None and work.issued else None
        self.metrics.transaction_failures.labels(work.bot, label).inc()
        self.log.warning("sender.failed" if outcome == Outcome.FAILED else "sender.expired", bot=work.bot, error=description, label=label,
                         attempts=work.attempts, signature=str(signature) if signature else None)
        return SendResult(outcome, signature, description, None, program, work.cu_limit, work.fee, work.attempts, slot)

