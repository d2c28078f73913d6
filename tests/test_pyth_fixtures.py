"""Pyth fixture builders (clients/pyth.py) against independent parsers, and the Rust oracle
reader's layout constants against those builders.

The chain of evidence: pythclient parses our legacy accounts, borsh-construct decodes our
PriceUpdateV2 accounts, and the offsets and discriminators hard-coded in crates/qd-oracle-reader
must match the bytes the builders produce (its Rust tests read the same layouts).
"""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path

import borsh_construct as borsh
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pythclient.pythaccounts import (
    ACCOUNT_HEADER_BYTES,
    EmaType,
    PythPriceAccount,
    PythPriceStatus,
    _parse_header,
)
from pythclient.solana import SolanaClient
from quantdesk.clients.pyth import (
    LEGACY_ACCOUNT_LEN,
    PRICE_UPDATE_V2_DISCRIMINATOR,
    PRICE_UPDATE_V2_LEN,
    legacy_price_account,
    price_update_v2,
)
from solders.pubkey import Pubkey

CRATE = Path(__file__).resolve().parents[1] / "crates" / "qd-oracle-reader"
I64 = st.integers(-(2**63), 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)
NON_NEG_I64 = st.integers(0, 2**63 - 1)
EXPO = st.integers(-18, 6)


def rust_source(name: str) -> str:
    return (CRATE / "src" / name).read_text()


def rust_usize_consts(name: str) -> dict[str, int]:
    """`const NAME: usize = N;` declarations in a Rust source file."""
    return {m[1]: int(m[2]) for m in re.finditer(r"const (\w+): usize = (\d+);", rust_source(name))}


# --- legacy v2 price account ---------------------------------------------------------------


def parse_with_pythclient(data: bytes) -> PythPriceAccount:
    type_, size, version = _parse_header(data, 0, key=str(Pubkey.default()))
    assert (type_.value, version, size) == (3, 2, LEGACY_ACCOUNT_LEN)
    account = PythPriceAccount(str(Pubkey.default()), SolanaClient(endpoint="http://127.0.0.1:1"))
    account.update_from(data[:size], version=version, offset=ACCOUNT_HEADER_BYTES)
    return account


@given(
    price=I64,
    conf=U64,
    expo=EXPO,
    pub_slot=U64,
    timestamp=I64,
    ema_price=I64,
    ema_conf=NON_NEG_I64,
    status=st.sampled_from(list(PythPriceStatus)),
    publishers=st.integers(0, 32),
)
def test_legacy_account_parses_with_pythclient(
    price: int,
    conf: int,
    expo: int,
    pub_slot: int,
    timestamp: int,
    ema_price: int,
    ema_conf: int,
    status: PythPriceStatus,
    publishers: int,
) -> None:
    keys = tuple(Pubkey.new_unique() for _ in range(publishers))
    product = Pubkey.new_unique()
    data = legacy_price_account(
        price=price,
        conf=conf,
        expo=expo,
        pub_slot=pub_slot,
        timestamp=timestamp,
        ema_price=ema_price,
        ema_conf=ema_conf,
        status=status.value,
        product=product,
        publishers=keys,
    )
    assert len(data) == LEGACY_ACCOUNT_LEN
    acc = parse_with_pythclient(data)
    agg = acc.aggregate_price_info
    assert agg is not None
    assert (agg.raw_price, agg.raw_confidence_interval, agg.price_status, agg.pub_slot) == (
        price,
        conf,
        status,
        pub_slot,
    )
    assert acc.exponent == expo
    assert acc.timestamp == timestamp
    assert acc.derivations[EmaType.EMA_PRICE_VALUE] == ema_price
    assert acc.derivations[EmaType.EMA_CONFIDENCE_VALUE] == ema_conf
    assert (acc.valid_slot, acc.last_slot, acc.num_components) == (pub_slot, pub_slot, publishers)
    assert str(acc.product_account_key) == str(product)
    assert acc.next_price_account_key is None
    assert [str(c.publisher_key) for c in acc.price_components] == [str(k) for k in keys]
    for c in acc.price_components:
        assert c.latest_price_info.raw_price == price
        assert c.last_aggregate_price_info.pub_slot == pub_slot


def test_legacy_offsets_match_rust_reader() -> None:
    data = legacy_price_account(
        price=-7, conf=11, expo=-8, pub_slot=13, timestamp=17, ema_price=19, ema_conf=23, status=1
    )
    c = rust_usize_consts("read.rs")
    assert struct.unpack_from("<III", data, c["LEGACY_MAGIC"]) == (0xA1B2C3D4, 2, 3)
    assert struct.unpack_from("<I", data, c["LEGACY_VERSION"]) == (2,)
    assert struct.unpack_from("<I", data, c["LEGACY_ATYPE"]) == (3,)
    assert struct.unpack_from("<i", data, c["LEGACY_EXPO"]) == (-8,)
    assert struct.unpack_from("<q", data, c["LEGACY_EMA_PRICE"]) == (19,)
    assert struct.unpack_from("<q", data, c["LEGACY_EMA_CONF"]) == (23,)
    assert struct.unpack_from("<q", data, c["LEGACY_TIMESTAMP"]) == (17,)
    assert struct.unpack_from("<q", data, c["LEGACY_AGG_PRICE"]) == (-7,)
    assert struct.unpack_from("<Q", data, c["LEGACY_AGG_CONF"]) == (11,)
    assert struct.unpack_from("<I", data, c["LEGACY_AGG_STATUS"]) == (1,)
    assert struct.unpack_from("<Q", data, c["LEGACY_AGG_PUB_SLOT"]) == (13,)
    # The reader needs the header and aggregate: everything before the first component.
    assert c["LEGACY_MIN_LEN"] == c["LEGACY_AGG_PUB_SLOT"] + 8 == 240
    assert c["LEGACY_HEADER_LEN"] == ACCOUNT_HEADER_BYTES


def test_legacy_overrides_build_invalid_accounts() -> None:
    bad = legacy_price_account(price=1, conf=1, expo=-8, pub_slot=1, timestamp=1, magic=0, version=1, atype=2)
    assert struct.unpack_from("<III", bad, 0) == (0, 1, 2)
    with pytest.raises(ValueError, match="wrong magic"):
        _parse_header(bad, 0, key=str(Pubkey.default()))
    with pytest.raises(ValueError, match="at most 32"):
        legacy_price_account(
            price=1, conf=1, expo=-8, pub_slot=1, timestamp=1, publishers=tuple(Pubkey.new_unique() for _ in range(33))
        )


# --- PriceUpdateV2 -------------------------------------------------------------------------

VERIFICATION = borsh.Enum("Partial" / borsh.CStruct("num_signatures" / borsh.U8), "Full", enum_name="VerificationLevel")
PRICE_UPDATE_V2 = borsh.CStruct(
    "write_authority" / borsh.U8[32],
    "verification_level" / VERIFICATION,
    "feed_id" / borsh.U8[32],
    "price" / borsh.I64,
    "conf" / borsh.U64,
    "exponent" / borsh.I32,
    "publish_time" / borsh.I64,
    "prev_publish_time" / borsh.I64,
    "ema_price" / borsh.I64,
    "ema_conf" / borsh.U64,
    "posted_slot" / borsh.U64,
)


@given(
    price=I64,
    conf=U64,
    exponent=st.integers(-(2**31), 2**31 - 1),
    publish_time=I64,
    prev_publish_time=I64,
    ema_price=I64,
    ema_conf=U64,
    posted_slot=U64,
    partial=st.none() | st.integers(0, 255),
)
def test_price_update_v2_decodes_with_borsh(
    price: int,
    conf: int,
    exponent: int,
    publish_time: int,
    prev_publish_time: int,
    ema_price: int,
    ema_conf: int,
    posted_slot: int,
    partial: int | None,
) -> None:
    feed_id = hashlib.sha256(str(price).encode()).digest()
    authority = Pubkey.new_unique()
    data = price_update_v2(
        feed_id=feed_id,
        price=price,
        conf=conf,
        exponent=exponent,
        publish_time=publish_time,
        prev_publish_time=prev_publish_time,
        ema_price=ema_price,
        ema_conf=ema_conf,
        posted_slot=posted_slot,
        write_authority=authority,
        verification="full" if partial is None else "partial",
        num_signatures=partial or 0,
    )
    assert len(data) == PRICE_UPDATE_V2_LEN
    assert data[:8] == PRICE_UPDATE_V2_DISCRIMINATOR
    decoded = PRICE_UPDATE_V2.parse(data[8:])
    level = decoded.verification_level
    if partial is None:
        assert isinstance(level, VERIFICATION.enum.Full)
        assert data[-1] == 0  # Full is a byte shorter than the allocation
    else:
        assert isinstance(level, VERIFICATION.enum.Partial)
        assert level.num_signatures == partial
    assert bytes(decoded.write_authority) == bytes(authority)
    assert bytes(decoded.feed_id) == feed_id
    assert (decoded.price, decoded.conf, decoded.exponent) == (price, conf, exponent)
    assert (decoded.publish_time, decoded.prev_publish_time) == (publish_time, prev_publish_time)
    assert (decoded.ema_price, decoded.ema_conf, decoded.posted_slot) == (ema_price, ema_conf, posted_slot)


@pytest.mark.parametrize(("verification", "message_at"), [("full", 41), ("partial", 42)])
def test_price_update_v2_offsets_per_encoding(verification: str, message_at: int) -> None:
    feed_id = bytes(range(32))
    data = price_update_v2(
        feed_id=feed_id,
        price=-101,
        conf=103,
        exponent=-8,
        publish_time=107,
        prev_publish_time=109,
        ema_price=-113,
        ema_conf=127,
        posted_slot=131,
        verification="full" if verification == "full" else "partial",
        num_signatures=5,
    )
    c = rust_usize_consts("read.rs")
    assert c["RECEIVER_LEN"] == PRICE_UPDATE_V2_LEN == 134
    assert c[f"RECEIVER_MESSAGE_{verification.upper()}"] == message_at
    assert data[c["RECEIVER_VERIFICATION"]] == (1 if verification == "full" else 0)
    if verification == "partial":
        assert data[41] == 5
    m = message_at
    feed_at = m + c["MSG_FEED_ID"]
    assert data[feed_at:feed_at + 32] == feed_id
    assert struct.unpack_from("<q", data, m + c["MSG_PRICE"]) == (-101,)
    assert struct.unpack_from("<Q", data, m + c["MSG_CONF"]) == (103,)
    assert struct.unpack_from("<i", data, m + c["MSG_EXPONENT"]) == (-8,)
    assert struct.unpack_from("<q", data, m + c["MSG_PUBLISH_TIME"]) == (107,)
    assert struct.unpack_from("<q", data, m + c["MSG_EMA_PRICE"]) == (-113,)
    assert struct.unpack_from("<Q", data, m + c["MSG_EMA_CONF"]) == (127,)
    assert struct.unpack_from("<Q", data, m + c["MSG_POSTED_SLOT"]) == (131,)
    # Absolute positions: Full puts price at 73 and posted_slot at 125, Partial one byte later.
    assert struct.unpack_from("<q", data, 73 if verification == "full" else 74) == (-101,)
    assert struct.unpack_from("<Q", data, 125 if verification == "full" else 126) == (131,)


def test_price_update_v2_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        price_update_v2(feed_id=b"short", price=1, conf=1, exponent=-8, publish_time=1, posted_slot=1)
    with pytest.raises(ValueError, match="verification"):
        price_update_v2(
            feed_id=bytes(32),
            price=1,
            conf=1,
            exponent=-8,
            publish_time=1,
            posted_slot=1,
            verification="none",  # type: ignore[arg-type]
        )


# --- discriminators -----------------------------------------------------------------------


def test_price_update_discriminator_is_anchors() -> None:
    assert PRICE_UPDATE_V2_DISCRIMINATOR == hashlib.sha256(b"account:PriceUpdateV2").digest()[:8]
