//! The market's pools as other programs draw on them: `take_fees`, the insurance fund's sweep
//! (qd-core), takes swept fees out of the fee pools and the PnL pool that backs them.

use crate::error::{overflow, TradingError as E};
use qd_core_state::require_core_authority;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_trading_state::PerpMarket;

qd_runtime::accounts! {
    pub struct TakeFeesAccounts {
        /// qd-core's [b"authority"] PDA
        core_authority(signer),
        market(mut),
    }
}

/// `pool - amount`, refused when `amount` is more than the pool holds (a negative pool holds nothing).
fn take(pool: i64, amount: u64) -> Result<i64, ProgramError> {
    match i64::try_from(amount) {
        Ok(amount) if amount <= pool.max(0) => Ok(pool - amount),
        _ => Err(E::TakeExceedsPool.into()),
    }
}

/// CPI only, from qd-core's sweep, which moves the same amounts out of the quote protocol
/// balance: the pools are claims on `pnl_pool`, so both leave it.
pub(super) fn take_fees(accounts: &[AccountInfo], liquidation_fees: u64, trading_fees: u64) -> ProgramResult {
    let TakeFeesAccounts { core_authority, market: market_info, .. } = TakeFeesAccounts::parse(accounts)?;
    require_core_authority(core_authority)?;
    let market = market_info.load_mut::<PerpMarket>(&crate::ID)?;
    let liquidation_fee_pool = take(market.liquidation_fee_pool, liquidation_fees)?;
    let fee_pool = take(market.fee_pool, trading_fees)?;
    let pnl_pool = take(market.pnl_pool, liquidation_fees.checked_add(trading_fees).ok_or_else(overflow)?)?;
    market.liquidation_fee_pool = liquidation_fee_pool;
    market.fee_pool = fee_pool;
    market.pnl_pool = pnl_pool;
    // liquidation_fees + trading_fees <= pnl_pool < 2^63 (taken above).
    market.fees_swept = market.fees_swept.checked_add(liquidation_fees + trading_fees).ok_or_else(overflow)?;
    Ok(())
}
