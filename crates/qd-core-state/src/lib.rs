//! Accounts owned by qd-core. qd-core writes them; every other program reads them through
//! [`load_margin`] / [`load_global`], which check the owner, discriminator and size (and the
//! address of the singleton GlobalConfig).
//!
//! A MarginAccount's identity is its fields: qd-core creates one only at the PDA
//! [b"margin", owner, sub_id (u16 LE)] and never changes `owner` or `sub_id`, so a reader that
//! has checked the owner program trusts `owner` without re-deriving the address (1,500 CU).
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::ProgramError;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::validate;

pub const GLOBAL_SEED: &[u8] = b"global";
pub const MARGIN_SEED: &[u8] = b"margin";

pub const GLOBAL_CONFIG_VERSION: u8 = 1;
pub const MARGIN_ACCOUNT_VERSION: u8 = 1;
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
    fn market_limit_bits() {
        let mut m: MarginAccount = unsafe { core::mem::zeroed() };
        m.allowed_markets = 0b101;
        assert!(m.allows_market(0) && !m.allows_market(1) && m.allows_market(2));
        assert!(!m.allows_market(64) && !m.allows_market(u16::MAX));
        m.allowed_markets = u64::MAX;
        assert!(m.allows_market(63));
    }
}
