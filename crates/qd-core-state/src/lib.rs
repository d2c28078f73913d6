//! Accounts owned by qd-core. qd-core writes them; every other program reads them through
//! [`load_margin`] / [`load_global`], which check the owner, discriminator and size (and the
//! address of the singleton GlobalConfig).
//!
//! A MarginAccount's identity is its fields: qd-core creates one only at the PDA
//! [b"margin", owner, sub_id (u16 LE)] and never changes `owner` or `sub_id`, so a reader that
//! has checked the owner program trusts `owner` without re-deriving the address (1,500 CU).
//! Likewise an InsuranceFund is created only at [b"insurance", mint] (its `mint`) and a Stake
//! only at [b"stake", fund, staker] (its `fund` and `staker`), and those fields never change.
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_health::wide::{div_pow10, divrem_u128, mul_wide};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::validate;

pub const GLOBAL_SEED: &[u8] = b"global";
pub const MARGIN_SEED: &[u8] = b"margin";
pub const INSURANCE_SEED: &[u8] = b"insurance";
pub const INSURANCE_VAULT_SEED: &[u8] = b"insurance_vault";
pub const STAKE_SEED: &[u8] = b"stake";

pub const GLOBAL_CONFIG_VERSION: u8 = 1;
pub const MARGIN_ACCOUNT_VERSION: u8 = 1;
pub const INSURANCE_FUND_VERSION: u8 = 1;
pub const STAKE_VERSION: u8 = 1;
/// Sub-accounts per owner when the admin sets no other limit, and the most it may set.
pub const DEFAULT_MAX_SUB_ACCOUNTS: u16 = 16;
pub const MAX_SUB_ACCOUNTS_LIMIT: u16 = 256;
/// The liquidation-end buffer a venue starts with (Drift's 2%).
pub const DEFAULT_LIQUIDATION_BUFFER_BPS: u16 = 200;

/// `MarginAccount::status` bits (account offset 9: keepers filter on them).
/// Set by qd-security's COMPLIANCE role (via `set_frozen`): no trading, withdrawing or
/// transferring out; deposits and liquidation still work.
pub const STATUS_FROZEN: u8 = 1 << 0;
/// Set by the first liquidation step; cleared once the liquidation-end health is >= 0. While it
/// is set the owner may deposit, cancel and reduce, nothing else.
pub const STATUS_BEING_LIQUIDATED: u8 = 1 << 1;
/// Set while a liquidation has left nothing but a debt (no position, no balance):
/// resolve_bankruptcy pays it.
pub const STATUS_BANKRUPT: u8 = 1 << 2;

/// qd-core's `set_frozen(frozen: bool, reason: u16)` instruction discriminator. Shared so
/// qd-security's freeze/unfreeze CPI and qd-core's instruction decoder cannot drift.
pub const SET_FROZEN: [u8; 8] = discriminator("global", "set_frozen");

qd_runtime::account! {
    /// Anchor account "GlobalConfig" at PDA [b"global"] (address `qd_ids::CORE_GLOBAL`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct GlobalConfig[272] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: sub-account ids run 0..max_sub_accounts.
        pub max_sub_accounts: u16,
        /// @12: a liquidation continues until the maintenance health with this buffer (bps:
        /// margins raised, asset weights lowered) is >= 0.
        pub liquidation_buffer_bps: u16,
        /// @14
        pub _pad0: [u8; 2],
        /// @16: may change the limits.
        pub admin: Pubkey,
        /// @48: the quote (settlement) mint, e.g. USDC.
        pub quote_mint: Pubkey,
        /// @80: the other four programs, recorded for clients and CPI target checks.
        pub collateral_program: Pubkey,
        /// @112
        pub oracle_program: Pubkey,
        /// @144
        pub trading_program: Pubkey,
        /// @176
        pub security_program: Pubkey,
        /// @208: live margin accounts.
        pub margin_accounts: u64,
        /// @216: sequence number of the latest admin action on the config (its events' `seq`).
        pub audit_seq: u64,
        /// @224
        pub _reserved: [u8; 56],
    }
}

qd_runtime::account! {
    /// Anchor account "MarginAccount" at PDA [b"margin", owner, sub_id u16 LE]. Offsets are from the
    /// account start; `owner` @16 and `status` @9 are the getProgramAccounts filters.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MarginAccount[224] {
        /// @8
        pub version: u8,
        /// @9: `STATUS_*` bits.
        pub status: u8,
        /// @10: canonical bump of the PDA.
        pub bump: u8,
        /// @11: owner's limit: 1 = orders may only reduce positions.
        pub reduce_only: u8,
        /// @12
        pub sub_id: u16,
        /// @14: compliance reason code of the current freeze (0 when not frozen).
        pub freeze_reason: u16,
        /// @16: the wallet that owns the account: the only key that may withdraw, transfer or change
        /// delegate, limits and sessions.
        pub owner: Pubkey,
        /// @48: trade-only delegate (all zero: none).
        pub delegate: Pubkey,
        /// @80: UTF-8 label, zero padded.
        pub name: [u8; 32],
        /// @112: owner's limit: bit i set = perp market i may be traded.
        pub allowed_markets: u64,
        /// @120: owner's limit: maximum leverage in hundredths (500 = 5x); 0 = the markets' own limits.
        pub max_leverage_x100: u16,
        /// @122. Whether the account still holds anything is not counted here: qd-collateral (and
        /// qd-trading) own those accounts, and close_margin_account checks theirs are closed.
        pub _pad1: [u8; 6],
        /// @128: sequence number of the latest privileged action on this account (audit events).
        pub audit_seq: u64,
        /// @136
        pub created_slot: u64,
        /// @144: cached health, in quote units (written by the health refresh, later step).
        pub init_health: i64,
        /// @152
        pub maint_health: i64,
        /// @160: slot of the cached health.
        pub health_slot: u64,
        /// @168
        pub _reserved: [u8; 64],
    }
}

impl MarginAccount {
    pub fn is_frozen(&self) -> bool {
        self.status & STATUS_FROZEN != 0
    }
    /// `signer` is the owner (only qd-core writes `owner`, at creation from the PDA seeds, so
    /// the field is the account's identity).
    pub fn check_owner(&self, signer: &Pubkey) -> Result<(), MarginError> {
        if &self.owner != signer {
            return Err(MarginError::NotOwner);
        }
        Ok(())
    }
    pub fn has_delegate(&self) -> bool {
        self.delegate != [0; 32]
    }
    /// True when nothing is held or open, so the account may be closed.
    pub fn allows_market(&self, market: u16) -> bool {
        market < 64 && self.allowed_markets & (1u64 << market) != 0
    }
}

/// A margin account of qd-core (owner, discriminator and size checked).
pub fn load_margin(info: &AccountInfo) -> Result<&MarginAccount, ProgramError> {
    info.load::<MarginAccount>(&qd_ids::QD_CORE)
}

/// The margin account `owner` owns (`NotOwner` otherwise; the signature is the accounts
/// declaration's check).
pub fn load_owned_margin<'a>(info: &'a AccountInfo, owner: &AccountInfo) -> Result<&'a MarginAccount, ProgramError> {
    let margin = load_margin(info)?;
    margin.check_owner(owner.key())?;
    Ok(margin)
}

qd_runtime::errors! {
    /// Margin-account reads (6350..6400), shared by every program so "not the owner" has one code.
    pub enum MarginError {
        /// The signer is not the owner of this margin account
        NotOwner = 6350,
    }
}

qd_runtime::errors! {
    /// qd-core's CPI signer (6360..), shared by the programs qd-core calls so the refusal has one code.
    pub enum CoreAuthorityError {
        /// The signer is not qd-core's authority PDA
        NotCoreAuthority = 6360,
    }
}

/// Fails unless `signer` is qd-core's [b"authority"] PDA, signing: an off-curve address only
/// qd-core can sign for (invoke_signed), after its own checks. Instructions that only qd-core
/// may call (the insurance fund's sweep and payments) take it as their first account.
pub fn require_core_authority(signer: &AccountInfo) -> Result<(), ProgramError> {
    validate::signer(signer)?;
    if signer.key() != &qd_ids::CORE_AUTHORITY {
        return Err(CoreAuthorityError::NotCoreAuthority.into());
    }
    Ok(())
}

/// Virtual shares of every insurance fund (ERC-4626's offset, with one virtual unit of
/// balance): the share price is `(balance + 1) / (total_shares + VIRTUAL_SHARES)`, so the first
/// staker cannot inflate it and a fund that paid out everything still prices new stakes. 1,000
/// of them: fine-grained shares (a thousand per unit at the first price) and room for 2^64 /
/// 1,000 units of stakes (18.4 billion of a 6-decimal quote) in u64 shares.
pub const VIRTUAL_SHARES: u64 = 1_000;
/// Bounds of `InsuranceFund::unstake_delay_secs`: 1 s to 90 days.
pub const MIN_UNSTAKE_DELAY_SECS: i64 = 1;
pub const MAX_UNSTAKE_DELAY_SECS: i64 = 90 * 86_400;
/// `InsuranceFund::fee_share_bps` is at most all of the swept trading fees.
pub const MAX_FEE_SHARE_BPS: u16 = 10_000;

qd_runtime::account! {
    /// Anchor account "InsuranceFund" at PDA [b"insurance", mint], one per quote mint.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct InsuranceFund[184] {
        /// @8
        pub version: u8,
        /// @9: canonical bump of the fund PDA.
        pub bump: u8,
        /// @10: canonical bump of the vault PDA.
        pub vault_bump: u8,
        /// @11
        pub _pad0: u8,
        /// @12: share of swept trading fees paid into the fund (bps); the rest is protocol revenue.
        pub fee_share_bps: u16,
        /// @14
        pub _pad1: [u8; 2],
        /// @16: the quote mint (GlobalConfig.quote_mint).
        pub mint: Pubkey,
        /// @48: the vault token account, PDA [b"insurance_vault", mint], token authority
        /// `qd_ids::CORE_AUTHORITY`.
        pub vault: Pubkey,
        /// @80: an unstake request waits this long before the withdrawal.
        pub unstake_delay_secs: i64,
        /// @88: the stakers' tokens as counted: stakes and sweeps in, unstakes and payments out.
        /// Tokens sent to the vault directly are not counted (a donation cannot move the share
        /// price), so the vault holds at least this much.
        pub balance: u64,
        /// @96
        pub total_shares: u64,
        /// @104: lifetime payments out of the fund for losses.
        pub total_paid: u64,
        /// @112: lifetime fees swept in.
        pub total_swept: u64,
        /// @120: sequence number of the latest change (every event of the fund carries it).
        pub seq: u64,
        /// @128
        pub _reserved: [u8; 64],
    }
}

qd_runtime::account! {
    /// Anchor account "Stake" at PDA [b"stake", fund, staker]: one staker's shares of a fund.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Stake[136] {
        /// @8
        pub version: u8,
        /// @9: canonical bump of the stake PDA.
        pub bump: u8,
        /// @10
        pub _pad0: [u8; 6],
        /// @16: the InsuranceFund.
        pub fund: Pubkey,
        /// @48: the wallet that stakes, requests and unstakes.
        pub staker: Pubkey,
        /// @80: shares held (the pending request's included until it is withdrawn).
        pub shares: u64,
        /// @88: shares of the pending unstake request; 0: none.
        pub unstake_shares: u64,
        /// @96: their value when requested (rounded down): the most the withdrawal pays.
        pub unstake_value: u64,
        /// @104: when the request was made (unix time).
        pub unstake_request_ts: i64,
        /// @112
        pub _reserved: [u8; 32],
    }
}

/// `floor(a * b / d)` for `d > 0`, or None past u64.
fn mul_div_floor(a: u64, b: u64, d: u64) -> Option<u64> {
    u64::try_from(divrem_u128(mul_wide(a, b), d as u128).0).ok()
}

impl InsuranceFund {
    /// Shares minted for staking `amount`: `floor(amount * (total_shares + V) / (balance + 1))`,
    /// rounded against the staker.
    pub fn shares_for(&self, amount: u64) -> Result<u64, ProgramError> {
        let shares = self.total_shares.checked_add(VIRTUAL_SHARES).ok_or(RuntimeError::ArithmeticOverflow)?;
        let balance = self.balance.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
        Ok(mul_div_floor(amount, shares, balance).ok_or(RuntimeError::ArithmeticOverflow)?)
    }

    /// The value of `shares` now: `floor(shares * (balance + 1) / (total_shares + V))`, rounded
    /// against the staker; at most `balance` for `shares <= total_shares`.
    pub fn value_of(&self, shares: u64) -> Result<u64, ProgramError> {
        let total = self.total_shares.checked_add(VIRTUAL_SHARES).ok_or(RuntimeError::ArithmeticOverflow)?;
        let balance = self.balance.checked_add(1).ok_or(RuntimeError::ArithmeticOverflow)?;
        Ok(mul_div_floor(shares, balance, total).ok_or(RuntimeError::ArithmeticOverflow)?)
    }
}

/// What one sweep of a market moves (quote units): the liquidation fees and trading fees taken
/// from its pools, and their split between the insurance fund and the protocol's revenue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sweep {
    pub liquidation_fees: u64,
    pub trading_fees: u64,
    pub to_insurance: u64,
    pub to_revenue: u64,
}

impl Sweep {
    /// The sweep of a market's pools. The fee pools are claims on the PnL pool (what losers
    /// actually paid), the insurance's liquidation fees first: `ins = min(liquidation_fee_pool,
    /// pnl_pool)`, `fees = min(fee_pool, pnl_pool - ins)`, a negative pool counting as empty.
    /// The fund takes `ins + floor(fees * fee_share_bps / 10_000)`, the revenue the rest.
    pub fn of(fee_share_bps: u16, liquidation_fee_pool: i64, fee_pool: i64, pnl_pool: i64) -> Sweep {
        let pnl = pnl_pool.max(0);
        let ins = liquidation_fee_pool.clamp(0, pnl);
        let fees = fee_pool.clamp(0, pnl - ins) as u64;
        let share = div_pow10::<4>(mul_wide(fees, fee_share_bps.min(MAX_FEE_SHARE_BPS) as u64), false) as u64;
        // ins + fees <= pnl_pool: no sum overflows.
        Sweep { liquidation_fees: ins as u64, trading_fees: fees, to_insurance: ins as u64 + share, to_revenue: fees - share }
    }

    pub fn is_empty(&self) -> bool {
        self.liquidation_fees == 0 && self.trading_fees == 0
    }
}

impl Stake {
    pub fn has_request(&self) -> bool {
        self.unstake_shares != 0
    }
}

/// The GlobalConfig (address, owner, discriminator and size checked).
pub fn load_global(info: &AccountInfo) -> Result<&GlobalConfig, ProgramError> {
    validate::address(info, &qd_ids::CORE_GLOBAL)?;
    info.load::<GlobalConfig>(&qd_ids::QD_CORE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};
    use qd_runtime::account::AccountType;

    #[test]
    fn margin_account_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(MarginAccount::LEN, 232);
        assert_eq!(size_of::<MarginAccount>(), 224);
        assert_eq!(at(offset_of!(MarginAccount, status)), 9);
        assert_eq!(at(offset_of!(MarginAccount, reduce_only)), 11);
        assert_eq!(at(offset_of!(MarginAccount, sub_id)), 12);
        assert_eq!(at(offset_of!(MarginAccount, freeze_reason)), 14);
        assert_eq!(at(offset_of!(MarginAccount, owner)), 16);
        assert_eq!(at(offset_of!(MarginAccount, delegate)), 48);
        assert_eq!(at(offset_of!(MarginAccount, name)), 80);
        assert_eq!(at(offset_of!(MarginAccount, allowed_markets)), 112);
        assert_eq!(at(offset_of!(MarginAccount, max_leverage_x100)), 120);
        assert_eq!(at(offset_of!(MarginAccount, _pad1)), 122);
        assert_eq!(at(offset_of!(MarginAccount, audit_seq)), 128);
        assert_eq!(at(offset_of!(MarginAccount, init_health)), 144);
        assert_eq!(at(offset_of!(MarginAccount, health_slot)), 160);
        assert_eq!(at(offset_of!(MarginAccount, _reserved)), 168);
    }

    #[test]
    fn global_config_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(GlobalConfig::LEN, 280);
        assert_eq!(at(offset_of!(GlobalConfig, max_sub_accounts)), 10);
        assert_eq!(at(offset_of!(GlobalConfig, liquidation_buffer_bps)), 12);
        assert_eq!(at(offset_of!(GlobalConfig, admin)), 16);
        assert_eq!(at(offset_of!(GlobalConfig, quote_mint)), 48);
        assert_eq!(at(offset_of!(GlobalConfig, security_program)), 176);
        assert_eq!(at(offset_of!(GlobalConfig, margin_accounts)), 208);
        assert_eq!(at(offset_of!(GlobalConfig, audit_seq)), 216);
        assert_eq!(at(offset_of!(GlobalConfig, _reserved)), 224);
    }

    #[test]
    fn insurance_fund_and_stake_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(InsuranceFund::LEN, 192);
        assert_eq!(at(offset_of!(InsuranceFund, bump)), 9);
        assert_eq!(at(offset_of!(InsuranceFund, vault_bump)), 10);
        assert_eq!(at(offset_of!(InsuranceFund, fee_share_bps)), 12);
        assert_eq!(at(offset_of!(InsuranceFund, mint)), 16);
        assert_eq!(at(offset_of!(InsuranceFund, vault)), 48);
        assert_eq!(at(offset_of!(InsuranceFund, unstake_delay_secs)), 80);
        assert_eq!(at(offset_of!(InsuranceFund, balance)), 88);
        assert_eq!(at(offset_of!(InsuranceFund, total_shares)), 96);
        assert_eq!(at(offset_of!(InsuranceFund, total_paid)), 104);
        assert_eq!(at(offset_of!(InsuranceFund, total_swept)), 112);
        assert_eq!(at(offset_of!(InsuranceFund, seq)), 120);
        assert_eq!(at(offset_of!(InsuranceFund, _reserved)), 128);
        assert_eq!(Stake::LEN, 144);
        assert_eq!(at(offset_of!(Stake, fund)), 16);
        assert_eq!(at(offset_of!(Stake, staker)), 48);
        assert_eq!(at(offset_of!(Stake, shares)), 80);
        assert_eq!(at(offset_of!(Stake, unstake_shares)), 88);
        assert_eq!(at(offset_of!(Stake, unstake_value)), 96);
        assert_eq!(at(offset_of!(Stake, unstake_request_ts)), 104);
        assert_eq!(at(offset_of!(Stake, _reserved)), 112);
    }

    fn fund(balance: u64, total_shares: u64) -> InsuranceFund {
        let mut f: InsuranceFund = unsafe { core::mem::zeroed() };
        f.balance = balance;
        f.total_shares = total_shares;
        f
    }

    #[test]
    fn share_math_rounds_against_the_staker() {
        // An empty fund: one unit buys the virtual shares' worth, V shares per unit.
        assert_eq!(fund(0, 0).shares_for(1).unwrap(), VIRTUAL_SHARES);
        assert_eq!(fund(0, 0).shares_for(1_000_000).unwrap(), 1_000_000 * VIRTUAL_SHARES);
        // 100 units for 100 * V shares: value = floor(s * 101 / (100 V + V)) = floor(s / V).
        let f = fund(100, 100 * VIRTUAL_SHARES);
        assert_eq!(f.value_of(100 * VIRTUAL_SHARES).unwrap(), 100);
        assert_eq!(f.value_of(VIRTUAL_SHARES - 1).unwrap(), 0);
        assert_eq!(f.value_of(3 * VIRTUAL_SHARES / 2).unwrap(), 1);
        // After 50 swept in: 7 units buy floor(7 * 101 V / 151) shares, worth 6 at once.
        let f = fund(150, 100 * VIRTUAL_SHARES);
        let s = f.shares_for(7).unwrap();
        assert_eq!(s, 7 * 101 * VIRTUAL_SHARES / 151);
        let after = fund(157, 100 * VIRTUAL_SHARES + s);
        assert_eq!(after.value_of(s).unwrap(), 6);
        // A fund that paid out everything still prices: old shares are worth nothing.
        assert_eq!(fund(0, 5 * VIRTUAL_SHARES).shares_for(10).unwrap(), 60 * VIRTUAL_SHARES);
        assert_eq!(fund(0, 5 * VIRTUAL_SHARES).value_of(5 * VIRTUAL_SHARES).unwrap(), 0);
        // Whatever the numbers, all the shares are worth at most the balance.
        for (balance, shares) in [(1, 1), (u64::MAX / 2, 3), (10, u64::MAX - VIRTUAL_SHARES), (u64::MAX - 1, u64::MAX - VIRTUAL_SHARES)] {
            assert!(fund(balance, shares).value_of(shares).unwrap() <= balance);
        }
        // Shares past u64 are an overflow, not a wrap.
        assert_eq!(fund(0, 0).shares_for(u64::MAX).unwrap_err(), RuntimeError::ArithmeticOverflow.into());
        assert_eq!(fund(u64::MAX, 0).shares_for(1).unwrap_err(), RuntimeError::ArithmeticOverflow.into());
    }

    #[test]
    fn sweeps_take_what_the_pnl_pool_holds_liquidation_fees_first() {
        let sweep = |bps, lfp, fp, pnl| {
            let s = Sweep::of(bps, lfp, fp, pnl);
            (s.liquidation_fees, s.trading_fees, s.to_insurance, s.to_revenue)
        };
        // Enough in the PnL pool: all of both; 30% of 1,001 is 300.3, the fund's 300.
        assert_eq!(sweep(3_000, 50, 1_001, 10_000), (50, 1_001, 350, 701));
        // The PnL pool covers the liquidation fees and part of the trading fees.
        assert_eq!(sweep(5_000, 50, 1_000, 450), (50, 400, 250, 200));
        // ...or only part of the liquidation fees.
        assert_eq!(sweep(5_000, 50, 1_000, 30), (30, 0, 30, 0));
        // Negative pools count as empty; all-to-the-fund and all-to-revenue shares.
        assert_eq!(sweep(10_000, -5, 100, 1_000), (0, 100, 100, 0));
        assert_eq!(sweep(0, 10, 100, -1), (0, 0, 0, 0));
        assert_eq!(sweep(0, 10, -100, 1_000), (10, 0, 10, 0));
        assert_eq!(sweep(0, 0, 100, 1_000), (0, 100, 0, 100));
        assert!(Sweep::of(2_000, 0, 0, 1_000).is_empty() && !Sweep::of(2_000, 0, 1, 1_000).is_empty());
        assert_eq!(sweep(9_999, i64::MAX, i64::MAX, i64::MAX), (i64::MAX as u64, 0, i64::MAX as u64, 0));
    }

    #[test]
    fn market_limit_bits() {
        let mut m: MarginAccount = unsafe { core::mem::zeroed() };
        m.allowed_markets = 0b101;
        assert!(m.allows_market(0) && !m.allows_market(1) && m.allows_market(2));
        assert!(!m.allows_market(64) && !m.allows_market(u16::MAX));
        m.allowed_markets = u64::MAX;
        assert!(m.allows_market(63));
    }
}
