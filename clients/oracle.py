"""Client for qd-oracle: feed addresses, instruction builders, account/event/return-data decoders,
and an async client that publishes and reads prices over RPC."""
from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from anchorpy import Context, Program, Provider
from anchorpy.program.common import Event
from construct import Container
from quantdesk.clients import idl as idl_mod
from quantdesk.clients import security, sysvar
from quantdesk.clients.rpc import ProgramClient
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID

__all__ = ["Action", "DEFAULT_MAX_PUBLISHER_AGE_SECS", "DEFAULT_MIN_PUBLISHERS", "FEED_SEED", "Feed", "GUARD_LAYOUT", "GuardConfig", "MAX_PUBLISHERS",
           "MAX_PUBLISH_SKEW_SECS", "NAME", "NormalizedPrice", "OracleClient", "OracleInstructions", "PRICE_DECIMALS", "PROGRAM_ID", "PublisherPrice",
           "STATUS_HALTED", "STATUS_TRADING", "SYMBOL_LEN", "Source", "decode_feed", "decode_normalized_price", "encode_symbol", "feed_address", "normalized_price",
           "parse_events"]


NAME = "qd_oracle"
PROGRAM_ID = idl_mod.program_id(NAME)
FEED_SEED = b"feed"
SYMBOL_LEN = 16
MAX_PUBLISHERS = 8
PRICE_DECIMALS = 6
STATUS_HALTED = 0
STATUS_TRADING = 1
# How far a publisher's stamp may run ahead of the cluster clock (qd-oracle MAX_PUBLISH_SKEW_SECS).
MAX_PUBLISH_SKEW_SECS = 2
# Aggregation defaults of the builders: one fresh publisher is a quorum, and a publisher's price
# counts for 20 s (the default trade guard's staleness).
DEFAULT_MIN_PUBLISHERS = 1
DEFAULT_MAX_PUBLISHER_AGE_SECS = 20


# GuardConfig's bytes: u32 slots, u32 secs, u16 conf bps, u16 EMA deviation bps, u8 trading, pad.
GUARD_LAYOUT = struct.Struct("<IIHHB3x")


class Action(IntEnum):
    """What a price is used for; each has its own guard."""

    TRADE = 0
    MARGIN = 1
    LIQUIDATION = 2
    SETTLEMENT = 3


class Source(IntEnum):
    QUANTDESK = 0
    PYTH_LEGACY = 1
    PYTH_RECEIVER = 2


@dataclass(frozen=True)
class GuardConfig:
    """Limits for one action (see crates/qd-oracle-reader guard.rs)."""

    max_staleness_slots: int
    max_staleness_secs: int
    max_conf_bps: int
    max_ema_deviation_bps: int
    require_trading: bool

    def to_idl(self) -> dict[str, Any]:
        return {
            "max_staleness_slots": self.max_staleness_slots,
            "max_staleness_secs": self.max_staleness_secs,
            "max_conf_bps": self.max_conf_bps,
            "max_ema_deviation_bps": self.max_ema_deviation_bps,
            "require_trading": int(self.require_trading),
            "pad": [0, 0, 0],
        }

    @classmethod
    def from_idl(cls, c: Container[Any]) -> GuardConfig:
        return cls(c.max_staleness_slots, c.max_staleness_secs, c.max_conf_bps, c.max_ema_deviation_bps, bool(c.require_trading))

    @classmethod
    def from_bytes(cls, raw: bytes) -> GuardConfig:
        """The 16-byte `#[repr(C)]` layout, for decoders that do not go through an IDL."""
        slots, secs, conf, ema, trading = GUARD_LAYOUT.unpack(raw)
        return cls(slots, secs, conf, ema, bool(trading))

    def to_bytes(self) -> bytes:
        return GUARD_LAYOUT.pack(self.max_staleness_slots, self.max_staleness_secs, self.max_conf_bps, self.max_ema_deviation_bps,
                                 int(self.require_trading))


def encode_symbol(symbol: str) -> bytes:
    """A symbol as the 16 zero-padded ASCII bytes the program keys feeds by."""
    raw = symbol.encode("ascii")
    if not 0 < len(raw) <= SYMBOL_LEN or not all(0x21 <= b <= 0x7E for b in raw):
        raise ValueError(f"symbol must be 1..{SYMBOL_LEN} printable ASCII characters: {symbol!r}")
    return raw.ljust(SYMBOL_LEN, b"\0")


def feed_address(symbol: str) -> Pubkey:
    """The feed PDA [b"feed", symbol] (canonical bump)."""
    return Pubkey.find_program_address([FEED_SEED, encode_symbol(symbol)], PROGRAM_ID)[0]


@dataclass(frozen=True)
class PublisherPrice:
    """One publisher's latest publish (all zero: none since it was listed)."""

    price: int
    conf: int
    publish_time: int
    slot: int


@dataclass(frozen=True)
class Feed:
    """A decoded PriceFeed account. `price`, `conf`, the EMA, `publish_time` and `publish_slot`
    are the aggregate (cluster-stamped); `latest[i]` is `publishers[i]`'s own latest publish."""

    address: Pubkey
    symbol: str
    status: int
    expo: int
    authority: Pubkey
    publishers: list[Pubkey]
    price: int
    conf: int
    ema_price: int
    ema_conf: int
    publish_time: int
    publish_slot: int
    max_publisher_age_secs: int
    min_publishers: int
    num_aggregated: int
    ema_window_secs: int
    guards: dict[Action, GuardConfig]
    latest: list[PublisherPrice]

    def latest_of(self, publisher: Pubkey) -> PublisherPrice:
        """`publisher`'s latest publish (its next publish_time must be later)."""
        return self.latest[self.publishers.index(publisher)]

    def as_decimal(self, value: int) -> Decimal:
        """A raw price or confidence in the feed's exponent, as a Decimal."""
        return Decimal(value).scaleb(self.expo)


@dataclass(frozen=True)
class NormalizedPrice:
    """`read_price`'s return data: every source normalized to 6 decimals."""

    price: int
    conf: int
    ema_price: int
    ema_conf: int
    publish_time: int
    publish_slot: int
    trading: bool
    verified_full: bool
    source: Source

    @property
    def price_decimal(self) -> Decimal:
        return Decimal(self.price).scaleb(-PRICE_DECIMALS)


class OracleInstructions:
    """Builds qd-oracle instructions with anchorpy's IDL coder (no network use)."""

    def __init__(self, program: Program | None = None) -> None:
        self.program = program if program is not None else idl_mod.program(NAME)

    def _ix(self, name: str, *args: Any, accounts: dict[str, Pubkey]) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts))

    def initialize_feed(self, authority: Pubkey, symbol: str, expo: int, ema_window_secs: int, publishers: list[Pubkey],
                        min_publishers: int = DEFAULT_MIN_PUBLISHERS, max_publisher_age_secs: int = DEFAULT_MAX_PUBLISHER_AGE_SECS) -> Instruction:
        """`authority` must hold ORACLE_ADMIN in qd-security."""
        return self._ix(
            "initialize_feed",
            list(encode_symbol(symbol)),
            expo,
            ema_window_secs,
            publishers,
            min_publishers,
            max_publisher_age_secs,
            accounts={"authority": authority, "security_config": security.CONFIG, "feed": feed_address(symbol), "system_program": SYSTEM_PROGRAM_ID,
                      "instructions": security.INSTRUCTIONS_SYSVAR},
        )

    def publish(self, publisher: Pubkey, feed: Pubkey, price: int, conf: int, publish_time: int) -> Instruction:
        return self._ix("publish", price, conf, publish_time, accounts={"publisher": publisher, "feed": feed})

    def _managed(self, authority: Pubkey, feed: Pubkey) -> dict[str, Pubkey]:
        return {"authority": authority, "security_config": security.CONFIG, "feed": feed, "instructions": security.INSTRUCTIONS_SYSVAR}

    def set_publishers(self, feed: Pubkey, publishers: list[Pubkey], min_publishers: int = DEFAULT_MIN_PUBLISHERS,
                       max_publisher_age_secs: int = DEFAULT_MAX_PUBLISHER_AGE_SECS) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction`."""
        return self._ix("set_publishers", publishers, min_publishers, max_publisher_age_secs, accounts={"timelock": security.AUTHORITY, "feed": feed})

    def set_authority(self, authority: Pubkey, feed: Pubkey, new_authority: Pubkey) -> Instruction:
        return self._ix("set_authority", accounts={**self._managed(authority, feed), "new_authority": new_authority})

    def set_guards(self, feed: Pubkey, guards: dict[Action, GuardConfig]) -> Instruction:
        """Runs only through the timelock: propose it with `security.enact_instruction`."""
        by_action = [guards[a].to_idl() for a in Action]
        return self._ix("set_guards", {"by_action": by_action}, accounts={"timelock": security.AUTHORITY, "feed": feed})

    def set_status(self, authority: Pubkey, feed: Pubkey, status: int) -> Instruction:
        return self._ix("set_status", status, accounts=self._managed(authority, feed))

    def read_price(self, oracle: Pubkey, action: Action, guard: GuardConfig | None = None) -> Instruction:
        return self._ix("read_price", int(action), guard.to_idl() if guard else None, accounts={"oracle": oracle})


def decode_feed(address: Pubkey, data: bytes, program: Program | None = None) -> Feed:
    """Decodes PriceFeed account data (anchorpy checks the discriminator)."""
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "PriceFeed", data)
    return Feed(
        address=address,
        symbol=bytes(c.symbol).rstrip(b"\0").decode("ascii"),
        status=c.status,
        expo=c.expo,
        authority=c.authority,
        publishers=list(c.publishers[: c.num_publishers]),
        price=c.price,
        conf=c.conf,
        ema_price=c.ema_price,
        ema_conf=c.ema_conf,
        publish_time=c.publish_time,
        publish_slot=c.publish_slot,
        max_publisher_age_secs=c.max_publisher_age_secs,
        min_publishers=c.min_publishers,
        num_aggregated=c.num_aggregated,
        ema_window_secs=c.ema_window_secs,
        guards={a: GuardConfig.from_idl(c.guards.by_action[a]) for a in Action},
        latest=[PublisherPrice(e.price, e.conf, e.publish_time, e.slot) for e in c.latest[: c.num_publishers]],
    )


def normalized_price(feed: Feed) -> int:
    """The feed's aggregate price at 6 decimals, as qd-oracle-reader's `read_price` gives it
    (rounded toward zero); keepers judge accounts with it without a simulation."""
    shift = feed.expo + PRICE_DECIMALS
    factor: int = 10 ** abs(shift)
    if shift >= 0:
        return feed.price * factor
    magnitude = abs(feed.price) // factor
    return magnitude if feed.price >= 0 else -magnitude


def decode_normalized_price(data: bytes, program: Program | None = None) -> NormalizedPrice:
    c = (program or idl_mod.program(NAME)).coder.types.decode("NormalizedPrice", data)
    return NormalizedPrice(c.price, c.conf, c.ema_price, c.ema_conf, c.publish_time, c.publish_slot, c.trading, c.verified_full, Source(c.source))


def parse_events(logs: list[str], program: Program | None = None) -> list[Event]:
    """The program's Anchor events in a transaction's logs, in order."""
    return idl_mod.parse_events(program or idl_mod.program(NAME), logs)


class OracleClient(ProgramClient):
    """Publishes and reads prices through an RPC node (the local validator or a cluster)."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(NAME, provider)
        self.ix = OracleInstructions(self.program)

    async def fetch_feed(self, symbol: str) -> Feed:
        address = feed_address(symbol)
        return decode_feed(address, await self.fetch_account_data(address, f"feed for {symbol}"), self.program)

    async def publish_all(self, symbol: str, quotes: list[tuple[Keypair, int, int]], timeout_secs: float = 10.0) -> Signature:
        """Each (publisher, price, conf) publishes to `symbol`'s feed, in one transaction, stamped
        with the cluster clock: a quorum of publishers updates the aggregate together. Each
        publisher's stamp must increase, so when one already published at the cluster's current
        second this waits for the clock to move on (stamping ahead would soon pass the skew the
        program allows); `TimeoutError` after `timeout_secs`."""
        address = feed_address(symbol)
        reads = self.reads()
        await reads.load([address, sysvar.CLOCK], blockhash=True)
        feed = decode_feed(address, reads.data(address, PROGRAM_ID, f"feed for {symbol}"), self.program)
        now = sysvar.decode_clock(reads.data(sysvar.CLOCK, sysvar.SYSVAR_OWNER, "Clock sysvar")).unix_timestamp
        latest = max(feed.latest_of(p.pubkey()).publish_time for p, _, _ in quotes)
        deadline = asyncio.get_running_loop().time() + timeout_secs
        while now <= latest:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the cluster clock stayed at or before {latest} for {timeout_secs} s")
            await asyncio.sleep(0.2)
            now = (await sysvar.fetch_clock(self.connection)).unix_timestamp
        ixs = [self.ix.publish(p.pubkey(), feed.address, price, conf, now) for p, price, conf in quotes]
        return await self.send(ixs, [p for p, _, _ in quotes], reads.blockhash)

    async def fetch_price(self, oracle: Pubkey, action: Action, guard: GuardConfig | None = None) -> NormalizedPrice:
        """Runs `read_price` in a simulation and decodes its return data; a refused price raises
        `errors.ProgramError` with the program's error."""
        [price] = await self.fetch_prices([(oracle, action, guard)])
        return price

    async def fetch_prices(self, reads: Sequence[tuple[Pubkey, Action, GuardConfig | None]]) -> list[NormalizedPrice]:
        """`fetch_price` of each (oracle, action, guard), all simulated in one HTTP request."""
        results = await self.simulate_each([[self.ix.read_price(oracle, action, guard)] for oracle, action, guard in reads])
        if not all(results):
            raise RuntimeError("read_price returned no data")
        return [decode_normalized_price(data, self.program) for data in results]
