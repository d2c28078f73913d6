//! Markets: ADMIN lists them, RISK_MANAGER or ADMIN tunes their parameters and status, only
//! ADMIN replaces the oracle or starts settlement (final).

use super::next_seq;
use crate::error::TradingError as E;
use crate::events::{MarketCreated, MarketOracleChanged, MarketParamsChanged, MarketStatusChanged};
use crate::instruction::MarketParams;
use qd_access::{load_config as load_security, require_role, require_timelock, AccessError, Role, SecurityConfig};
use qd_collateral_state::oracle_feed_id;
use qd_oracle_reader::{Action, OracleGuards};
use qd_runtime::account::{init, AccountType};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::log::emit;
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{pda, system, validate};
use qd_trading_state::{
    market_price, round_to_tick, PerpMarket, MARKET_SEED, MARKET_STATUS_ACTIVE, MARKET_STATUS_SETTLEMENT, PERP_MARKET_VERSION, SIDE_BID,
};

fn apply_params(m: &mut PerpMarket, p: &MarketParams) {
    m.tick_size = p.tick_size;
    m.lot_size = p.lot_size;
    m.min_order_size = p.min_order_size;
    m.init_margin_bps = p.init_margin_bps;
    m.maint_margin_bps = p.maint_margin_bps;
    m.size_margin_factor = p.size_margin_factor;
    m.upnl_init_weight_bps = p.upnl_init_weight_bps;
    m.upnl_maint_weight_bps = p.upnl_maint_weight_bps;
    m.taker_fee_bps = p.taker_fee_bps;
    m.maker_fee_bps = p.maker_fee_bps;
    m.max_open_interest = p.max_open_interest;
    m.auction_min_slots = p.auction_min_slots;
    m.auction_default_slots = p.auction_default_slots;
    m.auction_max_slots = p.auction_max_slots;
    m.auction_max_deviation_bps = p.auction_max_deviation_bps;
    m.post_auction_slots = p.post_auction_slots;
    m.funding_period_secs = p.funding_period_secs;
    m.funding_max_rate_bps = p.funding_max_rate_bps;
    m.mark_band_bps = p.mark_band_bps;
    m.mark_depth_base = p.mark_depth_base;
    m.delegated_band_bps = p.delegated_band_bps;
}

/// Risk parameters and status are RISK_MANAGER's to tune; ADMIN (who lists markets) may too.
fn require_risk_role(security: &SecurityConfig, signer: &AccountInfo) -> ProgramResult {
    validate::signer(signer)?;
    if !security.has_role(Role::RiskManager, signer.key()) && !security.has_role(Role::Admin, signer.key()) {
        return Err(AccessError::MissingRole.into());
    }
    Ok(())
}

/// A market in settlement is final.
fn live_market(info: &AccountInfo) -> Result<&mut PerpMarket, ProgramError> {
    let market = info.load_mut::<PerpMarket>(&crate::ID)?;
    if market.status == MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketSettled.into());
    }
    Ok(market)
}

pub(super) fn create_market(accounts: &[AccountInfo], index: u16, symbol: &[u8; 16], params: &MarketParams, guards: &OracleGuards) -> ProgramResult {
    let [admin, security, market_info, oracle, system_program, instructions] = validate::accounts::<6>(accounts)?;
    refuse_durable_nonce(instructions)?;
    let security = load_security(security)?;
    require_role(security, Role::Admin, admin)?;
    validate::writable(admin)?;
    validate::writable(market_info)?;
    validate::program(system_program, &system::ID)?;
    validate::distinct(&[admin, market_info])?;
    let feed_id = oracle_feed_id(oracle, security)?;
    let index_seed = index.to_le_bytes();
    // Canonical bump only: exactly one market per index.
    let bump = pda::check_canonical(market_info.key(), &[MARKET_SEED, &index_seed], &crate::ID)?;
    system::create_account(admin, market_info, PerpMarket::LEN, &crate::ID, &[&[MARKET_SEED, &index_seed, &[bump]]])?;
    let clock = Clock::get()?;
    let market = init::<PerpMarket>(market_info.data_mut())?;
    market.version = PERP_MARKET_VERSION;
    market.bump = bump;
    market.status = MARKET_STATUS_ACTIVE;
    market.index = index;
    market.symbol = *symbol;
    market.oracle = *oracle.key();
    market.oracle_feed_id = feed_id;
    market.guards = *guards;
    apply_params(market, params);
    // TWAPs start unset (twap_ts 0): the first sample sets them. Funding counts from now.
    market.last_funding_ts = clock.unix_timestamp;
    market.audit_seq = 1;
    emit(
        MarketCreated { market: *market_info.key(), index, symbol: *symbol, oracle: *oracle.key(), admin: *admin.key(), params: *params, slot: clock.slot, seq: 1 }
            .encode()
            .finish()?,
    );
    Ok(())
}

/// Through the timelock only: qd-security executes a RISK_MANAGER's or ADMIN's proposal.
pub(super) fn set_market_params(accounts: &[AccountInfo], params: &MarketParams) -> ProgramResult {
    let [signer, market_info] = validate::accounts::<2>(accounts)?;
    require_timelock(signer)?;
    let market = live_market(market_info)?;
    // Resting orders' prices and sizes, and positions, are tick and lot multiples of these.
    if params.tick_size != market.tick_size || params.lot_size != market.lot_size {
        return Err(E::TickLotImmutable.into());
    }
    apply_params(market, params);
    let seq = next_seq(&mut market.audit_seq)?;
    emit(
        MarketParamsChanged { market: *market_info.key(), index: market.index, signer: *signer.key(), params: *params, slot: Clock::get()?.slot, seq }
            .encode()
            .finish()?,
    );
    Ok(())
}

pub(super) fn set_market_status(accounts: &[AccountInfo], status: u8) -> ProgramResult {
    let [signer, security, market_info, oracle, instructions] = validate::accounts::<5>(accounts)?;
    refuse_durable_nonce(instructions)?;
    let security = load_security(security)?;
    let market = live_market(market_info)?;
    let clock = Clock::get()?;
    let old_status = market.status;
    if status == MARKET_STATUS_SETTLEMENT {
        // Final: only ADMIN ends a market, at the oracle price read with settlement guards,
        // rounded to a tick so every position closes at an exact quote amount.
        require_role(security, Role::Admin, signer)?;
        let price = market_price(market, oracle, Action::Settlement, &clock)?;
        market.settlement_price = round_to_tick(price, market.tick_size, SIDE_BID)?;
        if market.settlement_price <= 0 {
            return Err(E::InvalidPrice.into());
        }
    } else {
        require_risk_role(security, signer)?;
    }
    market.status = status;
    let seq = next_seq(&mut market.audit_seq)?;
    emit(
        MarketStatusChanged {
            market: *market_info.key(),
            index: market.index,
            signer: *signer.key(),
            old_status,
            status,
            settlement_price: market.settlement_price,
            slot: clock.slot,
            seq,
        }
        .encode()
        .finish()?,
    );
    Ok(())
}

/// Through the timelock only: qd-security executes an ADMIN's proposal.
pub(super) fn set_market_oracle(accounts: &[AccountInfo], guards: &OracleGuards) -> ProgramResult {
    let [admin, security, market_info, oracle] = validate::accounts::<4>(accounts)?;
    require_timelock(admin)?;
    let security = load_security(security)?;
    let market = live_market(market_info)?;
    let old_oracle = market.oracle;
    market.oracle_feed_id = oracle_feed_id(oracle, security)?;
    market.oracle = *oracle.key();
    market.guards = *guards;
    let seq = next_seq(&mut market.audit_seq)?;
    emit(
        MarketOracleChanged { market: *market_info.key(), index: market.index, admin: *admin.key(), old_oracle, new_oracle: market.oracle, slot: Clock::get()?.slot, seq }
            .encode()
            .finish()?,
    );
    Ok(())
}
