//! Instruction handlers, by topic: the venue and its margin accounts (`account`), the insurance
//! fund (`insurance`), liquidation (`liquidation`) and bankruptcy (`bankruptcy`). Each declares
//! its accounts (`accounts!`: count, signers, writable flags, distinct writable accounts) and
//! checks the rest of them (owner, PDA, discriminator, identity fields) and the freeze state
//! before changing anything; any failure leaves state untouched.

mod account;
mod bankruptcy;
mod insurance;
mod liquidation;

pub use account::{
    CloseMarginAccountAccounts, CreateMarginAccountAccounts, InitializeAccounts, OwnerAccounts, SetFrozenAccounts,
    SetLiquidationBufferAccounts, SetMaxSubAccountsAccounts,
};
pub use bankruptcy::ResolveBankruptcyAccounts;
pub use insurance::{
    CancelUnstakeAccounts, CreateInsuranceFundAccounts, RequestUnstakeAccounts, SetInsuranceParamsAccounts, StakeAccounts,
    SweepFeesAccounts, UnstakeAccounts,
};
pub use liquidation::{
    ExitLiquidationAccounts, LiquidateCollateralAccounts, LiquidateOrdersAccounts, LiquidatePerpAccounts, ViewLiquidationAccounts,
};

use crate::instruction::CoreInstruction;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramResult, RuntimeError};
use qd_runtime::pubkey::Pubkey;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match CoreInstruction::unpack(data)? {
        CoreInstruction::Initialize { max_sub_accounts } => account::initialize(accounts, max_sub_accounts),
        CoreInstruction::SetMaxSubAccounts { max_sub_accounts } => account::set_max_sub_accounts(accounts, max_sub_accounts),
        CoreInstruction::CreateMarginAccount { sub_id, name } => account::create_margin_account(accounts, sub_id, name),
        CoreInstruction::CloseMarginAccount {} => account::close_margin_account(accounts),
        CoreInstruction::SetDelegate { delegate } => account::set_delegate(accounts, delegate),
        CoreInstruction::SetLimits { max_leverage_x100, allowed_markets, reduce_only } => {
            account::set_limits(accounts, max_leverage_x100, allowed_markets, reduce_only)
        }
        CoreInstruction::SetFrozen { frozen, reason } => account::set_frozen(accounts, frozen, reason),
        CoreInstruction::SetLiquidationBuffer { buffer_bps } => account::set_liquidation_buffer(accounts, buffer_bps),
        CoreInstruction::LiquidateOrders {} => liquidation::liquidate_orders(accounts),
        CoreInstruction::LiquidatePerp { market_index, max_base } => liquidation::liquidate_perp(accounts, market_index, max_base),
        CoreInstruction::LiquidateCollateral { market_index, max_quote } => {
            liquidation::liquidate_collateral(accounts, market_index, max_quote)
        }
        CoreInstruction::ViewLiquidation {} => liquidation::view_liquidation(accounts),
        CoreInstruction::ExitLiquidation {} => liquidation::exit_liquidation(accounts),
        CoreInstruction::ResolveBankruptcy { market_index } => bankruptcy::resolve_bankruptcy(accounts, market_index),
        CoreInstruction::CreateInsuranceFund { unstake_delay_secs, fee_share_bps } => {
            insurance::create_insurance_fund(accounts, unstake_delay_secs, fee_share_bps)
        }
        CoreInstruction::SetInsuranceParams { unstake_delay_secs, fee_share_bps } => {
            insurance::set_insurance_params(accounts, unstake_delay_secs, fee_share_bps)
        }
        CoreInstruction::Stake { amount } => insurance::stake(accounts, amount),
        CoreInstruction::RequestUnstake { shares } => insurance::request_unstake(accounts, shares),
        CoreInstruction::CancelUnstake {} => insurance::cancel_unstake(accounts),
        CoreInstruction::Unstake {} => insurance::unstake(accounts),
        CoreInstruction::SweepFees {} => insurance::sweep_fees(accounts),
    }
}
