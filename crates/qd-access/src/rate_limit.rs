//! The per-margin-account token bucket for order actions.
//!
//! Where the state lives: the bucket must be updated by every order action, so it is a field of
//! the per-account state of the program that executes order actions (qd-trading's orders
//! account), which that program writes anyway: no extra CPI, no extra account. Its parameters
//! (`RateLimit`: capacity and refill per slot) are global and set by ADMIN in SecurityConfig,
//! which the same instruction already reads for the pause bits.
//!
//! Tokens are counted in thousandths so that refills below one action per slot are exact.

use crate::error::AccessError;

/// Thousandths of a token per token.
pub const MILLI: u64 = 1_000;

qd_runtime::layout! {
    /// Bucket parameters (in SecurityConfig). `capacity == 0` turns rate limiting off.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct RateLimit[8] {
        /// Burst size: order actions allowed back to back from a full bucket.
        pub capacity: u32,
        /// Thousandths of an action added per slot (1_000 = one action per slot, 250 = one per 4).
        pub refill_milli_per_slot: u32,
    }
}

impl RateLimit {
    /// Off, or both parts positive (a bucket that never refills would lock accounts out).
    pub fn is_valid(&self) -> bool {
        (self.capacity == 0 && self.refill_milli_per_slot == 0) || (self.capacity > 0 && self.refill_milli_per_slot > 0)
    }
}

qd_runtime::layout! {
    /// One account's bucket. All zero is a full bucket that has never been used.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TokenBucket[16] {
        /// Thousandths of tokens left after the last action.
        pub tokens_milli: u64,
        /// Slot of the last action (0: never used).
        pub last_slot: u64,
    }
}

impl TokenBucket {
    /// Takes one action's token at `slot`, or fails with `RateLimited` and leaves the bucket
    /// unchanged. Refill is computed lazily from the slots since the last action.
    pub fn consume(&mut self, limit: &RateLimit, slot: u64) -> Result<(), AccessError> {
        if limit.capacity == 0 {
            return Ok(());
        }
        let available = self.available(limit, slot);
        if available < MILLI {
            return Err(AccessError::RateLimited);
        }
        self.tokens_milli = available - MILLI;
        self.last_slot = slot.max(self.last_slot).max(1);
        Ok(())
    }

    /// Thousandths of tokens available at `slot` (refilled lazily, at most a full bucket).
    fn available(&self, limit: &RateLimit, slot: u64) -> u64 {
        let full = limit.capacity as u64 * MILLI;
        if self.last_slot == 0 {
            return full;
        }
        let elapsed = slot.saturating_sub(self.last_slot);
        // saturating: a bucket idle for ages is simply full.
        self.tokens_milli.min(full).saturating_add(elapsed.saturating_mul(limit.refill_milli_per_slot as u64)).min(full)
    }

    /// Refilled to capacity by `slot`. The account that holds a bucket may close only then, so
    /// closing and reopening it never hands out a fresh burst.
    pub fn is_full(&self, limit: &RateLimit, slot: u64) -> bool {
        self.available(limit, slot) == limit.capacity as u64 * MILLI
    }
}
