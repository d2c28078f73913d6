//! Host tests of the processor: the program's entrypoint run on accounts laid out as the loader
//! lays them out (`qd_runtime::host`). CPI and PDA derivation refuse on the host, so these cover
//! decoding, the accounts declarations, the owner and authority checks, and the instructions that
//! need neither (delegate, limits, freeze).

use crate::error::CoreError;
use crate::events::{DelegateChanged, LimitsChanged};
use qd_core_state::{InsuranceFund, MarginAccount, MarginError, Stake, STATUS_FROZEN};
use qd_runtime::account::zeroed;
use qd_runtime::error::RuntimeError;
use qd_runtime::hash::discriminator;
use qd_runtime::host::{self, account_data, HostAccount, HostRun};
use qd_runtime::pubkey::Pubkey;

const OWNER: Pubkey = [1; 32];
const MARGIN: Pubkey = [2; 32];
const DELEGATE: Pubkey = [3; 32];
const SLOT: u64 = 77;

fn run(accounts: &[HostAccount], data: &[u8]) -> HostRun {
    host::set_clock(SLOT, 1_700_000_000);
    host::run(crate::entrypoint, &crate::ID, accounts, data)
}

fn ix(name: &str, args: &[u8]) -> Vec<u8> {
    [&discriminator("global", name)[..], args].concat()
}

fn margin_of(owner: Pubkey) -> HostAccount {
    let mut m = zeroed::<MarginAccount>();
    m.owner = owner;
    m.allowed_markets = u64::MAX;
    HostAccount::new(MARGIN, crate::ID, account_data(&m)).writable()
}

fn owner() -> HostAccount {
    HostAccount::new(OWNER, [0; 32], vec![]).signer()
}

fn code(e: impl Into<qd_runtime::error::ProgramError>) -> u64 {
    e.into().0 as u64
}

#[test]
fn an_unknown_instruction_is_logged_by_name() {
    let r = run(&[], &[9; 8]);
    assert_eq!(r.code, code(RuntimeError::InvalidInstruction));
    assert_eq!(
        r.logs,
        ["AnchorError occurred. Error Code: InvalidInstruction. Error Number: 6000. Error Message: Unknown instruction discriminator."]
    );
    // A copy deployed at another address refuses to run at all.
    let copy = host::run(crate::entrypoint, &[9; 32], &[], &ix("set_delegate", &DELEGATE));
    assert_eq!(copy.code, code(RuntimeError::WrongProgram));
}

#[test]
fn the_accounts_declaration_checks_count_signer_writable_and_duplicates() {
    let set_delegate = ix("set_delegate", &DELEGATE);
    assert_eq!(run(&[owner()], &set_delegate).code, code(RuntimeError::NotEnoughAccounts));
    let unsigned = HostAccount::new(OWNER, [0; 32], vec![]);
    assert_eq!(run(&[unsigned, margin_of(OWNER)], &set_delegate).code, code(RuntimeError::MissingSigner));
    let mut read_only = margin_of(OWNER);
    read_only.is_writable = false;
    assert_eq!(run(&[owner(), read_only], &set_delegate).code, code(RuntimeError::NotWritable));
    // close_margin_account with the margin account also passed as the global config: two
    // writable slots, one account.
    let close = run(
        &[
            owner().writable(),
            margin_of(OWNER),
            margin_of(OWNER),
            HostAccount::new([5; 32], [0; 32], vec![]),
            HostAccount::new([6; 32], [0; 32], vec![]),
        ],
        &ix("close_margin_account", &[]),
    );
    assert_eq!(close.code, code(RuntimeError::DuplicateAccount));
}

#[test]
fn only_the_owner_changes_delegate_and_limits_and_nothing_changes_when_refused() {
    let stranger = HostAccount::new([8; 32], [0; 32], vec![]).signer();
    let before = margin_of(OWNER);
    let r = run(&[stranger, before.clone()], &ix("set_delegate", &DELEGATE));
    assert_eq!(r.code, code(MarginError::NotOwner));
    assert_eq!(r.logs, ["AnchorError occurred. Error Code: NotOwner. Error Number: 6350. Error Message: The signer is not the owner of this margin account."]);
    assert_eq!(r.accounts[1].data, before.data);
    assert!(r.events.is_empty());
    // An account of another program is refused by owner.
    let mut foreign = margin_of(OWNER);
    foreign.owner = [7; 32];
    assert_eq!(run(&[owner(), foreign], &ix("set_delegate", &DELEGATE)).code, code(RuntimeError::WrongOwner));
    // The owner cannot be its own delegate.
    assert_eq!(run(&[owner(), margin_of(OWNER)], &ix("set_delegate", &OWNER)).code, code(CoreError::InvalidDelegate));
}

#[test]
fn the_owner_sets_a_delegate_and_limits() {
    let r = run(&[owner(), margin_of(OWNER)], &ix("set_delegate", &DELEGATE));
    assert_eq!(r.code, 0, "{:?}", r.logs);
    assert_eq!(r.accounts[1].body::<MarginAccount>().delegate, DELEGATE);
    // Borsh by hand: discriminator, margin account, owner, old and new delegate, slot.
    let changed = [&DelegateChanged::DISCRIMINATOR[..], &MARGIN, &OWNER, &[0; 32], &DELEGATE, &SLOT.to_le_bytes()].concat();
    assert_eq!(r.events, [changed]);

    let limits = [&500u16.to_le_bytes()[..], &0b101u64.to_le_bytes(), &[1]].concat();
    let r = run(&[owner(), margin_of(OWNER)], &ix("set_limits", &limits));
    assert_eq!(r.code, 0, "{:?}", r.logs);
    let m = r.accounts[1].body::<MarginAccount>();
    assert_eq!((m.max_leverage_x100, m.allowed_markets, m.reduce_only), (500, 0b101, 1));
    let changed =
        [&LimitsChanged::DISCRIMINATOR[..], &MARGIN, &OWNER, &500u16.to_le_bytes()[..], &0b101u64.to_le_bytes(), &[1], &SLOT.to_le_bytes()]
            .concat();
    assert_eq!(r.events, [changed]);
    // A leverage limit out of range is refused while decoding, before any account is read.
    let bad = [&50u16.to_le_bytes()[..], &0u64.to_le_bytes(), &[0]].concat();
    assert_eq!(run(&[], &ix("set_limits", &bad)).code, code(CoreError::InvalidLimits));
}

#[test]
fn only_the_security_authority_freezes() {
    let freeze = ix("set_frozen", &[1, 9, 0]);
    let impostor = HostAccount::new([4; 32], [0; 32], vec![]).signer();
    let r = run(&[impostor, margin_of(OWNER)], &freeze);
    assert_eq!(r.code, code(CoreError::NotSecurityAuthority));
    assert_eq!(r.accounts[1].body::<MarginAccount>().status, 0);
    let authority = HostAccount::new(qd_ids::SECURITY_AUTHORITY, [0; 32], vec![]).signer();
    let r = run(&[authority.clone(), margin_of(OWNER)], &freeze);
    assert_eq!(r.code, 0, "{:?}", r.logs);
    let m = r.accounts[1].body::<MarginAccount>();
    assert_eq!((m.status & STATUS_FROZEN, m.freeze_reason, m.audit_seq), (STATUS_FROZEN, 9, 1));
    // A frozen account may shed its delegate but not gain one.
    let frozen = HostAccount::new(MARGIN, crate::ID, r.accounts[1].data.clone()).writable();
    let r = run(&[owner(), frozen], &ix("set_delegate", &DELEGATE));
    assert_eq!(r.code, code(qd_access::AccessError::AccountFrozen));
}

// ---------------------------------------------------------------- the insurance fund

const FUND: Pubkey = [20; 32];
const STAKE: Pubkey = [21; 32];
const VAULT: Pubkey = [22; 32];
const MINT: Pubkey = [23; 32];
const STAKER: Pubkey = [24; 32];
const NOW: i64 = 1_700_000_000;
const V: u64 = qd_core_state::VIRTUAL_SHARES;

fn run_at(accounts: &[HostAccount], data: &[u8], now: i64) -> HostRun {
    host::set_clock(SLOT, now);
    host::run(crate::entrypoint, &crate::ID, accounts, data)
}

/// A fund of 1,000 units and 1,000 V shares (one unit per V shares), a 60 s delay, a 30% fee share.
fn fund() -> HostAccount {
    let mut f = zeroed::<InsuranceFund>();
    f.mint = MINT;
    f.vault = VAULT;
    f.unstake_delay_secs = 60;
    f.fee_share_bps = 3_000;
    f.balance = 1_000;
    f.total_shares = 1_000 * V;
    f.seq = 9;
    HostAccount::new(FUND, crate::ID, account_data(&f)).writable()
}

/// STAKER's stake of 500 V shares, with a pending request of `request` shares made at `ts`.
fn stake(request: u64, value: u64, ts: i64) -> HostAccount {
    let mut s = zeroed::<Stake>();
    s.fund = FUND;
    s.staker = STAKER;
    s.shares = 500 * V;
    s.unstake_shares = request;
    s.unstake_value = value;
    s.unstake_request_ts = ts;
    HostAccount::new(STAKE, crate::ID, account_data(&s)).writable()
}

fn staker() -> HostAccount {
    HostAccount::new(STAKER, [0; 32], vec![]).signer()
}

fn security(global_pause: u8) -> HostAccount {
    let mut config = zeroed::<qd_access::SecurityConfig>();
    config.global_pause = global_pause;
    HostAccount::new(qd_ids::SECURITY_CONFIG, qd_ids::QD_SECURITY, account_data(&config))
}

fn token_account(key: Pubkey, mint: Pubkey) -> HostAccount {
    let mut d = vec![0u8; qd_runtime::token::ACCOUNT_LEN];
    d[..32].copy_from_slice(&mint);
    HostAccount::new(key, qd_runtime::token::ID, d).writable()
}

fn mint() -> HostAccount {
    let mut d = vec![0u8; qd_runtime::token::MINT_LEN];
    d[44] = 6;
    d[45] = 1;
    HostAccount::new(MINT, qd_runtime::token::ID, d)
}

/// unstake's accounts: staker, security config, fund, stake, vault, destination, mint, token program, core authority.
fn unstake_accounts(stake: HostAccount) -> Vec<HostAccount> {
    vec![
        staker(),
        security(0),
        fund(),
        stake,
        token_account(VAULT, MINT),
        token_account([25; 32], MINT),
        mint(),
        HostAccount::new(qd_runtime::token::ID, [0; 32], vec![]),
        HostAccount::new(qd_ids::CORE_AUTHORITY, [0; 32], vec![]),
    ]
}

fn event(name: &str, parts: &[&[u8]]) -> Vec<u8> {
    [&discriminator("event", name)[..], &parts.concat()].concat()
}

#[test]
fn set_insurance_params_runs_only_through_the_timelock() {
    let params = ix("set_insurance_params", &[&120i64.to_le_bytes()[..], &2_500u16.to_le_bytes()].concat());
    let admin = HostAccount::new(OWNER, [0; 32], vec![]).signer();
    let refused = run(&[admin, fund()], &params);
    assert_eq!(refused.code, code(qd_access::AccessError::NotTimelock));
    assert_eq!(refused.accounts[1].data, fund().data);
    let timelock = HostAccount::new(qd_ids::SECURITY_AUTHORITY, [0; 32], vec![]).signer();
    let r = run(&[timelock, fund()], &params);
    assert_eq!(r.code, 0, "{:?}", r.logs);
    let f = r.accounts[1].body::<InsuranceFund>();
    assert_eq!((f.unstake_delay_secs, f.fee_share_bps, f.seq), (120, 2_500, 10));
    let expected = event(
        "InsuranceParamsChanged",
        &[
            &FUND,
            &qd_ids::SECURITY_AUTHORITY,
            &120i64.to_le_bytes(),
            &2_500u16.to_le_bytes(),
            &1_000u64.to_le_bytes(),
            &(1_000 * V).to_le_bytes(),
            &SLOT.to_le_bytes(),
            &10u64.to_le_bytes(),
        ],
    );
    assert_eq!(r.events, [expected]);
}

#[test]
fn an_unstake_request_records_the_value_now_one_at_a_time() {
    let request = |shares: u64| ix("request_unstake", &shares.to_le_bytes());
    // 250.5 units' worth of shares: 250, rounded down.
    let r = run_at(&[staker(), fund(), stake(0, 0, 0)], &request(250 * V + V / 2), NOW);
    assert_eq!(r.code, 0, "{:?}", r.logs);
    let s = r.accounts[2].body::<Stake>();
    assert_eq!((s.shares, s.unstake_shares, s.unstake_value, s.unstake_request_ts), (500 * V, 250 * V + V / 2, 250, NOW));
    assert_eq!(r.accounts[1].body::<InsuranceFund>().seq, 10);
    let expected = event(
        "UnstakeRequested",
        &[
            &FUND,
            &STAKER,
            &(250 * V + V / 2).to_le_bytes(),
            &250u64.to_le_bytes(),
            &(NOW + 60).to_le_bytes(),
            &1_000u64.to_le_bytes(),
            &(1_000 * V).to_le_bytes(),
            &SLOT.to_le_bytes(),
            &10u64.to_le_bytes(),
        ],
    );
    assert_eq!(r.events, [expected]);
    // A second request while one is pending; more shares than staked; another staker's stake.
    let pending = [staker(), fund(), stake(V, 1, NOW)];
    let refused = run(&pending, &request(V));
    assert_eq!(refused.code, code(CoreError::UnstakePending));
    assert_eq!((refused.accounts[1].data.clone(), refused.accounts[2].data.clone()), (pending[1].data.clone(), pending[2].data.clone()));
    assert_eq!(run(&[staker(), fund(), stake(0, 0, 0)], &request(500 * V + 1)).code, code(CoreError::InsufficientShares));
    let stranger = HostAccount::new([26; 32], [0; 32], vec![]).signer();
    assert_eq!(run(&[stranger, fund(), stake(0, 0, 0)], &request(V)).code, code(CoreError::StakeMismatch));
    // A stake of this program in the fund's place: its size; the fund read-only.
    let cosplay = HostAccount { key: FUND, ..stake(0, 0, 0) };
    assert_eq!(run(&[staker(), cosplay, stake(0, 0, 0)], &request(V)).code, code(RuntimeError::WrongAccountSize));
    let mut read_only = fund();
    read_only.is_writable = false;
    assert_eq!(run(&[staker(), read_only, stake(0, 0, 0)], &request(V)).code, code(RuntimeError::NotWritable));
}

#[test]
fn cancel_unstake_clears_the_request() {
    let cancel = ix("cancel_unstake", &[]);
    let r = run(&[staker(), fund(), stake(7 * V, 7, NOW)], &cancel);
    assert_eq!(r.code, 0, "{:?}", r.logs);
    let s = r.accounts[2].body::<Stake>();
    assert_eq!((s.shares, s.unstake_shares, s.unstake_value, s.unstake_request_ts), (500 * V, 0, 0, 0));
    assert_eq!(
        r.events,
        [event(
            "UnstakeCancelled",
            &[
                &FUND,
                &STAKER,
                &(7 * V).to_le_bytes(),
                &1_000u64.to_le_bytes(),
                &(1_000 * V).to_le_bytes(),
                &SLOT.to_le_bytes(),
                &10u64.to_le_bytes()
            ]
        )]
    );
    assert_eq!(run(&[staker(), fund(), stake(0, 0, 0)], &cancel).code, code(CoreError::NoUnstakeRequest));
}

#[test]
fn unstake_waits_for_the_delay_and_pays_the_lower_value() {
    let unstake = ix("unstake", &[]);
    // One second early: refused by name, nothing changed.
    let early = unstake_accounts(stake(V / 2, 0, NOW - 59));
    let r = run_at(&early, &unstake, NOW);
    assert_eq!(r.code, code(CoreError::UnstakeTooEarly));
    assert!(r.accounts.iter().zip(&early).all(|(a, b)| a.data == b.data) && r.events.is_empty());
    // At the delay: shares worth nothing (half of V: 0.5 units, rounded down) are burnt, no
    // token moves (the only path the host can run: a transfer is a CPI).
    let r = run_at(&unstake_accounts(stake(V / 2, 0, NOW - 60)), &unstake, NOW);
    assert_eq!(r.code, 0, "{:?}", r.logs);
    let (f, s) = (r.accounts[2].body::<InsuranceFund>(), r.accounts[3].body::<Stake>());
    assert_eq!((f.balance, f.total_shares, f.seq), (1_000, 1_000 * V - V / 2, 10));
    assert_eq!((s.shares, s.unstake_shares, s.unstake_value), (500 * V - V / 2, 0, 0));
    // Without a request; while Withdraw is paused; the vault or the mint of another; a fake authority.
    assert_eq!(run_at(&unstake_accounts(stake(0, 0, 0)), &unstake, NOW).code, code(CoreError::NoUnstakeRequest));
    let mut paused = unstake_accounts(stake(V, 1, 0));
    paused[1] = security(1 << qd_access::Operation::Withdraw as u8);
    assert_eq!(run_at(&paused, &unstake, NOW).code, code(qd_access::AccessError::Paused));
    let mut other_vault = unstake_accounts(stake(V, 1, 0));
    other_vault[4] = token_account([27; 32], MINT);
    assert_eq!(run_at(&other_vault, &unstake, NOW).code, code(CoreError::WrongFundVault));
    let mut other_mint = unstake_accounts(stake(V, 1, 0));
    other_mint[5] = token_account([25; 32], [28; 32]);
    assert_eq!(run_at(&other_mint, &unstake, NOW).code, code(CoreError::WrongFundMint));
    let mut fake = unstake_accounts(stake(V, 1, 0));
    fake[8] = HostAccount::new([29; 32], [0; 32], vec![]);
    assert_eq!(run_at(&fake, &unstake, NOW).code, code(RuntimeError::WrongAddress));
}

/// sweep_fees' accounts for a market with pools (liquidation fees, trading fees, PnL).
fn sweep_accounts(pools: (i64, i64, i64)) -> Vec<HostAccount> {
    let mut market = zeroed::<qd_trading_state::PerpMarket>();
    market.index = 2;
    (market.liquidation_fee_pool, market.fee_pool, market.pnl_pool) = pools;
    let mut config = zeroed::<qd_collateral_state::CollateralConfig>();
    config.mint = MINT;
    let key = |k: u8| HostAccount::new([k; 32], [0; 32], vec![]);
    vec![
        security(0),
        fund(),
        token_account(VAULT, MINT),
        HostAccount::new([30; 32], qd_ids::QD_TRADING, account_data(&market)).writable(),
        HostAccount::new([31; 32], qd_ids::QD_COLLATERAL, account_data(&config)).writable(),
        key(32).writable(),
        mint(),
        HostAccount::new(qd_runtime::token::ID, [0; 32], vec![]),
        HostAccount::new(qd_ids::COLLATERAL_AUTHORITY, [0; 32], vec![]),
        HostAccount::new(qd_ids::CORE_AUTHORITY, [0; 32], vec![]),
        HostAccount::new(qd_ids::QD_TRADING, [0; 32], vec![]),
        HostAccount::new(qd_ids::QD_COLLATERAL, [0; 32], vec![]),
    ]
}

#[test]
fn sweep_fees_checks_its_accounts_and_needs_something_to_sweep() {
    let sweep = ix("sweep_fees", &[]);
    // Empty pools, or fees the PnL pool does not back.
    assert_eq!(run(&sweep_accounts((0, 0, 500)), &sweep).code, code(CoreError::NothingToSweep));
    assert_eq!(run(&sweep_accounts((10, 10, 0)), &sweep).code, code(CoreError::NothingToSweep));
    // Something to sweep reaches the CPI, which the host refuses.
    assert_eq!(run(&sweep_accounts((10, 10, 100)), &sweep).code, code(RuntimeError::CpiFailed));
    // Settle paused in the market (index 2) or venue-wide.
    let mut paused = sweep_accounts((10, 10, 100));
    let mut config = zeroed::<qd_access::SecurityConfig>();
    config.market_pause[2] = qd_access::Operation::Settle.bit();
    paused[0] = HostAccount::new(qd_ids::SECURITY_CONFIG, qd_ids::QD_SECURITY, account_data(&config));
    assert_eq!(run(&paused, &sweep).code, code(qd_access::AccessError::Paused));
    paused[0] = security(qd_access::Operation::Settle.bit());
    assert_eq!(run(&paused, &sweep).code, code(qd_access::AccessError::Paused));
    // Another vault; the config of another mint; a market of another program; the wrong programs.
    let mut accounts = sweep_accounts((10, 10, 100));
    accounts[2] = token_account([33; 32], MINT);
    assert_eq!(run(&accounts, &sweep).code, code(CoreError::WrongFundVault));
    let mut accounts = sweep_accounts((10, 10, 100));
    let mut config = zeroed::<qd_collateral_state::CollateralConfig>();
    config.mint = [34; 32];
    accounts[4].data = account_data(&config);
    assert_eq!(run(&accounts, &sweep).code, code(CoreError::WrongFundMint));
    let mut accounts = sweep_accounts((10, 10, 100));
    accounts[3].owner = crate::ID;
    assert_eq!(run(&accounts, &sweep).code, code(RuntimeError::WrongOwner));
    let mut accounts = sweep_accounts((10, 10, 100));
    accounts.swap(10, 11);
    assert_eq!(run(&accounts, &sweep).code, code(RuntimeError::WrongProgram));
    let mut accounts = sweep_accounts((10, 10, 100));
    accounts[9] = HostAccount::new(qd_ids::TRADING_AUTHORITY, [0; 32], vec![]);
    assert_eq!(run(&accounts, &sweep).code, code(RuntimeError::WrongAddress));
}
