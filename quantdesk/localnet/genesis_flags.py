"""solana-test-validator's genesis flags: `--account ADDRESS FILE.json` and `--bpf-program ADDRESS FILE.so`.

An account file is what `solana account ADDR --output json` writes:
{"pubkey", "account": {"lamports", "data": [b64, "base64"], "owner", "executable", "rentEpoch",
"space"}}. ADDRESS `-` takes the file's own pubkey, as agave does. A program's ADDRESS is a base58
pubkey or a Solana CLI keypair file (whose pubkey is used).
"""
from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey


class AccountFileError(ValueError):
    """An --account file that is missing, not JSON, or not the Solana CLI's account shape."""


class ProgramFlagError(ValueError):
    """A --bpf-program whose address is neither a pubkey nor a keypair file, or whose .so is missing."""


def _pubkey(text: Any, what: str, path: Path) -> Pubkey:
    if not isinstance(text, str):
        raise AccountFileError(f"{path}: {what} is not a base58 string")
    try:
        return Pubkey.from_string(text)
    except ValueError as exc:
        raise AccountFileError(f"{path}: {what} {text!r} is not a valid pubkey") from exc


def _uint(value: Any, what: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise AccountFileError(f"{path}: {what} must be an unsigned 64-bit integer, got {value!r}")
    return value


def load_account_file(address: str, path: Path) -> tuple[Pubkey, Account]:
    """The account an --account flag loads, at ADDRESS (or the file's pubkey for `-`)."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise AccountFileError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise AccountFileError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("account"), dict):
        raise AccountFileError(f'{path}: expected {{"pubkey": ..., "account": {{...}}}}')
    fields = document["account"]
    missing = [k for k in ("lamports", "data", "owner") if k not in fields]
    if missing:
        raise AccountFileError(f"{path}: account lacks {', '.join(missing)}")
    data_field = fields["data"]
    if (
        not isinstance(data_field, list)
        or len(data_field) != 2
        or data_field[1] != "base64"
        or not isinstance(data_field[0], str)
    ):
        raise AccountFileError(f'{path}: account.data must be ["<base64>", "base64"]')
    try:
        data = base64.b64decode(data_field[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AccountFileError(f"{path}: account.data is not valid base64") from exc
    space = fields.get("space")
    if space is not None and _uint(space, "account.space", path) != len(data):
        raise AccountFileError(f"{path}: account.space {space} but data holds {len(data)} bytes")
    executable = fields.get("executable", False)
    if not isinstance(executable, bool):
        raise AccountFileError(f"{path}: account.executable must be true or false")
    pubkey = (
        _pubkey(document.get("pubkey"), "pubkey", path)
        if address == "-"
        else _pubkey(address, "ADDRESS", path)
    )
    account = Account(
        _uint(fields["lamports"], "account.lamports", path),
        data,
        _pubkey(fields["owner"], "account.owner", path),
        executable,
        _uint(fields.get("rentEpoch", 0), "account.rentEpoch", path),
    )
    return pubkey, account


def program_flag(address: str, path: Path) -> tuple[Pubkey, Path]:
    """The (program id, .so) a --bpf-program flag deploys."""
    if not path.is_file():
        raise ProgramFlagError(f"--bpf-program {address}: {path} is not a file")
    try:
        return Pubkey.from_string(address), path
    except ValueError:
        pass
    try:
        secret = json.loads(Path(address).read_text())
        return Keypair.from_bytes(bytes(secret)).pubkey(), path
    except (OSError, ValueError, TypeError) as exc:
        raise ProgramFlagError(
            f"--bpf-program {address}: neither a base58 pubkey nor a keypair file"
        ) from exc
