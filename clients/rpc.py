"""The RPC half every program client shares: the anchorpy Program bound to a Provider, signing
with the provider's wallet as fee payer, sending with confirmation, and simulating for return data."""
from __future__ import annotations

from anchorpy import Program, Provider
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError, UiTransactionStatusMeta

from quantdesk.clients import idl


class ProgramClient:
    """A program's client over an RPC node (the local validator or a cluster)."""

    def __init__(self, name: str, provider: Provider) -> None:
        self.program: Program = idl.program(name, provider)
        self.connection: AsyncClient = provider.connection

    async def account_data(self, address: Pubkey, what: str = "account") -> bytes:
        """The data of the account at `address`: `LookupError` if there is none, `ValueError` if
        this program does not own it."""
        info = (await self.connection.get_account_info(address)).value
        if info is None:
            raise LookupError(f"no {what} at {address}")
        if info.owner != self.program.program_id:
            raise ValueError(f"{address} is not owned by {self.program.idl.name.replace('_', '-')}")
        return bytes(info.data)

    async def signed(self, instructions: list[Instruction], signers: list[Keypair]) -> VersionedTransaction:
        """A transaction on a fresh blockhash, paid and signed by the provider's wallet, co-signed by `signers`."""
        wallet = self.program.provider.wallet
        blockhash = (await self.connection.get_latest_blockhash()).value.blockhash
        message = Message.new_with_blockhash(instructions, wallet.public_key, blockhash)
        keys = {wallet.public_key: wallet.payer} | {s.pubkey(): s for s in signers}  # a signer may also be the payer
        return VersionedTransaction(message, list(keys.values()))

    async def send(self, instructions: list[Instruction], signers: list[Keypair] | None = None) -> Signature:
        """Signs with the provider's wallet (fee payer) and `signers`, sends and confirms."""
        sig = (await self.connection.send_transaction(await self.signed(instructions, signers or []))).value
        await self.connection.confirm_transaction(sig, commitment=Confirmed)
        return sig

    async def meta(self, signature: Signature) -> UiTransactionStatusMeta:
        """The status meta of a confirmed transaction (`LookupError` if there is none)."""
        tx = (await self.connection.get_transaction(signature, commitment=Confirmed, max_supported_transaction_version=0)).value
        if tx is None or tx.transaction.meta is None:
            raise LookupError(f"transaction {signature} not found")
        return tx.transaction.meta

    async def logs(self, signature: Signature) -> list[str]:
        """The program logs of a confirmed transaction (for its Anchor events)."""
        return list((await self.meta(signature)).log_messages or [])

    async def return_data(self, signature: Signature) -> bytes:
        """The return data a confirmed transaction ended with (b"" when none was set)."""
        data = (await self.meta(signature)).return_data
        return bytes(data.data) if data is not None else b""

    async def simulate(self, instructions: list[Instruction], signers: list[Keypair] | None = None) -> bytes:
        """Runs `instructions` in a simulation and returns their return data; a failure raises
        `SimulationError` with the program's error and logs."""
        tx = await self.signed(instructions, signers or [])
        sim = (await self.connection.simulate_transaction(tx, sig_verify=False)).value
        if sim.err is not None:
            raise SimulationError(sim.err, list(sim.logs or []))
        return bytes(sim.return_data.data) if sim.return_data is not None else b""


class SimulationError(RuntimeError):
    """A simulated transaction failed: `err` is the RPC's TransactionError, `logs` the program logs."""

    def __init__(self, err: object, logs: list[str]) -> None:
        super().__init__(f"simulation failed: {err}")
        self.err = err
        self.logs = logs

    @property
    def code(self) -> int | None:
        """The failed instruction's custom error code (6000.. for QuantDesk programs), if any."""
        if isinstance(self.err, TransactionErrorInstructionError) and isinstance(self.err.err, InstructionErrorCustom):
            return self.err.err.code
        return None
