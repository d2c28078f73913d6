"""Transaction builders shared by the localnet tests (solders only, no server); mints, associated
token accounts and minting come from quantdesk.clients.token."""
from __future__ import annotations

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction
from spl.token.instructions import TransferCheckedParams, transfer_checked

from quantdesk.localnet.codec import TOKEN_PROGRAM_ID

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def signed(payer: Keypair, instructions: list[Instruction], blockhash: Hash,
           extra_signers: tuple[Keypair, ...] = ()) -> VersionedTransaction:
    tx = Transaction([payer, *extra_signers], Message(instructions, payer.pubkey()), blockhash)
    return VersionedTransaction.from_legacy(tx)


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash,
                cu_price: int | None = None, cu_limit: int | None = None) -> VersionedTransaction:
    ixs: list[Instruction] = []
    if cu_limit is not None:
        ixs.append(set_compute_unit_limit(cu_limit))
    if cu_price is not None:
        ixs.append(set_compute_unit_price(cu_price))
    ixs.append(transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports)))
    return signed(payer, ixs, blockhash)


def memo_ix(text: str, signer: Pubkey) -> Instruction:
    return Instruction(MEMO_PROGRAM_ID, text.encode(), [AccountMeta(signer, True, False)])


def transfer_checked_ix(source: Pubkey, mint: Pubkey, dest: Pubkey, owner: Pubkey, amount: int,
                        decimals: int) -> Instruction:
    return transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID, source=source, mint=mint, dest=dest, owner=owner,
        amount=amount, decimals=decimals))
