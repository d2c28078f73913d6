"""Wire encodings of the Solana JSON-RPC: base58, account encodings, token amounts, error texts.

Everything here is pure (no bank, no I/O) so the RPC handlers and the PubSub notifier render
accounts, token amounts and transaction errors the same way, and the same way agave does.
"""
from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any, Final

from solders.account import Account
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.transaction_status import TransactionErrorType

from quantdesk.localnet.token_extensions import parse_extensions

# ---------------------------------------------------------------------------------------------
# base58 (bitcoin alphabet). solders only base58-encodes fixed-size keys, account data and
# instruction data need arbitrary lengths.
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(_B58_ALPHABET)}


class Base58Error(ValueError):
    """Carries the agave/bs58 description of the failure (`InvalidCharacter { .. }`)."""


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out: list[str] = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for index, char in enumerate(text):
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise Base58Error(f"InvalidCharacter {{ character: {char!r}, index: {index} }}")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Accounts (UiAccount)

# agave's MAX_BASE58_BYTES: larger account data must be requested as base64.
MAX_BASE58_BYTES: Final = 128
ACCOUNT_ENCODINGS: Final = ("binary", "base58", "base64", "jsonParsed", "base64+zstd")
SYSTEM_PROGRAM_ID: Final = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID: Final = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID: Final = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
TOKEN_PROGRAM_IDS: Final = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})
NATIVE_MINT: Final = Pubkey.from_string("So11111111111111111111111111111111111111112")
NATIVE_MINT_DECIMALS: Final = 9
TOKEN_ACCOUNT_LEN: Final = 165
MINT_LEN: Final = 82
_ACCOUNTTYPE_ACCOUNT: Final = 2  # token-2022 account-type byte after the 165-byte base
_ACCOUNTTYPE_MINT: Final = 1


def slice_data(data: bytes, data_slice: tuple[int, int] | None) -> bytes:
    if data_slice is None:
        return data
    offset, length = data_slice
    return data[offset : offset + length]


def encode_account(
    account: Account, encoding: str, data_slice: tuple[int, int] | None = None
) -> dict[str, Any]:
    """UiAccount as agave's encode_ui_account renders it (size limits are the caller's job)."""
    data = bytes(account.data)
    ui_data: Any
    if encoding == "jsonParsed" and data_slice is None:
        parsed = parse_token_account_json(account)
        ui_data = parsed if parsed is not None else [b64encode(data), "base64"]
    else:
        sliced = slice_data(data, data_slice)
        if encoding == "binary":
            ui_data = _bs58_or_error(sliced)
        elif encoding == "base58":
            ui_data = [_bs58_or_error(sliced), "base58"]
        elif encoding == "base64+zstd":
            ui_data = [b64encode(zstd_compress(sliced)), "base64+zstd"]
        else:  # base64, and jsonParsed with a data slice, which agave serves as base64
            ui_data = [b64encode(sliced), "base64"]
    return {
        "data": ui_data,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": account.rent_epoch,
        "space": len(data),
    }


def _bs58_or_error(data: bytes) -> str:
    # RPC methods refuse such requests up front (base58_too_large); subscriptions cannot, and
    # agave's account decoder puts this marker in the notification instead.
    if len(data) > MAX_BASE58_BYTES:
        return "error: data too large for bs58 encoding"
    return b58encode(data)


def zstd_compress(data: bytes) -> bytes:
    import zstandard  # imported lazily: only base64+zstd requests pay for the module

    return zstandard.ZstdCompressor().compress(data)


def base58_too_large(account: Account, data_slice: tuple[int, int] | None) -> bool:
    return len(slice_data(bytes(account.data), data_slice)) > MAX_BASE58_BYTES


BASE58_TOO_LARGE_MESSAGE: Final = (
    f"Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, "
    "please use Base64 encoding."
)

# ---------------------------------------------------------------------------------------------
# SPL Token


def ui_amount_string(amount: int, decimals: int) -> str:
    """agave's real_number_string_trimmed: fixed point, trailing zeros and dot removed."""
    if decimals == 0:
        return str(amount)
    digits = str(amount).rjust(decimals + 1, "0")
    text = f"{digits[:-decimals]}.{digits[-decimals:]}".rstrip("0").rstrip(".")
    return text


def ui_token_amount(amount: int, decimals: int) -> dict[str, Any]:
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(Decimal(amount) / (Decimal(10) ** decimals)),
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def is_token_account(account: Account) -> bool:
    """SPL Token (or Token-2022) account in the initialized or frozen state."""
    if account.owner not in TOKEN_PROGRAM_IDS:
        return False
    data = bytes(account.data)
    if len(data) < TOKEN_ACCOUNT_LEN or data[108] == 0:
        return False
    return len(data) == TOKEN_ACCOUNT_LEN or (
        account.owner == TOKEN_2022_PROGRAM_ID and data[TOKEN_ACCOUNT_LEN] == _ACCOUNTTYPE_ACCOUNT
    )


def unpacks_as_mint(data: bytes) -> bool:
    """Whether mint data unpacks (spl-token-2022 StateWithExtensions<Mint>), whoever owns it:
    an initialized base mint, exactly 82 bytes or longer than an account with the mint type."""
    if len(data) < MINT_LEN or data[45] == 0:
        return False
    return len(data) == MINT_LEN or (
        len(data) > TOKEN_ACCOUNT_LEN and data[TOKEN_ACCOUNT_LEN] == _ACCOUNTTYPE_MINT
    )


def is_mint(account: Account) -> bool:
    if account.owner not in TOKEN_PROGRAM_IDS:
        return False
    data = bytes(account.data)
    return unpacks_as_mint(data) and (len(data) == MINT_LEN or account.owner == TOKEN_2022_PROGRAM_ID)


def token_account_fields(data: bytes) -> tuple[Pubkey, Pubkey, int]:
    """(mint, owner, amount) of a token account's base layout."""
    return (
        Pubkey.from_bytes(data[0:32]),
        Pubkey.from_bytes(data[32:64]),
        int.from_bytes(data[64:72], "little"),
    )


def mint_decimals(data: bytes) -> int:
    return data[44]


def _coption_pubkey(data: bytes, offset: int) -> str | None:
    if int.from_bytes(data[offset : offset + 4], "little") == 0:
        return None
    return str(Pubkey.from_bytes(data[offset + 4 : offset + 36]))


_TOKEN_STATES: Final = {1: "initialized", 2: "frozen"}


def parse_token_account_json(account: Account, decimals: int | None = None) -> dict[str, Any] | None:
    """jsonParsed form of SPL Token mints and accounts (base layout); None for anything else.

    A token account's decimals live in its mint: the caller passes them when it has the mint
    at hand, otherwise the account is not parsed (agave also falls back to base64 then).
    """
    data = bytes(account.data)
    program = "spl-token" if account.owner == TOKEN_PROGRAM_ID else "spl-token-2022"
    if is_mint(account):
        info: dict[str, Any] = {
            "decimals": mint_decimals(data),
            "freezeAuthority": _coption_pubkey(data, 46),
            "isInitialized": True,
            "mintAuthority": _coption_pubkey(data, 0),
            "supply": str(int.from_bytes(data[36:44], "little")),
        }
        _add_extensions(info, account)
        return {"program": program, "parsed": {"info": info, "type": "mint"}, "space": len(data)}
    if is_token_account(account) and decimals is not None:
        mint, owner, amount = token_account_fields(data)
        info = {
            "isNative": int.from_bytes(data[109:113], "little") == 1,
            "mint": str(mint),
            "owner": str(owner),
            "state": _TOKEN_STATES.get(data[108], "uninitialized"),
            "tokenAmount": ui_token_amount(amount, decimals),
        }
        delegate = _coption_pubkey(data, 72)
        if delegate is not None:
            info["delegate"] = delegate
            info["delegatedAmount"] = ui_token_amount(
                int.from_bytes(data[121:129], "little"), decimals
            )
        if info["isNative"]:
            info["rentExemptReserve"] = ui_token_amount(
                int.from_bytes(data[113:121], "little"), decimals
            )
        close_authority = _coption_pubkey(data, 129)
        if close_authority is not None:
            info["closeAuthority"] = close_authority
        _add_extensions(info, account)
        return {"program": program, "parsed": {"info": info, "type": "account"}, "space": len(data)}
    return None


def _add_extensions(info: dict[str, Any], account: Account) -> None:
    # agave leaves `extensions` out when there are none (always so for the Token program).
    if account.owner == TOKEN_2022_PROGRAM_ID:
        extensions = parse_extensions(bytes(account.data))
        if extensions:
            info["extensions"] = extensions


# ---------------------------------------------------------------------------------------------
# Transaction errors: JSON form (serde's, as in RPC results) and Display form (as in messages)


def error_to_json(err: TransactionErrorType) -> Any:
    """The serde JSON of a TransactionError, produced by solders so it matches agave exactly."""
    rendered = RpcSimulateTransactionResult(
        err=err, logs=None, accounts=None, units_consumed=None, return_data=None
    ).to_json()
    return json.loads(rendered)["err"]


_TX_ERROR_TEXT: Final = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "ClusterMaintenance": "Transactions are currently disabled due to cluster maintenance",
    "AccountBorrowOutstanding": (
        "Transaction processing left an account with an outstanding borrowed reference"
    ),
    "WouldExceedMaxBlockCostLimit": "Transaction would exceed max Block Cost Limit",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "WouldExceedMaxAccountCostLimit": "Transaction would exceed max account limit within the block",
    "WouldExceedAccountDataBlockLimit": (
        "Transaction would exceed account data limit within the block"
    ),
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": (
        "Transaction loads an address table account with an invalid owner"
    ),
    "InvalidAddressLookupTableData": (
        "Transaction loads an address table account with invalid data"
    ),
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": (
        "Transaction leaves an account with a lower balance than rent-exempt minimum"
    ),
    "WouldExceedMaxVoteCostLimit": "Transaction would exceed max Vote Cost Limit",
    "WouldExceedAccountDataTotalLimit": "Transaction would exceed total account data limit",
    "MaxLoadedAccountsDataSizeExceeded": "Transaction exceeded max loaded accounts data size cap",
    "InvalidLoadedAccountsDataSizeLimit": (
        "LoadedAccountsDataSizeLimit set for transaction must be greater than 0."
    ),
    "ResanitizationNeeded": "ResanitizationNeeded",
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
    "ProgramCacheHitMaxLimit": "Program cache hit max limit",
    "CommitCancelled": "CommitCancelled",
}

_IX_ERROR_TEXT: Final = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "DuplicateAccountIndex": "instruction contains duplicate accounts",
    "ExecutableModified": "instruction changed executable bit of an account",
    "RentEpochModified": "instruction modified rent epoch of an account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": (
        "program other than the account's owner changed the size of the account data"
    ),
    "AccountNotExecutable": "instruction expected an executable account",
    "AccountBorrowFailed": (
        "instruction tries to borrow reference for an account which is already borrowed"
    ),
    "AccountBorrowOutstanding": "instruction left account with an outstanding borrowed reference",
    "DuplicateAccountOutOfSync": "instruction modifications of multiply-passed account differ",
    "InvalidError": "program returned invalid error code",
    "ExecutableDataModified": "instruction changed executable accounts data",
    "ExecutableLamportChange": "instruction changed the balance of an executable account",
    "ExecutableAccountNotRentExempt": "executable accounts must be rent exempt",
    "UnsupportedProgramId": "Unsupported program id",
    "CallDepth": "Cross-program invocation call depth too deep",
    "MissingAccount": "An account required by the instruction is missing",
    "ReentrancyNotAllowed": "Cross-program invocation reentrancy not allowed for this instruction",
    "MaxSeedLengthExceeded": "Length of the seed is too long for address generation",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "InvalidRealloc": "Failed to reallocate account data",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramEnvironmentSetupFailure": "Failed to create program execution environment",
    "ProgramFailedToComplete": "Program failed to complete",
    "ProgramFailedToCompile": "Program failed to compile",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "BorshIoError": "Failed to serialize or deserialize account data",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "UnsupportedSysvar": "Unsupported sysvar",
    "IllegalOwner": "Provided owner is not allowed",
    "MaxAccountsDataAllocationsExceeded": (
        "Accounts data allocations exceeded the maximum allowed per transaction"
    ),
    "MaxAccountsExceeded": "Max accounts exceeded",
    "MaxInstructionTraceLengthExceeded": "Max instruction trace length exceeded",
    "BuiltinProgramsMustConsumeComputeUnits": "Builtin programs must consume compute units",
    "BailOut": "Block production bailed out",
}


def _instruction_error_text(err: Any) -> str:
    if isinstance(err, str):
        return _IX_ERROR_TEXT.get(err, err)
    (name, value), = err.items()
    if name == "Custom":
        return f"custom program error: {value:#x}"
    if name == "BorshIoError":
        return f"{_IX_ERROR_TEXT['BorshIoError']}: {value}"
    return str(name)


def error_text(err_json: Any) -> str:
    """Display text of a TransactionError given its serde JSON (see error_to_json)."""
    if isinstance(err_json, str):
        return _TX_ERROR_TEXT.get(err_json, err_json)
    (name, value), = err_json.items()
    if name == "InstructionError":
        index, inner = value
        return f"Error processing Instruction {index}: {_instruction_error_text(inner)}"
    if name == "DuplicateInstruction":
        return f"Transaction contains a duplicate instruction ({value}) that is not allowed"
    if name == "InsufficientFundsForRent":
        return (
            f"Transaction results in an account ({value['account_index']}) with insufficient "
            "funds for rent"
        )
    if name == "ProgramExecutionTemporarilyRestricted":
        return (
            f"Execution of the program referenced by account at index {value['account_index']} "
            "is temporarily restricted."
        )
    return str(name)
