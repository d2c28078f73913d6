//! Orders linked to each other, kept right in the same instruction as the change that moves
//! them: every removal from the book (`drop_order`) and every fill of a resting or taker order
//! (`fill_resting`, then `Filled::link` after the Fill event) goes through here.
//!
//! - A bracket exit's fill reduces the other exit by as much (one-cancels-other); at zero the
//!   other leaves (CANCEL_OCO). The two keep equal remainders, so one counts for both in the
//!   order totals; when the counting one leaves, the covered one counts for itself.
//! - A bracket entry leaving the book with size unfilled takes that size out of its exits
//!   (CANCEL_BRACKET at zero): the exits close what the entry bought or sold, no more.
//! - A TWAP slice's fill counts toward its parent's `executed`; a slice leaving with size unfilled
//!   gives it back to the parent (a later slice may catch it up); once every slice is placed, the
//!   last one leaving ends the parent (CANCEL_TWAP_FINISHED). A parent leaving takes its slice.
//! - An iceberg whose clip filled shows a new clip from the rest (IcebergRefreshed).
//!
//! Indexes into `orders` shift with every removal: callers find orders again by id.

use super::next_seq;
use crate::error::{overflow, TradingError as E};
use crate::events::{IcebergRefreshed, OrderCancelled, OrderReduced, CANCEL_BRACKET, CANCEL_OCO, CANCEL_TWAP_FINISHED};
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_trading_state::{Order, TradingAccount, ORDER_FLAG_COVERED, ORDER_FLAG_ENTRY};

/// Takes `trading.orders[index]` off the book with its OrderCancelled event (its remaining size
/// leaves its position's totals; the position is freed later by `finish`), then applies its links.
pub(super) fn drop_order(trading: &mut TradingAccount, index: usize, reason: u8, slot: u64) -> ProgramResult {
    let order = take_off(trading, index, reason, slot)?;
    after_removal(trading, &order, slot)
}

/// Records `size` filled on `trading.orders[i]` (its position `p`): the totals shrink and a
/// filled order leaves the book. Its links follow with `Filled::link`, after the Fill event.
pub(super) fn fill_resting(trading: &mut TradingAccount, i: usize, p: usize, size: u64) -> Result<Filled, ProgramError> {
    let before = trading.orders[i];
    let after = Order { base_filled: before.base_filled.checked_add(size).ok_or_else(overflow)?, ..before };
    trading.positions[p].remove_remaining(&before)?;
    if after.remaining() == 0 {
        trading.remove_order(i);
    } else {
        trading.positions[p].add_order(&after)?;
        trading.orders[i] = after;
    }
    Ok(Filled { order: after, size })
}

/// A fill recorded on an order whose links are still to follow.
#[must_use]
pub(super) struct Filled {
    order: Order,
    size: u64,
}

impl Filled {
    /// What the fill does to the order's links (see the module docs).
    pub(super) fn link(self, trading: &mut TradingAccount, slot: u64) -> ProgramResult {
        let Filled { order, size } = self;
        if order.display_size != 0 && order.remaining() > 0 && order.visible() == 0 {
            if let Some(i) = trading.order_index(order.order_id) {
                // A new clip, at the back of the queue.
                let o = &mut trading.orders[i];
                o.clip_start = o.base_filled;
                o.placed_slot = slot;
                let (clip, remaining) = (o.visible(), o.remaining());
                let seq = next_seq(&mut trading.seq)?;
                IcebergRefreshed { margin_account: trading.margin_account, order_id: order.order_id, clip, remaining, slot, seq }.emit();
            }
        }
        if order.is_exit() {
            if let Some(j) = trading.order_index(order.linked_id) {
                shrink(trading, j, size, CANCEL_OCO, slot)?;
            }
        }
        if order.is_slice() {
            if let Some(j) = trading.order_index(order.parent_id) {
                let parent = &mut trading.orders[j];
                parent.executed = parent.executed.checked_add(size).ok_or_else(overflow)?;
            }
        }
        if order.remaining() == 0 {
            after_removal(trading, &order, slot)?;
        }
        Ok(())
    }
}

/// Removes `trading.orders[index]` and its totals with an OrderCancelled event; no links.
fn take_off(trading: &mut TradingAccount, index: usize, reason: u8, slot: u64) -> Result<Order, ProgramError> {
    let order = trading.orders[index];
    let p = trading.position_index(order.market_index).ok_or(E::OrderNotFound)?;
    trading.positions[p].remove_remaining(&order)?;
    trading.remove_order(index);
    let seq = next_seq(&mut trading.seq)?;
    OrderCancelled {
        margin_account: trading.margin_account,
        order_id: order.order_id,
        client_order_id: order.client_order_id,
        market_index: order.market_index,
        side: order.side,
        reason,
        remaining: order.remaining(),
        slot,
        seq,
    }
    .emit();
    Ok(order)
}

/// What `order` leaving the book (dropped, or filled in full) does to the orders linked to it.
fn after_removal(trading: &mut TradingAccount, order: &Order, slot: u64) -> ProgramResult {
    if order.is_exit() {
        // The other exit now counts for itself.
        if let Some(j) = trading.order_index(order.linked_id) {
            let mut other = trading.orders[j];
            other.linked_id = 0;
            if other.flags & ORDER_FLAG_COVERED != 0 {
                other.flags &= !ORDER_FLAG_COVERED;
                let p = trading.position_index(other.market_index).ok_or(E::OrderNotFound)?;
                trading.positions[p].add_order(&other)?;
            }
            trading.orders[j] = other;
        }
    }
    if order.flags & ORDER_FLAG_ENTRY != 0 && order.remaining() > 0 {
        // Each pass unlinks one exit from the entry and shrinks it (indexes move with removals).
        while let Some(j) = trading.orders().iter().position(|o| o.is_exit() && o.parent_id == order.order_id) {
            trading.orders[j].parent_id = 0;
            shrink(trading, j, order.remaining(), CANCEL_BRACKET, slot)?;
        }
    }
    if order.is_twap() && order.linked_id != 0 {
        if let Some(j) = trading.order_index(order.linked_id) {
            take_off(trading, j, CANCEL_TWAP_FINISHED, slot)?;
        }
    }
    if order.is_slice() {
        if let Some(j) = trading.order_index(order.parent_id) {
            let before = trading.orders[j];
            // The slice's unfilled rest goes back to the parent.
            let parent = Order { base_filled: before.base_filled.saturating_sub(order.remaining()), linked_id: 0, ..before };
            let p = trading.position_index(parent.market_index).ok_or(E::OrderNotFound)?;
            trading.positions[p].remove_remaining(&before)?;
            trading.positions[p].add_order(&parent)?;
            trading.orders[j] = parent;
            if parent.slices_done >= parent.slices || parent.executed >= parent.base_size {
                take_off(trading, j, CANCEL_TWAP_FINISHED, slot)?;
            }
        }
    }
    Ok(())
}

/// Takes `by` out of `trading.orders[j]`'s remaining size (a link's `reason`): OrderReduced, or
/// at zero the order leaves with its links.
fn shrink(trading: &mut TradingAccount, j: usize, by: u64, reason: u8, slot: u64) -> ProgramResult {
    let before = trading.orders[j];
    let left = before.remaining().saturating_sub(by);
    if left == 0 {
        return drop_order(trading, j, reason, slot);
    }
    let after = Order { base_size: before.base_filled.checked_add(left).ok_or_else(overflow)?, ..before };
    let p = trading.position_index(after.market_index).ok_or(E::OrderNotFound)?;
    trading.positions[p].remove_remaining(&before)?;
    trading.positions[p].add_order(&after)?;
    trading.orders[j] = after;
    let seq = next_seq(&mut trading.seq)?;
    OrderReduced {
        margin_account: trading.margin_account,
        order_id: after.order_id,
        reason,
        old_base_size: before.base_size,
        base_size: after.base_size,
        slot,
        seq,
    }
    .emit();
    Ok(())
}
