//! Instruction decoding: an 8-byte Anchor discriminator, then borsh arguments. Decoding is pure
//! (host-tested) and validates every argument that does not depend on accounts.

use crate::error::CollateralError;
/// `adjust_balance` lives in qd-collateral-state, shared with its CPI callers.
pub use qd_collateral_state::ADJUST_BALANCE;
use qd_collateral_state::{STATUS_ACTIVE, STATUS_WITHDRAW_ONLY};
use qd_oracle_reader::{Action, OracleGuards};
use qd_runtime::borsh::{self, Reader};
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;

pub const CREATE_COLLATERAL: [u8; 8] = discriminator("global", "create_collateral");
pub const SET_COLLATERAL_PARAMS: [u8; 8] = discriminator("global", "set_collateral_params");
pub const SET_COLLATERAL_ORACLE: [u8; 8] = discriminator("global", "set_collateral_oracle");
pub const OPEN_BALANCES: [u8; 8] = discriminator("global", "open_balances");
pub const CLOSE_BALANCES: [u8; 8] = discriminator("global", "close_balances");
pub const DEPOSIT: [u8; 8] = discriminator("global", "deposit");
pub const WITHDRAW: [u8; 8] = discriminator("global", "withdraw");
pub const TRANSFER: [u8; 8] = discriminator("global", "transfer");
pub const VIEW_HEALTH: [u8; 8] = discriminator("global", "view_health");

const BPS: u16 = 10_000;

/// Weights and caps of a collateral, validated: init <= maint <= 10_000 bps, caps <= i64::MAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub init_weight_bps: u16,
    pub maint_weight_bps: u16,
    pub deposit_cap: u64,
    pub account_cap: u64,
}

impl Params {
    fn read(r: &mut Reader) -> Result<Self, ProgramError> {
        let p = Params { init_weight_bps: r.u16()?, maint_weight_bps: r.u16()?, deposit_cap: r.u64()?, account_cap: r.u64()? };
        if p.init_weight_bps > p.maint_weight_bps || p.maint_weight_bps > BPS {
            return Err(CollateralError::InvalidWeights.into());
        }
        if p.deposit_cap > i64::MAX as u64 || p.account_cap > i64::MAX as u64 {
            return Err(CollateralError::InvalidCap.into());
        }
        Ok(p)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollateralInstruction {
    /// Accounts: admin (signer, writable: pays rent), security config, core GlobalConfig, config
    /// PDA (writable), vault PDA (writable), mint, oracle (the System program for the quote
    /// mint), token program, system program.
    CreateCollateral { params: Params, guards: OracleGuards },
    /// Accounts: ADMIN or RISK_MANAGER (signer), security config, config (writable).
    SetCollateralParams { params: Params, status: u8 },
    /// Accounts: admin (signer), security config, config (writable), new oracle.
    SetCollateralOracle { guards: OracleGuards },
    /// Accounts: owner (signer, writable: pays rent), margin account, balances PDA (writable),
    /// system program.
    OpenBalances,
    /// Accounts: owner (signer, writable: receives the rent), margin account, balances (writable).
    CloseBalances,
    /// Accounts: owner (signer, token authority), security config, margin account, balances
    /// (writable), config (writable), vault (writable), source token account (writable), mint,
    /// token program.
    Deposit { amount: u64 },
    /// Accounts: owner (signer), security config, margin account, balances (writable), config
    /// (writable), vault (writable), destination token account (writable), mint, token program,
    /// vault authority; then the health accounts of the balances.
    Withdraw { amount: u64 },
    /// Accounts: owner (signer), security config, source margin account, its balances
    /// (writable), destination margin account, its balances (writable), config; then the
    /// health accounts of the source balances.
    Transfer { amount: u64 },
    /// Accounts: qd-core's or qd-trading's authority PDA (signer), config (writable), balances
    /// (writable).
    AdjustBalance { delta: i64 },
    /// Accounts: balances; then their health accounts. Returns the health in return data.
    ViewHealth { action: Action },
}

/// A token amount that fits a balance: 1..=i64::MAX.
fn amount(r: &mut Reader) -> Result<u64, ProgramError> {
    let a = r.u64()?;
    if a == 0 || a > i64::MAX as u64 {
        return Err(CollateralError::InvalidAmount.into());
    }
    Ok(a)
}

impl CollateralInstruction {
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let (tag, mut r) = borsh::instruction(data)?;
        let ix = match tag {
            CREATE_COLLATERAL => CollateralInstruction::CreateCollateral { params: Params::read(&mut r)?, guards: OracleGuards::read(&mut r)? },
            SET_COLLATERAL_PARAMS => {
                let params = Params::read(&mut r)?;
                let status = r.u8()?;
                if status != STATUS_ACTIVE && status != STATUS_WITHDRAW_ONLY {
                    return Err(CollateralError::InvalidCollateralStatus.into());
                }
                CollateralInstruction::SetCollateralParams { params, status }
            }
            SET_COLLATERAL_ORACLE => CollateralInstruction::SetCollateralOracle { guards: OracleGuards::read(&mut r)? },
            OPEN_BALANCES => CollateralInstruction::OpenBalances,
            CLOSE_BALANCES => CollateralInstruction::CloseBalances,
            DEPOSIT => CollateralInstruction::Deposit { amount: amount(&mut r)? },
            WITHDRAW => CollateralInstruction::Withdraw { amount: amount(&mut r)? },
            TRANSFER => CollateralInstruction::Transfer { amount: amount(&mut r)? },
            ADJUST_BALANCE => {
                let delta = r.i64()?;
                // i64::MIN has no negation: refusing it keeps every balance change reversible.
                if delta == 0 || delta == i64::MIN {
                    return Err(CollateralError::InvalidAmount.into());
                }
                CollateralInstruction::AdjustBalance { delta }
            }
            VIEW_HEALTH => CollateralInstruction::ViewHealth { action: Action::from_u8(r.u8()?).ok_or(CollateralError::InvalidOracleAction)? },
            _ => return Err(RuntimeError::InvalidInstruction.into()),
        };
        r.finish()?;
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(tag: [u8; 8], args: &[u8]) -> Vec<u8> {
        [&tag[..], args].concat()
    }

    fn params(init: u16, maint: u16, cap: u64, account_cap: u64) -> Vec<u8> {
        [&init.to_le_bytes()[..], &maint.to_le_bytes(), &cap.to_le_bytes(), &account_cap.to_le_bytes()].concat()
    }

    fn code(r: Result<CollateralInstruction, ProgramError>) -> u32 {
        r.unwrap_err().0
    }

    #[test]
    fn amounts_are_positive_and_fit_a_balance() {
        let ok = CollateralInstruction::unpack(&with(DEPOSIT, &5u64.to_le_bytes())).unwrap();
        assert_eq!(ok, CollateralInstruction::Deposit { amount: 5 });
        let max = i64::MAX as u64;
        assert_eq!(CollateralInstruction::unpack(&with(WITHDRAW, &max.to_le_bytes())).unwrap(), CollateralInstruction::Withdraw { amount: max });
        for bad in [0u64, max + 1, u64::MAX] {
            assert_eq!(code(CollateralInstruction::unpack(&with(TRANSFER, &bad.to_le_bytes()))), CollateralError::InvalidAmount as u32);
        }
        for bad in [0i64, i64::MIN] {
            assert_eq!(code(CollateralInstruction::unpack(&with(ADJUST_BALANCE, &bad.to_le_bytes()))), CollateralError::InvalidAmount as u32);
        }
        assert_eq!(CollateralInstruction::unpack(&with(ADJUST_BALANCE, &(-7i64).to_le_bytes())).unwrap(), CollateralInstruction::AdjustBalance { delta: -7 });
        // Trailing or missing bytes.
        assert_eq!(code(CollateralInstruction::unpack(&with(DEPOSIT, &[1, 0, 0, 0, 0, 0, 0, 0, 0]))), RuntimeError::InvalidInstructionData as u32);
        assert_eq!(code(CollateralInstruction::unpack(&with(DEPOSIT, &[1, 0, 0]))), RuntimeError::InvalidInstructionData as u32);
    }

    #[test]
    fn params_are_validated() {
        let status = |s: u8| with(SET_COLLATERAL_PARAMS, &[&params(8_000, 9_000, 100, 0)[..], &[s]].concat());
        let ok = CollateralInstruction::unpack(&status(1)).unwrap();
        assert_eq!(
            ok,
            CollateralInstruction::SetCollateralParams {
                params: Params { init_weight_bps: 8_000, maint_weight_bps: 9_000, deposit_cap: 100, account_cap: 0 },
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
    }

    #[test]
    fn view_health_takes_an_oracle_action() {
        assert_eq!(CollateralInstruction::unpack(&with(VIEW_HEALTH, &[2])).unwrap(), CollateralInstruction::ViewHealth { action: Action::Liquidation });
        assert_eq!(code(CollateralInstruction::unpack(&with(VIEW_HEALTH, &[4]))), CollateralError::InvalidOracleAction as u32);
        assert_eq!(code(CollateralInstruction::unpack(&[0; 8])), RuntimeError::InvalidInstruction as u32);
    }
}
