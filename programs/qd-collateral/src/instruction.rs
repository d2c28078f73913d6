//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts.

use crate::error::CollateralError;
use crate::processor::{
    AdjustBalanceAccounts, CloseBalancesAccounts, CollectFeesAccounts, CoverFromInsuranceAccounts, CreateCollateralAccounts,
    DepositAccounts, OpenBalancesAccounts, SetCollateralOracleAccounts, SetCollateralParamsAccounts, TransferAccounts, ViewHealthAccounts,
    WithdrawAccounts,
};
use qd_collateral_state::{STATUS_ACTIVE, STATUS_WITHDRAW_ONLY};
use qd_oracle_reader::{Action, OracleGuards};
use qd_runtime::error::ProgramError;

const BPS: u16 = 10_000;

qd_runtime::instructions! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CollateralInstruction check check_args {
        /// ADMIN lists a mint: creates its CollateralConfig PDA [b"collateral", mint] and vault PDA [b"vault", mint] (token
        /// account owned by the program's [b"authority"] PDA). The quote mint takes the System program as oracle. The
        /// liquidation fee (a liquidator's discount on this collateral) is below 10000 - maint_weight_bps, and 0 for the quote.
        create_collateral => CreateCollateral {
            init_weight_bps: u16,
            maint_weight_bps: u16,
            deposit_cap: u64,
            account_cap: u64,
            liquidation_fee_bps: u16,
            guards: OracleGuards,
        } accounts CreateCollateralAccounts,
        /// Through the timelock only (a RISK_MANAGER's or ADMIN's proposal in qd-security): weights, caps, liquidation fee (as
        /// for createCollateral) and status (0 active, 1 withdraw-only).
        set_collateral_params => SetCollateralParams {
            init_weight_bps: u16,
            maint_weight_bps: u16,
            deposit_cap: u64,
            account_cap: u64,
            liquidation_fee_bps: u16,
            status: u8,
        } accounts SetCollateralParamsAccounts,
        /// Through the timelock only (an ADMIN's proposal): replaces the oracle (re-pinning a Pyth feed id) and the guards.
        set_collateral_oracle => SetCollateralOracle { guards: OracleGuards } accounts SetCollateralOracleAccounts,
        /// The margin account's owner opens its CollateralBalances PDA [b"balances", margin_account].
        open_balances => OpenBalances {} accounts OpenBalancesAccounts,
        /// The owner closes an empty balances account; the rent returns to the owner.
        close_balances => CloseBalances {} accounts CloseBalancesAccounts,
        /// Owner only: tokens from the owner's token account into the vault. Allowed while frozen; refused when Deposit is
        /// paused, the collateral is withdraw-only or a cap would be passed.
        deposit => Deposit { amount: u64 } accounts DepositAccounts,
        /// Owner only: tokens from the vault to any token account of the mint. Refused when frozen, Withdraw is paused, the
        /// account is in liquidation, or initial health after it would be below 0 (prices valid for margin). Remaining
        /// accounts: each held collateral's config and (except the quote's) its oracle, in balance order; then, for each perp
        /// position of the margin account's trading account (if open), its PerpMarket and that market's oracle, in position
        /// order.
        withdraw => Withdraw { amount: u64 } accounts WithdrawAccounts,
        /// Owner only: collateral between two margin accounts of the same owner; the source is checked like a withdrawal.
        /// Remaining accounts: each held collateral's config and (except the quote's) its oracle, in balance order (of the
        /// source); then, for each perp position of the margin account's trading account (if open), its PerpMarket and that
        /// market's oracle, in position order.
        transfer => Transfer { amount: u64 } accounts TransferAccounts,
        /// CPI only, signed by qd-core's or qd-trading's [b"authority"] PDA: adds delta to the balance, with the config's
        /// protocol balance as counterparty. Only the quote balance may go negative.
        // Its discriminator is qd_collateral_state::ADJUST_BALANCE, shared with the CPI callers.
        adjust_balance => AdjustBalance { delta: i64 } accounts AdjustBalanceAccounts,
        /// CPI only, signed by qd-core's [b"authority"] PDA (the insurance fund's sweep, after qd-trading took the amounts out
        /// of a market's pools): moves to_insurance tokens from the vault to the destination (the fund's vault) out of the
        /// protocol balance, and counts to_revenue as the protocol's revenue.
        // Its discriminator is qd_collateral_state::COLLECT_FEES, shared with qd-core.
        collect_fees => CollectFees { to_insurance: u64, to_revenue: u64 } accounts CollectFeesAccounts,
        /// CPI only, signed by qd-core's [b"authority"] PDA, the source's token authority (the insurance fund's vault): moves
        /// amount tokens into the vault and adds them to the protocol balance (a bankrupt account's loss paid into a market's
        /// PnL pool).
        // Its discriminator is qd_collateral_state::COVER_FROM_INSURANCE, shared with qd-core.
        cover_from_insurance => CoverFromInsurance { amount: u64 } accounts CoverFromInsuranceAccounts,
        /// Health of a margin account (its balances and perp positions), as return data. Remaining accounts: each held
        /// collateral's config and (except the quote's) its oracle, in balance order; then, for each perp position of the
        /// margin account's trading account (if open), its PerpMarket and that market's oracle, in position order.
        /// `oracle_action`: the guards to judge prices by: 0 trade, 1 margin, 2 liquidation, 3 settlement.
        view_health => ViewHealth { oracle_action: u8 } -> HealthView accounts ViewHealthAccounts,
    }
}

qd_runtime::borsh! {
    /// `view_health`'s return data.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct HealthView {
        /// Quote units
        pub init_health: i128,
        pub maint_health: i128,
        pub free_collateral: i128,
        /// Weighted collateral / maintenance requirement, bps; none without requirement
        pub health_factor_bps: Option<i128>,
        /// Equity / position notional, bps; none without positions
        pub margin_ratio_bps: Option<i128>,
    }
}

/// Weights and caps of a collateral: init <= maint <= 10_000 bps, caps <= i64::MAX.
fn check_params(init_weight_bps: u16, maint_weight_bps: u16, deposit_cap: u64, account_cap: u64) -> Result<(), ProgramError> {
    if init_weight_bps > maint_weight_bps || maint_weight_bps > BPS {
        return Err(CollateralError::InvalidWeights.into());
    }
    if deposit_cap > i64::MAX as u64 || account_cap > i64::MAX as u64 {
        return Err(CollateralError::InvalidCap.into());
    }
    Ok(())
}

/// The argument checks decoding runs: weights, caps and status; token amounts fit a balance
/// (1..=i64::MAX); a delta has a negation (so every balance change is reversible); fees
/// collected fit a balance and are not both zero; a known oracle action. The liquidation fee
/// depends on whether the mint is the quote: the processor checks it.
fn check_args(ix: &CollateralInstruction) -> Result<(), ProgramError> {
    use CollateralInstruction as I;
    match *ix {
        I::CreateCollateral { init_weight_bps, maint_weight_bps, deposit_cap, account_cap, .. } => {
            check_params(init_weight_bps, maint_weight_bps, deposit_cap, account_cap)
        }
        I::SetCollateralParams { init_weight_bps, maint_weight_bps, deposit_cap, account_cap, status, .. } => {
            check_params(init_weight_bps, maint_weight_bps, deposit_cap, account_cap)?;
            if status != STATUS_ACTIVE && status != STATUS_WITHDRAW_ONLY {
                return Err(CollateralError::InvalidCollateralStatus.into());
            }
            Ok(())
        }
        I::Deposit { amount } | I::Withdraw { amount } | I::Transfer { amount } if amount == 0 || amount > i64::MAX as u64 => {
            Err(CollateralError::InvalidAmount.into())
        }
        I::CoverFromInsurance { amount } if amount == 0 || amount > i64::MAX as u64 => Err(CollateralError::InvalidAmount.into()),
        I::AdjustBalance { delta } if delta == 0 || delta == i64::MIN => Err(CollateralError::InvalidAmount.into()),
        I::CollectFees { to_insurance, to_revenue }
            if to_insurance > i64::MAX as u64 || to_revenue > i64::MAX as u64 || (to_insurance == 0 && to_revenue == 0) =>
        {
            Err(CollateralError::InvalidAmount.into())
        }
        I::ViewHealth { oracle_action } if Action::from_u8(oracle_action).is_none() => Err(CollateralError::InvalidOracleAction.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qd_runtime::error::RuntimeError;
    use qd_runtime::hash::discriminator;

    const SET_COLLATERAL_PARAMS: [u8; 8] = discriminator("global", "set_collateral_params");
    const DEPOSIT: [u8; 8] = discriminator("global", "deposit");
    const WITHDRAW: [u8; 8] = discriminator("global", "withdraw");
    const TRANSFER: [u8; 8] = discriminator("global", "transfer");
    const VIEW_HEALTH: [u8; 8] = discriminator("global", "view_health");
    const ADJUST_BALANCE: [u8; 8] = qd_collateral_state::ADJUST_BALANCE;
    const COLLECT_FEES: [u8; 8] = qd_collateral_state::COLLECT_FEES;
    const COVER_FROM_INSURANCE: [u8; 8] = qd_collateral_state::COVER_FROM_INSURANCE;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    /// Weights, caps and a 2.5% liquidation fee (borsh).
    fn params(init: u16, maint: u16, cap: u64, account_cap: u64) -> Vec<u8> {
        [&init.to_le_bytes()[..], &maint.to_le_bytes(), &cap.to_le_bytes(), &account_cap.to_le_bytes(), &250u16.to_le_bytes()].concat()
    }

    /// Four guards (borsh), the margin guard with confidence limit `margin_conf_bps`.
    fn guards(margin_conf_bps: u16) -> Vec<u8> {
        let guard =
            |conf: u16| [&10u32.to_le_bytes()[..], &20u32.to_le_bytes(), &conf.to_le_bytes(), &0u16.to_le_bytes(), &[0, 0, 0, 0]].concat();
        [guard(100), guard(margin_conf_bps), guard(100), guard(100)].concat()
    }

    fn code(r: Result<CollateralInstruction, ProgramError>) -> u32 {
        r.unwrap_err().0
    }

    #[test]
    fn amounts_are_positive_and_fit_a_balance() {
        let ok = CollateralInstruction::unpack(&with(DEPOSIT, &5u64.to_le_bytes())).unwrap();
        assert_eq!(ok, CollateralInstruction::Deposit { amount: 5 });
        let max = i64::MAX as u64;
        assert_eq!(
            CollateralInstruction::unpack(&with(WITHDRAW, &max.to_le_bytes())).unwrap(),
            CollateralInstruction::Withdraw { amount: max }
        );
        for bad in [0u64, max + 1, u64::MAX] {
            assert_eq!(code(CollateralInstruction::unpack(&with(TRANSFER, &bad.to_le_bytes()))), CollateralError::InvalidAmount as u32);
        }
        for bad in [0i64, i64::MIN] {
            assert_eq!(
                code(CollateralInstruction::unpack(&with(ADJUST_BALANCE, &bad.to_le_bytes()))),
                CollateralError::InvalidAmount as u32
            );
        }
        // The shared discriminator is the one `instructions!` derives from the name.
        let adjust = CollateralInstruction::unpack(&with(ADJUST_BALANCE, &(-7i64).to_le_bytes()));
        assert_eq!(adjust.unwrap(), CollateralInstruction::AdjustBalance { delta: -7 });
        // Trailing or missing bytes.
        assert_eq!(
            code(CollateralInstruction::unpack(&with(DEPOSIT, &[1, 0, 0, 0, 0, 0, 0, 0, 0]))),
            RuntimeError::InvalidInstructionData as u32
        );
        assert_eq!(code(CollateralInstruction::unpack(&with(DEPOSIT, &[1, 0, 0]))), RuntimeError::InvalidInstructionData as u32);
    }

    #[test]
    fn oracle_guards_are_validated_while_decoding() {
        const SET_COLLATERAL_ORACLE: [u8; 8] = discriminator("global", "set_collateral_oracle");
        assert!(CollateralInstruction::unpack(&with(SET_COLLATERAL_ORACLE, &guards(200))).is_ok());
        // A zero confidence limit would accept any price: refused before any account is read.
        let refused = CollateralInstruction::unpack(&with(SET_COLLATERAL_ORACLE, &guards(0)));
        assert_eq!(code(refused), qd_oracle_reader::OracleError::InvalidGuardConfig as u32);
        let create = [&params(8_000, 9_000, 100, 0)[..], &guards(0)].concat();
        assert_eq!(
            code(CollateralInstruction::unpack(&with(discriminator("global", "create_collateral"), &create))),
            qd_oracle_reader::OracleError::InvalidGuardConfig as u32
        );
    }

    #[test]
    fn params_are_validated() {
        let status = |s: u8| with(SET_COLLATERAL_PARAMS, &[&params(8_000, 9_000, 100, 0)[..], &[s]].concat());
        let ok = CollateralInstruction::unpack(&status(1)).unwrap();
        assert_eq!(
            ok,
            CollateralInstruction::SetCollateralParams {
                init_weight_bps: 8_000,
                maint_weight_bps: 9_000,
                deposit_cap: 100,
                account_cap: 0,
                liquidation_fee_bps: 250,
                status: 1
            }
        );
        assert_eq!(code(CollateralInstruction::unpack(&status(2))), CollateralError::InvalidCollateralStatus as u32);
        let set = |p: Vec<u8>| with(SET_COLLATERAL_PARAMS, &[&p[..], &[0]].concat());
        assert_eq!(code(CollateralInstruction::unpack(&set(params(9_001, 9_000, 1, 1)))), CollateralError::InvalidWeights as u32);
        assert_eq!(code(CollateralInstruction::unpack(&set(params(0, 10_001, 1, 1)))), CollateralError::InvalidWeights as u32);
        assert!(CollateralInstruction::unpack(&set(params(10_000, 10_000, i64::MAX as u64, i64::MAX as u64))).is_ok());
        assert_eq!(code(CollateralInstruction::unpack(&set(params(0, 0, i64::MAX as u64 + 1, 0)))), CollateralError::InvalidCap as u32);
        assert_eq!(code(CollateralInstruction::unpack(&set(params(0, 0, 0, u64::MAX)))), CollateralError::InvalidCap as u32);
        // create_collateral checks the same weights and caps (then 64 bytes of guards).
        let create = |p: Vec<u8>| with(discriminator("global", "create_collateral"), &[&p[..], &guards(200)].concat());
        assert!(CollateralInstruction::unpack(&create(params(5_000, 6_000, 1, 0))).is_ok());
        assert_eq!(code(CollateralInstruction::unpack(&create(params(6_001, 6_000, 1, 0)))), CollateralError::InvalidWeights as u32);
    }

    #[test]
    fn fees_collected_and_insurance_cover_fit_a_balance() {
        let collect = |to_insurance: u64, to_revenue: u64| {
            CollateralInstruction::unpack(&with(COLLECT_FEES, &[to_insurance.to_le_bytes(), to_revenue.to_le_bytes()].concat()))
        };
        assert_eq!(collect(0, 5).unwrap(), CollateralInstruction::CollectFees { to_insurance: 0, to_revenue: 5 });
        assert!(collect(i64::MAX as u64, 0).is_ok());
        for (a, b) in [(0, 0), (i64::MAX as u64 + 1, 0), (1, u64::MAX)] {
            assert_eq!(code(collect(a, b)), CollateralError::InvalidAmount as u32);
        }
        let cover = |amount: u64| CollateralInstruction::unpack(&with(COVER_FROM_INSURANCE, &amount.to_le_bytes()));
        assert_eq!(cover(7).unwrap(), CollateralInstruction::CoverFromInsurance { amount: 7 });
        for bad in [0, i64::MAX as u64 + 1] {
            assert_eq!(code(cover(bad)), CollateralError::InvalidAmount as u32);
        }
    }

    #[test]
    fn view_health_takes_an_oracle_action() {
        assert_eq!(
            CollateralInstruction::unpack(&with(VIEW_HEALTH, &[2])).unwrap(),
            CollateralInstruction::ViewHealth { oracle_action: 2 }
        );
        assert_eq!(code(CollateralInstruction::unpack(&with(VIEW_HEALTH, &[4]))), CollateralError::InvalidOracleAction as u32);
        assert_eq!(code(CollateralInstruction::unpack(&[0; 8])), RuntimeError::InvalidInstruction as u32);
    }
}
