//! Instruction handlers. Each validates its accounts (signer, owner, PDA, discriminator,
//! writability, duplicates) before changing anything; any failure leaves state untouched.

use crate::aggregate::{aggregate, Aggregate};
use crate::error::OracleProgramError as E;
use crate::events::{self, FeedInitialized, FeedUpdated, PricePublished};
use crate::instruction::{OracleInstruction, Publishers, Quorum};
use crate::{ema, FEED_SEED, MAX_PUBLISH_SKEW_SECS};
use qd_access::{load_config as load_security, require_role, require_timelock, Role, SecurityConfig};
use qd_oracle_reader::{
    check, read_price, Action, GuardConfig, OracleGuards, PriceFeed, PublisherPrice, FEED_STATUS_HALTED, FEED_STATUS_TRADING, MAX_PUBLISHERS,
    PRICE_FEED_VERSION,
};
use qd_runtime::account::{init, view, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::{emit, set_return_data};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, validate};

/// Guards a new feed starts with; the authority tunes them with `set_guards`.
/// Slots are ~400 ms: 50 slots is 20 s.
pub const DEFAULT_GUARDS: OracleGuards = OracleGuards {
    by_action: [
        GuardConfig::new(50, 20, 200, 1_000, true),   // trade: fresh, tight
        GuardConfig::new(50, 20, 500, 2_000, true),   // margin (withdrawals): fresh
        GuardConfig::new(150, 60, 1_000, 0, true),    // liquidation: tolerant, never blocked by EMA lag
        GuardConfig::new(150, 60, 1_000, 0, false),   // settlement
    ],
};

const MIN_EXPO: i32 = -12;
const MAX_EMA_WINDOW_SECS: u32 = 86_400;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match OracleInstruction::unpack(data)? {
        OracleInstruction::InitializeFeed { symbol, expo, ema_window_secs, publishers, quorum } => {
            initialize_feed(accounts, symbol, expo, ema_window_secs, &publishers, &quorum)
        }
        OracleInstruction::Publish { price, conf, publish_time } => publish(accounts, price, conf, publish_time),
        OracleInstruction::SetPublishers { publishers, quorum } => set_publishers(accounts, &publishers, &quorum),
        OracleInstruction::SetAuthority => set_authority(accounts),
        OracleInstruction::SetGuards { guards } => set_guards(accounts, &guards),
        OracleInstruction::SetStatus { status } => set_status(accounts, status),
        OracleInstruction::ReadPrice { action, guard } => read(accounts, action, guard),
    }
}

fn valid_symbol(symbol: &[u8; 16]) -> bool {
    let len = symbol.iter().position(|&b| b == 0).unwrap_or(16);
    len > 0 && symbol[..len].iter().all(|b| b.is_ascii_graphic()) && symbol[len..].iter().all(|&b| b == 0)
}

fn initialize_feed(accounts: &[AccountInfo], symbol: [u8; 16], expo: i32, ema_window_secs: u32, publishers: &Publishers, quorum: &Quorum) -> ProgramResult {
    let [authority, security, feed, system_program, instructions] = validate::accounts::<5>(accounts)?;
    refuse_durable_nonce(instructions)?;
    // Only an oracle admin creates feeds: nobody can squat the venue's feed address first.
    require_role(load_security(security)?, Role::OracleAdmin, authority)?;
    validate::writable(authority)?;
    validate::writable(feed)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[authority, feed])?;
    if !valid_symbol(&symbol) {
        return Err(E::InvalidSymbol.into());
    }
    if !(MIN_EXPO..=0).contains(&expo) {
        return Err(E::InvalidExponent.into());
    }
    if ema_window_secs == 0 || ema_window_secs > MAX_EMA_WINDOW_SECS {
        return Err(E::InvalidEmaWindow.into());
    }
    // Canonical bump only: a second feed for the same symbol at another bump is impossible.
    let bump = pda::check_canonical(feed.key(), &[FEED_SEED, &symbol], &crate::ID)?;
    system::create_account(authority, feed, PriceFeed::LEN, &crate::ID, &[&[FEED_SEED, &symbol, &[bump]]])?;
    let state = init::<PriceFeed>(feed.data_mut())?;
    state.version = PRICE_FEED_VERSION;
    state.status = FEED_STATUS_TRADING;
    state.bump = bump;
    state.expo = expo;
    state.symbol = symbol;
    state.authority = *authority.key();
    state.num_publishers = publishers.len;
    state.publishers = publishers.keys;
    state.min_publishers = quorum.min_publishers;
    state.max_publisher_age_secs = quorum.max_publisher_age_secs;
    state.ema_window_secs = ema_window_secs;
    state.guards = DEFAULT_GUARDS;
    let slot = Clock::get()?.slot;
    emit(FeedInitialized { feed: *feed.key(), authority: *authority.key(), symbol, expo, slot }.encode().finish()?);
    Ok(())
}

fn publish(accounts: &[AccountInfo], price: i64, conf: u64, publish_time: i64) -> ProgramResult {
    let [publisher, feed_account] = validate::accounts::<2>(accounts)?;
    validate::signer(publisher)?;
    let feed = feed_account.load_mut::<PriceFeed>(&crate::ID)?;
    let listed = (feed.num_publishers as usize).min(MAX_PUBLISHERS);
    let index = feed.publishers[..listed].iter().position(|k| k == publisher.key()).ok_or(E::NotPublisher)?;
    if price <= 0 {
        return Err(E::InvalidPublishedPrice.into());
    }
    if conf >= price as u64 {
        return Err(E::InvalidConfidence.into());
    }
    // Per publisher: a stamp far ahead cannot lock the other publishers out.
    if publish_time <= feed.latest[index].publish_time {
        return Err(E::NonIncreasingPublishTime.into());
    }
    let clock = Clock::get()?;
    if publish_time > clock.unix_timestamp.saturating_add(MAX_PUBLISH_SKEW_SECS) {
        return Err(E::PublishTimeInFuture.into());
    }
    feed.latest[index] = PublisherPrice { price, conf, publish_time, slot: clock.slot };
    let agg = aggregate(&feed.latest[..listed], clock.unix_timestamp, feed.max_publisher_age_secs, feed.min_publishers);
    if let Some(agg) = &agg {
        apply(feed, agg, &clock);
    }
    emit(
        PricePublished {
            feed: *feed_account.key(),
            publisher: *publisher.key(),
            price,
            conf,
            publish_time,
            slot: clock.slot,
            aggregated: agg.is_some(),
            num_aggregated: feed.num_aggregated,
            agg_price: feed.price,
            agg_conf: feed.conf,
            ema_price: feed.ema_price,
            ema_conf: feed.ema_conf,
        }
        .encode()
        .finish()?,
    );
    Ok(())
}

/// Makes `agg` the feed's price, stamped with cluster time and slot. The EMA moves by the
/// cluster time elapsed since the previous aggregate: updates within one second (one
/// transaction, one slot) move it at most once, and no publisher's stamp speeds it up.
fn apply(feed: &mut PriceFeed, agg: &Aggregate, clock: &Clock) {
    if feed.publish_time == 0 {
        feed.ema_price = agg.price;
        feed.ema_conf = agg.conf;
    } else {
        // A clock set backwards counts as no time elapsed.
        let dt = clock.unix_timestamp.saturating_sub(feed.publish_time).max(0) as u64;
        let weight = ema::weight_ppm(dt, feed.ema_window_secs);
        feed.ema_price = ema::next_price(feed.ema_price, agg.price, weight);
        feed.ema_conf = ema::next_conf(feed.ema_conf, agg.conf, weight);
    }
    feed.price = agg.price;
    feed.conf = agg.conf;
    feed.num_aggregated = agg.count;
    feed.publish_time = clock.unix_timestamp;
    feed.publish_slot = clock.slot;
}

/// The feed, after checking that `authority` signed, holds ORACLE_ADMIN now (a revoked key
/// loses control of the feeds it manages) and is the feed's authority.
fn authorized<'a>(authority: &AccountInfo, security: &AccountInfo, feed_account: &'a AccountInfo) -> Result<&'a mut PriceFeed, ProgramError> {
    require_role(load_security(security)?, Role::OracleAdmin, authority)?;
    let feed = feed_account.load_mut::<PriceFeed>(&crate::ID)?;
    if &feed.authority != authority.key() {
        return Err(E::NotAuthority.into());
    }
    Ok(feed)
}

fn emit_update(feed: &AccountInfo, authority: &AccountInfo, action: u8, new_authority: Pubkey, value: u8) -> ProgramResult {
    let slot = Clock::get()?.slot;
    emit(FeedUpdated { feed: *feed.key(), authority: *authority.key(), action, new_authority, value, slot }.encode().finish()?);
    Ok(())
}

/// Through the timelock only (an ORACLE_ADMIN's proposal): who publishes decides the price, so a
/// compromised oracle key cannot swap in its own publishers at once.
fn set_publishers(accounts: &[AccountInfo], publishers: &Publishers, quorum: &Quorum) -> ProgramResult {
    let [authority, feed_account] = validate::accounts::<2>(accounts)?;
    require_timelock(authority)?;
    let feed = feed_account.load_mut::<PriceFeed>(&crate::ID)?;
    // Latest prices follow their keys; a newly listed key starts empty, so it never inherits
    // the price (or the publish time) of the key that held its slot before.
    let mut latest = [PublisherPrice::default(); MAX_PUBLISHERS];
    let old = &feed.publishers[..(feed.num_publishers as usize).min(MAX_PUBLISHERS)];
    for (entry, key) in latest.iter_mut().zip(&publishers.keys[..publishers.len as usize]) {
        if let Some(i) = old.iter().position(|k| k == key) {
            *entry = feed.latest[i];
        }
    }
    feed.latest = latest;
    feed.publishers = publishers.keys;
    feed.num_publishers = publishers.len;
    feed.min_publishers = quorum.min_publishers;
    feed.max_publisher_age_secs = quorum.max_publisher_age_secs;
    emit_update(feed_account, authority, events::FEED_UPDATED_PUBLISHERS, [0; 32], publishers.len)
}

fn set_authority(accounts: &[AccountInfo]) -> ProgramResult {
    let [authority, security, feed_account, new_authority, instructions] = validate::accounts::<5>(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = load_security(security)?;
    require_role(config, Role::OracleAdmin, authority)?;
    // The new authority co-signs (control cannot go to a mistyped key) and is an oracle admin
    // (a feed never leaves the role's hands, so listings keep trusting it).
    require_role(config, Role::OracleAdmin, new_authority)?;
    let feed = feed_account.load_mut::<PriceFeed>(&crate::ID)?;
    if !may_hand_over(config, feed, authority.key()) {
        return Err(E::NotAuthority.into());
    }
    feed.authority = *new_authority.key();
    emit_update(feed_account, authority, events::FEED_UPDATED_AUTHORITY, *new_authority.key(), 0)
}

/// The feed's authority hands its feed over; any oracle admin adopts a feed whose authority no
/// longer holds ORACLE_ADMIN (otherwise revoking a key would leave its feeds unmanageable).
fn may_hand_over(config: &SecurityConfig, feed: &PriceFeed, signer: &Pubkey) -> bool {
    &feed.authority == signer || !config.has_role(Role::OracleAdmin, &feed.authority)
}

/// Through the timelock only (an ORACLE_ADMIN's proposal): looser guards let worse prices in.
fn set_guards(accounts: &[AccountInfo], guards: &OracleGuards) -> ProgramResult {
    let [authority, feed_account] = validate::accounts::<2>(accounts)?;
    require_timelock(authority)?;
    let feed = feed_account.load_mut::<PriceFeed>(&crate::ID)?;
    feed.guards = *guards; // each validated while decoding
    emit_update(feed_account, authority, events::FEED_UPDATED_GUARDS, [0; 32], 0)
}

fn set_status(accounts: &[AccountInfo], status: u8) -> ProgramResult {
    let [authority, security, feed_account, instructions] = validate::accounts::<4>(accounts)?;
    refuse_durable_nonce(instructions)?;
    let feed = authorized(authority, security, feed_account)?;
    if status != FEED_STATUS_HALTED && status != FEED_STATUS_TRADING {
        return Err(E::InvalidFeedStatus.into());
    }
    feed.status = status;
    emit_update(feed_account, authority, events::FEED_UPDATED_STATUS, [0; 32], status)
}

fn read(accounts: &[AccountInfo], action: Action, guard: Option<GuardConfig>) -> ProgramResult {
    let [oracle] = validate::accounts::<1>(accounts)?;
    let price = read_price(oracle.owner(), oracle.data())?;
    let guard = match guard {
        Some(g) => g,
        // Our feeds carry their own guards; a foreign account needs the caller's.
        None if oracle.owner() == &crate::ID => *view::<PriceFeed>(oracle.data())?.guards.get(action),
        None => return Err(E::MissingGuard.into()),
    };
    let clock = Clock::get()?;
    check(&price, &guard, clock.slot, clock.unix_timestamp)?;
    set_return_data(events::encode_price(&price).finish()?);
    Ok(())
}
