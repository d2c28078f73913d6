"""SPL Token instructions the QuantDesk clients, tests and demo need (mints for the quote and
collateral assets, token accounts, minting), for the Token program or Token-2022."""
from __future__ import annotations

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    InitializeMintParams,
    MintToParams,
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint,
    mint_to,
)

__all__ = ["MINT_LEN", "TOKEN_2022_PROGRAM_ID", "TOKEN_PROGRAM_ID", "account_amount", "associated_address", "create_associated_account",
           "create_mint", "mint_to_instruction"]


MINT_LEN = 82


def create_mint(payer: Pubkey, mint: Pubkey, authority: Pubkey, decimals: int, rent: int,
                token_program: Pubkey = TOKEN_PROGRAM_ID) -> list[Instruction]:
    """Creates the account `mint` (which signs) and initializes it as a mint; `rent`: the
    rent-exempt minimum for MINT_LEN bytes."""
    return [
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=mint, lamports=rent, space=MINT_LEN, owner=token_program)),
        initialize_mint(InitializeMintParams(decimals=decimals, program_id=token_program, mint=mint, mint_authority=authority)),
    ]


def associated_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
    return get_associated_token_address(owner, mint, token_program)


def create_associated_account(payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
    return create_associated_token_account(payer, owner, mint, token_program)


def mint_to_instruction(mint: Pubkey, destination: Pubkey, authority: Pubkey, amount: int,
                        token_program: Pubkey = TOKEN_PROGRAM_ID) -> Instruction:
    return mint_to(MintToParams(program_id=token_program, mint=mint, dest=destination, mint_authority=authority, amount=amount))


def account_amount(data: bytes) -> int:
    """The token amount of token-account data (bytes 64..72 of the shared layout)."""
    return int.from_bytes(data[64:72], "little")
