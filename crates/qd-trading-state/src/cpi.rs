//! CPIs into qd-trading's liquidation instructions, signed by qd-core's `[b"authority"]` PDA
//! (`authority_seeds`: its signer seeds, bump included). The discriminators are shared with
//! qd-trading's instruction decoder (a test there holds them equal).

use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::Writer;
use qd_runtime::cpi::{invoke_signed, AccountMeta};
use qd_runtime::error::ProgramResult;
use qd_runtime::hash::discriminator;

pub const LIQUIDATE_ORDERS: [u8; 8] = discriminator("global", "liquidate_orders");
pub const LIQUIDATE_POSITION: [u8; 8] = discriminator("global", "liquidate_position");
pub const REPAY_PNL: [u8; 8] = discriminator("global", "repay_pnl");
pub const RESOLVE_BANKRUPT_POSITION: [u8; 8] = discriminator("global", "resolve_bankrupt_position");

/// Every order of `trading` off the book.
pub fn liquidate_orders(authority: &AccountInfo, trading: &AccountInfo, authority_seeds: &[&[u8]]) -> ProgramResult {
    let metas = [AccountMeta::readonly(authority.key(), true), AccountMeta::writable(trading.key(), false)];
    invoke_signed(&qd_ids::QD_TRADING, &metas, &[authority, trading], &LIQUIDATE_ORDERS, &[authority_seeds])
}

/// `base` of `trading`'s position (its change, toward zero) to `liquidator` at `price`, with
/// the fees the account pays.
#[allow(clippy::too_many_arguments)]
pub fn liquidate_position(
    authority: &AccountInfo,
    market: &AccountInfo,
    trading: &AccountInfo,
    liquidator: &AccountInfo,
    (base, price, liquidator_fee, insurance_fee): (i64, i64, i64, i64),
    authority_seeds: &[&[u8]],
) -> ProgramResult {
    let mut data = Writer::<40>::new();
    data.bytes(&LIQUIDATE_POSITION).i64(base).i64(price).i64(liquidator_fee).i64(insurance_fee);
    let metas = [
        AccountMeta::readonly(authority.key(), true),
        AccountMeta::writable(market.key(), false),
        AccountMeta::writable(trading.key(), false),
        AccountMeta::writable(liquidator.key(), false),
    ];
    invoke_signed(&qd_ids::QD_TRADING, &metas, &[authority, market, trading, liquidator], data.finish()?, &[authority_seeds])
}

/// `amount` of `trading`'s negative PnL in `market`, repaid into the market's PnL pool.
pub fn repay_pnl(
    authority: &AccountInfo,
    market: &AccountInfo,
    trading: &AccountInfo,
    amount: i64,
    authority_seeds: &[&[u8]],
) -> ProgramResult {
    market_cpi(&REPAY_PNL, authority, market, trading, amount, authority_seeds)
}

/// `trading`'s bankrupt position in `market` resolved: `insurance` of its debt arrived from the
/// insurance fund, the rest socialized.
pub fn resolve_bankrupt_position(
    authority: &AccountInfo,
    market: &AccountInfo,
    trading: &AccountInfo,
    insurance: i64,
    authority_seeds: &[&[u8]],
) -> ProgramResult {
    market_cpi(&RESOLVE_BANKRUPT_POSITION, authority, market, trading, insurance, authority_seeds)
}

fn market_cpi(
    tag: &[u8; 8],
    authority: &AccountInfo,
    market: &AccountInfo,
    trading: &AccountInfo,
    amount: i64,
    authority_seeds: &[&[u8]],
) -> ProgramResult {
    let mut data = Writer::<16>::new();
    data.bytes(tag).i64(amount);
    let metas = [
        AccountMeta::readonly(authority.key(), true),
        AccountMeta::writable(market.key(), false),
        AccountMeta::writable(trading.key(), false),
    ];
    invoke_signed(&qd_ids::QD_TRADING, &metas, &[authority, market, trading], data.finish()?, &[authority_seeds])
}
