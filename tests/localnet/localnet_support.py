"""Transaction builders shared by the localnet tests (solders only, no server)."""
from __future__ import annotations

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import Transaction, VersionedTransaction
from spl.token.instructions import (
    InitializeMintParams,
    MintToParams,
    TransferCheckedParams,
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint,
    mint_to,
    transfer_checked,
)

from quantdesk.localnet.codec import TOKEN_PROGRAM_ID

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
MINT_LEN = 82


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


def create_mint_ixs(payer: Pubkey, mint: Pubkey, authority: Pubkey, decimals: int,
                    rent: int) -> list[Instruction]:
    return [
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=mint, lamports=rent,
                                           space=MINT_LEN, owner=TOKEN_PROGRAM_ID)),
        initialize_mint(InitializeMintParams(decimals=decimals, program_id=TOKEN_PROGRAM_ID,
                                             mint=mint, mint_authority=authority)),
    ]


def ata(owner: Pubkey, mint: Pubkey) -> Pubkey:
    return get_associated_token_address(owner, mint)


def create_ata_ix(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    return create_associated_token_account(payer, owner, mint)


def mint_to_ix(mint: Pubkey, dest: Pubkey, authority: Pubkey, amount: int) -> Instruction:
    return mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=dest,
                                mint_authority=authority, amount=amount))


def transfer_checked_ix(source: Pubkey, mint: Pubkey, dest: Pubkey, owner: Pubkey, amount: int,
                        decimals: int) -> Instruction:
    return transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID, source=source, mint=mint, dest=dest, owner=owner,
        amount=amount, decimals=decimals))
