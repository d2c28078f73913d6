"""clients/trading_state's byte layouts against the specified offsets (crates/qd-trading-state pins
the same offsets on the Rust side): each field written alone lands at its offset; decode(encode(x))
is x; addresses are the PDAs."""
from __future__ import annotations

import dataclasses

import pytest
from quantdesk.clients import trading_state as ts
from quantdesk.clients.collateral import DEFAULT_GUARDS
from solders.pubkey import Pubkey

# Offsets from the account start (discriminator included) for the accounts, from the struct start
# for Position and Order.
MARKET = {"version": 8, "bump": 9, "status": 10, "index": 12, "init_margin_bps": 14, "maint_margin_bps": 16, "upnl_init_weight_bps": 18,
          "upnl_maint_weight_bps": 20, "taker_fee_bps": 22, "maker_fee_bps": 24, "auction_min_slots": 26, "auction_default_slots": 28,
          "auction_max_slots": 30, "tick_size": 176, "lot_size": 184, "min_order_size": 192, "size_margin_factor": 200, "max_open_interest": 208,
          "auction_max_deviation_bps": 216, "funding_max_rate_bps": 218, "post_auction_slots": 220, "funding_period_secs": 224,
          "open_interest_long": 232, "open_interest_short": 240, "cumulative_funding_long": 248, "last_funding_ts": 256, "last_funding_delta": 264,
          "mark_twap": 272, "oracle_twap": 280, "twap_ts": 288, "last_fill_price": 296, "last_fill_ts": 304, "fill_seq": 312, "total_fees": 320,
          "total_funding_settled": 328, "total_pnl_settled": 336, "settlement_price": 344, "audit_seq": 352, "total_volume_quote": 360,
          "mark_band_bps": 368, "delegated_band_bps": 370, "mark_depth_base": 376, "mark_premium": 384, "oracle_sample": 392,
          "cumulative_funding_short": 400, "fee_pool": 408, "liquidation_fee_pool": 416, "pnl_pool": 424, "liquidator_fee_bps": 432,
          "insurance_fee_bps": 434, "liquidation_max_fraction_bps": 436, "liquidation_whole_base": 440, "insurance_cap": 448, "insurance_paid": 456,
          "socialized_loss": 464, "unbacked_loss": 472, "liquidation_seq": 480, "fees_swept": 488, "trigger_fee": 496, "twap_slice_fee": 504}
POSITION = {"market_index": 0, "open_orders": 2, "base": 8, "quote_entry": 16, "realized_pnl": 24, "funding_snapshot": 32, "bids_base": 40,
            "bids_quote": 48, "asks_base": 56, "asks_quote": 64, "total_realized": 72}
ORDER = {"order_id": 0, "client_order_id": 8, "market_index": 16, "side": 18, "kind": 19, "tif": 20, "flags": 21, "actor": 22, "trigger_condition": 23, "price": 24, "base_size": 32,
         "base_filled": 40, "reserved_price": 48, "placed_slot": 56, "expiry_ts": 64, "auction_start_price": 72, "auction_end_price": 80,
         "auction_slots": 88, "tolerance_bps": 90, "interval_slots": 92, "expiry_slot": 96, "trigger_price": 136, "parent_id": 144,
         "linked_id": 152, "display_size": 160, "clip_start": 168, "slice_size": 176, "executed": 184, "next_due_slot": 192, "slices": 200,
         "slices_done": 202}
TRADING = {"version": 8, "bump": 9, "has_open_order": 10, "has_open_auction": 11, "has_trigger": 14, "bucket_tokens_milli": 80, "bucket_last_slot": 88,
           "next_order_id": 96, "seq": 104, "settled_pnl": 112, "fees_paid": 120}


def first_nonzero(data: bytes) -> int:
    return next(i for i, b in enumerate(data) if b)


@pytest.mark.parametrize("name", sorted(MARKET))
def test_market_field_offsets(name: str) -> None:
    zero = dataclasses.replace(ts.PerpMarket(), version=0)
    assert first_nonzero(ts.encode_market(dataclasses.replace(zero, **{name: 1}))[8:]) + 8 == MARKET[name]


def test_market_keys_guards_and_size() -> None:
    zero = dataclasses.replace(ts.PerpMarket(), version=0)
    assert first_nonzero(ts.encode_market(dataclasses.replace(zero, symbol=b"\1" + bytes(15)))[8:]) + 8 == 32
    assert first_nonzero(ts.encode_market(dataclasses.replace(zero, oracle=Pubkey(b"\1" + bytes(31))))[8:]) + 8 == 48
    assert first_nonzero(ts.encode_market(dataclasses.replace(zero, oracle_feed_id=b"\1" + bytes(31)))[8:]) + 8 == 80
    assert first_nonzero(ts.encode_market(dataclasses.replace(zero, guards=DEFAULT_GUARDS))[8:]) + 8 == 112
    assert len(ts.encode_market(zero)) == ts.MARKET_LEN == 520


@pytest.mark.parametrize(("cls", "offsets", "size"), [(ts.Position, POSITION, 80), (ts.Order, ORDER, 208)])
def test_position_and_order_offsets(cls: type, offsets: dict[str, int], size: int) -> None:
    assert cls.FORMAT.size == size
    for name, offset in offsets.items():
        assert first_nonzero(cls(**{name: 1}).pack()) == offset, name


def test_order_signer_offset() -> None:
    assert first_nonzero(ts.Order(signer=Pubkey(b"\1" + bytes(31))).pack()) == 104


def test_trading_account_offsets_and_round_trip() -> None:
    for name, offset in TRADING.items():
        fields = {"version": 0, name: 1}
        assert first_nonzero(ts.TradingAccount(**fields).encode()[8:]) + 8 == offset, name
    margin, owner = Pubkey.new_unique(), Pubkey.new_unique()
    account = ts.TradingAccount(margin_account=margin, owner=owner, next_order_id=3, fees_paid=-7,
                                positions=[ts.Position(2, base=-5 * 10**8, quote_entry=15_000_000), ts.Position(7, open_orders=1)],
                                orders=[ts.Order(1, 11, 7, 1, 1, 0, 1, 2, price=2_000_000, base_size=10**9, reserved_price=2_000_000,
                                                 signer=Pubkey.new_unique(), trigger_price=3, slices_done=2),
                                        ts.Order(2, market_index=7)])
    data = account.encode()
    assert len(data) == ts.TRADING_LEN == 7488
    assert (data[12], data[13]) == (2, 2)  # position_count, order_count
    assert data[128 + 80:128 + 82] == (7).to_bytes(2, "little")  # second position's market_index
    assert data[768 + 208:768 + 216] == (2).to_bytes(8, "little")  # second order's id
    assert (data[16:48], data[48:80]) == (bytes(margin), bytes(owner))
    assert ts.decode_trading_account(data) == account
    market = ts.PerpMarket(index=4, maker_fee_bps=-2, cumulative_funding_long=-9, cumulative_funding_short=4, oracle=Pubkey.new_unique(), guards=DEFAULT_GUARDS,
                           total_volume_quote=2**64 - 1, symbol=b"BTC-PERP".ljust(16, b"\0"))
    assert ts.decode_market(ts.encode_market(market)) == market and market.symbol_str == "BTC-PERP"
    with pytest.raises(ValueError):
        ts.decode_market(data)
    with pytest.raises(ValueError):
        ts.decode_trading_account(ts.encode_market(market))


def test_addresses_are_the_program_pdas() -> None:
    margin = Pubkey.new_unique()
    assert ts.market_address(258) == Pubkey.find_program_address([b"market", bytes([2, 1])], ts.PROGRAM_ID)[0]
    assert ts.trading_address(margin) == Pubkey.find_program_address([b"trading", bytes(margin)], ts.PROGRAM_ID)[0]
