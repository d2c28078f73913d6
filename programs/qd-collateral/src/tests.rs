//! Host tests of the processor: the generated entrypoint run on accounts laid out as the loader
//! lays them out (`qd_runtime::host`). PDA derivation and CPIs refuse on the host, so these
//! cover the checks before them and `adjust_balance`, which needs neither.

use crate::events::BalanceAdjusted;
use crate::instruction::HealthView;
use qd_collateral_state::{BalanceEntry, CollateralBalances, CollateralConfig, ADJUST_BALANCE};
use qd_runtime::account::{zeroed, AccountType};
use qd_runtime::borsh::{BorshWrite, Writer};
use qd_runtime::error::RuntimeError;
use qd_runtime::hash::discriminator;
use qd_runtime::host::{self, account_data as data, HostAccount, HostRun};
use qd_runtime::pubkey::Pubkey;
use qd_trading_state::TradingAccount;

const MINT: Pubkey = [7; 32];
const MARGIN: Pubkey = [8; 32];
const CONFIG: Pubkey = [10; 32];
const BALANCES: Pubkey = [11; 32];

fn quote_config() -> HostAccount {
    let mut config = zeroed::<CollateralConfig>();
    config.mint = MINT;
    config.is_quote = 1;
    config.total_balances = 100;
    HostAccount::new(CONFIG, crate::ID, data(&config)).writable()
}

fn balances(balance: i64) -> HostAccount {
    let mut b = zeroed::<CollateralBalances>();
    b.margin_account = MARGIN;
    b.count = 1;
    b.seq = 4;
    b.entries[0] = BalanceEntry { mint: MINT, balance };
    HostAccount::new(BALANCES, crate::ID, data(&b)).writable()
}

fn authority(key: Pubkey) -> HostAccount {
    HostAccount::new(key, [0; 32], vec![]).signer()
}

fn adjust(delta: i64) -> Vec<u8> {
    [&ADJUST_BALANCE[..], &delta.to_le_bytes()].concat()
}

fn run(accounts: &[HostAccount], data: &[u8]) -> HostRun {
    host::run(crate::entrypoint, &crate::ID, accounts, data)
}

fn code(accounts: &[HostAccount], data: &[u8]) -> u64 {
    run(accounts, data).code
}

#[test]
fn unknown_discriminator_is_logged_by_name() {
    let ran = run(&[], &[0; 8]);
    assert_eq!(ran.code, RuntimeError::InvalidInstruction as u64);
    assert_eq!(
        ran.logs,
        ["AnchorError occurred. Error Code: InvalidInstruction. Error Number: 6000. Error Message: Unknown instruction discriminator."]
    );
    assert_eq!(host::run(crate::entrypoint, &[1; 32], &[], &adjust(5)).code, RuntimeError::WrongProgram as u64);
}

#[test]
fn argument_checks_run_before_the_accounts() {
    let ran = run(&[], &[&discriminator("global", "view_health")[..], &[9]].concat());
    assert_eq!(ran.code, crate::error::CollateralError::InvalidOracleAction as u64);
    assert_eq!(
        ran.logs,
        ["AnchorError occurred. Error Code: InvalidOracleAction. Error Number: 6122. Error Message: Unknown oracle action code."]
    );
}

#[test]
fn adjust_balance_moves_the_protocol_balance_and_emits() {
    host::set_clock(77, 1_000);
    let accounts = [authority(qd_ids::TRADING_AUTHORITY), quote_config(), balances(30)];
    let ran = run(&accounts, &adjust(-50));
    assert_eq!(ran.code, 0);
    let config = ran.accounts[1].body::<CollateralConfig>();
    assert_eq!((config.total_balances, config.protocol_balance), (50, 50));
    let b = ran.accounts[2].body::<CollateralBalances>();
    assert_eq!((b.count, b.entries[0].balance, b.seq), (1, -20, 5));
    // The event's wire layout: discriminator, then the fields in declaration order.
    let mut expected = discriminator("event", "BalanceAdjusted").to_vec();
    for part in [&MARGIN[..], &MINT, &qd_ids::TRADING_AUTHORITY, &(-50i64).to_le_bytes(), &(-20i64).to_le_bytes(), &50i64.to_le_bytes()] {
        expected.extend_from_slice(part);
    }
    expected.extend_from_slice(&77u64.to_le_bytes());
    expected.extend_from_slice(&5u64.to_le_bytes());
    assert_eq!(ran.events, [expected]);
    // Nothing else changed: no lamports moved, no size or owner changed; no return data.
    assert!(ran.return_data.is_empty());
    assert!(ran.accounts.iter().zip(&accounts).all(|(a, b)| (a.lamports, a.data.len(), a.owner) == (b.lamports, b.data.len(), b.owner)));
    assert_eq!(BalanceAdjusted::DISCRIMINATOR, discriminator("event", "BalanceAdjusted"));
}

#[test]
fn adjust_balance_refuses_bad_accounts() {
    let ok = [authority(qd_ids::CORE_AUTHORITY), quote_config(), balances(30)];
    // Short account list.
    assert_eq!(code(&ok[..2], &adjust(5)), RuntimeError::NotEnoughAccounts as u64);
    // Missing signer.
    let mut unsigned = ok.clone();
    unsigned[0].is_signer = false;
    assert_eq!(code(&unsigned, &adjust(5)), RuntimeError::MissingSigner as u64);
    // A user key signing.
    let mut user = ok.clone();
    user[0] = authority([3; 32]);
    assert_eq!(code(&user, &adjust(5)), crate::error::CollateralError::NotAdjustAuthority as u64);
    // Read-only balances.
    let mut read_only = ok.clone();
    read_only[2].is_writable = false;
    assert_eq!(code(&read_only, &adjust(5)), RuntimeError::NotWritable as u64);
    // A config of another program.
    let mut foreign = ok.clone();
    foreign[1].owner = [4; 32];
    assert_eq!(code(&foreign, &adjust(5)), RuntimeError::WrongOwner as u64);
    // The config passed as the balances too.
    let dup = [ok[0].clone(), ok[1].clone(), ok[1].clone()];
    let ran = run(&dup, &adjust(5));
    assert_eq!(ran.code, RuntimeError::DuplicateAccount as u64);
    assert!(ran.logs[0].starts_with("AnchorError occurred. Error Code: DuplicateAccount. Error Number: 6009."));
    // Another account type of this program in the config's place: its size, then its discriminator.
    let cosplay = [ok[0].clone(), HostAccount { key: CONFIG, ..balances(30) }, balances(30)];
    assert_eq!(code(&cosplay, &adjust(5)), RuntimeError::WrongAccountSize as u64);
    let mut cosplay = ok.clone();
    cosplay[1].data[..8].copy_from_slice(&CollateralBalances::DISCRIMINATOR);
    assert_eq!(code(&cosplay, &adjust(5)), RuntimeError::WrongDiscriminator as u64);
    // A non-quote balance may not go negative.
    let mut asset = ok.clone();
    let mut config = asset[1].body::<CollateralConfig>();
    config.is_quote = 0;
    asset[1].data = data(&config);
    let refused = run(&asset, &adjust(-31));
    assert_eq!(refused.code, crate::error::CollateralError::InsufficientBalance as u64);
    // A refusal leaves the accounts as they were and emits nothing.
    assert_eq!(refused.accounts.iter().map(|a| &a.data).collect::<Vec<_>>(), asset.iter().map(|a| &a.data).collect::<Vec<_>>());
    assert!(refused.events.is_empty());
    assert_eq!(code(&ok, &adjust(-31)), 0);
}

#[test]
fn deposit_and_withdraw_parse_their_accounts_first() {
    let key = |k: u8| HostAccount::new([k; 32], [0; 32], vec![]);
    let deposit = [&discriminator("global", "deposit")[..], &5u64.to_le_bytes()].concat();
    // owner, security config, margin account, balances, config, vault, source, mint, token program
    let mut accounts = vec![key(1).signer(), key(2), key(3), key(4).writable(), key(5).writable(), key(6).writable(), key(7).writable()];
    accounts.extend([key(8), key(9)]);
    assert_eq!(code(&accounts[..8], &deposit), RuntimeError::NotEnoughAccounts as u64);
    accounts[0].is_signer = false;
    assert_eq!(code(&accounts, &deposit), RuntimeError::MissingSigner as u64);
    accounts[0].is_signer = true;
    accounts[6].is_writable = false;
    assert_eq!(code(&accounts, &deposit), RuntimeError::NotWritable as u64);
    // The vault passed as the source.
    accounts[6] = accounts[5].clone();
    assert_eq!(code(&accounts, &deposit), RuntimeError::DuplicateAccount as u64);
    // Well formed, but the security config is not qd-security's.
    accounts[6] = key(7).writable();
    assert_eq!(code(&accounts, &deposit), RuntimeError::WrongAddress as u64);

    let withdraw = [&discriminator("global", "withdraw")[..], &5u64.to_le_bytes()].concat();
    // ..., balances, trading account, config, vault, destination, mint, token program, vault authority
    let mut accounts =
        vec![key(1).signer(), key(2), key(3), key(4).writable(), key(5), key(6).writable(), key(7).writable(), key(8).writable()];
    accounts.extend([key(9), key(10), key(11)]);
    accounts[7] = accounts[3].clone();
    assert_eq!(code(&accounts, &withdraw), RuntimeError::DuplicateAccount as u64);
}

#[test]
fn view_health_reads_balances_of_this_program() {
    let view = [&discriminator("global", "view_health")[..], &[1]].concat();
    assert_eq!(code(&[balances(1)], &view), RuntimeError::NotEnoughAccounts as u64);
    let mut foreign = balances(1);
    foreign.owner = [4; 32];
    assert_eq!(code(&[foreign, HostAccount::new([12; 32], qd_ids::QD_TRADING, vec![])], &view), RuntimeError::WrongOwner as u64);
    // No collateral and a trading account without positions: zero health, no ratios, as return data.
    let mut empty = zeroed::<CollateralBalances>();
    empty.margin_account = MARGIN;
    let mut trading = zeroed::<TradingAccount>();
    trading.margin_account = MARGIN;
    let accounts = [HostAccount::new(BALANCES, crate::ID, data(&empty)), HostAccount::new([12; 32], qd_ids::QD_TRADING, data(&trading))];
    let ran = run(&accounts, &view);
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    let zero = HealthView { init_health: 0, maint_health: 0, free_collateral: 0, health_factor_bps: None, margin_ratio_bps: None };
    let mut w = Writer::<{ HealthView::MAX_SIZE }>::new();
    zero.write(&mut w);
    assert_eq!(ran.return_data, w.written());
}

#[test]
fn health_view_encoding() {
    let view = HealthView { init_health: -1, maint_health: 2, free_collateral: 3, health_factor_bps: Some(4), margin_ratio_bps: None };
    let mut w = Writer::<{ HealthView::MAX_SIZE }>::new();
    view.write(&mut w);
    let expected = [&(-1i128).to_le_bytes()[..], &2i128.to_le_bytes(), &3i128.to_le_bytes(), &[1], &4i128.to_le_bytes(), &[0]].concat();
    assert_eq!(w.written(), &expected[..]);
    assert_eq!(HealthView::MAX_SIZE, 3 * 16 + 2 * 17);
}

const VAULT: Pubkey = [20; 32];
const FUND_VAULT: Pubkey = [21; 32];

/// A classic token account of `mint` holding `amount`.
fn token_account(key: Pubkey, mint: Pubkey, amount: u64) -> HostAccount {
    let mut d = vec![0u8; qd_runtime::token::ACCOUNT_LEN];
    d[..32].copy_from_slice(&mint);
    d[64..72].copy_from_slice(&amount.to_le_bytes());
    HostAccount::new(key, qd_runtime::token::ID, d).writable()
}

/// The quote config with its vault and token program, `protocol_balance` and `revenue` set.
fn quote_config_with(protocol_balance: i64, revenue: i64) -> HostAccount {
    let mut config = quote_config().body::<CollateralConfig>();
    config.vault = VAULT;
    config.token_program = qd_runtime::token::ID;
    config.protocol_balance = protocol_balance;
    config.revenue = revenue;
    HostAccount::new(CONFIG, crate::ID, data(&config)).writable()
}

/// collect_fees' accounts: core authority, config, vault (holding `vault_amount`), the fund's
/// vault, mint, token program, vault authority.
fn collect_accounts(signer: Pubkey, vault_amount: u64) -> Vec<HostAccount> {
    vec![
        authority(signer),
        quote_config_with(500, 100),
        token_account(VAULT, MINT, vault_amount),
        token_account(FUND_VAULT, MINT, 0),
        HostAccount::new(MINT, qd_runtime::token::ID, vec![]),
        HostAccount::new(qd_runtime::token::ID, [0; 32], vec![]),
        HostAccount::new(qd_ids::COLLATERAL_AUTHORITY, [0; 32], vec![]),
    ]
}

fn collect(to_insurance: u64, to_revenue: u64) -> Vec<u8> {
    [&qd_collateral_state::COLLECT_FEES[..], &to_insurance.to_le_bytes(), &to_revenue.to_le_bytes()].concat()
}

#[test]
fn collect_fees_counts_revenue_and_takes_only_the_core_authority() {
    host::set_clock(77, 1_000);
    // The revenue part alone moves no token (no CPI): protocol balance unchanged, revenue up.
    let ran = run(&collect_accounts(qd_ids::CORE_AUTHORITY, 0), &collect(0, 40));
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    let config = ran.accounts[1].body::<CollateralConfig>();
    assert_eq!((config.protocol_balance, config.revenue), (500, 140));
    let mut expected = crate::events::FeesCollected::DISCRIMINATOR.to_vec();
    for part in [&CONFIG[..], &MINT, &FUND_VAULT, &0u64.to_le_bytes(), &40u64.to_le_bytes(), &500i64.to_le_bytes(), &140i64.to_le_bytes()] {
        expected.extend_from_slice(part);
    }
    expected.extend_from_slice(&77u64.to_le_bytes());
    assert_eq!(ran.events, [expected]);
    // qd-trading's authority, a user, or no signature: refused, nothing changed.
    for signer in [qd_ids::TRADING_AUTHORITY, [3; 32]] {
        let accounts = collect_accounts(signer, 0);
        let refused = run(&accounts, &collect(0, 40));
        assert_eq!(refused.code, qd_core_state::CoreAuthorityError::NotCoreAuthority as u64);
        assert_eq!(refused.logs, ["AnchorError occurred. Error Code: NotCoreAuthority. Error Number: 6360. Error Message: The signer is not qd-core's authority PDA."]);
        assert_eq!(refused.accounts[1].data, accounts[1].data);
    }
    let mut unsigned = collect_accounts(qd_ids::CORE_AUTHORITY, 0);
    unsigned[0].is_signer = false;
    assert_eq!(code(&unsigned, &collect(0, 1)), RuntimeError::MissingSigner as u64);
    // More than the vault holds; a destination of another mint; another vault authority.
    assert_eq!(code(&collect_accounts(qd_ids::CORE_AUTHORITY, 9), &collect(10, 0)), crate::error::CollateralError::VaultShortfall as u64);
    let mut other_mint = collect_accounts(qd_ids::CORE_AUTHORITY, 0);
    other_mint[3] = token_account(FUND_VAULT, [9; 32], 0);
    assert_eq!(code(&other_mint, &collect(0, 1)), crate::error::CollateralError::WrongMint as u64);
    let mut fake_authority = collect_accounts(qd_ids::CORE_AUTHORITY, 0);
    fake_authority[6] = HostAccount::new([9; 32], [0; 32], vec![]);
    assert_eq!(code(&fake_authority, &collect(0, 1)), RuntimeError::WrongAddress as u64);
    // The vault as its own destination.
    let mut dup = collect_accounts(qd_ids::CORE_AUTHORITY, 0);
    dup[3] = dup[2].clone();
    assert_eq!(code(&dup, &collect(0, 1)), RuntimeError::DuplicateAccount as u64);
}

#[test]
fn cover_from_insurance_takes_only_the_core_authority() {
    let cover = [&qd_collateral_state::COVER_FROM_INSURANCE[..], &25u64.to_le_bytes()].concat();
    let mut accounts = collect_accounts([3; 32], 0);
    accounts.truncate(6);
    assert_eq!(code(&accounts, &cover), qd_core_state::CoreAuthorityError::NotCoreAuthority as u64);
    accounts[0] = authority(qd_ids::CORE_AUTHORITY);
    // The source of another mint, the vault as the source.
    accounts[3] = token_account(FUND_VAULT, [9; 32], 100);
    assert_eq!(code(&accounts, &cover), crate::error::CollateralError::WrongMint as u64);
    accounts[3] = accounts[2].clone();
    assert_eq!(code(&accounts, &cover), RuntimeError::DuplicateAccount as u64);
}

#[test]
fn the_liquidation_fee_keeps_a_collateral_liquidation_raising_health() {
    // set_collateral_params(init, maint, deposit cap, account cap, liquidation fee, status).
    let set = |maint: u16, fee: u16| {
        let tag = discriminator("global", "set_collateral_params");
        [&tag[..], &0u16.to_le_bytes(), &maint.to_le_bytes(), &100u64.to_le_bytes(), &0u64.to_le_bytes(), &fee.to_le_bytes(), &[0]].concat()
    };
    let timelock = authority(qd_ids::SECURITY_AUTHORITY);
    let mut asset = quote_config().body::<CollateralConfig>();
    asset.is_quote = 0;
    let asset = HostAccount::new(CONFIG, crate::ID, data(&asset)).writable();
    let invalid = crate::error::CollateralError::InvalidLiquidationFee as u64;
    // Below 10_000 - maint: 999 at 90% maintenance weight, not 1,000; nothing at 100%.
    let ran = run(&[timelock.clone(), asset.clone()], &set(9_000, 999));
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    assert_eq!(ran.accounts[1].body::<CollateralConfig>().liquidation_fee_bps, 999);
    assert_eq!(code(&[timelock.clone(), asset.clone()], &set(9_000, 1_000)), invalid);
    assert_eq!(code(&[timelock.clone(), asset], &set(10_000, 0)), invalid);
    // The quote is repaid, never sold: no fee.
    assert_eq!(code(&[timelock.clone(), quote_config()], &set(10_000, 0)), 0);
    assert_eq!(code(&[timelock, quote_config()], &set(10_000, 1)), invalid);
}
