"""Byte-exact builders for Pyth oracle accounts, for tests and the local validator.

Two formats, as the on-chain reader (crates/qd-oracle-reader) parses them:

* legacy v2 price account (owner: the Pyth oracle program), laid out like pyth-sdk-solana's
  ``PriceAccount``: a 240-byte header and aggregate, then 32 publisher components (3312 bytes);
* ``PriceUpdateV2`` (owner: the Pyth Solana Receiver), borsh-packed after an Anchor
  discriminator. Its ``verification_level`` enum is 2 bytes when ``Partial {num_signatures}``
  and 1 byte when ``Full``, so every later field of a Full update sits one byte earlier; the
  account is allocated at 134 bytes either way and a Full update leaves the last byte zero.
"""

from __future__ import annotations

import struct
from typing import Final, Literal

from quantdesk.clients import idl
from solders.pubkey import Pubkey

__all__ = ["LEGACY_ACCOUNT_LEN", "LEGACY_ATYPE_PRICE", "LEGACY_COMPONENTS_AT", "LEGACY_COMPONENT_LEN", "LEGACY_MAGIC", "LEGACY_MAX_COMPONENTS",
           "LEGACY_PTYPE_PRICE", "LEGACY_STATUS_TRADING", "LEGACY_VERSION", "PRICE_UPDATE_V2_DISCRIMINATOR", "PRICE_UPDATE_V2_LEN",
           "PYTH_ORACLE_DEVNET", "PYTH_ORACLE_MAINNET", "PYTH_RECEIVER", "ZERO_KEY", "Verification", "legacy_price_account", "price_update_v2"]

ZERO_KEY = Pubkey.default()
"""The all-zero key: Pyth's "none" for an account reference."""


LEGACY_MAGIC: Final = 0xA1B2C3D4
LEGACY_VERSION: Final = 2
LEGACY_ATYPE_PRICE: Final = 3
LEGACY_PTYPE_PRICE: Final = 1
LEGACY_STATUS_TRADING: Final = 1
LEGACY_ACCOUNT_LEN: Final = 3312
LEGACY_COMPONENT_LEN: Final = 96
LEGACY_COMPONENTS_AT: Final = 240
LEGACY_MAX_COMPONENTS: Final = 32

PRICE_UPDATE_V2_LEN: Final = 134

# Owners the reader accepts (crates/qd-ids): the Pyth oracle program (legacy v2 price accounts,
# mainnet-beta and devnet) and the Pyth Solana Receiver (PriceUpdateV2).
PYTH_ORACLE_MAINNET: Final = Pubkey.from_string("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH")
PYTH_ORACLE_DEVNET: Final = Pubkey.from_string("gSbePebfvPy7tRqimPoVecS2UsBvYv46ynrzWocc92s")
PYTH_RECEIVER: Final = Pubkey.from_string("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ")

Verification = Literal["full", "partial"]


PRICE_UPDATE_V2_DISCRIMINATOR: Final = idl.discriminator("account", "PriceUpdateV2")


def legacy_price_account(
    *,
    price: int,
    conf: int,
    expo: int,
    pub_slot: int,
    timestamp: int,
    ema_price: int | None = None,
    ema_conf: int | None = None,
    status: int = LEGACY_STATUS_TRADING,
    product: Pubkey = ZERO_KEY,
    publishers: tuple[Pubkey, ...] = (),
    magic: int = LEGACY_MAGIC,
    version: int = LEGACY_VERSION,
    atype: int = LEGACY_ATYPE_PRICE,
) -> bytes:
    """A Pyth v2 price account with aggregate ``price``/``conf`` at ``expo``.

    The EMA defaults to the aggregate. Each publisher gets a component whose aggregate and latest
    contributions equal the aggregate. ``magic``/``version``/``atype`` exist to build invalid
    accounts for negative tests.
    """
    if len(publishers) > LEGACY_MAX_COMPONENTS:
        raise ValueError(f"at most {LEGACY_MAX_COMPONENTS} publishers")
    ema_price = price if ema_price is None else ema_price
    ema_conf = conf if ema_conf is None else ema_conf
    agg = struct.pack("<qQIIQ", price, conf, status, 0, pub_slot)
    body = b"".join(
        [
            struct.pack("<IIII", magic, version, atype, LEGACY_ACCOUNT_LEN),
            # ptype, expo, num (components), num_qt (quoters in the aggregate)
            struct.pack("<IiII", LEGACY_PTYPE_PRICE, expo, len(publishers), len(publishers)),
            struct.pack("<QQ", pub_slot, pub_slot),  # last_slot, valid_slot
            # ema_price and ema_conf as rationals {val, numer, denom}; val is what readers use.
            struct.pack("<qqq", ema_price, ema_price, 1),
            struct.pack("<qqq", ema_conf, ema_conf, 1),
            struct.pack("<qBBHI", timestamp, len(publishers), 0, 0, 0),  # timestamp, min_pub, drv2-4
            bytes(product),
            bytes(Pubkey.default()),  # next price account
            struct.pack("<QqQq", pub_slot, price, conf, timestamp),  # prev_slot/price/conf/timestamp
            agg,
            *(bytes(p) + agg + agg for p in publishers),
        ]
    )
    return body.ljust(LEGACY_ACCOUNT_LEN, b"\0")


def price_update_v2(
    *,
    feed_id: bytes,
    price: int,
    conf: int,
    exponent: int,
    publish_time: int,
    posted_slot: int,
    prev_publish_time: int | None = None,
    ema_price: int | None = None,
    ema_conf: int | None = None,
    write_authority: Pubkey = ZERO_KEY,
    verification: Verification = "full",
    num_signatures: int = 0,
) -> bytes:
    """A Pyth Receiver ``PriceUpdateV2`` account (134 bytes).

    ``num_signatures`` is only encoded for ``verification="partial"``. The EMA defaults to the
    price, ``prev_publish_time`` to one second before ``publish_time``.
    """
    if len(feed_id) != 32:
        raise ValueError("feed_id must be 32 bytes")
    if verification == "full":
        level = b"\x01"
    elif verification == "partial":
        level = struct.pack("<BB", 0, num_signatures)
    else:
        raise ValueError(f"verification must be 'full' or 'partial', not {verification!r}")
    message = feed_id + struct.pack(
        "<qQiqqqQ",
        price,
        conf,
        exponent,
        publish_time,
        publish_time - 1 if prev_publish_time is None else prev_publish_time,
        price if ema_price is None else ema_price,
        conf if ema_conf is None else ema_conf,
    )
    data = PRICE_UPDATE_V2_DISCRIMINATOR + bytes(write_authority) + level + message
    return (data + struct.pack("<Q", posted_slot)).ljust(PRICE_UPDATE_V2_LEN, b"\0")
