//! Instruction handlers. Each validates its accounts (signer, owner, PDA, discriminator,
//! writability, duplicates) before changing anything; any failure leaves state untouched.

use crate::error::OracleProgramError as E;
use crate::events::{self, FeedInitialized, FeedUpdated, PricePublished};
use crate::instruction::{OracleInstruction, Publishers};
use crate::{ema, FEED_SEED};
use qd_oracle_reader::{check, read_price, Action, GuardConfig, OracleGuards, PriceFeed, FEED_STATUS_HALTED, FEED_STATUS_TRADING, MAX_FUTURE_SECS, PRICE_FEED_VERSION};
use qd_runtime::account::{init, view, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::log::{emit, set_return_data};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;
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
        OracleInstruction::InitializeFeed { symbol, expo, ema_window_secs, publishers } => {
            initialize_feed(accounts, symbol, expo, ema_window_secs, &publishers)
        }
        OracleInstruction::Publish { price, conf, publish_time } => publish(accounts, price, conf, publish_time),
        OracleInstruction::SetPublishers { publishers } => set_publishers(accounts, &publishers),
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

fn initialize_feed(accounts: &[AccountInfo], symbol: [u8; 16], expo: i32, ema_window_secs: u32, publishers: &Publishers) -> ProgramResult {
    let [authority, feed, system_program] = validate::accounts::<3>(accounts)?;
    validate::signer(authority)?;
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
    let listed = &feed.publishers[..(feed.num_publishers as usize).min(feed.publishers.len())];
    if !listed.contains(publisher.key()) {
        return Err(E::NotPublisher.into());
    }
    if price <= 0 {
        return Err(E::InvalidPrice.into());
    }
    if conf >= price as u64 {
        return Err(E::InvalidConfidence.into());
    }
    if publish_time <= feed.publish_time {
        return Err(E::NonIncreasingPublishTime.into());
    }
    let clock = Clock::get()?;
    if publish_time > clock.unix_timestamp.saturating_add(MAX_FUTURE_SECS) {
        return Err(E::PublishTimeInFuture.into());
    }
    if feed.publish_time == 0 {
        feed.ema_price = price;
        feed.ema_conf = conf;
    } else {
        // publish_time > feed.publish_time, so dt > 0.
        let weight = ema::weight_ppm((publish_time - feed.publish_time) as u64, feed.ema_window_secs);
        feed.ema_price = ema::next_price(feed.ema_price, price, weight);
        feed.ema_conf = ema::next_conf(feed.ema_conf, conf, weight);
    }
    feed.prev_publish_time = feed.publish_time;
    feed.publish_time = publish_time;
    feed.publish_slot = clock.slot;
    feed.price = price;
    feed.conf = conf;
    emit(
        PricePublished {
            feed: *feed_account.key(),
            publisher: *publisher.key(),
            price,
            conf,
            ema_price: feed.ema_price,
            ema_conf: feed.ema_conf,
            publish_time,
            slot: clock.slot,
        }
        .encode()
        .finish()?,
    );
    Ok(())
}

/// The feed, after checking that `authority` signed and is its authority.
fn authorized<'a>(authority: &AccountInfo, feed_account: &'a AccountInfo) -> Result<&'a mut PriceFeed, ProgramError> {
    validate::signer(authority)?;
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

fn set_publishers(accounts: &[AccountInfo], publishers: &Publishers) -> ProgramResult {
    let [authority, feed_account] = validate::accounts::<2>(accounts)?;
    let feed = authorized(authority, feed_account)?;
    feed.publishers = publishers.keys;
    feed.num_publishers = publishers.len;
    emit_update(feed_account, authority, events::FEED_UPDATED_PUBLISHERS, [0; 32], publishers.len)
}

fn set_authority(accounts: &[AccountInfo]) -> ProgramResult {
    let [authority, feed_account, new_authority] = validate::accounts::<3>(accounts)?;
    // The new authority co-signs, so control cannot be handed to a mistyped key.
    validate::signer(new_authority)?;
    let feed = authorized(authority, feed_account)?;
    feed.authority = *new_authority.key();
    emit_update(feed_account, authority, events::FEED_UPDATED_AUTHORITY, *new_authority.key(), 0)
}

fn set_guards(accounts: &[AccountInfo], guards: &OracleGuards) -> ProgramResult {
    let [authority, feed_account] = validate::accounts::<2>(accounts)?;
    let feed = authorized(authority, feed_account)?;
    feed.guards = *guards; // each validated while decoding
    emit_update(feed_account, authority, events::FEED_UPDATED_GUARDS, [0; 32], 0)
}

fn set_status(accounts: &[AccountInfo], status: u8) -> ProgramResult {
    let [authority, feed_account] = validate::accounts::<2>(accounts)?;
    let feed = authorized(authority, feed_account)?;
    if status != FEED_STATUS_HALTED && status != FEED_STATUS_TRADING {
        return Err(E::InvalidStatus.into());
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
