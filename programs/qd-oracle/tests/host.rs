//! The processor on the host, through the program's own entrypoint (`qd_runtime::host`): account
//! checks, argument errors, and what each handler writes and emits. PDA derivation and CPI refuse
//! on the host, so initialize_feed is tested up to its account checks only.

use qd_access::{AccessError, Role, SecurityConfig, MAX_ROLE_HOLDERS};
use qd_ids::{PYTH_RECEIVER, QD_SECURITY, SECURITY_AUTHORITY, SECURITY_CONFIG};
use qd_oracle::error::OracleProgramError as E;
use qd_oracle::events::{FeedUpdated, PricePublished};
use qd_oracle::processor::DEFAULT_GUARDS;
use qd_oracle::ID;
use qd_oracle_reader::NormalizedPrice;
use qd_oracle_reader::{
    read_price, GuardConfig, OracleError, OracleGuards, PriceFeed, PublisherPrice, FEED_STATUS_HALTED, FEED_STATUS_TRADING, MAX_PUBLISHERS,
    PRICE_FEED_VERSION,
};
use qd_runtime::account::AccountType;
use qd_runtime::borsh::{BorshWrite, Writer};
use qd_runtime::error::RuntimeError;
use qd_runtime::hash::discriminator;
use qd_runtime::host::{self, account_data, HostAccount, HostRun};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::INSTRUCTIONS_ID;

const SLOT: u64 = 1_000;
const T0: i64 = 1_700_000_000;
const AUTHORITY: Pubkey = [1; 32];
const PUBLISHER: Pubkey = [2; 32];
const FEED: Pubkey = [3; 32];
const STRANGER: Pubkey = [4; 32];
const NEW_ADMIN: Pubkey = [5; 32];

fn code(e: impl Into<qd_runtime::error::ProgramError>) -> u64 {
    e.into().0 as u64
}

fn ix(name: &str, args: &[u8]) -> Vec<u8> {
    [&discriminator("global", name)[..], args].concat()
}

fn publish_ix(price: i64, conf: u64, publish_time: i64) -> Vec<u8> {
    ix("publish", &[&price.to_le_bytes()[..], &conf.to_le_bytes(), &publish_time.to_le_bytes()].concat())
}

fn encode<T: BorshWrite, const N: usize>(value: &T) -> Vec<u8> {
    let mut w = Writer::<N>::new();
    value.write(&mut w);
    w.finish().unwrap().to_vec()
}

/// One run at cluster slot `slot`, time `T0`.
fn run_at(slot: u64, accounts: &[HostAccount], data: &[u8]) -> HostRun {
    host::set_clock(slot, T0);
    host::run(qd_oracle::entrypoint, &ID, accounts, data)
}

fn run(accounts: &[HostAccount], data: &[u8]) -> u64 {
    run_at(SLOT, accounts, data).code
}

/// A run at `SLOT` that must succeed.
fn exec(accounts: &[HostAccount], data: &[u8]) -> HostRun {
    let ran = run_at(SLOT, accounts, data);
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    ran
}

fn feed_struct() -> PriceFeed {
    let mut publishers = [[0; 32]; MAX_PUBLISHERS];
    publishers[0] = PUBLISHER;
    PriceFeed {
        version: PRICE_FEED_VERSION,
        status: FEED_STATUS_TRADING,
        num_publishers: 1,
        bump: 254,
        expo: -6,
        symbol: *b"SOL/USD\0\0\0\0\0\0\0\0\0",
        authority: AUTHORITY,
        publishers,
        price: 0,
        conf: 0,
        ema_price: 0,
        ema_conf: 0,
        publish_time: 0,
        publish_slot: 0,
        max_publisher_age_secs: 20,
        min_publishers: 1,
        num_aggregated: 0,
        _pad0: [0; 2],
        ema_window_secs: 60,
        _pad1: [0; 4],
        guards: DEFAULT_GUARDS,
        latest: [PublisherPrice::default(); MAX_PUBLISHERS],
        _reserved: [0; 64],
    }
}

fn feed_account(feed: &PriceFeed) -> HostAccount {
    HostAccount::new(FEED, ID, account_data(feed)).writable()
}

/// A wallet that did not sign.
fn wallet(key: Pubkey) -> HostAccount {
    HostAccount::new(key, qd_ids::SYSTEM_PROGRAM, vec![])
}

fn signer(key: Pubkey) -> HostAccount {
    wallet(key).signer()
}

/// qd-security's SecurityConfig with `AUTHORITY` as super-admin (every role) and `NEW_ADMIN`
/// holding ORACLE_ADMIN, at its documented offsets (role_counts @12, super_admin @16, roles @80).
fn security_config() -> HostAccount {
    let role = Role::OracleAdmin as usize;
    let mut data = vec![0u8; SecurityConfig::LEN];
    data[..8].copy_from_slice(&SecurityConfig::DISCRIMINATOR);
    data[16..48].copy_from_slice(&AUTHORITY);
    data[12 + role] = 1;
    let row = 80 + role * MAX_ROLE_HOLDERS * 32;
    data[row..row + 32].copy_from_slice(&NEW_ADMIN);
    HostAccount::new(SECURITY_CONFIG, QD_SECURITY, data)
}

/// The Instructions sysvar of a transaction without a durable nonce.
fn instructions_sysvar() -> HostAccount {
    HostAccount::new(INSTRUCTIONS_ID, qd_ids::SYSTEM_PROGRAM, vec![0, 0])
}

#[test]
fn unknown_discriminator_is_logged_by_name() {
    let ran = run_at(SLOT, &[], &[1; 8]);
    assert_eq!(ran.code, 6000);
    let message = RuntimeError::InvalidInstruction.message();
    assert_eq!(ran.logs, [format!("AnchorError occurred. Error Code: InvalidInstruction. Error Number: 6000. Error Message: {message}.")]);
    // Shorter than a discriminator, too.
    assert_eq!(run(&[], &[1, 2, 3]), 6000);
}

#[test]
fn a_copy_at_another_address_refuses_to_run() {
    host::set_clock(SLOT, T0);
    let ran = host::run(qd_oracle::entrypoint, &[9; 32], &[feed_account(&feed_struct())], &ix("read_price", &[0, 0]));
    assert_eq!(ran.code, code(RuntimeError::WrongProgram));
}

#[test]
fn publish_checks_its_accounts() {
    let feed = feed_struct();
    let data = publish_ix(100_000_000, 10_000, T0);
    assert_eq!(run(&[signer(PUBLISHER)], &data), code(RuntimeError::NotEnoughAccounts));
    assert_eq!(run(&[wallet(PUBLISHER), feed_account(&feed)], &data), code(RuntimeError::MissingSigner));
    let read_only = HostAccount::new(FEED, ID, account_data(&feed));
    assert_eq!(run(&[signer(PUBLISHER), read_only], &data), code(RuntimeError::NotWritable));
    let foreign = HostAccount::new(FEED, [7; 32], account_data(&feed)).writable();
    assert_eq!(run(&[signer(PUBLISHER), foreign], &data), code(RuntimeError::WrongOwner));
    let mut cosplay = account_data(&feed);
    cosplay[..8].copy_from_slice(&[0x99; 8]);
    assert_eq!(run(&[signer(PUBLISHER), HostAccount::new(FEED, ID, cosplay).writable()], &data), code(RuntimeError::WrongDiscriminator));
    assert_eq!(run(&[signer(STRANGER), feed_account(&feed)], &data), code(E::NotPublisher));
    // Argument data one byte short.
    assert_eq!(run(&[signer(PUBLISHER), feed_account(&feed)], &data[..data.len() - 1]), code(RuntimeError::InvalidInstructionData));
}

#[test]
fn publish_sets_the_aggregate_and_emits_it() {
    let ran = exec(&[signer(PUBLISHER), feed_account(&feed_struct())], &publish_ix(150_000_000, 50_000, T0));
    let feed = ran.accounts[1].body::<PriceFeed>();
    assert_eq!(feed.latest[0], PublisherPrice { price: 150_000_000, conf: 50_000, publish_time: T0, slot: SLOT });
    let price = read_price(&ID, &ran.accounts[1].data).unwrap();
    assert_eq!((price.price, price.conf, price.ema_price), (150_000_000, 50_000, 150_000_000));
    assert_eq!((price.publish_time, price.publish_slot), (T0, SLOT));
    let [event] = &ran.events[..] else { panic!("{:?}", ran.events) };
    assert_eq!(event[..8], PricePublished::DISCRIMINATOR);
    assert_eq!(event.len(), 8 + 32 * 2 + 8 * 4 + 2 + 8 * 4);
    assert_eq!(event[8..40], FEED);
    assert_eq!(event[40..72], PUBLISHER);
    assert_eq!(event[104], 1); // aggregated
}

#[test]
fn initialize_feed_checks_its_accounts_first() {
    let mut symbol = [0u8; 16];
    symbol[..7].copy_from_slice(b"SOL/USD");
    let publishers = [&1u32.to_le_bytes()[..], &PUBLISHER, &[1], &20u32.to_le_bytes()].concat();
    let data = ix("initialize_feed", &[&symbol[..], &(-6i32).to_le_bytes(), &60u32.to_le_bytes(), &publishers].concat());
    let accounts = |authority: HostAccount, feed: HostAccount| {
        [authority, security_config(), feed, HostAccount::new(qd_ids::SYSTEM_PROGRAM, [0; 32], vec![]), instructions_sysvar()]
    };
    let payer = || signer(AUTHORITY).writable();
    let fresh = |key: Pubkey| wallet(key).writable();
    assert_eq!(run(&accounts(payer(), fresh(FEED))[..4], &data), code(RuntimeError::NotEnoughAccounts));
    assert_eq!(run(&accounts(signer(AUTHORITY), fresh(FEED)), &data), code(RuntimeError::NotWritable));
    assert_eq!(run(&accounts(wallet(AUTHORITY).writable(), fresh(FEED)), &data), code(RuntimeError::MissingSigner));
    // The payer passed again as the feed: one account in two writable slots.
    assert_eq!(run(&accounts(payer(), fresh(AUTHORITY)), &data), code(RuntimeError::DuplicateAccount));
    assert_eq!(run(&accounts(signer(STRANGER).writable(), fresh(FEED)), &data), code(AccessError::MissingRole));
    let mut fake_system = accounts(payer(), fresh(FEED));
    fake_system[3].key = ID;
    assert_eq!(run(&fake_system, &data), code(RuntimeError::WrongProgram));
}

fn guards_ix(guards: &OracleGuards) -> Vec<u8> {
    ix("set_guards", &encode::<_, 64>(guards))
}

#[test]
fn set_guards_only_through_the_timelock() {
    let guards = OracleGuards { by_action: [GuardConfig::new(10, 20, 300, 500, true); 4] };
    let data = guards_ix(&guards);
    let feed = feed_struct();
    assert_eq!(run(&[signer(AUTHORITY), feed_account(&feed)], &data), code(AccessError::NotTimelock));
    let unsigned = HostAccount::new(SECURITY_AUTHORITY, QD_SECURITY, vec![]);
    assert_eq!(run(&[unsigned, feed_account(&feed)], &data), code(RuntimeError::MissingSigner));
    let mut bad = guards;
    bad.by_action[1].max_conf_bps = 0;
    assert_eq!(run(&[signer(SECURITY_AUTHORITY), feed_account(&feed)], &guards_ix(&bad)), code(OracleError::InvalidGuardConfig));
    let ran = exec(&[signer(SECURITY_AUTHORITY), feed_account(&feed)], &data);
    assert_eq!(ran.accounts[1].body::<PriceFeed>().guards, guards);
    assert_eq!(ran.events.len(), 1);
    assert_eq!(ran.events[0][..8], FeedUpdated::DISCRIMINATOR);
}

#[test]
fn set_publishers_keeps_latest_prices_with_their_keys() {
    let mut feed = feed_struct();
    let kept = PublisherPrice { price: 100, conf: 1, publish_time: T0, slot: SLOT };
    feed.latest[0] = kept;
    let args = [&2u32.to_le_bytes()[..], &STRANGER, &PUBLISHER, &[2], &30u32.to_le_bytes()].concat();
    let ran = exec(&[signer(SECURITY_AUTHORITY), feed_account(&feed)], &ix("set_publishers", &args));
    let feed = ran.accounts[1].body::<PriceFeed>();
    assert_eq!((feed.num_publishers, &feed.publishers[..3]), (2, &[STRANGER, PUBLISHER, [0; 32]][..]));
    assert_eq!((feed.min_publishers, feed.max_publisher_age_secs), (2, 30));
    assert_eq!(feed.latest[..2], [PublisherPrice::default(), kept]);
}

#[test]
fn set_status_needs_the_role_and_the_authority() {
    let feed = feed_struct();
    let accounts = |who: Pubkey| [signer(who), security_config(), feed_account(&feed), instructions_sysvar()];
    let halt = ix("set_status", &[FEED_STATUS_HALTED]);
    assert_eq!(run(&accounts(STRANGER), &halt), code(AccessError::MissingRole));
    assert_eq!(run(&accounts(NEW_ADMIN), &halt), code(E::NotAuthority));
    assert_eq!(run(&accounts(AUTHORITY), &ix("set_status", &[2])), code(E::InvalidFeedStatus));
    let mut fake = accounts(AUTHORITY);
    fake[1].key = STRANGER;
    assert_eq!(run(&fake, &halt), code(RuntimeError::WrongAddress));
    let mut unsigned = accounts(AUTHORITY);
    unsigned[0].is_signer = false;
    assert_eq!(run(&unsigned, &halt), code(RuntimeError::MissingSigner));
    let ran = exec(&accounts(AUTHORITY), &halt);
    assert_eq!(ran.accounts[2].body::<PriceFeed>().status, FEED_STATUS_HALTED);
}

#[test]
fn set_authority_hands_over_to_a_cosigning_oracle_admin() {
    let feed = feed_struct();
    let accounts = |new: HostAccount| [signer(AUTHORITY), security_config(), feed_account(&feed), new, instructions_sysvar()];
    let data = ix("set_authority", &[]);
    assert_eq!(run(&accounts(wallet(NEW_ADMIN)), &data), code(RuntimeError::MissingSigner));
    assert_eq!(run(&accounts(signer(STRANGER)), &data), code(AccessError::MissingRole));
    let ran = exec(&accounts(signer(NEW_ADMIN)), &data);
    assert_eq!(ran.accounts[2].body::<PriceFeed>().authority, NEW_ADMIN);
    assert_eq!(ran.events[0][..8], FeedUpdated::DISCRIMINATOR);
}

#[test]
fn read_price_guards_our_feed_per_action() {
    let mut feed = feed_struct();
    (feed.price, feed.conf, feed.ema_price, feed.ema_conf) = (100_000_000, 20_000, 100_000_000, 20_000);
    (feed.publish_time, feed.publish_slot) = (T0, SLOT);
    let oracle = || [HostAccount::new(FEED, ID, account_data(&feed))];
    let read = |action: u8| ix("read_price", &[action, 0]);
    // The price as return data: the feed's aggregate, borsh encoded.
    let ran = exec(&oracle(), &read(0));
    let expected = NormalizedPrice {
        price: 100_000_000,
        conf: 20_000,
        ema_price: 100_000_000,
        ema_conf: 20_000,
        publish_time: T0,
        publish_slot: SLOT,
        trading: true,
        verified_full: true,
        source: qd_oracle_reader::OracleSource::QuantDesk,
    };
    assert_eq!(ran.return_data, encode::<_, 51>(&expected));
    assert!(ran.events.is_empty());
    assert_eq!(run_at(SLOT + 51, &oracle(), &read(0)).code, code(OracleError::StaleOracleSlots));
    assert_eq!(run_at(SLOT + 51, &oracle(), &read(2)).code, 0); // liquidations tolerate 150 slots
    assert_eq!(run(&oracle(), &read(4)), code(E::InvalidAction));
    assert_eq!(run(&[], &read(0)), code(RuntimeError::NotEnoughAccounts));
    // A caller's guard replaces the feed's (2 bps of confidence > 1); one that accepts anything is refused while decoding.
    let strict = GuardConfig::new(1, 1, 1, 0, true);
    let with_guard = |g: &GuardConfig| ix("read_price", &[&[0u8, 1][..], &encode::<_, 16>(g)].concat());
    assert_eq!(run(&oracle(), &with_guard(&strict)), code(OracleError::ConfidenceTooWide));
    assert_eq!(run(&oracle(), &with_guard(&GuardConfig::default())), code(OracleError::InvalidGuardConfig));
    // Accounts of any other owner are not oracles; a Pyth-owned one must be in its owner's format.
    assert_eq!(run(&[HostAccount::new(FEED, [7; 32], account_data(&feed))], &read(0)), code(OracleError::WrongOracleOwner));
    assert_eq!(run(&[HostAccount::new(FEED, PYTH_RECEIVER, vec![0; 134])], &read(0)), code(OracleError::UnknownOracleFormat));
}
