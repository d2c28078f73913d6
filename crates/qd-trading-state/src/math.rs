//! Prices and quote amounts of orders and fills. Integer math only, checked; SBF has no 128-bit
//! division, so quotients go through `qd_health::wide`.

use crate::state::Order;
use crate::SIDE_BID;
use qd_health::wide::{div_pow10, divrem_pow10, divrem_u32, mul_wide, signed};
use qd_runtime::error::{ProgramError, RuntimeError};

pub(crate) fn overflow() -> ProgramError {
    RuntimeError::ArithmeticOverflow.into()
}

/// `price` rounded to a multiple of `tick` (> 0) against the order's side: a bid down, an ask
/// up, so a computed price never becomes worse for whoever the order protects.
pub fn round_to_tick(price: i64, tick: u64, side: u8) -> Result<i64, ProgramError> {
    let tick = i64::try_from(tick).ok().filter(|&t| t > 0).ok_or_else(overflow)?;
    let below = price.checked_sub(price.rem_euclid(tick)).ok_or_else(overflow)?;
    if side == SIDE_BID || below == price {
        Ok(below)
    } else {
        below.checked_add(tick).ok_or_else(overflow)
    }
}

/// `floor(price * bps / 10_000)` for a price `> 0` and `bps <= 10_000` (the quotient fits i64):
/// a band around an oracle price (auction bounds, mark samples, agents' fills).
pub fn band(price: i64, bps: u16) -> i64 {
    div_pow10::<4>(mul_wide(price.unsigned_abs(), bps as u64), false) as i64
}

/// The quote amount of `size` base units at `price`: `floor(size * price / 1e9)`. Exact for a
/// lot multiple at a tick multiple (a market's `tick * lot` is a multiple of 1e9).
pub fn quote_for(size: u64, price: i64) -> Result<i64, ProgramError> {
    let (magnitude, inexact) = divrem_pow10::<9>(mul_wide(size, price.unsigned_abs()));
    // Toward -inf for a negative price, as for a positive one.
    let magnitude = magnitude + (price < 0 && inexact) as u128;
    i64::try_from(signed(price < 0, magnitude).ok_or_else(overflow)?).map_err(|_| overflow())
}

/// The price of `order`'s auction at `slot`: from `auction_start_price` to `auction_end_price`
/// linearly over `auction_slots` slots from `placed_slot` (the end price afterwards, and for an
/// order without auction), the step truncated toward the start, then rounded to a tick against
/// the order's side (a bid down, an ask up).
pub fn auction_price(order: &Order, slot: u64, tick: u64) -> Result<i64, ProgramError> {
    let n = order.auction_slots as u64;
    let elapsed = slot.saturating_sub(order.placed_slot).min(n);
    let (start, end) = (order.auction_start_price, order.auction_end_price);
    let price = if elapsed == n {
        end
    } else {
        let span = end as i128 - start as i128;
        // |span| < 2^64, elapsed < 2^16: the product fits u128, the step fits i64 (|step| < |span|).
        let (step, _) = divrem_u32(mul_wide(span.unsigned_abs() as u64, elapsed), n as u32);
        let step = signed(span < 0, step).ok_or_else(overflow)?;
        i64::try_from(start as i128 + step).map_err(|_| overflow())?
    };
    round_to_tick(price, tick, order.side)
}
