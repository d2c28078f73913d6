"""JSON-RPC method handlers of the local validator, shaped like agave's (rpc/src/rpc.rs).

`RpcHandlers.handle(request)` takes one decoded JSON-RPC request object and returns the response
object (None for notifications). It is synchronous: the bank is in-process and every call is
short, so running handlers inline on the event loop keeps each request atomic.

Deliberate simplifications (single node, no forks):
- every commitment level (processed, confirmed, finalized) sees the same, latest bank, so
  context slots agree across them; committed transactions are final at once
  (getSignatureStatuses reports `finalized`, `confirmations: null`); methods agave serves only
  from `confirmed` up refuse `processed` as agave does.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Final

from solders.account import Account
from solders.message import Message, MessageV0, from_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import InnerInstruction

from quantdesk.localnet import codec
from quantdesk.localnet import params as P
from quantdesk.localnet import parsed as jp
from quantdesk.localnet.bank import (
    Bank,
    Block,
    ResolvedTransaction,
    SanitizeError,
    TransactionRejected,
    TxRecord,
)
from quantdesk.localnet.params import RpcError, invalid_params

API_VERSION: Final = "2.2.20"  # the agave release whose RPC behaviour this server follows
FEATURE_SET: Final = 3_294_202_862
MAX_MULTIPLE_ACCOUNTS: Final = 100
MAX_GET_SIGNATURE_STATUSES_QUERY_ITEMS: Final = 256
MAX_GET_PROGRAM_ACCOUNT_FILTERS: Final = 4
MAX_TX_ACCOUNT_LOCKS: Final = 128
MAX_PERMITTED_DATA_LENGTH: Final = 10 * 1024 * 1024
PACKET_DATA_SIZE: Final = 1232
MAX_BASE58_SIZE: Final = 1683
MAX_BASE64_SIZE: Final = 1644
MAX_GET_CONFIRMED_SIGNATURES_FOR_ADDRESS2_LIMIT: Final = 1_000
MAX_GET_CONFIRMED_BLOCKS_RANGE: Final = 500_000
# agave's RpcCustomError codes for a slot without a block to show.
BLOCK_CLEANED_UP: Final = -32001
BLOCK_NOT_AVAILABLE: Final = -32004
SLOT_SKIPPED: Final = -32007
TRANSACTION_DETAILS: Final = ("full", "signatures", "none", "accounts")
_MEMCMP_MAX_BYTES: Final = 128
_TX_TYPE: Final = "solana_transaction::versioned::VersionedTransaction"
_MESSAGE_TYPE: Final = "solana_message::versioned::VersionedMessage"

Handler = Callable[[list[Any]], Any]


# -- decoding of wire data -------------------------------------------------------------------------


def _base64_error(text: str) -> str:
    """The Debug text of the base64 crate's DecodeError for `text`."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    raw = text.encode()
    for index, byte in enumerate(raw):
        if byte not in alphabet and byte != ord("="):
            return f"InvalidByte({index}, {byte})"
    if len(raw.rstrip(b"=")) % 4 == 1:
        return f"InvalidLength({len(raw.rstrip(b'='))})"
    return "InvalidPadding"


def decode_wire(data: str, encoding: str, type_name: str) -> bytes:
    """agave's decode_and_deserialize, up to the bytes: size limits and encoding errors."""
    if encoding == "base58":
        if len(data) > MAX_BASE58_SIZE:
            raise invalid_params(
                f"base58 encoded {type_name} too large: {len(data)} bytes "
                f"(max: encoded/raw {MAX_BASE58_SIZE}/{PACKET_DATA_SIZE})"
            )
        try:
            wire = codec.b58decode(data)
        except codec.Base58Error as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}") from exc
    else:
        if len(data) > MAX_BASE64_SIZE:
            raise invalid_params(
                f"base64 encoded {type_name} too large: {len(data)} bytes "
                f"(max: encoded/raw {MAX_BASE64_SIZE}/{PACKET_DATA_SIZE})"
            )
        try:
            wire = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_params(f"invalid base64 encoding: {_base64_error(data)}") from exc
    if len(wire) > PACKET_DATA_SIZE:
        raise invalid_params(
            f"decoded {type_name} too large: {len(wire)} bytes (max: {PACKET_DATA_SIZE} bytes)"
        )
    return wire


def _binary_encoding(config: dict[str, Any]) -> str:
    value = config.get("encoding")
    encoding = "base58" if value is None else P.want_enum(value, P.TX_ENCODINGS)
    if encoding in ("json", "jsonParsed"):
        raise invalid_params(
            f"unsupported encoding: {encoding}. Supported encodings: base58, base64"
        )
    return "base58" if encoding == "binary" else encoding


def decode_transaction(data: str, encoding: str) -> VersionedTransaction:
    wire = decode_wire(data, encoding, _TX_TYPE)
    try:
        return VersionedTransaction.from_bytes(wire)
    except ValueError as exc:
        raise invalid_params(f"failed to deserialize {_TX_TYPE}: {exc}") from exc


# -- response pieces -------------------------------------------------------------------------------


def _ui_compiled(ix: Any, stack_height: int | None) -> dict[str, Any]:
    return {
        "programIdIndex": ix.program_id_index,
        "accounts": list(bytes(ix.accounts)),
        "data": codec.b58encode(bytes(ix.data)),
        "stackHeight": stack_height,
    }


def ui_inner_instructions(inner: list[list[InnerInstruction]]) -> list[dict[str, Any]]:
    return [
        {
            "index": index,
            "instructions": [_ui_compiled(ii.instruction(), jp.stack_height(ii)) for ii in group],
        }
        for index, group in enumerate(inner)
        if group
    ]


def ui_return_data(return_data: tuple[Pubkey, bytes] | None) -> dict[str, Any] | None:
    if return_data is None:
        return None
    program_id, data = return_data
    return {"programId": str(program_id), "data": [codec.b64encode(data), "base64"]}


def _ui_message(resolved: ResolvedTransaction, parsed: bool) -> dict[str, Any]:
    message = resolved.tx.message
    header = message.header
    out: dict[str, Any] = {"recentBlockhash": str(message.recent_blockhash)}
    if parsed:
        out["accountKeys"] = _ui_account_keys(resolved)
        out["instructions"] = [
            jp.ui_instruction(ix, resolved.account_keys, None) for ix in message.instructions
        ]
    else:
        out["accountKeys"] = [str(k) for k in message.account_keys]
        out["header"] = {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        }
        out["instructions"] = [_ui_compiled(ix, None) for ix in message.instructions]
    if isinstance(message, MessageV0):
        out["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "writableIndexes": list(bytes(lookup.writable_indexes)),
                "readonlyIndexes": list(bytes(lookup.readonly_indexes)),
            }
            for lookup in message.address_table_lookups
        ]
    return out


def _ui_meta(record: TxRecord, parsed: bool) -> dict[str, Any]:
    err = None if record.err is None else codec.error_to_json(record.err)
    meta: dict[str, Any] = {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": record.fee,
        "preBalances": record.pre_balances,
        "postBalances": record.post_balances,
        "innerInstructions": (
            jp.ui_inner_instructions(record.inner_instructions, record.resolved.account_keys)
            if parsed
            else ui_inner_instructions(record.inner_instructions)
        ),
        "logMessages": record.logs,
        "preTokenBalances": record.pre_token_balances,
        "postTokenBalances": record.post_token_balances,
        "rewards": [],
        "computeUnitsConsumed": record.compute_units,
    }
    if not parsed:
        meta["loadedAddresses"] = {
            "writable": [str(k) for k in record.resolved.loaded_writable],
            "readonly": [str(k) for k in record.resolved.loaded_readonly],
        }
    return_data = ui_return_data(record.return_data)
    if return_data is not None:
        meta["returnData"] = return_data
    return meta


def memo(resolved: ResolvedTransaction) -> str | None:
    """The SPL Memo texts of the top-level instructions as agave formats them: "[len] text",
    joined by "; " (agave extract_and_fmt_memos)."""
    message = resolved.tx.message
    memos = []
    for ix in message.instructions:
        if message.account_keys[ix.program_id_index] in jp.MEMO_PROGRAM_IDS:
            data = bytes(ix.data)
            try:
                text = data.decode()
            except UnicodeDecodeError:
                text = "(unparseable)"
            memos.append(f"[{len(data)}] {text}")
    return "; ".join(memos) if memos else None


def _ui_account_keys(resolved: ResolvedTransaction) -> list[dict[str, Any]]:
    header = resolved.tx.message.header
    n_static = len(resolved.tx.message.account_keys)
    return [
        {
            "pubkey": str(key),
            "writable": resolved.writable[i],
            "signer": i < header.num_required_signatures,
            "source": "transaction" if i < n_static else "lookupTable",
        }
        for i, key in enumerate(resolved.account_keys)
    ]


def _check_version(record: TxRecord, max_version: int | None) -> None:
    if isinstance(record.resolved.tx.message, MessageV0) and max_version is None:
        raise RpcError(
            P.UNSUPPORTED_TRANSACTION_VERSION,
            "Transaction version (0) is not supported by the requesting client. Please try "
            "the request again with the following configuration parameter: "
            '"maxSupportedTransactionVersion": 0',
        )


def encoded_transaction(record: TxRecord, encoding: str, max_version: int | None) -> dict[str, Any]:
    """{transaction, meta[, version]} as getTransaction and a full getBlock show it."""
    _check_version(record, max_version)
    tx = record.resolved.tx
    parsed = encoding == "jsonParsed"
    ui_tx: Any
    if encoding in ("json", "jsonParsed"):
        ui_tx = {
            "signatures": [str(s) for s in tx.signatures],
            "message": _ui_message(record.resolved, parsed),
        }
    elif encoding == "base64":
        ui_tx = [codec.b64encode(bytes(tx)), "base64"]
    elif encoding == "base58":
        ui_tx = [codec.b58encode(bytes(tx)), "base58"]
    else:  # binary: the legacy bare base58 string
        ui_tx = codec.b58encode(bytes(tx))
    out: dict[str, Any] = {"transaction": ui_tx, "meta": _ui_meta(record, parsed)}
    if max_version is not None:
        out["version"] = 0 if isinstance(tx.message, MessageV0) else "legacy"
    return out


def _accounts_transaction(record: TxRecord, max_version: int | None) -> dict[str, Any]:
    """A transaction of a getBlock with transactionDetails "accounts": keys and balances only."""
    _check_version(record, max_version)
    err = None if record.err is None else codec.error_to_json(record.err)
    out: dict[str, Any] = {
        "transaction": {
            "signatures": [str(s) for s in record.resolved.tx.signatures],
            "accountKeys": _ui_account_keys(record.resolved),
        },
        "meta": {
            "err": err,
            "status": {"Ok": None} if err is None else {"Err": err},
            "fee": record.fee,
            "preBalances": record.pre_balances,
            "postBalances": record.post_balances,
            "preTokenBalances": record.pre_token_balances,
            "postTokenBalances": record.post_token_balances,
        },
    }
    if max_version is not None:
        out["version"] = 0 if isinstance(record.resolved.tx.message, MessageV0) else "legacy"
    return out


def _memcmp_bytes(memcmp: dict[str, Any]) -> bytes:
    """The bytes of a memcmp filter (agave RpcFilterType::verify + convert_to_raw_bytes)."""
    if "offset" not in memcmp:
        P.serde_error("missing field `offset`")
    if "bytes" not in memcmp:
        P.serde_error("missing field `bytes`")
    raw = memcmp["bytes"]
    if isinstance(raw, list):
        data = bytes(P.want_uint(b, "u8", 8) for b in raw)
    else:
        text = P.want_str(raw)
        encoding = memcmp.get("encoding")
        encoding = "base58" if encoding is None else P.want_enum(
            encoding, ("binary", "base58", "base64", "bytes")
        )
        limit = 172 if encoding == "base64" else 175
        if len(text) > limit:
            raise invalid_params("Invalid param: DataTooLarge")
        if encoding == "base64":
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise invalid_params(
                    f"Invalid param: Base64DecodeError({_base64_error(text)})"
                ) from exc
        else:
            try:
                data = codec.b58decode(text)
            except codec.Base58Error as exc:
                raise invalid_params(f"Invalid param: Base58DecodeError({exc})") from exc
    if len(data) > _MEMCMP_MAX_BYTES:
        raise invalid_params("Invalid param: DataTooLarge")
    return data


Filter = Callable[[bytes], bool]


def _data_size(size: int) -> Filter:
    return lambda data: len(data) == size


def _memcmp(offset: int, wanted: bytes) -> Filter:
    return lambda data: data[offset : offset + len(wanted)] == wanted and offset <= len(data)


def parse_filters(value: Any) -> list[Filter]:
    """getProgramAccounts / programSubscribe filters as predicates over account data."""
    if value is None:
        return []
    if not isinstance(value, list):
        P.invalid_type(value, "a sequence")
    if len(value) > MAX_GET_PROGRAM_ACCOUNT_FILTERS:
        raise invalid_params(
            f"Too many filters provided; max {MAX_GET_PROGRAM_ACCOUNT_FILTERS}"
        )
    filters: list[Filter] = []
    for item in value:
        if item == "tokenAccountState":
            filters.append(_token_account_state)
        elif isinstance(item, dict) and len(item) == 1 and "dataSize" in item:
            filters.append(_data_size(P.want_uint(item["dataSize"])))
        elif isinstance(item, dict) and len(item) == 1 and "memcmp" in item:
            memcmp = P.want_struct(item["memcmp"], "Memcmp")
            wanted = _memcmp_bytes(memcmp)
            filters.append(_memcmp(P.want_uint(memcmp["offset"], "usize"), wanted))
        else:
            variant = next(iter(item), None) if isinstance(item, dict) else item
            P.serde_error(
                f"unknown variant `{variant}`, expected one of `dataSize`, `memcmp`, "
                "`tokenAccountState`"
            )
    return filters


def _token_account_state(data: bytes) -> bool:
    return len(data) >= codec.TOKEN_ACCOUNT_LEN and data[108] != 0


def context_slot(bank: Bank, config: dict[str, Any]) -> int:
    """Validates commitment/minContextSlot and returns the slot the answer is for."""
    P.commitment(config)
    min_slot = P.optional_uint(config, "minContextSlot")
    slot = bank.slot
    if min_slot is not None and slot < min_slot:
        raise RpcError(
            P.MIN_CONTEXT_SLOT_NOT_REACHED,
            "Minimum context slot has not been reached",
            {"contextSlot": slot},
        )
    return slot


def respond(slot: int, value: Any) -> dict[str, Any]:
    """An RpcResponse: the value with its context."""
    return {"context": {"apiVersion": API_VERSION, "slot": slot}, "value": value}



def _encoding_config(param: Any, struct: str) -> tuple[dict[str, Any], str]:
    """getTransaction's and getBlock's second parameter: a config (`struct`), or the deprecated
    bare encoding; the config and its transaction encoding (json by default)."""
    config: dict[str, Any] = {"encoding": param} if isinstance(param, str) else P.want_struct(param, struct)
    value = config.get("encoding")
    return config, "json" if value is None else P.want_enum(value, P.TX_ENCODINGS)

class RpcHandlers:
    """The RPC methods over one Bank; `extra` adds more (the qd_ test controls), `intercept` sees
    every method name first and may fail the request by raising RpcError (qd_failRequests)."""

    def __init__(
        self,
        bank: Bank,
        on_received: Callable[[Signature], None] | None = None,
        extra: dict[str, tuple[Handler, int, int]] | None = None,
        intercept: Callable[[str], None] | None = None,
    ) -> None:
        self.bank = bank
        self._intercept = intercept  # may raise RpcError to fail a request (qd_failRequests)
        self._on_received = on_received
        self.methods: dict[str, tuple[Handler, int, int]] = {
            # name: (handler, required params, total params)
            "getVersion": (self.get_version, 0, 0),
            "getHealth": (self.get_health, 0, 0),
            "getGenesisHash": (self.get_genesis_hash, 0, 0),
            "getSlot": (self.get_slot, 0, 1),
            "getBlockHeight": (self.get_block_height, 0, 1),
            "getEpochInfo": (self.get_epoch_info, 0, 1),
            "getLatestBlockhash": (self.get_latest_blockhash, 0, 1),
            "isBlockhashValid": (self.is_blockhash_valid, 1, 2),
            "getAccountInfo": (self.get_account_info, 1, 2),
            "getMultipleAccounts": (self.get_multiple_accounts, 1, 2),
            "getProgramAccounts": (self.get_program_accounts, 1, 2),
            "getBalance": (self.get_balance, 1, 2),
            "getMinimumBalanceForRentExemption": (self.get_minimum_balance, 1, 2),
            "getTokenAccountBalance": (self.get_token_account_balance, 1, 2),
            "sendTransaction": (self.send_transaction, 1, 2),
            "simulateTransaction": (self.simulate_transaction, 1, 2),
            "getSignatureStatuses": (self.get_signature_statuses, 1, 2),
            "getTransaction": (self.get_transaction, 1, 2),
            "getFeeForMessage": (self.get_fee_for_message, 1, 2),
            "requestAirdrop": (self.request_airdrop, 2, 3),
            "getRecentPrioritizationFees": (self.get_recent_prioritization_fees, 0, 1),
            "getSignaturesForAddress": (self.get_signatures_for_address, 1, 2),
            "getTransactionCount": (self.get_transaction_count, 0, 1),
            "getBlock": (self.get_block, 1, 2),
            "getBlockTime": (self.get_block_time, 1, 1),
            "getBlocks": (self.get_blocks, 1, 3),
            "getBlocksWithLimit": (self.get_blocks_with_limit, 2, 3),
            "getFirstAvailableBlock": (self.get_first_available_block, 0, 0),
            "minimumLedgerSlot": (self.minimum_ledger_slot, 0, 0),
        }
        self.methods.update(extra or {})

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, request: Any) -> dict[str, Any] | None:
        """One JSON-RPC request object -> its response object (None for a notification)."""
        parsed = P.parse_request(request)
        if not isinstance(parsed, P.Request):
            return parsed
        request_id, method, params, is_notification = parsed.id, parsed.method, parsed.params, parsed.notification
        entry = self.methods.get(method)
        try:
            if self._intercept is not None:
                self._intercept(method)
            if entry is None:
                raise RpcError(P.METHOD_NOT_FOUND)
            handler, required, total = entry
            result = handler(P.positional(params, required, total))
        except RpcError as exc:
            return None if is_notification else P.error_response(request_id, exc)
        if is_notification:
            return None
        return {"jsonrpc": "2.0", "result": result, "id": request_id}

    # -- context -----------------------------------------------------------------------------

    def _context_slot(self, config: dict[str, Any]) -> int:
        return context_slot(self.bank, config)

    @staticmethod
    def _respond(slot: int, value: Any) -> dict[str, Any]:
        return respond(slot, value)

    # -- cluster -----------------------------------------------------------------------------

    def get_version(self, _: list[Any]) -> dict[str, Any]:
        return {"feature-set": FEATURE_SET, "solana-core": API_VERSION}

    def get_health(self, _: list[Any]) -> str:
        return "ok"

    def get_genesis_hash(self, _: list[Any]) -> str:
        return str(self.bank.genesis_hash)

    def get_slot(self, p: list[Any]) -> int:
        return self._context_slot(P.want_struct(p[0], "RpcContextConfig"))

    def get_block_height(self, p: list[Any]) -> int:
        self._context_slot(P.want_struct(p[0], "RpcContextConfig"))
        return self.bank.block_height

    def get_epoch_info(self, p: list[Any]) -> dict[str, int]:
        self._context_slot(P.want_struct(p[0], "RpcContextConfig"))
        return self.bank.epoch_info()

    def get_latest_blockhash(self, p: list[Any]) -> dict[str, Any]:
        slot = self._context_slot(P.want_struct(p[0], "RpcContextConfig"))
        blockhash = self.bank.latest_blockhash
        return self._respond(
            slot,
            {
                "blockhash": str(blockhash),
                "lastValidBlockHeight": self.bank.last_valid_block_height(blockhash),
            },
        )

    def is_blockhash_valid(self, p: list[Any]) -> dict[str, Any]:
        # agave reports this parse error without the usual "Invalid param: " prefix.
        blockhash = P.blockhash(p[0], prefix="")
        slot = self._context_slot(P.want_struct(p[1], "RpcContextConfig"))
        return self._respond(slot, self.bank.is_blockhash_valid(blockhash))

    def get_recent_prioritization_fees(self, p: list[Any]) -> list[dict[str, int]]:
        keys = [] if p[0] is None else P.want_str_list(p[0])
        if len(keys) > MAX_TX_ACCOUNT_LOCKS:
            raise invalid_params(f"Too many inputs provided; max {MAX_TX_ACCOUNT_LOCKS}")
        accounts = [P.pubkey(k) for k in keys]
        return [
            {"slot": slot, "prioritizationFee": fee}
            for slot, fee in self.bank.prioritization_fees(accounts)
        ]

    # -- accounts ----------------------------------------------------------------------------

    def _encode(
        self,
        account: Account,
        encoding: str,
        data_slice: tuple[int, int] | None,
        check_base58_size: bool = True,
    ) -> dict[str, Any]:
        if (
            check_base58_size
            and encoding in ("binary", "base58")
            and codec.base58_too_large(account, data_slice)
        ):
            raise RpcError(P.INVALID_REQUEST, codec.BASE58_TOO_LARGE_MESSAGE)
        if encoding == "jsonParsed" and data_slice is None and codec.is_token_account(account):
            mint, _, _ = codec.token_account_fields(bytes(account.data))
            mint_account = self.bank.get_account(mint)
            if mint_account is not None and codec.is_mint(mint_account):
                decimals = codec.mint_decimals(bytes(mint_account.data))
                ui = codec.encode_account(account, "base64")
                ui["data"] = codec.parse_token_account_json(account, decimals)
                return ui
        return codec.encode_account(account, encoding, data_slice)

    def get_account_info(self, p: list[Any]) -> dict[str, Any]:
        key = P.pubkey(p[0])
        config = P.want_struct(p[1], "RpcAccountInfoConfig")
        encoding = P.account_encoding(config, "binary")
        data_slice = P.data_slice(config)
        slot = self._context_slot(config)
        account = self.bank.get_account(key)
        value = None if account is None else self._encode(account, encoding, data_slice)
        return self._respond(slot, value)

    def get_multiple_accounts(self, p: list[Any]) -> dict[str, Any]:
        keys = P.want_str_list(p[0])
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        pubkeys = [P.pubkey(k) for k in keys]
        config = P.want_struct(p[1], "RpcAccountInfoConfig")
        encoding = P.account_encoding(config, "base64")
        data_slice = P.data_slice(config)
        slot = self._context_slot(config)
        values = []
        for key in pubkeys:
            account = self.bank.get_account(key)
            values.append(None if account is None else self._encode(account, encoding, data_slice))
        return self._respond(slot, values)

    def get_program_accounts(self, p: list[Any]) -> Any:
        program_id = P.pubkey(p[0])
        config = P.want_struct(p[1], "RpcProgramAccountsConfig")
        filters = parse_filters(config.get("filters"))
        encoding = P.account_encoding(config, "binary")
        data_slice = P.data_slice(config)
        with_context = P.optional_bool(config, "withContext")
        sort_results = P.optional_bool(config, "sortResults", default=True)
        slot = self._context_slot(config)
        matches = [
            (key, account)
            for key, account in self.bank.program_accounts(program_id)
            if all(f(bytes(account.data)) for f in filters)
        ]
        if sort_results:
            matches.sort(key=lambda item: bytes(item[0]))
        accounts = [
            {"pubkey": str(key), "account": self._encode(account, encoding, data_slice)}
            for key, account in matches
        ]
        return self._respond(slot, accounts) if with_context else accounts

    def get_balance(self, p: list[Any]) -> dict[str, Any]:
        key = P.pubkey(p[0])
        slot = self._context_slot(P.want_struct(p[1], "RpcContextConfig"))
        account = self.bank.get_account(key)
        return self._respond(slot, 0 if account is None else account.lamports)

    def get_minimum_balance(self, p: list[Any]) -> int:
        data_len = P.want_uint(p[0], "usize")
        P.commitment(P.want_struct(p[1], "CommitmentConfig"))
        if data_len > MAX_PERMITTED_DATA_LENGTH:
            raise RpcError(P.INVALID_REQUEST)
        return self.bank.svm.minimum_balance_for_rent_exemption(data_len)

    def get_token_account_balance(self, p: list[Any]) -> dict[str, Any]:
        key = P.pubkey(p[0])
        P.commitment(P.want_struct(p[1], "CommitmentConfig"))
        account = self.bank.get_account(key)
        if account is None:
            raise invalid_params("Invalid param: could not find account")
        if not codec.is_token_account(account):
            raise invalid_params("Invalid param: not a Token account")
        mint, _, amount = codec.token_account_fields(bytes(account.data))
        mint_account = self.bank.get_account(mint)
        if mint_account is None:
            raise invalid_params("Invalid param: could not find mint")
        if not codec.is_mint(mint_account):
            raise invalid_params("Invalid param: Token mint could not be unpacked")
        decimals = codec.mint_decimals(bytes(mint_account.data))
        return self._respond(self.bank.slot, codec.ui_token_amount(amount, decimals))

    # -- transactions ------------------------------------------------------------------------

    def _resolve(self, tx: VersionedTransaction) -> ResolvedTransaction:
        try:
            return self.bank.resolve(tx)
        except SanitizeError as exc:
            raise invalid_params(f"invalid transaction: {exc}") from exc

    def send_transaction(self, p: list[Any]) -> str:
        data = P.want_str(p[0])
        config = P.want_struct(p[1], "RpcSendTransactionConfig")
        skip_preflight = P.optional_bool(config, "skipPreflight")
        P.commitment(config, "preflightCommitment")
        P.optional_uint(config, "maxRetries", "usize")
        encoding = _binary_encoding(config)
        tx = decode_transaction(data, encoding)
        self._context_slot({"minContextSlot": config.get("minContextSlot")})
        resolved = self._resolve(tx)
        signature = resolved.signature
        valid_signatures = self.bank.signatures_valid(tx)
        if not skip_preflight:
            if not valid_signatures:
                raise RpcError(
                    P.TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                    "Transaction signature verification failure",
                )
            simulation = self.bank.simulate(resolved)
            if simulation.err is not None:
                err = codec.error_to_json(simulation.err)
                raise RpcError(
                    P.SEND_TRANSACTION_PREFLIGHT_FAILURE,
                    f"Transaction simulation failed: {codec.error_text(err)}",
                    {
                        "accounts": None,
                        "err": err,
                        "innerInstructions": None,
                        "logs": simulation.logs,
                        "replacementBlockhash": None,
                        "returnData": ui_return_data(simulation.return_data),
                        "unitsConsumed": simulation.units_consumed,
                        "loadedAccountsDataSize": simulation.loaded_accounts_data_size,
                    },
                )
        if self._on_received is not None:
            self._on_received(signature)
        # Like a leader: a transaction that fails signature verification or admission checks
        # is dropped without trace; the client only learns it by never seeing it land.
        if valid_signatures:
            try:
                self.bank.process(resolved)
            except TransactionRejected:
                pass
        return str(signature)

    def simulate_transaction(self, p: list[Any]) -> dict[str, Any]:
        data = P.want_str(p[0])
        config = P.want_struct(p[1], "RpcSimulateTransactionConfig")
        sig_verify = P.optional_bool(config, "sigVerify")
        replace_blockhash = P.optional_bool(config, "replaceRecentBlockhash")
        P.optional_bool(config, "innerInstructions")
        encoding = _binary_encoding(config)
        accounts_config = P.want_struct(config.get("accounts"), "RpcSimulateTransactionAccountsConfig")
        tx = decode_transaction(data, encoding)
        slot = self._context_slot(config)
        replacement = None
        if replace_blockhash:
            if sig_verify:
                raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
            tx = _with_blockhash(tx, self.bank.latest_blockhash)
            replacement = {
                "blockhash": str(self.bank.latest_blockhash),
                "lastValidBlockHeight": self.bank.last_valid_block_height(
                    self.bank.latest_blockhash
                ),
            }
        resolved = self._resolve(tx)
        if sig_verify and not self.bank.signatures_valid(tx):
            raise RpcError(
                P.TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                "Transaction signature verification failure",
            )
        simulation = self.bank.simulate(resolved)
        accounts = None
        if accounts_config:
            accounts = self._simulated_accounts(accounts_config, simulation, resolved)
        inner = None
        if P.optional_bool(config, "innerInstructions"):
            # agave parses them whatever the encoding: jsonParsed where it can, else compiled
            inner = jp.ui_inner_instructions(simulation.inner_instructions, resolved.account_keys)
        return self._respond(
            slot,
            {
                "accounts": accounts,
                "err": None if simulation.err is None else codec.error_to_json(simulation.err),
                "innerInstructions": inner,
                "logs": simulation.logs,
                "replacementBlockhash": replacement,
                "returnData": ui_return_data(simulation.return_data),
                "unitsConsumed": simulation.units_consumed,
                "loadedAccountsDataSize": simulation.loaded_accounts_data_size,
            },
        )

    def _simulated_accounts(
        self, config: dict[str, Any], simulation: Any, resolved: ResolvedTransaction
    ) -> list[dict[str, Any] | None]:
        if "addresses" not in config:
            P.serde_error("missing field `addresses`")
        addresses = P.want_str_list(config["addresses"])
        encoding = P.account_encoding(config, "base64")
        if encoding in ("binary", "base58"):
            raise invalid_params("base58 encoding not supported")
        if len(addresses) > len(resolved.account_keys):
            raise invalid_params(
                f"Too many accounts provided; max {len(resolved.account_keys)}"
            )
        if simulation.err is not None:
            return [None] * len(addresses)
        values: list[dict[str, Any] | None] = []
        for address in addresses:
            key = P.pubkey(address)
            account = simulation.post_accounts.get(key) or self.bank.get_account(key)
            if account is not None and account.lamports == 0:
                account = None
            if account is not None:
                account = self.bank.rent_stamped(account)  # as it would be stored
            values.append(None if account is None else self._encode(account, encoding, None))
        return values

    def get_signature_statuses(self, p: list[Any]) -> dict[str, Any]:
        texts = P.want_str_list(p[0])
        if len(texts) > MAX_GET_SIGNATURE_STATUSES_QUERY_ITEMS:
            raise invalid_params(
                f"Too many inputs provided; max {MAX_GET_SIGNATURE_STATUSES_QUERY_ITEMS}"
            )
        signatures = [P.signature(t) for t in texts]
        config = P.want_struct(p[1], "RpcSignatureStatusConfig")
        search_history = P.optional_bool(config, "searchTransactionHistory")
        values: list[dict[str, Any] | None] = []
        for sig in signatures:
            record = self.bank.record(sig)
            # Without searchTransactionHistory agave answers from its status cache, which
            # covers the blocks of the last 300 blockhashes.
            recent = record is not None and (
                search_history or self.bank.block_height - record.block_height <= 300
            )
            if record is None or not recent:
                values.append(None)
                continue
            err = None if record.err is None else codec.error_to_json(record.err)
            values.append(
                {
                    "slot": record.slot,
                    "confirmations": None,
                    "err": err,
                    "status": {"Ok": None} if err is None else {"Err": err},
                    "confirmationStatus": "finalized",
                }
            )
        return self._respond(self.bank.slot, values)

    def get_transaction(self, p: list[Any]) -> dict[str, Any] | None:
        sig = P.signature(p[0])
        config, encoding = _encoding_config(p[1], "RpcTransactionConfig")
        if P.commitment(config) == "processed":
            raise invalid_params("Method does not support commitment below `confirmed`")
        max_version = P.optional_uint(config, "maxSupportedTransactionVersion", "u8", 8)
        record = self.bank.record(sig)
        if record is None:
            return None
        return {
            "slot": record.slot,
            **encoded_transaction(record, encoding, max_version),
            "blockTime": record.block_time,
        }

    # -- history -----------------------------------------------------------------------------

    def _confirmed(self, config: dict[str, Any]) -> None:
        if P.commitment(config) == "processed":
            raise invalid_params("Method does not support commitment below `confirmed`")

    def get_signatures_for_address(self, p: list[Any]) -> list[dict[str, Any]]:
        address = P.pubkey(p[0])
        config = P.want_struct(p[1], "RpcSignaturesForAddressConfig")
        before = None if config.get("before") is None else P.signature(config["before"])
        until = None if config.get("until") is None else P.signature(config["until"])
        limit = P.optional_uint(config, "limit", "usize")
        if limit is None:
            limit = MAX_GET_CONFIRMED_SIGNATURES_FOR_ADDRESS2_LIMIT
        if limit == 0 or limit > MAX_GET_CONFIRMED_SIGNATURES_FOR_ADDRESS2_LIMIT:
            raise invalid_params(
                f"Invalid limit; max {MAX_GET_CONFIRMED_SIGNATURES_FOR_ADDRESS2_LIMIT}"
            )
        self._confirmed(config)
        self._context_slot(config)
        return [
            {
                "signature": str(record.signature),
                "slot": record.slot,
                "err": None if record.err is None else codec.error_to_json(record.err),
                "memo": memo(record.resolved),
                "blockTime": record.block_time,
                "confirmationStatus": "finalized",
            }
            for record in self.bank.signatures_for_address(address, before, until, limit)
        ]

    def get_transaction_count(self, p: list[Any]) -> int:
        self._context_slot(P.want_struct(p[0], "RpcContextConfig"))
        return self.bank.transaction_count

    def _block(self, slot: int) -> Block:
        """The block at `slot`, or agave's error for a slot that has none to show."""
        if slot > self.bank.slot:
            raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
        first = self.bank.first_available_block
        if slot < first:
            raise RpcError(
                BLOCK_CLEANED_UP,
                f"Block {slot} cleaned up, does not exist on node. First available block: {first}",
            )
        block = self.bank.block(slot)
        if block is None:
            raise RpcError(
                SLOT_SKIPPED,
                f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot",
            )
        return block

    def get_block_time(self, p: list[Any]) -> int:
        return self._block(P.want_uint(p[0])).block_time

    def get_block(self, p: list[Any]) -> dict[str, Any]:
        slot = P.want_uint(p[0])
        config, encoding = _encoding_config(p[1], "RpcBlockConfig")
        details_value = config.get("transactionDetails")
        details = (
            "full" if details_value is None else P.want_enum(details_value, TRANSACTION_DETAILS)
        )
        rewards = P.optional_bool(config, "rewards", default=True)
        self._confirmed(config)
        max_version = P.optional_uint(config, "maxSupportedTransactionVersion", "u8", 8)
        block = self._block(slot)
        result: dict[str, Any] = {
            "blockhash": str(block.blockhash),
            "previousBlockhash": str(block.previous_blockhash),
            "parentSlot": block.parent_slot,
        }
        if details == "full":
            result["transactions"] = [
                encoded_transaction(r, encoding, max_version) for r in block.transactions
            ]
        elif details == "accounts":
            result["transactions"] = [
                _accounts_transaction(r, max_version) for r in block.transactions
            ]
        elif details == "signatures":
            result["signatures"] = [str(r.signature) for r in block.transactions]
        if rewards:
            result["rewards"] = []  # no staking or leader fees on a single test node
        result["blockTime"] = block.block_time
        result["blockHeight"] = block.block_height
        return result

    def _blocks_config(self, value: Any) -> None:
        self._confirmed(P.want_struct(value, "RpcContextConfig"))

    def get_blocks(self, p: list[Any]) -> list[int]:
        start = P.want_uint(p[0])
        # The second parameter is the end slot or, in its place, the config (agave
        # RpcBlocksConfigWrapper).
        end: int | None = None
        if isinstance(p[1], dict):
            self._blocks_config(p[1])
        elif p[1] is not None:
            end = P.want_uint(p[1])
        self._blocks_config(p[2])
        end = min(start + MAX_GET_CONFIRMED_BLOCKS_RANGE if end is None else end, self.bank.slot)
        if end < start:
            return []
        if end - start > MAX_GET_CONFIRMED_BLOCKS_RANGE:
            raise invalid_params(f"Slot range too large; max {MAX_GET_CONFIRMED_BLOCKS_RANGE}")
        return self.bank.block_slots(start, end)

    def get_blocks_with_limit(self, p: list[Any]) -> list[int]:
        start = P.want_uint(p[0])
        limit = P.want_uint(p[1], "usize")
        self._blocks_config(p[2])
        if limit > MAX_GET_CONFIRMED_BLOCKS_RANGE:
            raise invalid_params(f"Limit too large; max {MAX_GET_CONFIRMED_BLOCKS_RANGE}")
        return self.bank.block_slots(start, self.bank.slot, limit)

    def get_first_available_block(self, _: list[Any]) -> int:
        return self.bank.first_available_block

    def minimum_ledger_slot(self, _: list[Any]) -> int:
        return self.bank.first_available_block

    def get_fee_for_message(self, p: list[Any]) -> dict[str, Any]:
        wire = decode_wire(P.want_str(p[0]), "base64", _MESSAGE_TYPE)
        try:
            message = from_bytes_versioned(wire)
        except ValueError as exc:
            raise invalid_params(f"failed to deserialize {_MESSAGE_TYPE}: {exc}") from exc
        slot = self._context_slot(P.want_struct(p[1], "RpcContextConfig"))
        # Sanitizing needs a transaction; placeholder signatures of the right count do.
        placeholders = [Signature.default()] * message.header.num_required_signatures
        try:
            self.bank.resolve(VersionedTransaction.populate(message, placeholders))
        except SanitizeError as exc:
            raise invalid_params(f"invalid transaction message: {exc}") from exc
        return self._respond(slot, self.bank.fee_for_message(message))

    def request_airdrop(self, p: list[Any]) -> str:
        key = P.pubkey(p[0])
        lamports = P.want_uint(p[1])
        config = P.want_struct(p[2], "RpcRequestAirdropConfig")
        P.commitment(config)
        if config.get("recentBlockhash") is not None:
            P.blockhash(config["recentBlockhash"])
        return str(self.bank.airdrop(key, lamports))


def _with_blockhash(tx: VersionedTransaction, blockhash: Any) -> VersionedTransaction:
    message = tx.message
    if isinstance(message, MessageV0):
        replaced: Message | MessageV0 = MessageV0(
            message.header,
            list(message.account_keys),
            blockhash,
            list(message.instructions),
            list(message.address_table_lookups),
        )
    else:
        replaced = Message.new_with_compiled_instructions(
            message.header.num_required_signatures,
            message.header.num_readonly_signed_accounts,
            message.header.num_readonly_unsigned_accounts,
            list(message.account_keys),
            blockhash,
            list(message.instructions),
        )
    return VersionedTransaction.populate(replaced, list(tx.signatures))
