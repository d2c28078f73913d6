//! Accounts owned by qd-collateral, and the collateral half of every health check.
//!
//! qd-collateral writes `CollateralConfig` (one per mint) and `CollateralBalances` (one per margin
//! account); every program that judges an account's risk reads them through
//! [`add_collateral_from`], which streams the balances, their configs and oracle prices into a
//! `qd_health::Health` (qd-trading-state's `account_health` adds the perp positions after them).
//! [`pinned_price`] is the one oracle read of every health check, collateral and perps alike.
//!
//! Identity by fields, as for MarginAccount: qd-collateral creates a config only at the PDA
//! [b"collateral", mint] and a balances account only at [b"balances", margin_account], and never
//! changes `mint` or `margin_account`; so a reader that checked the owner program and type trusts
//! those fields without re-deriving the address (1,500 CU each).
#![cfg_attr(target_arch = "bpf", no_std)]

mod error;

pub use error::CollateralStateError;

use core::slice::Iter;
use qd_access::{Role, SecurityConfig};
use qd_health::{CollateralInput, Health};
use qd_oracle_reader::{feed_authority, price_update_feed_id, read_guarded, read_price, Action, OracleGuards, OracleSource};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;

pub const CONFIG_SEED: &[u8] = b"collateral";
pub const VAULT_SEED: &[u8] = b"vault";
pub const BALANCES_SEED: &[u8] = b"balances";

pub const COLLATERAL_CONFIG_VERSION: u8 = 1;
pub const BALANCES_VERSION: u8 = 1;
/// `adjust_balance`'s discriminator: shared with the CPI callers (qd-core, qd-trading).
pub const ADJUST_BALANCE: [u8; 8] = discriminator("global", "adjust_balance");
/// `collect_fees`' and `cover_from_insurance`'s: shared with qd-core, their only caller.
pub const COLLECT_FEES: [u8; 8] = discriminator("global", "collect_fees");
pub const COVER_FROM_INSURANCE: [u8; 8] = discriminator("global", "cover_from_insurance");

/// Collateral mints one margin account can hold at once.
pub const MAX_BALANCES: usize = 8;

/// `CollateralConfig::status`: deposits and withdrawals open.
pub const STATUS_ACTIVE: u8 = 0;
/// Deposits refused; withdrawals, transfers and adjustments continue (winding a mint down).
pub const STATUS_WITHDRAW_ONLY: u8 = 1;

/// The quote collateral's price: exactly 1 (6 decimals). PnL, fees and health are counted in
/// the quote mint, so it needs no oracle.
pub const QUOTE_PRICE: i64 = 1_000_000;

qd_runtime::account! {
    /// Anchor account "CollateralConfig" at PDA [b"collateral", mint]. Offsets from the account start.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CollateralConfig[344] {
        /// @8
        pub version: u8,
        /// @9: canonical bump of the config PDA.
        pub bump: u8,
        /// @10: the mint's decimals (0..=18).
        pub decimals: u8,
        /// @11: `STATUS_ACTIVE` or `STATUS_WITHDRAW_ONLY`.
        pub status: u8,
        /// @12: 1 for the venue's quote mint (GlobalConfig.quote_mint): price 1, may go negative.
        pub is_quote: u8,
        /// @13
        pub _pad0: u8,
        /// @14: weight of a positive balance in initial health (bps).
        pub init_weight_bps: u16,
        /// @16: weight in maintenance health (bps, >= init).
        pub maint_weight_bps: u16,
        /// @18: the discount a liquidator gets on this collateral (bps); below 10_000 -
        /// maint_weight_bps, so a collateral liquidation always raises the account's health; 0
        /// for the quote mint.
        pub liquidation_fee_bps: u16,
        /// @20
        pub _pad1: [u8; 4],
        /// @24
        pub mint: Pubkey,
        /// @56: the vault token account, PDA [b"vault", mint], owned by `qd_ids::COLLATERAL_AUTHORITY`.
        pub vault: Pubkey,
        /// @88: price account (qd-oracle PriceFeed, Pyth v2 price or Pyth PriceUpdateV2); all zero
        /// for the quote mint.
        pub oracle: Pubkey,
        /// @120: SPL Token or Token-2022.
        pub token_program: Pubkey,
        /// @152: most the balances of all accounts together may reach by deposits (native units).
        pub deposit_cap: u64,
        /// @160: most one account's balance may reach by deposits and transfers; 0 = no limit.
        pub account_cap: u64,
        /// @168: sum of every account's balance (native units; negative balances included).
        pub total_balances: i64,
        /// @176: protocol-held amount: the counterpart of every balance adjustment (fees in, PnL
        /// paid out), the insurance fund's cover in and its swept share out. Invariant: vault
        /// amount == total_balances + protocol_balance.
        pub protocol_balance: i64,
        /// @184: sequence number of the latest admin action on this config (audit events).
        pub audit_seq: u64,
        /// @192: oracle guards per action (staleness, confidence, EMA deviation).
        pub guards: OracleGuards,
        /// @256: Pyth feed id pinned at creation for PriceUpdateV2 oracles (zero otherwise).
        pub oracle_feed_id: [u8; 32],
        /// @288: the protocol's own part of `protocol_balance` (swept fee revenue): for the quote
        /// mint, protocol_balance == the markets' PnL pools + revenue.
        pub revenue: i64,
        /// @296
        pub _reserved: [u8; 56],
    }
}

impl CollateralConfig {
    pub fn is_quote(&self) -> bool {
        self.is_quote != 0
    }
}

qd_runtime::layout! {
    /// One collateral balance of a margin account.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct BalanceEntry[40] {
        pub mint: Pubkey,
        /// Native units; negative (a debt) only for the quote mint, and only by adjustment.
        pub balance: i64,
    }
}

qd_runtime::account! {
    /// Anchor account "CollateralBalances" at PDA [b"balances", margin_account].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CollateralBalances[464] {
        /// @8
        pub version: u8,
        /// @9
        pub bump: u8,
        /// @10: entries in use: `entries[..count]`, in the order health accounts are passed.
        pub count: u8,
        /// @11
        pub _pad0: [u8; 5],
        /// @16: the qd-core MarginAccount these balances belong to.
        pub margin_account: Pubkey,
        /// @48: that account's owner (for getProgramAccounts memcmp filters).
        pub owner: Pubkey,
        /// @80: sequence number of the latest balance change (events carry it).
        pub seq: u64,
        /// @88: 8 entries of 40 bytes: mint @+0, balance @+32.
        pub entries: [BalanceEntry; MAX_BALANCES],
        /// @408
        pub _reserved: [u8; 64],
    }
}

impl CollateralBalances {
    /// The entries in use.
    pub fn active(&self) -> &[BalanceEntry] {
        &self.entries[..(self.count as usize).min(MAX_BALANCES)]
    }

    /// The balance of `mint` (0 when it holds none).
    pub fn balance_of(&self, mint: &Pubkey) -> i64 {
        self.active().iter().find(|e| &e.mint == mint).map_or(0, |e| e.balance)
    }

    /// Fails unless these are `margin_account`'s balances (a reader's identity check).
    pub fn check_margin_account(&self, margin_account: &Pubkey) -> Result<(), ProgramError> {
        if &self.margin_account != margin_account {
            return Err(CollateralStateError::BalancesMismatch.into());
        }
        Ok(())
    }
}

/// A CollateralConfig of qd-collateral (owner, type and size checked).
pub fn load_config(info: &AccountInfo) -> Result<&CollateralConfig, ProgramError> {
    info.load::<CollateralConfig>(&qd_ids::QD_COLLATERAL)
}

/// The feed id to pin for `oracle` when it is listed: a Pyth PriceUpdateV2's feed id, zero for
/// other sources, after checking that the reader understands the account. A QuantDesk feed's
/// `authority` must hold ORACLE_ADMIN in `security` at listing (qd-oracle lets only ORACLE_ADMIN
/// holders create feeds and hand them over, but a feed whose authority has since been revoked,
/// or one made before that rule, is not trusted for a new listing). Freshness is judged when
/// prices are used, not here. Shared by collateral listings and perp markets.
pub fn oracle_feed_id(oracle: &AccountInfo, security: &SecurityConfig) -> Result<[u8; 32], ProgramError> {
    let price = read_price(oracle.owner(), oracle.data())?;
    match price.source {
        OracleSource::PythReceiver => Ok(*price_update_feed_id(oracle.owner(), oracle.data())?),
        OracleSource::QuantDesk => {
            if !security.has_role(Role::OracleAdmin, feed_authority(oracle.owner(), oracle.data())?) {
                return Err(CollateralStateError::UntrustedFeedAuthority.into());
            }
            Ok([0; 32])
        }
        OracleSource::PythLegacy => Ok([0; 32]),
    }
}

/// The guarded price of `oracle` for `action`, which must be the `expected` account; a Pyth
/// PriceUpdateV2 must carry the pinned `feed_id` and be fully verified. Shared by collateral
/// prices and perp market prices (qd-trading-state).
pub fn pinned_price(
    oracle: &AccountInfo,
    expected: &Pubkey,
    guards: &OracleGuards,
    feed_id: &[u8; 32],
    action: Action,
    clock: &Clock,
) -> Result<i64, ProgramError> {
    if oracle.key() != expected {
        return Err(CollateralStateError::WrongOracle.into());
    }
    let owner = oracle.owner();
    let data = oracle.data();
    let price = read_guarded(owner, data, guards.get(action), clock)?;
    if price.source == OracleSource::PythReceiver {
        // A PriceUpdateV2 account's write authority can post any feed into it: pin the feed.
        if price_update_feed_id(owner, data)? != feed_id {
            return Err(CollateralStateError::OracleFeedMismatch.into());
        }
        if !price.verified_full {
            return Err(CollateralStateError::OracleNotFullyVerified.into());
        }
    }
    Ok(price.price)
}

/// The price of `config`'s mint for `action`: 1 for the quote mint (no oracle account is read),
/// otherwise the guarded price of `oracle`, which must be the config's oracle.
pub fn price(config: &CollateralConfig, oracle: Option<&AccountInfo>, action: Action, clock: &Clock) -> Result<i64, ProgramError> {
    if config.is_quote() {
        return Ok(QUOTE_PRICE);
    }
    let oracle = oracle.ok_or(RuntimeError::NotEnoughAccounts)?;
    pinned_price(oracle, &config.oracle, &config.guards, &config.oracle_feed_id, action, clock)
}

/// Adds every balance of `balances` to `health`, reading prices for `action`. `next` yields,
/// for each active entry in order, its CollateralConfig and then (except for the quote mint) its
/// oracle. `quote` is the quote mint's config when the caller already holds it as a fixed
/// account (qd-trading): the quote entry then uses it and takes nothing from `next`. The caller
/// checks that nothing is left over once every part of its health list is read.
pub fn add_collateral_from(
    health: &mut Health,
    balances: &CollateralBalances,
    next: &mut Iter<AccountInfo>,
    quote: Option<&CollateralConfig>,
    action: Action,
    clock: &Clock,
) -> Result<(), ProgramError> {
    for entry in balances.active() {
        let config = match quote {
            Some(quote) if quote.mint == entry.mint => quote,
            _ => load_config(next.next().ok_or(RuntimeError::NotEnoughAccounts)?)?,
        };
        if config.mint != entry.mint {
            return Err(CollateralStateError::ConfigMintMismatch.into());
        }
        let oracle = if config.is_quote() { None } else { Some(next.next().ok_or(RuntimeError::NotEnoughAccounts)?) };
        let price = price(config, oracle, action, clock)?;
        health.add_collateral(&CollateralInput {
            balance: entry.balance,
            decimals: config.decimals,
            price,
            init_weight_bps: config.init_weight_bps,
            maint_weight_bps: config.maint_weight_bps,
        })?;
    }
    Ok(())
}

/// CPI into qd-collateral's `adjust_balance`: adds `delta` to `balances`' entry for `config`'s
/// mint. `authority` is the calling program's [b"authority"] PDA and `authority_seeds` its signer
/// seeds (bump included); qd-collateral accepts only qd-core's and qd-trading's.
pub fn adjust_balance(
    authority: &AccountInfo,
    config: &AccountInfo,
    balances: &AccountInfo,
    delta: i64,
    authority_seeds: &[&[u8]],
) -> Result<(), ProgramError> {
    use qd_runtime::cpi::{invoke_signed, AccountMeta};
    let mut data = qd_runtime::borsh::Writer::<16>::new();
    data.bytes(&ADJUST_BALANCE).i64(delta);
    invoke_signed(
        &qd_ids::QD_COLLATERAL,
        &[
            AccountMeta::readonly(authority.key(), true),
            AccountMeta::writable(config.key(), false),
            AccountMeta::writable(balances.key(), false),
        ],
        &[authority, config, balances],
        data.finish()?,
        &[authority_seeds],
    )
}

/// CPI into qd-collateral's `collect_fees`: `to_insurance` tokens from `config`'s vault to
/// `destination` (the insurance fund's vault) out of the protocol balance, `to_revenue` counted
/// as the protocol's revenue. `authority` is qd-core's [b"authority"] PDA with its
/// `authority_seeds`; `vault_authority` is qd-collateral's, which signs the transfer.
#[allow(clippy::too_many_arguments)]
pub fn collect_fees(
    authority: &AccountInfo,
    config: &AccountInfo,
    vault: &AccountInfo,
    destination: &AccountInfo,
    mint: &AccountInfo,
    token_program: &AccountInfo,
    vault_authority: &AccountInfo,
    amounts: (u64, u64),
    authority_seeds: &[&[u8]],
) -> Result<(), ProgramError> {
    use qd_runtime::cpi::{invoke_signed, AccountMeta};
    let mut data = qd_runtime::borsh::Writer::<24>::new();
    data.bytes(&COLLECT_FEES).u64(amounts.0).u64(amounts.1);
    invoke_signed(
        &qd_ids::QD_COLLATERAL,
        &[
            AccountMeta::readonly(authority.key(), true),
            AccountMeta::writable(config.key(), false),
            AccountMeta::writable(vault.key(), false),
            AccountMeta::writable(destination.key(), false),
            AccountMeta::readonly(mint.key(), false),
            AccountMeta::readonly(token_program.key(), false),
            AccountMeta::readonly(vault_authority.key(), false),
        ],
        &[authority, config, vault, destination, mint, token_program, vault_authority],
        data.finish()?,
        &[authority_seeds],
    )
}

/// CPI into qd-collateral's `cover_from_insurance`: `amount` tokens from `source` (the insurance
/// fund's vault, whose token authority is qd-core's [b"authority"] PDA `authority`) into
/// `config`'s vault, added to the protocol balance (a bankrupt account's loss paid into a
/// market's PnL pool). `authority_seeds` sign for `authority`, which also signs the transfer.
#[allow(clippy::too_many_arguments)]
pub fn cover_from_insurance(
    authority: &AccountInfo,
    config: &AccountInfo,
    vault: &AccountInfo,
    source: &AccountInfo,
    mint: &AccountInfo,
    token_program: &AccountInfo,
    amount: u64,
    authority_seeds: &[&[u8]],
) -> Result<(), ProgramError> {
    use qd_runtime::cpi::{invoke_signed, AccountMeta};
    let mut data = qd_runtime::borsh::Writer::<16>::new();
    data.bytes(&COVER_FROM_INSURANCE).u64(amount);
    invoke_signed(
        &qd_ids::QD_COLLATERAL,
        &[
            AccountMeta::readonly(authority.key(), true),
            AccountMeta::writable(config.key(), false),
            AccountMeta::writable(vault.key(), false),
            AccountMeta::writable(source.key(), false),
            AccountMeta::readonly(mint.key(), false),
            AccountMeta::readonly(token_program.key(), false),
        ],
        &[authority, config, vault, source, mint, token_program],
        data.finish()?,
        &[authority_seeds],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};
    use qd_runtime::account::AccountType;

    #[test]
    fn config_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(CollateralConfig::LEN, 352);
        assert_eq!(at(offset_of!(CollateralConfig, status)), 11);
        assert_eq!(at(offset_of!(CollateralConfig, is_quote)), 12);
        assert_eq!(at(offset_of!(CollateralConfig, init_weight_bps)), 14);
        assert_eq!(at(offset_of!(CollateralConfig, liquidation_fee_bps)), 18);
        assert_eq!(at(offset_of!(CollateralConfig, mint)), 24);
        assert_eq!(at(offset_of!(CollateralConfig, vault)), 56);
        assert_eq!(at(offset_of!(CollateralConfig, oracle)), 88);
        assert_eq!(at(offset_of!(CollateralConfig, token_program)), 120);
        assert_eq!(at(offset_of!(CollateralConfig, deposit_cap)), 152);
        assert_eq!(at(offset_of!(CollateralConfig, total_balances)), 168);
        assert_eq!(at(offset_of!(CollateralConfig, protocol_balance)), 176);
        assert_eq!(at(offset_of!(CollateralConfig, guards)), 192);
        assert_eq!(at(offset_of!(CollateralConfig, oracle_feed_id)), 256);
        assert_eq!(at(offset_of!(CollateralConfig, revenue)), 288);
        assert_eq!(at(offset_of!(CollateralConfig, _reserved)), 296);
    }

    #[test]
    fn balances_offsets() {
        let at = |o: usize| o + 8;
        assert_eq!(size_of::<BalanceEntry>(), 40);
        assert_eq!(CollateralBalances::LEN, 472);
        assert_eq!(at(offset_of!(CollateralBalances, count)), 10);
        assert_eq!(at(offset_of!(CollateralBalances, margin_account)), 16);
        assert_eq!(at(offset_of!(CollateralBalances, owner)), 48);
        assert_eq!(at(offset_of!(CollateralBalances, seq)), 80);
        assert_eq!(at(offset_of!(CollateralBalances, entries)), 88);
        assert_eq!(at(offset_of!(CollateralBalances, _reserved)), 408);
    }

    #[test]
    fn active_entries_never_exceed_the_array() {
        let mut b: CollateralBalances = unsafe { core::mem::zeroed() };
        assert!(b.active().is_empty());
        b.count = 3;
        assert_eq!(b.active().len(), 3);
        b.count = 200; // corrupt count: clamped, never out of bounds
        assert_eq!(b.active().len(), MAX_BALANCES);
    }

    #[test]
    fn balance_of_reads_active_entries_only() {
        let mut b: CollateralBalances = unsafe { core::mem::zeroed() };
        b.entries[0] = BalanceEntry { mint: [1; 32], balance: -5 };
        b.entries[1] = BalanceEntry { mint: [2; 32], balance: 7 };
        b.count = 1;
        assert_eq!((b.balance_of(&[1; 32]), b.balance_of(&[2; 32]), b.balance_of(&[3; 32])), (-5, 0, 0));
    }
}
