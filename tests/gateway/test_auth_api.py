"""The auth API end to end: nonce, a wallet's signed message, the cookie, session, rotation, logout."""
from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from solders.signature import Signature

from quantdesk.gateway import siws
from quantdesk.gateway.app import GatewayConfig, create_app
from quantdesk.gateway.sessions import COOKIE, SessionPolicy

SIGN_IN = siws.Policy(domain="testserver", uri="https://testserver", chain_id="localnet")
CONFIG = GatewayConfig(sign_in=SIGN_IN, sessions=SessionPolicy(idle_secs=100, absolute_secs=1000, rotate_secs=300))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    # https: the cookie is Secure, and the client's jar sends it only over https.
    with TestClient(create_app(CONFIG, clock=clock), base_url="https://testserver") as client:
        yield client


def _signed(client: TestClient, keypair: Keypair) -> tuple[str, bytes]:
    fields = client.post("/auth/nonce").json()
    message = siws.SignInMessage(
        domain=fields["domain"],
        address=str(keypair.pubkey()),
        statement=fields["statement"],
        uri=fields["uri"],
        version=fields["version"],
        chain_id=fields["chainId"],
        nonce=fields["nonce"],
        issued_at=fields["issuedAt"],
        expiration_time=fields["expirationTime"],
    )
    text = siws.render(message)
    return text, bytes(keypair.sign_message(text.encode()))


def _sign_in(client: TestClient, keypair: Keypair) -> str:
    text, signature = _signed(client, keypair)
    response = client.post("/auth/verify", json={"message": text, "signature": base58(signature)})
    assert response.status_code == 200, response.text
    return str(response.cookies[COOKIE])


def base58(signature: bytes) -> str:
    return str(Signature.from_bytes(signature))


def test_nonce_gives_the_fields_to_sign(client: TestClient, clock: Clock) -> None:
    first, second = client.post("/auth/nonce").json(), client.post("/auth/nonce").json()
    assert first["domain"] == "testserver" and first["uri"] == "https://testserver"
    assert first["version"] == "1" and first["chainId"] == "localnet"
    assert len(first["nonce"]) >= 8 and first["nonce"].isalnum() and first["nonce"] != second["nonce"]
    assert first["issuedAt"] == "2027-01-15T08:00:00.000Z" and first["expirationTime"] == "2027-01-15T08:05:00.000Z"


def test_a_wallet_signs_in_and_the_cookie_is_locked_down(client: TestClient) -> None:
    keypair = Keypair()
    text, signature = _signed(client, keypair)
    response = client.post("/auth/verify", json={"message": text, "signature": base58(signature)})
    assert response.status_code == 200 and response.json()["address"] == str(keypair.pubkey())
    cookie = response.headers["set-cookie"]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert cookie.startswith(f"{COOKIE}=")
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    assert not any(flag.startswith("domain=") for flag in flags)
    assert client.get("/auth/session").json()["address"] == str(keypair.pubkey())


def test_a_base64_signature_signs_in(client: TestClient) -> None:
    text, signature = _signed(client, Keypair())
    body = {"message": text, "signature": base64.b64encode(signature).decode(), "encoding": "base64"}
    assert client.post("/auth/verify", json=body).status_code == 200


def test_refusals_are_named(client: TestClient) -> None:
    keypair = Keypair()
    text, signature = _signed(client, keypair)
    forged = client.post("/auth/verify", json={"message": text, "signature": base58(bytes(Keypair().sign_message(text.encode())))})
    assert (forged.status_code, forged.json()["error"]) == (401, "BadSignature")
    garbage = client.post("/auth/verify", json={"message": text, "signature": "not!base58"})
    assert (garbage.status_code, garbage.json()["error"]) == (401, "BadSignature")
    assert client.post("/auth/verify", json={"message": text, "signature": base58(signature)}).status_code == 200
    replay = client.post("/auth/verify", json={"message": text, "signature": base58(signature)})
    assert (replay.status_code, replay.json()["error"]) == (401, "NonceReused")
    malformed = client.post("/auth/verify", json={"message": "hello", "signature": base58(signature)})
    assert (malformed.status_code, malformed.json()["error"]) == (400, "MalformedMessage")


def test_a_bad_request_names_the_field(client: TestClient) -> None:
    response = client.post("/auth/verify", json={"message": "", "signature": "x", "encoding": "hex"})
    assert response.status_code == 422
    where = {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}
    assert ("body", "message") in where and ("body", "encoding") in where
    assert client.post("/auth/verify", json={"signature": "x"}).json()["detail"][0]["loc"] == ["body", "message"]


def test_no_cookie_no_session(client: TestClient) -> None:
    response = client.get("/auth/session")
    assert (response.status_code, response.json()["error"]) == (401, "NotSignedIn")


def test_signing_in_again_kills_the_old_id(client: TestClient) -> None:
    keypair = Keypair()
    old = _sign_in(client, keypair)
    new = _sign_in(client, keypair)
    assert new != old
    stale = TestClient(client.app, base_url="https://testserver", cookies={COOKIE: old})
    assert stale.get("/auth/session").status_code == 401


def test_rotation_replaces_the_cookie_and_kills_the_old_id(client: TestClient, clock: Clock) -> None:
    old = _sign_in(client, Keypair())
    for _ in range(4):
        clock.now += 60
        assert client.get("/auth/session").status_code == 200
    clock.now += 70
    response = client.get("/auth/session")
    assert response.status_code == 200
    new = response.cookies[COOKIE]
    assert new != old and client.get("/auth/session").status_code == 200
    stale = TestClient(client.app, base_url="https://testserver", cookies={COOKIE: old})
    assert stale.get("/auth/session").status_code == 401


def test_an_idle_session_is_signed_out(client: TestClient, clock: Clock) -> None:
    _sign_in(client, Keypair())
    clock.now += 101
    assert client.get("/auth/session").status_code == 401


def test_logout_kills_the_id_and_clears_the_cookie(client: TestClient) -> None:
    old = _sign_in(client, Keypair())
    response = client.post("/auth/logout")
    assert response.status_code == 204
    assert f'{COOKIE}=""' in response.headers["set-cookie"] or "max-age=0" in response.headers["set-cookie"].lower()
    assert client.get("/auth/session").status_code == 401
    stale = TestClient(client.app, base_url="https://testserver", cookies={COOKIE: old})
    assert stale.get("/auth/session").status_code == 401


def test_the_cli_serves_the_app_with_its_host_port_domain_and_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from fastapi import FastAPI

    from quantdesk.cli import main

    served: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    assert main(["gateway", "--port", "3010", "--chain-id", "devnet"]) == 0
    assert (served["host"], served["port"]) == ("127.0.0.1", 3010)
    app = served["app"]
    assert isinstance(app, FastAPI)
    fields = TestClient(app).post("/auth/nonce").json()
    assert (fields["domain"], fields["uri"], fields["chainId"]) == ("127.0.0.1:3010", "http://127.0.0.1:3010", "devnet")
