//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts, so a handler
//! only sees well-formed values.

use crate::error::CoreError;
use crate::processor::{
    CancelUnstakeAccounts, CloseMarginAccountAccounts, CreateInsuranceFundAccounts, CreateMarginAccountAccounts, ExitLiquidationAccounts,
    InitializeAccounts, LiquidateCollateralAccounts, LiquidateOrdersAccounts, LiquidatePerpAccounts, OwnerAccounts, RequestUnstakeAccounts,
    ResolveBankruptcyAccounts, SetFrozenAccounts, SetInsuranceParamsAccounts, SetLiquidationBufferAccounts, SetMaxSubAccountsAccounts,
    StakeAccounts, SweepFeesAccounts, UnstakeAccounts, ViewLiquidationAccounts,
};
use qd_core_state::{MAX_FEE_SHARE_BPS, MAX_SUB_ACCOUNTS_LIMIT, MAX_UNSTAKE_DELAY_SECS, MIN_UNSTAKE_DELAY_SECS};
use qd_runtime::borsh::BoundedVec;
use qd_runtime::error::ProgramError;
use qd_runtime::pubkey::Pubkey;

/// Account leverage limit bounds (hundredths): 1x..100x; 0 means "the markets' own limits".
pub const MIN_LEVERAGE_X100: u16 = 100;
pub const MAX_LEVERAGE_X100: u16 = 10_000;
/// The largest liquidation-end buffer (20%).
pub const MAX_LIQUIDATION_BUFFER_BPS: u16 = 2_000;

qd_runtime::instructions! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CoreInstruction check check_args {
        /// Creates the GlobalConfig PDA ["global"]; only the program's upgrade authority may call it.
        initialize => Initialize { max_sub_accounts: u16 } accounts InitializeAccounts,
        /// Admin only: sub-account ids run 0..max_sub_accounts (1..=256); existing accounts stay valid.
        set_max_sub_accounts => SetMaxSubAccounts { max_sub_accounts: u16 } accounts SetMaxSubAccountsAccounts,
        /// Creates the owner's MarginAccount PDA ["margin", owner, sub_id u16 LE]; the owner pays rent.
        create_margin_account => CreateMarginAccount { sub_id: u16, name: [u8; 32] } accounts CreateMarginAccountAccounts,
        /// Owner only: closes an unfrozen account not being liquidated whose collateral balances account
        /// (qd-collateral PDA [b"balances", margin_account]) and trading account (qd-trading PDA
        /// [b"trading", margin_account]) are closed; the rent returns to the owner.
        close_margin_account => CloseMarginAccount {} accounts CloseMarginAccountAccounts,
        /// Owner only: sets the trade-only delegate (the zero key removes it). A frozen account may only remove it.
        set_delegate => SetDelegate { delegate: Pubkey } accounts OwnerAccounts,
        /// Owner only: leverage limit (0 or 100..=10000 hundredths), allowed market bits, reduce-only.
        set_limits => SetLimits { max_leverage_x100: u16, allowed_markets: u64, reduce_only: bool } accounts OwnerAccounts,
        /// CPI from qd-security only (its authority PDA signs): sets or clears the freeze and bumps audit_seq.
        set_frozen => SetFrozen { frozen: bool, reason: u16 } accounts SetFrozenAccounts,
        /// Through the timelock only (a RISK_MANAGER's or ADMIN's proposal): the liquidation-end buffer (0..=2000 bps), by
        /// which a liquidation raises the maintenance margins and lowers the maintenance weights it must restore.
        set_liquidation_buffer => SetLiquidationBuffer { buffer_bps: u16 } accounts SetLiquidationBufferAccounts,
        /// Permissionless, while the account is liquidatable (Liquidate not paused): takes every open order of it off the
        /// book, and starts its liquidation. Remaining accounts: the account's health list without the quote config.
        liquidate_orders => LiquidateOrders {} accounts LiquidateOrdersAccounts,
        /// Permissionless, while the account is liquidatable: the liquidator's margin account takes over up to max_base of
        /// the account's position in the market at the oracle price (Liquidation guards), the account paying the market's
        /// liquidator and insurance fees; no more than brings its liquidation-end health to 0, nor more than the market's
        /// per-step limit; the liquidator must keep initial health >= 0. Remaining accounts: the account's health list, then
        /// the liquidator's (each without the quote config and this market).
        liquidate_perp => LiquidatePerp { market_index: u16, max_base: u64 } accounts LiquidatePerpAccounts,
        /// Permissionless, while the account is liquidatable: the liquidator repays up to max_quote of the account's debt (the
        /// negative PnL of its flat position in the market, once its quote balance is spent) with its own quote, and receives
        /// the asset's collateral at the asset's liquidation discount; no more than brings the liquidation-end health to 0.
        /// Remaining accounts: the account's health list, then the liquidator's after the step (each without the quote config
        /// and this market).
        liquidate_collateral => LiquidateCollateral { market_index: u16, max_quote: u64 } accounts LiquidateCollateralAccounts,
        /// The account's liquidation state as return data (simulate it): liquidatable, being liquidated, bankrupt, maintenance
        /// and liquidation-end health, and per position the base one step may take and the fee. Remaining accounts: the
        /// account's health list in qd-collateral's order (every held collateral's config and, but the quote's, oracle, then
        /// each position's market and oracle).
        view_liquidation => ViewLiquidation {} -> LiquidationView accounts ViewLiquidationAccounts,
        /// Permissionless: ends the account's liquidation once its liquidation-end health is >= 0 (after a deposit or a price
        /// move). Remaining accounts: as view_liquidation's.
        exit_liquidation => ExitLiquidation {} accounts ExitLiquidationAccounts,
        /// Permissionless (Liquidate not paused): a bankrupt account (no balance, no position, no order) owes the negative PnL of
        /// its flat position in the market; the quote mint's insurance fund pays it into the market's PnL pool (no more than its
        /// balance and what is left of the market's insurance cap), and the rest is socialized over the market's open
        /// positions (longs and shorts alike, by their size, through the funding indices), or recorded as unbacked when none is
        /// open.
        resolve_bankruptcy => ResolveBankruptcy { market_index: u16 } accounts ResolveBankruptcyAccounts,
        /// The GlobalConfig admin creates the quote mint's InsuranceFund PDA [b"insurance", mint] and its vault, a token account
        /// at PDA [b"insurance_vault", mint] whose authority is the program's [b"authority"] PDA; pays the rent. An unstake
        /// waits unstake_delay_secs (1 s..=90 days); fee_share_bps (<= 10000) of swept trading fees go to the fund.
        create_insurance_fund => CreateInsuranceFund { unstake_delay_secs: i64, fee_share_bps: u16 } accounts CreateInsuranceFundAccounts,
        /// Through the timelock only (an ADMIN's proposal in qd-security): the unstake delay and the fee share, bounded as at
        /// creation. A pending request waits the new delay.
        set_insurance_params => SetInsuranceParams { unstake_delay_secs: i64, fee_share_bps: u16 } accounts SetInsuranceParamsAccounts,
        /// Anyone stakes amount (> 0) of the fund's mint from their token account into its vault for
        /// floor(amount * (total_shares + 1e3) / (balance + 1)) shares (at least one); the Stake PDA [b"stake", fund, staker]
        /// is created on the first stake, the staker paying its rent. Refused while Deposit is paused.
        stake => Stake { amount: u64 } accounts StakeAccounts,
        /// The staker asks to withdraw shares (1..=its shares), one request at a time: their value now
        /// (floor(shares * (balance + 1) / (total_shares + 1e3))) is recorded, the most the withdrawal pays.
        request_unstake => RequestUnstake { shares: u64 } accounts RequestUnstakeAccounts,
        /// The staker withdraws its pending request.
        cancel_unstake => CancelUnstake {} accounts CancelUnstakeAccounts,
        /// The staker withdraws its request once unstake_delay_secs have passed since it: the lower of its value then and now
        /// (a loss in between is shared), the shares burnt. Refused while Withdraw is paused.
        unstake => Unstake {} accounts UnstakeAccounts,
        /// Permissionless crank: sweeps a market's fees (its liquidation-fee pool, then its fee pool, as far as its PnL pool
        /// backs them) by CPI to qd-trading's take_fees and qd-collateral's collect_fees: the liquidation fees and
        /// fee_share_bps of the trading fees into the fund, the rest to the protocol's revenue. Refused while the market's
        /// Settle operation is paused, and when there is nothing to sweep.
        sweep_fees => SweepFees {} accounts SweepFeesAccounts,
    }
}

qd_runtime::borsh! {
    /// One position in `view_liquidation`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct PerpLiquidationView {
        pub market_index: u16,
        pub base: i64,
        /// The oracle price (Liquidation guards)
        pub price: i64,
        /// What one liquidate_perp may take now (0 while the account is not liquidatable)
        pub max_base: u64,
        /// The liquidator's and the insurance fund's fee together (bps of the step's quote)
        pub fee_bps: u16,
    }
}

qd_runtime::borsh! {
    /// `view_liquidation`'s return data.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct LiquidationView {
        pub liquidatable: bool,
        pub being_liquidated: bool,
        /// Nothing but a debt is left (no balance, no position, a flat position owing): resolve_bankruptcy applies
        pub bankrupt: bool,
        pub maint_health: i128,
        pub liquidation_end_health: i128,
        pub buffer_bps: u16,
        pub perps: BoundedVec<PerpLiquidationView, 8>,
    }
}

/// A label: valid UTF-8 up to its first zero byte, then only zeros (so one text has exactly
/// one encoding and nothing hides after the terminator). Empty is allowed.
pub fn valid_name(name: &[u8; 32]) -> bool {
    let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name[len..].iter().all(|&b| b == 0) && core::str::from_utf8(&name[..len]).is_ok()
}

/// The argument checks decoding runs: sub-account limit, label, leverage limit, the insurance
/// fund's delay, fee share and amounts.
fn check_args(ix: &CoreInstruction) -> Result<(), ProgramError> {
    match *ix {
        CoreInstruction::Initialize { max_sub_accounts } | CoreInstruction::SetMaxSubAccounts { max_sub_accounts }
            if max_sub_accounts == 0 || max_sub_accounts > MAX_SUB_ACCOUNTS_LIMIT =>
        {
            Err(CoreError::InvalidMaxSubAccounts.into())
        }
        CoreInstruction::CreateMarginAccount { name, .. } if !valid_name(&name) => Err(CoreError::InvalidName.into()),
        CoreInstruction::SetLiquidationBuffer { buffer_bps } if buffer_bps > MAX_LIQUIDATION_BUFFER_BPS => {
            Err(CoreError::InvalidLiquidationBuffer.into())
        }
        CoreInstruction::LiquidatePerp { max_base: 0, .. } => Err(CoreError::InvalidLiquidationAmount.into()),
        CoreInstruction::LiquidateCollateral { max_quote, .. } if max_quote == 0 || max_quote > i64::MAX as u64 => {
            Err(CoreError::InvalidLiquidationAmount.into())
        }
        CoreInstruction::SetLimits { max_leverage_x100, .. }
            if max_leverage_x100 != 0 && !(MIN_LEVERAGE_X100..=MAX_LEVERAGE_X100).contains(&max_leverage_x100) =>
        {
            Err(CoreError::InvalidLimits.into())
        }
        CoreInstruction::CreateInsuranceFund { unstake_delay_secs, fee_share_bps }
        | CoreInstruction::SetInsuranceParams { unstake_delay_secs, fee_share_bps } => {
            if !(MIN_UNSTAKE_DELAY_SECS..=MAX_UNSTAKE_DELAY_SECS).contains(&unstake_delay_secs) {
                return Err(CoreError::InvalidUnstakeDelay.into());
            }
            if fee_share_bps > MAX_FEE_SHARE_BPS {
                return Err(CoreError::InvalidFeeShare.into());
            }
            Ok(())
        }
        CoreInstruction::Stake { amount: 0 } | CoreInstruction::RequestUnstake { shares: 0 } => Err(CoreError::InvalidStakeAmount.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_runtime::error::RuntimeError;
    use qd_runtime::hash::discriminator;

    const INITIALIZE: [u8; 8] = discriminator("global", "initialize");
    const SET_MAX_SUB_ACCOUNTS: [u8; 8] = discriminator("global", "set_max_sub_accounts");
    const CREATE_MARGIN_ACCOUNT: [u8; 8] = discriminator("global", "create_margin_account");
    const CLOSE_MARGIN_ACCOUNT: [u8; 8] = discriminator("global", "close_margin_account");
    const SET_DELEGATE: [u8; 8] = discriminator("global", "set_delegate");
    const SET_LIMITS: [u8; 8] = discriminator("global", "set_limits");
    const SET_FROZEN: [u8; 8] = qd_core_state::SET_FROZEN;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    fn name(text: &[u8]) -> [u8; 32] {
        let mut n = [0u8; 32];
        n[..text.len()].copy_from_slice(text);
        n
    }

    #[test]
    fn liquidation_amounts_and_the_buffer_are_bounded() {
        let perp = |max_base: u64| {
            CoreInstruction::unpack(&with(
                discriminator("global", "liquidate_perp"),
                &[&0u16.to_le_bytes()[..], &max_base.to_le_bytes()].concat(),
            ))
        };
        assert_eq!(perp(1).unwrap(), CoreInstruction::LiquidatePerp { market_index: 0, max_base: 1 });
        assert_eq!(perp(0).unwrap_err(), CoreError::InvalidLiquidationAmount.into());
        let collateral = |max_quote: u64| {
            CoreInstruction::unpack(&with(
                discriminator("global", "liquidate_collateral"),
                &[&2u16.to_le_bytes()[..], &max_quote.to_le_bytes()].concat(),
            ))
        };
        assert_eq!(
            collateral(i64::MAX as u64).unwrap(),
            CoreInstruction::LiquidateCollateral { market_index: 2, max_quote: i64::MAX as u64 }
        );
        for bad in [0, i64::MAX as u64 + 1] {
            assert_eq!(collateral(bad).unwrap_err(), CoreError::InvalidLiquidationAmount.into());
        }
        let buffer = |bps: u16| CoreInstruction::unpack(&with(discriminator("global", "set_liquidation_buffer"), &bps.to_le_bytes()));
        assert_eq!(buffer(2_000).unwrap(), CoreInstruction::SetLiquidationBuffer { buffer_bps: 2_000 });
        assert_eq!(buffer(0).unwrap(), CoreInstruction::SetLiquidationBuffer { buffer_bps: 0 });
        assert_eq!(buffer(2_001).unwrap_err(), CoreError::InvalidLiquidationBuffer.into());
    }

    #[test]
    fn max_sub_accounts_is_bounded() {
        let ix = |n: u16| CoreInstruction::unpack(&with(SET_MAX_SUB_ACCOUNTS, &n.to_le_bytes()));
        assert_eq!(ix(1).unwrap(), CoreInstruction::SetMaxSubAccounts { max_sub_accounts: 1 });
        assert_eq!(
            CoreInstruction::unpack(&with(INITIALIZE, &256u16.to_le_bytes())).unwrap(),
            CoreInstruction::Initialize { max_sub_accounts: 256 }
        );
        assert_eq!(ix(0).unwrap_err(), CoreError::InvalidMaxSubAccounts.into());
        assert_eq!(ix(257).unwrap_err(), CoreError::InvalidMaxSubAccounts.into());
        assert_eq!(CoreInstruction::unpack(&with(INITIALIZE, &[16])).unwrap_err(), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn names_are_utf8_then_zero_padding() {
        assert!(valid_name(&[0; 32]));
        assert!(valid_name(&name(b"hedge")));
        assert!(valid_name(&name("déjà vu ✓".as_bytes())));
        assert!(valid_name(&[b'x'; 32]));
        assert!(!valid_name(&name(b"a\0b")));
        assert!(!valid_name(&name(&[0xff, 0xfe])));
        // A multi-byte character cut by the 32-byte end is not UTF-8.
        let mut cut = [b'a'; 32];
        cut[31] = 0xc3;
        assert!(!valid_name(&cut));
        let args = [&3u16.to_le_bytes()[..], &name(b"a\0b")].concat();
        assert_eq!(CoreInstruction::unpack(&with(CREATE_MARGIN_ACCOUNT, &args)).unwrap_err(), CoreError::InvalidName.into());
        let args = [&3u16.to_le_bytes()[..], &name(b"main")].concat();
        assert_eq!(
            CoreInstruction::unpack(&with(CREATE_MARGIN_ACCOUNT, &args)).unwrap(),
            CoreInstruction::CreateMarginAccount { sub_id: 3, name: name(b"main") }
        );
    }

    #[test]
    fn leverage_limit_is_zero_or_1x_to_100x() {
        let ix = |lev: u16, reduce: u8| {
            CoreInstruction::unpack(&with(SET_LIMITS, &[&lev.to_le_bytes()[..], &0b11u64.to_le_bytes(), &[reduce]].concat()))
        };
        for lev in [0, 100, 500, 10_000] {
            assert_eq!(
                ix(lev, 1).unwrap(),
                CoreInstruction::SetLimits { max_leverage_x100: lev, allowed_markets: 0b11, reduce_only: true }
            );
        }
        for lev in [1, 99, 10_001, u16::MAX] {
            assert_eq!(ix(lev, 0).unwrap_err(), CoreError::InvalidLimits.into());
        }
        assert_eq!(ix(100, 2).unwrap_err(), RuntimeError::InvalidInstructionData.into());
    }

    #[test]
    fn set_frozen_and_set_delegate() {
        assert_eq!(CoreInstruction::unpack(&with(SET_FROZEN, &[1, 7, 0])).unwrap(), CoreInstruction::SetFrozen { frozen: true, reason: 7 });
        assert!(CoreInstruction::unpack(&with(SET_FROZEN, &[1, 7])).is_err());
        assert_eq!(CoreInstruction::unpack(&with(SET_DELEGATE, &[9; 32])).unwrap(), CoreInstruction::SetDelegate { delegate: [9; 32] });
        assert!(CoreInstruction::unpack(&with(CLOSE_MARGIN_ACCOUNT, &[0])).is_err());
    }

    #[test]
    fn insurance_delay_fee_share_and_amounts_are_bounded() {
        let params = |name: &str, delay: i64, bps: u16| {
            CoreInstruction::unpack(&with(discriminator("global", name), &[&delay.to_le_bytes()[..], &bps.to_le_bytes()].concat()))
        };
        for name in ["create_insurance_fund", "set_insurance_params"] {
            assert!(params(name, 1, 0).is_ok() && params(name, 90 * 86_400, 10_000).is_ok());
            for delay in [0, -1, 90 * 86_400 + 1, i64::MIN] {
                assert_eq!(params(name, delay, 100).unwrap_err(), CoreError::InvalidUnstakeDelay.into());
            }
            assert_eq!(params(name, 60, 10_001).unwrap_err(), CoreError::InvalidFeeShare.into());
        }
        assert_eq!(
            params("set_insurance_params", 60, 2_500).unwrap(),
            CoreInstruction::SetInsuranceParams { unstake_delay_secs: 60, fee_share_bps: 2_500 }
        );
        let amount = |name: &str, n: u64| CoreInstruction::unpack(&with(discriminator("global", name), &n.to_le_bytes()));
        assert_eq!(amount("stake", 5).unwrap(), CoreInstruction::Stake { amount: 5 });
        assert_eq!(amount("request_unstake", u64::MAX).unwrap(), CoreInstruction::RequestUnstake { shares: u64::MAX });
        assert_eq!(amount("stake", 0).unwrap_err(), CoreError::InvalidStakeAmount.into());
        assert_eq!(amount("request_unstake", 0).unwrap_err(), CoreError::InvalidStakeAmount.into());
        assert_eq!(CoreInstruction::unpack(&with(discriminator("global", "sweep_fees"), &[])).unwrap(), CoreInstruction::SweepFees {});
        assert!(CoreInstruction::unpack(&with(discriminator("global", "unstake"), &[0])).is_err());
    }

    #[test]
    fn unknown_or_short_discriminator() {
        assert_eq!(CoreInstruction::unpack(&[1, 2, 3]).unwrap_err(), RuntimeError::InvalidInstruction.into());
        assert_eq!(CoreInstruction::unpack(&[0; 8]).unwrap_err(), RuntimeError::InvalidInstruction.into());
    }
}
