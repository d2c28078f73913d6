//! Instruction handlers, by topic: markets (admin), trading accounts, orders, advanced orders
//! (triggers, brackets, icebergs, scale orders, TWAPs) and the links between orders, fills,
//! funding and settlement, the pools other programs draw on. Each declares its accounts (`accounts!`: count, signers, writable flags,
//! distinct writable accounts) and checks the rest of them (owner, PDA or identity fields,
//! discriminator) in its first lines or a `load`, then the pause and freeze state and its
//! arguments, before it changes anything; CPIs into qd-collateral come after every state change
//! they depend on, and health checks after the CPIs, so any failure leaves state untouched.

mod account;
mod advanced;
mod fills;
mod funding;
mod links;
mod liquidation;
mod market;
mod orders;
mod pools;

pub use account::{CloseTradingAccountAccounts, OpenTradingAccountAccounts};
pub use advanced::CrankOrderAccounts;
pub use fills::{FillOrderAccounts, MakerAccounts, PlaceAndMakeAccounts};
pub use funding::{SettlePnlAccounts, UpdateFundingAccounts};
pub use liquidation::{LiquidateOrdersAccounts, LiquidatePositionAccounts, RepayPnlAccounts, ResolveBankruptPositionAccounts};
pub use market::{CreateMarketAccounts, SetMarketOracleAccounts, SetMarketParamsAccounts, SetMarketStatusAccounts};
pub use orders::{CancelAccounts, ExpireOrdersAccounts, PlaceOrderAccounts};
pub use pools::TakeFeesAccounts;

use crate::error::TradingError as E;
use crate::instruction::TradingInstruction as Ix;
use orders::CancelScope;
use qd_access::AUTHORITY_SEED;
use qd_collateral_state::{load_config, CollateralBalances, CollateralConfig};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::validate;
use qd_trading_state::TradingAccount;

// Not inlined into the entrypoint, whose frame holds the loader's 64 account slots: decoding an
// instruction (market parameters and oracle guards included) needs a frame of its own.
#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match Ix::unpack(data)? {
        Ix::CreateMarket { index, symbol, params, guards } => market::create_market(accounts, index, &symbol, &params, &guards),
        Ix::SetMarketParams { params } => market::set_market_params(accounts, &params),
        Ix::SetMarketStatus { status } => market::set_market_status(accounts, status),
        Ix::SetMarketOracle { guards } => market::set_market_oracle(accounts, &guards),
        Ix::OpenTradingAccount {} => account::open_trading_account(accounts),
        Ix::CloseTradingAccount {} => account::close_trading_account(accounts),
        Ix::PlaceOrder { params } => orders::place_order(accounts, &params),
        Ix::CancelOrder { order_id } => orders::cancel_orders(accounts, CancelScope::OrderId(order_id)),
        Ix::CancelOrderByClientId { client_order_id } => orders::cancel_orders(accounts, CancelScope::ClientOrderId(client_order_id)),
        Ix::CancelOrders { market_index } => orders::cancel_orders(accounts, CancelScope::Market(market_index)),
        Ix::ModifyOrder { order_id, price, base_size } => orders::modify_order(accounts, order_id, price, base_size),
        Ix::PlaceTriggerOrder { params, trigger } => advanced::place_trigger_order(accounts, &params, &trigger),
        Ix::PlaceBracket { entry, take_profit, stop_loss } => {
            advanced::place_bracket(accounts, &entry, take_profit.as_ref(), stop_loss.as_ref())
        }
        Ix::PlaceIcebergOrder { params, display_size } => advanced::place_iceberg_order(accounts, &params, display_size),
        Ix::PlaceScaleOrders { params } => advanced::place_scale_orders(accounts, &params),
        Ix::PlaceTwapOrder { params } => advanced::place_twap_order(accounts, &params),
        Ix::TriggerOrder { order_id } => advanced::trigger_order(accounts, order_id),
        Ix::CrankTwap { order_id } => advanced::crank_twap(accounts, order_id),
        Ix::PlaceAndMake { taker_order_id, maker } => fills::place_and_make(accounts, taker_order_id, &maker),
        Ix::FillOrder { taker_order_id, maker_order_ids } => fills::fill_order(accounts, taker_order_id, maker_order_ids.as_slice()),
        Ix::UpdateFunding {} => funding::update_funding(accounts),
        Ix::SettlePnl { market_index } => funding::settle_pnl(accounts, market_index),
        Ix::ExpireOrders {} => orders::expire_orders(accounts),
        Ix::LiquidateOrders {} => liquidation::liquidate_orders(accounts),
        Ix::LiquidatePosition { base, price, liquidator_fee, insurance_fee } => {
            liquidation::liquidate_position(accounts, base, price, liquidator_fee, insurance_fee)
        }
        Ix::RepayPnl { amount } => liquidation::repay_pnl(accounts, amount),
        Ix::ResolveBankruptPosition { insurance } => liquidation::resolve_bankrupt_position(accounts, insurance),
        Ix::TakeFees { liquidation_fees, trading_fees } => pools::take_fees(accounts, liquidation_fees, trading_fees),
    }
}

/// The trading authority's signer seeds ([b"authority"], canonical bump): qd-collateral
/// accepts balance adjustments signed by this PDA.
const AUTHORITY_SEEDS: &[&[u8]] = &[AUTHORITY_SEED, &[qd_ids::TRADING_AUTHORITY_BUMP]];

fn next_seq(seq: &mut u64) -> Result<u64, ProgramError> {
    *seq = seq.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
    Ok(*seq)
}

/// `margin_account`'s trading account, writable.
fn trading_mut<'a>(info: &'a AccountInfo, margin_account: &Pubkey) -> Result<&'a mut TradingAccount, ProgramError> {
    let trading = info.load_mut::<TradingAccount>(&crate::ID)?;
    trading.check_margin_account(margin_account)?;
    Ok(trading)
}

/// `margin_account`'s collateral balances (writable where a CPI adjusts them, settle_pnl: the
/// accounts declaration's check).
fn balances_of<'a>(info: &'a AccountInfo, margin_account: &Pubkey) -> Result<&'a CollateralBalances, ProgramError> {
    let balances = info.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?;
    balances.check_margin_account(margin_account)?;
    Ok(balances)
}

/// The quote mint's CollateralConfig (PnL and fees are counted in it; priced at 1).
fn quote_config(info: &AccountInfo) -> Result<&CollateralConfig, ProgramError> {
    let config = load_config(info)?;
    if !config.is_quote() {
        return Err(E::WrongQuoteConfig.into());
    }
    Ok(config)
}

/// The session slot: a qd-security Session, or this program's id for none (Anchor's
/// convention for an absent optional account).
fn session(info: &AccountInfo) -> Option<&AccountInfo> {
    if info.key() == &crate::ID {
        None
    } else {
        Some(info)
    }
}

/// Our [b"authority"] PDA, which signs our CPIs (balance adjustments, session fills).
fn check_authority(authority: &AccountInfo) -> ProgramResult {
    validate::address(authority, &qd_ids::TRADING_AUTHORITY)
}

/// The accounts a balance adjustment by CPI needs: qd-collateral itself and our authority PDA.
fn check_adjust_accounts(collateral_program: &AccountInfo, authority: &AccountInfo) -> ProgramResult {
    if collateral_program.key() != &qd_ids::QD_COLLATERAL {
        return Err(E::WrongCollateralProgram.into());
    }
    check_authority(authority)
}

/// Adds `delta` to `balances`' quote balance by CPI (nothing for zero).
fn adjust(authority: &AccountInfo, quote_config: &AccountInfo, balances: &AccountInfo, delta: i64) -> ProgramResult {
    if delta == 0 {
        return Ok(());
    }
    qd_collateral_state::adjust_balance(authority, quote_config, balances, delta, AUTHORITY_SEEDS)
}
