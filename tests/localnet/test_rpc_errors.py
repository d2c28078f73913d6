"""Malformed input gets agave's error codes and messages, and the server keeps serving."""
from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from quantdesk.localnet import LocalnetProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")
JSON = {"Content-Type": "application/json"}


async def call(node: LocalnetProcess, payload: object) -> object:
    async with httpx.AsyncClient() as http:
        response = await http.post(node.rpc_url, content=json.dumps(payload), headers=JSON)
        assert response.status_code == 200
        return response.json()


def request(method: str, params: object = None, id_: object = 1) -> dict[str, object]:
    body: dict[str, object] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return body


def error(code: int, message: str, id_: object = 1, **extra: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message, **extra}, "id": id_}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (request("getBalance"), error(-32602, "`params` should have at least 1 argument(s)")),
        (request("getSlot", [{}, 1]),
         error(-32602, "Invalid parameters: Expected from 0 to 1 parameters.", data='"Got: 2"')),
        (request("getHealth", [1]),
         error(-32602, "Invalid parameters: No parameters were expected",
               data="Array([Number(1)])")),
        (request("getBalance", {"pubkey": "x"}), error(-32602, "`params` should be an array")),
        (request("getBalance", [5]),
         error(-32602, "Invalid params: invalid type: integer `5`, expected a string.")),
        (request("getBalance", ["abc"]), error(-32602, "Invalid param: WrongSize")),
        (request("getBalance", ["0OIl" * 11]), error(-32602, "Invalid param: Invalid")),
        (request("getAccountInfo", ["11111111111111111111111111111111", {"encoding": "hex"}]),
         error(-32602, "Invalid params: unknown variant `hex`, expected one of `binary`, "
                       "`base58`, `base64`, `jsonParsed`, `base64+zstd`.")),
        (request("getSlot", [{"commitment": "max"}]),
         error(-32602, "Invalid params: unknown variant `max`, expected one of `processed`, "
                       "`confirmed`, `finalized`.")),
        (request("getSlot", [{"minContextSlot": 10**9}]),
         error(-32016, "Minimum context slot has not been reached", data={"contextSlot": None})),
        (request("getMinimumBalanceForRentExemption", [-1]),
         error(-32602, "Invalid params: invalid value: integer `-1`, expected usize.")),
        (request("getMinimumBalanceForRentExemption", [11 * 1024 * 1024]),
         error(-32600, "Invalid request")),
        (request("isBlockhashValid", ["zz"]), error(-32602, "WrongSize")),
        (request("getSignatureStatuses", [["1" * 89]]), error(-32602, "Invalid param: WrongSize")),
        (request("getMultipleAccounts", [["11111111111111111111111111111111"] * 101]),
         error(-32602, "Too many inputs provided; max 100")),
        (request("getProgramAccounts", ["11111111111111111111111111111111",
                                        {"filters": [{"dataSize": 1}] * 5}]),
         error(-32602, "Too many filters provided; max 4")),
        (request("getProgramAccounts", ["11111111111111111111111111111111",
                                        {"filters": [{"memcmp": {"offset": 0, "bytes": "0"}}]}]),
         error(-32602, "Invalid param: Base58DecodeError(InvalidCharacter { character: '0', "
                       "index: 0 })")),
        (request("getAccountInfo", ["TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"]),
         error(-32600, "Encoded binary (base 58) data should be less than 128 bytes, please "
                       "use Base64 encoding.")),
        (request("sendTransaction", ["AQ==", {"encoding": "base64"}]),
         error(-32602, "failed to deserialize solana_transaction::versioned::"
                       "VersionedTransaction: io error: unexpected end of file")),
        (request("sendTransaction", ["!!", {"encoding": "base64"}]),
         error(-32602, "invalid base64 encoding: InvalidByte(0, 33)")),
        (request("sendTransaction", ["x", {"encoding": "json"}]),
         error(-32602, "unsupported encoding: json. Supported encodings: base58, base64")),
        (request("sendTransaction", ["A" * 1700, {"encoding": "base64"}]),
         error(-32602, "base64 encoded solana_transaction::versioned::VersionedTransaction too "
                       "large: 1700 bytes (max: encoded/raw 1644/1232)")),
        (request("getTransaction", ["1" * 64, {"commitment": "processed"}]),
         error(-32602, "Method does not support commitment below `confirmed`")),
        (request("noSuchMethod"), error(-32601, "Method not found")),
        ({"jsonrpc": "1.0", "id": 3, "method": "getSlot"}, error(-32600, "Invalid request", 3)),
        ({"jsonrpc": "2.0", "id": 3}, error(-32600, "Invalid request", 3)),
        ({"jsonrpc": "2.0", "id": 3, "method": "getSlot", "params": "x"},
         error(-32600, "Invalid request", 3)),
        ([], error(-32600, "Invalid request", None)),
        (5, error(-32600, "Invalid request", None)),
    ],
)
async def test_error_responses(node: LocalnetProcess, payload: object, expected: dict) -> None:
    got = await call(node, payload)
    if "contextSlot" in json.dumps(expected):  # the slot moves: check it is reported
        assert isinstance(got["error"]["data"]["contextSlot"], int)  # type: ignore[index]
        got["error"]["data"]["contextSlot"] = None  # type: ignore[index]
    assert got == expected


async def test_parse_error_and_server_keeps_serving(node: LocalnetProcess) -> None:
    async with httpx.AsyncClient() as http:
        bad = await http.post(node.rpc_url, content=b"{not json", headers=JSON)
        assert bad.json() == error(-32700, "Parse error", None)
        bad = await http.post(node.rpc_url, content=b"\xff\xfe", headers=JSON)
        assert bad.json() == error(-32700, "Parse error", None)
        bad = await http.post(node.rpc_url, content=b"[" * 40_000, headers=JSON)
        assert bad.json() == error(-32700, "Parse error", None)
        ok = await http.post(node.rpc_url, json=request("getHealth"))
        assert ok.json() == {"jsonrpc": "2.0", "result": "ok", "id": 1}


async def test_batch_and_notifications(node: LocalnetProcess) -> None:
    got = await call(node, [request("getHealth", id_="a"), {"jsonrpc": "2.0", "method": "getSlot"},
                            request("nope", id_=2), 7])
    assert got == [
        {"jsonrpc": "2.0", "result": "ok", "id": "a"},
        error(-32601, "Method not found", 2),
        error(-32600, "Invalid request", None),
    ]
    async with httpx.AsyncClient() as http:  # a lone notification gets an empty body
        response = await http.post(node.rpc_url, json={"jsonrpc": "2.0", "method": "getSlot"})
        assert response.status_code == 200 and response.content == b""


async def test_http_level_errors(node: LocalnetProcess) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{node.rpc_url}/health")).text == "ok"
        assert (await http.get(node.rpc_url)).status_code == 405
        preflight = await http.options(node.rpc_url)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"
        wrong_type = await http.post(node.rpc_url, content=b"{}",
                                     headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415
        too_big = await http.post(node.rpc_url, content=b" " * (51 * 1024), headers=JSON)
        assert too_big.status_code == 413
        assert (await http.post(node.rpc_url, json=request("getHealth"))).status_code == 200


async def test_keep_alive_pipelining_and_garbage(node: LocalnetProcess) -> None:
    host, port = node.rpc_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps(request("getHealth")).encode()
    one = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    writer.write(one * 3)  # three pipelined requests in one segment
    await writer.drain()
    for _ in range(3):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        assert json.loads(await reader.readexactly(length))["result"] == "ok"
    # Expect: 100-continue (what curl sends for large bodies) is answered before the body
    writer.write(b"POST / HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue"
                 b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    await writer.drain()
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    assert json.loads(await reader.readexactly(length))["result"] == "ok"
    writer.write(b"GARBAGE\r\n\r\n")
    await writer.drain()
    assert (await reader.read()).startswith(b"HTTP/1.1 400")  # and the connection is closed
    writer.close()
    got = await call(node, request("getHealth"))  # the server itself is unaffected
    assert got == {"jsonrpc": "2.0", "result": "ok", "id": 1}


async def test_concurrent_clients(node: LocalnetProcess) -> None:
    async def one(i: int) -> object:
        return await call(node, request("getHealth", id_=i))

    results = await asyncio.gather(*(one(i) for i in range(50)))
    assert [r["id"] for r in results] == list(range(50))  # type: ignore[index]


def _transfer_message(payer: Keypair, to: Keypair) -> Message:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to.pubkey(), lamports=1))
    return Message.new_with_blockhash([ix], payer.pubkey(), Hash.default())


async def test_sanitize_failure_message(node: LocalnetProcess) -> None:
    # One signature while the header demands two: agave's "invalid transaction" (-32602).
    a, b = Keypair(), Keypair()
    message = _transfer_message(a, b)
    two_signers = Message.new_with_compiled_instructions(
        2, 0, message.header.num_readonly_unsigned_accounts, list(message.account_keys),
        message.recent_blockhash, list(message.instructions))
    tx = VersionedTransaction.populate(two_signers, [a.sign_message(b"x")])
    got = await call(node, request("sendTransaction",
                                   [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]))
    assert got == error(-32602, "invalid transaction: Transaction failed to sanitize accounts "
                                "offsets correctly")


async def test_bad_signature(node: LocalnetProcess) -> None:
    a, b = Keypair(), Keypair()
    tx = VersionedTransaction.populate(_transfer_message(a, b), [b.sign_message(b"forged")])
    encoded = base64.b64encode(bytes(tx)).decode()
    got = await call(node, request("sendTransaction", [encoded, {"encoding": "base64"}]))
    assert got == error(-32003, "Transaction signature verification failure")
    got = await call(node, request("simulateTransaction",
                                   [encoded, {"encoding": "base64", "sigVerify": True}]))
    assert got == error(-32003, "Transaction signature verification failure")
    got = await call(node, request("simulateTransaction", [encoded, {
        "encoding": "base64", "sigVerify": True, "replaceRecentBlockhash": True}]))
    assert got == error(-32602, "sigVerify may not be used with replaceRecentBlockhash")
    # skipPreflight: accepted, answered with the signature, then dropped like a leader would
    got = await call(node, request("sendTransaction",
                                   [encoded, {"encoding": "base64", "skipPreflight": True}]))
    assert got == {"jsonrpc": "2.0", "result": str(tx.signatures[0]), "id": 1}
    got = await call(node, request("getSignatureStatuses", [[str(tx.signatures[0])]]))
    assert got["result"]["value"] == [None]  # type: ignore[index]
