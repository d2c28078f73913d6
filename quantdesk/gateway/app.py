"""The gateway's HTTP app: sign in with a wallet (nonce, then the signed SIWS message), session, logout."""
from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Cookie, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from solders.signature import Signature

from quantdesk.gateway import siws
from quantdesk.gateway.errors import BadSignature, MalformedMessage, SignInError
from quantdesk.gateway.nonces import NonceBook
from quantdesk.gateway.sessions import COOKIE, SessionPolicy, Sessions, clear_cookie, set_cookie
from quantdesk.gateway.store import MemoryStore, Store


@dataclass(frozen=True)
class GatewayConfig:
    sign_in: siws.Policy
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    nonce_ttl_secs: float = 5 * 60


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class SignInFields(_Camel):
    """What the wallet's `solana:signIn` input should carry (the Wallet Standard's names)."""

    domain: str
    uri: str
    version: str
    chain_id: str
    statement: str
    nonce: str
    issued_at: str
    expiration_time: str


class VerifyRequest(_Camel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, Field(min_length=1, max_length=4096, description="the signed SIWS text, exactly")]
    signature: Annotated[str, Field(min_length=1, max_length=128, description="the Ed25519 signature over the message")]
    encoding: Literal["base58", "base64"] = "base58"


class SessionInfo(_Camel):
    address: str
    expires_at: str


def create_app(config: GatewayConfig, store: Store | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    store = store if store is not None else MemoryStore(clock)
    nonces = NonceBook(store, config.nonce_ttl_secs)
    sessions = Sessions(store, config.sessions, clock)
    app = FastAPI(title="QuantDesk gateway")

    @app.exception_handler(SignInError)
    async def _refused(request: Request, exc: SignInError) -> JSONResponse:
        status = 400 if isinstance(exc, MalformedMessage) else 401
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)

    @app.post("/auth/nonce", response_model=SignInFields, response_model_by_alias=True)
    async def nonce() -> SignInFields:
        now = datetime.fromtimestamp(clock(), UTC)
        return SignInFields(
            domain=config.sign_in.domain,
            uri=config.sign_in.uri,
            version="1",
            chain_id=config.sign_in.chain_id,
            statement=config.sign_in.statement,
            nonce=nonces.issue(),
            issued_at=_iso(now),
            expiration_time=_iso(now + timedelta(seconds=config.nonce_ttl_secs)),
        )

    refusals: dict[int | str, dict[str, str]] = {
        400: {"description": "MalformedMessage"},
        401: {"description": "a named refusal: BadSignature, WrongDomain, Expired, NonceReused, ..."},
    }

    @app.post("/auth/verify", response_model=SessionInfo, response_model_by_alias=True, responses=refusals)
    async def verify(
        body: VerifyRequest, response: Response, session_id: Annotated[str | None, Cookie(alias=COOKIE)] = None
    ) -> SessionInfo:
        signature = _signature(body.signature, body.encoding)
        message = siws.verify(body.message, signature, config.sign_in, nonces, datetime.fromtimestamp(clock(), UTC))
        session = sessions.start(message.address, session_id)
        set_cookie(response, session, config.sessions)
        return SessionInfo(address=session.address, expires_at=_iso(datetime.fromtimestamp(sessions.expires_at(session), UTC)))

    @app.get("/auth/session", response_model=SessionInfo, response_model_by_alias=True, responses={401: {"description": "NotSignedIn"}})
    async def current(response: Response, session_id: Annotated[str | None, Cookie(alias=COOKIE)] = None) -> SessionInfo | JSONResponse:
        session = sessions.resume(session_id) if session_id is not None else None
        if session is None:
            refused = JSONResponse({"error": "NotSignedIn", "detail": "no live session"}, status_code=401)
            clear_cookie(refused)
            return refused
        if session.id != session_id:  # rotated
            set_cookie(response, session, config.sessions)
        return SessionInfo(address=session.address, expires_at=_iso(datetime.fromtimestamp(sessions.expires_at(session), UTC)))

    @app.post("/auth/logout", status_code=204)
    async def logout(response: Response, session_id: Annotated[str | None, Cookie(alias=COOKIE)] = None) -> None:
        if session_id is not None:
            sessions.end(session_id)
        clear_cookie(response)

    return app


def _signature(text: str, encoding: str) -> bytes:
    try:
        if encoding == "base64":
            return base64.b64decode(text, validate=True)
        return bytes(Signature.from_string(text))
    except (ValueError, binascii.Error) as exc:
        raise BadSignature(f"not a {encoding} Ed25519 signature") from exc


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and Z, as JavaScript's Date.toISOString writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
