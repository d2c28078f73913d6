//! Instruction handlers, each next to its accounts. `parse` checks the signers, the writable
//! flags and that no writable account is passed twice; each handler's first lines check the rest
//! (owner, PDA, discriminator, role) before changing anything; any failure leaves state untouched.

use crate::aggregate::{aggregate, Aggregate};
use crate::error::OracleProgramError as E;
use crate::events::{self, FeedInitialized, FeedUpdated, PricePublished};
use crate::instruction::{OracleInstruction, Publishers};
use crate::{ema, FEED_SEED, MAX_PUBLISH_SKEW_SECS};
use qd_access::{load_config as load_security, require_role, require_timelock, Role, SecurityConfig};
use qd_oracle_reader::{
    check, read_price, Action, GuardConfig, NormalizedPrice, OracleGuards, PriceFeed, PublisherPrice, FEED_STATUS_TRADING, MAX_PUBLISHERS,
    PRICE_FEED_VERSION,
};
use qd_runtime::account::view;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{BorshWrite, Writer};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{system, validate};

/// Guards a new feed starts with; the authority tunes them with `set_guards`.
/// Slots are ~400 ms: 50 slots is 20 s.
pub const DEFAULT_GUARDS: OracleGuards = OracleGuards {
    by_action: [
        GuardConfig::new(50, 20, 200, 1_000, true), // trade: fresh, tight
        GuardConfig::new(50, 20, 500, 2_000, true), // margin (withdrawals): fresh
        GuardConfig::new(150, 60, 1_000, 0, true),  // liquidation: tolerant, never blocked by EMA lag
        GuardConfig::new(150, 60, 1_000, 0, false), // settlement
    ],
};

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // Owner checks and PDAs below assume our published id; a copy deployed elsewhere refuses.
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    match OracleInstruction::unpack(data)? {
        OracleInstruction::InitializeFeed { symbol, expo, ema_window_secs, publishers, min_publishers, max_publisher_age_secs } => {
            initialize_feed(accounts, symbol, expo, ema_window_secs, &publishers, min_publishers, max_publisher_age_secs)
        }
        OracleInstruction::Publish { price, conf, publish_time } => publish(accounts, price, conf, publish_time),
        OracleInstruction::SetPublishers { publishers, min_publishers, max_publisher_age_secs } => {
            set_publishers(accounts, &publishers, min_publishers, max_publisher_age_secs)
        }
        OracleInstruction::SetAuthority {} => set_authority(accounts),
        OracleInstruction::SetGuards { guards } => set_guards(accounts, &guards),
        OracleInstruction::SetStatus { status } => set_status(accounts, status),
        OracleInstruction::ReadPrice { action, guard } => {
            // Converted here, before any account is read: `Action` is the reader's type, InvalidAction our error.
            let action = Action::from_u8(action).ok_or(E::InvalidAction)?;
            read(accounts, action, guard)
        }
    }
}

qd_runtime::accounts! {
    pub struct InitializeFeedAccounts {
        /// Holds ORACLE_ADMIN; pays rent
        authority(mut, signer),
        /// qd-security's SecurityConfig (roles)
        security_config,
        /// PDA ["feed", symbol]
        feed(mut),
        system_program,
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

fn initialize_feed(
    accounts: &[AccountInfo],
    symbol: [u8; 16],
    expo: i32,
    ema_window_secs: u32,
    publishers: &Publishers,
    min_publishers: u8,
    max_publisher_age_secs: u32,
) -> ProgramResult {
    let InitializeFeedAccounts { authority, security_config, feed, system_program, instructions, .. } =
        InitializeFeedAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    // Only an oracle admin creates feeds: nobody can squat the venue's feed address first.
    require_role(load_security(security_config)?, Role::OracleAdmin, authority)?;
    validate::program(system_program, &system::ID)?;
    // Canonical bump only: a second feed for the same symbol at another bump is impossible.
    let (state, bump) = system::create_pda::<PriceFeed>(authority, feed, &[FEED_SEED, &symbol], &crate::ID)?;
    state.version = PRICE_FEED_VERSION;
    state.status = FEED_STATUS_TRADING;
    state.bump = bump;
    state.expo = expo;
    state.symbol = symbol;
    state.authority = *authority.key();
    state.num_publishers = publishers.len;
    state.publishers = publishers.keys;
    state.min_publishers = min_publishers;
    state.max_publisher_age_secs = max_publisher_age_secs;
    state.ema_window_secs = ema_window_secs;
    state.guards = DEFAULT_GUARDS;
    let slot = Clock::get()?.slot;
    FeedInitialized { feed: *feed.key(), authority: *authority.key(), symbol, expo, slot }.emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct PublishAccounts {
        publisher(signer),
        feed(mut),
    }
}

fn publish(accounts: &[AccountInfo], price: i64, conf: u64, publish_time: i64) -> ProgramResult {
    let PublishAccounts { publisher, feed: feed_account, .. } = PublishAccounts::parse(accounts)?;
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
    .emit();
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

fn emit_update(feed: &AccountInfo, authority: &AccountInfo, action: u8, new_authority: Pubkey, value: u8) -> ProgramResult {
    let slot = Clock::get()?.slot;
    FeedUpdated { feed: *feed.key(), authority: *authority.key(), action, new_authority, value, slot }.emit();
    Ok(())
}

qd_runtime::accounts! {
    /// set_publishers' and set_guards' accounts.
    pub struct TimelockAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        feed(mut),
    }
}

/// The feed, after checking that the timelock signed (only a proposal executed after its delay).
fn timelocked(accounts: &[AccountInfo]) -> Result<(&AccountInfo, &AccountInfo, &mut PriceFeed), ProgramError> {
    let TimelockAccounts { timelock, feed, .. } = TimelockAccounts::parse(accounts)?;
    require_timelock(timelock)?;
    Ok((timelock, feed, feed.load_mut::<PriceFeed>(&crate::ID)?))
}

/// Through the timelock only (an ORACLE_ADMIN's proposal): who publishes decides the price, so a
/// compromised oracle key cannot swap in its own publishers at once.
fn set_publishers(accounts: &[AccountInfo], publishers: &Publishers, min_publishers: u8, max_publisher_age_secs: u32) -> ProgramResult {
    let (timelock, feed_account, feed) = timelocked(accounts)?;
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
    feed.min_publishers = min_publishers;
    feed.max_publisher_age_secs = max_publisher_age_secs;
    emit_update(feed_account, timelock, events::FEED_UPDATED_PUBLISHERS, [0; 32], publishers.len)
}

/// Through the timelock only (an ORACLE_ADMIN's proposal): looser guards let worse prices in.
fn set_guards(accounts: &[AccountInfo], guards: &OracleGuards) -> ProgramResult {
    let (timelock, feed_account, feed) = timelocked(accounts)?;
    feed.guards = *guards; // validated while decoding
    emit_update(feed_account, timelock, events::FEED_UPDATED_GUARDS, [0; 32], 0)
}

qd_runtime::accounts! {
    pub struct SetAuthorityAccounts {
        authority(signer),
        /// qd-security's SecurityConfig (roles)
        security_config,
        feed(mut),
        new_authority(signer),
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

fn set_authority(accounts: &[AccountInfo]) -> ProgramResult {
    let SetAuthorityAccounts { authority, security_config, feed: feed_account, new_authority, instructions, .. } =
        SetAuthorityAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let config = load_security(security_config)?;
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

qd_runtime::accounts! {
    pub struct SetStatusAccounts {
        authority(signer),
        /// qd-security's SecurityConfig (roles)
        security_config,
        feed(mut),
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

fn set_status(accounts: &[AccountInfo], status: u8) -> ProgramResult {
    let SetStatusAccounts { authority, security_config, feed: feed_account, instructions, .. } = SetStatusAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let feed = authorized(authority, security_config, feed_account)?;
    feed.status = status; // validated while decoding
    emit_update(feed_account, authority, events::FEED_UPDATED_STATUS, [0; 32], status)
}

/// The feed, after checking that `authority` signed, holds ORACLE_ADMIN now (a revoked key
/// loses control of the feeds it manages) and is the feed's authority.
fn authorized<'a>(
    authority: &AccountInfo,
    security: &AccountInfo,
    feed_account: &'a AccountInfo,
) -> Result<&'a mut PriceFeed, ProgramError> {
    require_role(load_security(security)?, Role::OracleAdmin, authority)?;
    let feed = feed_account.load_mut::<PriceFeed>(&crate::ID)?;
    if &feed.authority != authority.key() {
        return Err(E::NotAuthority.into());
    }
    Ok(feed)
}

qd_runtime::accounts! {
    pub struct ReadPriceAccounts {
        /// QuantDesk PriceFeed, Pyth legacy price account or Pyth PriceUpdateV2
        oracle,
    }
}

fn read(accounts: &[AccountInfo], action: Action, guard: Option<GuardConfig>) -> ProgramResult {
    let ReadPriceAccounts { oracle, .. } = ReadPriceAccounts::parse(accounts)?;
    let price = read_price(oracle.owner(), oracle.data())?;
    let guard = match guard {
        Some(g) => g,
        // Our feeds carry their own guards; a foreign account needs the caller's.
        None if oracle.owner() == &crate::ID => *view::<PriceFeed>(oracle.data())?.guards.get(action),
        None => return Err(E::MissingGuard.into()),
    };
    let clock = Clock::get()?;
    check(&price, &guard, clock.slot, clock.unix_timestamp)?;
    let mut w = Writer::<{ <NormalizedPrice as BorshWrite>::MAX_SIZE }>::new();
    price.write(&mut w);
    set_return_data(w.written());
    Ok(())
}
