"""Pure encodings: base58, account encodings, token amounts, error texts."""
from __future__ import annotations

import base64

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from solders.account import Account
from solders.pubkey import Pubkey
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

from quantdesk.localnet import codec


@given(st.binary(max_size=200))
def test_base58_round_trip_and_agrees_with_solders(data: bytes) -> None:
    text = codec.b58encode(data)
    assert codec.b58decode(text) == data
    if len(data) == 32:
        assert text == str(Pubkey.from_bytes(data))


def test_base58_known_vectors_and_errors() -> None:
    assert codec.b58encode(b"") == ""
    assert codec.b58encode(b"\0\0\x01") == "112"
    assert codec.b58encode(b"hello world") == "StV1DL6CwTryKyV"
    with pytest.raises(codec.Base58Error) as info:
        codec.b58decode("abc0")
    assert str(info.value) == "InvalidCharacter { character: '0', index: 3 }"


def test_account_encodings() -> None:
    owner = Pubkey.new_unique()
    account = Account(7, bytes(range(10)), owner)
    assert codec.encode_account(account, "binary")["data"] == codec.b58encode(bytes(range(10)))
    assert codec.encode_account(account, "base64", (2, 3))["data"] == [
        base64.b64encode(bytes([2, 3, 4])).decode(), "base64"]
    packed, label = codec.encode_account(account, "base64+zstd")["data"]
    assert label == "base64+zstd"
    assert zstandard.ZstdDecompressor().decompress(base64.b64decode(packed)) == bytes(range(10))
    ui = codec.encode_account(account, "base58")
    assert ui == {"data": [codec.b58encode(bytes(range(10))), "base58"], "executable": False,
                  "lamports": 7, "owner": str(owner), "rentEpoch": 0, "space": 10}
    big = Account(1, bytes(200), owner)
    assert codec.base58_too_large(big, None) and not codec.base58_too_large(big, (0, 128))
    assert codec.encode_account(big, "binary")["data"] == "error: data too large for bs58 encoding"
    # jsonParsed of a non-token account falls back to base64, as agave does
    assert codec.encode_account(account, "jsonParsed")["data"][1] == "base64"


def test_ui_amounts() -> None:
    assert codec.ui_amount_string(0, 6) == "0"
    assert codec.ui_amount_string(1_500_000, 6) == "1.5"
    assert codec.ui_amount_string(1, 9) == "0.000000001"
    assert codec.ui_amount_string(42, 0) == "42"
    assert codec.ui_token_amount(2_500_000, 6) == {
        "amount": "2500000", "decimals": 6, "uiAmount": 2.5, "uiAmountString": "2.5"}


def test_error_json_and_text() -> None:
    custom = TransactionErrorInstructionError(0, InstructionErrorCustom(6101))
    assert codec.error_to_json(custom) == {"InstructionError": [0, {"Custom": 6101}]}
    assert codec.error_text(codec.error_to_json(custom)) == (
        "Error processing Instruction 0: custom program error: 0x17d5")
    fieldless = TransactionErrorInstructionError(2, InstructionErrorFieldless.InvalidAccountData)
    assert codec.error_text(codec.error_to_json(fieldless)) == (
        "Error processing Instruction 2: invalid account data for instruction")
    assert codec.error_to_json(TransactionErrorFieldless.BlockhashNotFound) == "BlockhashNotFound"
    assert codec.error_text("AccountNotFound") == (
        "Attempt to debit an account but found no record of a prior credit.")
    assert codec.error_text({"InsufficientFundsForRent": {"account_index": 1}}) == (
        "Transaction results in an account (1) with insufficient funds for rent")
