"""SPL Token RPC methods (Token and Token-2022): getTokenAccountsByOwner,
getTokenAccountsByDelegate, getTokenSupply, getTokenLargestAccounts.

Shapes, parameter handling and error texts follow agave's rpc/src/rpc.rs and
parsed_token_accounts.rs: accounts come from the token program's owner index with the
TokenAccountState filter, sorted by address; jsonParsed answers ignore dataSlice and leave out
accounts that do not parse (e.g. whose mint is gone); the native mint needs no account (its
decimals are 9). Token-2022 interest-bearing and scaled-amount mints are shown with their raw
amounts (uiAmount is not scaled).
"""
from __future__ import annotations

from typing import Any, Final

from solders.account import Account
from solders.pubkey import Pubkey

from quantdesk.localnet import codec
from quantdesk.localnet import params as P
from quantdesk.localnet.bank import Bank
from quantdesk.localnet.params import RpcError, invalid_params
from quantdesk.localnet.rpc import Handler, context_slot, respond

NUM_LARGEST_ACCOUNTS: Final = 20
_FILTER_VARIANTS: Final = ("mint", "programId")
_OWNER_OFFSET: Final = 32
_DELEGATE_OFFSET: Final = 72  # COption<Pubkey>: a u32 tag, then the key


def token_accounts_filter(value: Any) -> tuple[str, str]:
    """serde's externally tagged RpcTokenAccountsFilter: {"mint": ..} or {"programId": ..}."""
    if isinstance(value, str):
        if value in _FILTER_VARIANTS:
            P.serde_error("invalid type: unit variant, expected newtype variant")
        P.serde_error(f"unknown variant `{value}`, expected `mint` or `programId`")
    if not isinstance(value, dict):
        P.invalid_type(value, "string or map")
    if len(value) != 1:
        P.serde_error("invalid value: map, expected map with a single key")
    ((variant, inner),) = value.items()
    if variant not in _FILTER_VARIANTS:
        P.serde_error(f"unknown variant `{variant}`, expected `mint` or `programId`")
    return variant, P.want_str(inner)


class TokenMethods:
    """The token handlers over one Bank."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank

    def methods(self) -> dict[str, tuple[Handler, int, int]]:
        # name: (handler, required params, total params), as RpcHandlers.methods
        return {
            "getTokenAccountsByOwner": (self.get_token_accounts_by_owner, 2, 3),
            "getTokenAccountsByDelegate": (self.get_token_accounts_by_delegate, 2, 3),
            "getTokenSupply": (self.get_token_supply, 1, 2),
            "getTokenLargestAccounts": (self.get_token_largest_accounts, 1, 2),
        }

    # -- mints -------------------------------------------------------------------------------

    def _decimals(self, mint: Pubkey) -> int | None:
        """The decimals of a mint (agave get_additional_mint_data), None if it does not unpack."""
        if mint == codec.NATIVE_MINT:
            return codec.NATIVE_MINT_DECIMALS
        account = self.bank.get_account(mint)
        if account is None or not codec.unpacks_as_mint(bytes(account.data)):
            return None
        return codec.mint_decimals(bytes(account.data))

    def _mint_owner_and_decimals(self, mint: Pubkey) -> tuple[Pubkey, int]:
        """agave get_mint_owner_and_additional_data, then the known-token-program check."""
        if mint == codec.NATIVE_MINT:
            return codec.TOKEN_PROGRAM_ID, codec.NATIVE_MINT_DECIMALS
        account = self.bank.get_account(mint)
        if account is None:
            raise invalid_params("Invalid param: could not find mint")
        data = bytes(account.data)
        if not codec.unpacks_as_mint(data):
            raise invalid_params("Invalid param: Token mint could not be unpacked")
        if account.owner not in codec.TOKEN_PROGRAM_IDS:
            raise invalid_params("Invalid param: not a Token mint")
        return account.owner, codec.mint_decimals(data)

    def _program_and_mint(self, variant: str, key: Pubkey) -> tuple[Pubkey, Pubkey | None]:
        if variant == "mint":
            program, _ = self._mint_owner_and_decimals(key)
            return program, key
        if key not in codec.TOKEN_PROGRAM_IDS:
            raise invalid_params("Invalid param: unrecognized Token program id")
        return key, None

    def _token_accounts(
        self, program: Pubkey, mint: Pubkey | None, offset: int | None, wanted: bytes
    ) -> list[tuple[Pubkey, Account]]:
        """Initialized token accounts of `program` (of `mint` if given) whose data holds
        `wanted` at `offset`, sorted by address."""
        found = []
        for key, account in self.bank.program_accounts(program):
            data = bytes(account.data)
            if not codec.is_token_account(account):
                continue
            if mint is not None and data[0:32] != bytes(mint):
                continue
            if offset is not None and data[offset : offset + len(wanted)] != wanted:
                continue
            found.append((key, account))
        found.sort(key=lambda item: bytes(item[0]))
        return found

    # -- methods -----------------------------------------------------------------------------

    def _accounts_by(self, p: list[Any], offset: int, prefix: bytes) -> dict[str, Any]:
        P.want_str(p[0])
        variant, filter_key = token_accounts_filter(p[1])
        config = P.want_struct(p[2], "RpcAccountInfoConfig")
        encoding = P.account_encoding(config, "binary")
        data_slice = P.data_slice(config)
        subject = P.pubkey(p[0])
        key = P.pubkey(filter_key)
        slot = context_slot(self.bank, config)
        program, mint = self._program_and_mint(variant, key)
        accounts = self._token_accounts(program, mint, offset, prefix + bytes(subject))
        return respond(slot, [
            {"pubkey": str(address), "account": ui}
            for address, account in accounts
            if (ui := self._encode(account, encoding, data_slice)) is not None
        ])

    def _encode(
        self, account: Account, encoding: str, data_slice: tuple[int, int] | None
    ) -> dict[str, Any] | None:
        if encoding == "jsonParsed":
            # agave's get_parsed_token_accounts: no slicing; accounts that do not parse are
            # left out rather than served as base64.
            mint, _, _ = codec.token_account_fields(bytes(account.data))
            decimals = self._decimals(mint)
            parsed = None if decimals is None else codec.parse_token_account_json(account, decimals)
            if parsed is None:
                return None
            ui = codec.encode_account(account, "base64")
            ui["data"] = parsed
            return ui
        if encoding in ("binary", "base58") and codec.base58_too_large(account, data_slice):
            raise RpcError(P.INVALID_REQUEST, codec.BASE58_TOO_LARGE_MESSAGE)
        return codec.encode_account(account, encoding, data_slice)

    def get_token_accounts_by_owner(self, p: list[Any]) -> dict[str, Any]:
        return self._accounts_by(p, _OWNER_OFFSET, b"")

    def get_token_accounts_by_delegate(self, p: list[Any]) -> dict[str, Any]:
        # The delegate's COption must be Some (tag 1) and hold the key.
        return self._accounts_by(p, _DELEGATE_OFFSET, (1).to_bytes(4, "little"))

    def get_token_supply(self, p: list[Any]) -> dict[str, Any]:
        mint = P.pubkey(p[0])
        P.commitment(P.want_struct(p[1], "CommitmentConfig"))
        account = self.bank.get_account(mint)
        if account is None:
            raise invalid_params("Invalid param: could not find account")
        if account.owner not in codec.TOKEN_PROGRAM_IDS:
            raise invalid_params("Invalid param: not a Token mint")
        data = bytes(account.data)
        if not codec.unpacks_as_mint(data):
            raise invalid_params("Invalid param: mint could not be unpacked")
        supply = int.from_bytes(data[36:44], "little")
        return respond(self.bank.slot, codec.ui_token_amount(supply, codec.mint_decimals(data)))

    def get_token_largest_accounts(self, p: list[Any]) -> dict[str, Any]:
        mint = P.pubkey(p[0])
        P.commitment(P.want_struct(p[1], "CommitmentConfig"))
        program, decimals = self._mint_owner_and_decimals(mint)
        balances = sorted(
            (
                (codec.token_account_fields(bytes(account.data))[2], bytes(address), address)
                for address, account in self._token_accounts(program, mint, None, b"")
            ),
            reverse=True,  # agave: the top (amount, address) pairs, largest first
        )[:NUM_LARGEST_ACCOUNTS]
        return respond(
            self.bank.slot,
            [
                {"address": str(address), **codec.ui_token_amount(amount, decimals)}
                for amount, _, address in balances
            ],
        )
