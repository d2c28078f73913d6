//! Markets: ADMIN lists them, RISK_MANAGER or ADMIN tunes their parameters and status, only
//! ADMIN replaces the oracle or starts settlement (final).

use super::next_seq;
use crate::error::TradingError as E;
use crate::events::{MarketCreated, MarketOracleChanged, MarketParamsChanged, MarketStatusChanged};
use crate::instruction::MarketParams;
use qd_access::{load_config as load_security, require_role, require_timelock, AccessError, Role, SecurityConfig};
use qd_collateral_state::oracle_feed_id;
use qd_oracle_reader::{Action, OracleGuards};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::sysvar::{refuse_durable_nonce, Clock};
use qd_runtime::{system, validate};
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
    m.liquidator_fee_bps = p.liquidator_fee_bps;
    m.insurance_fee_bps = p.insurance_fee_bps;
    m.liquidation_max_fraction_bps = p.liquidation_max_fraction_bps;
    m.liquidation_whole_base = p.liquidation_whole_base;
    m.insurance_cap = p.insurance_cap;
    m.trigger_fee = p.trigger_fee;
    m.twap_slice_fee = p.twap_slice_fee;
}

/// Risk parameters and status are RISK_MANAGER's to tune; ADMIN (who lists markets) may too
/// (`signer`'s signature is the accounts declaration's check).
fn require_risk_role(security: &SecurityConfig, signer: &AccountInfo) -> ProgramResult {
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

qd_runtime::accounts! {
    pub struct CreateMarketAccounts {
        /// Holds ADMIN; pays rent
        admin(mut, signer),
        security_config,
        /// PDA [b"market", index u16 LE]
        market(mut),
        /// Price account the reader supports
        oracle,
        system_program,
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

pub(super) fn create_market(
    accounts: &[AccountInfo],
    index: u16,
    symbol: &[u8; 16],
    params: &MarketParams,
    guards: &OracleGuards,
) -> ProgramResult {
    let CreateMarketAccounts { admin, security_config, market: market_info, oracle, system_program, instructions, .. } =
        CreateMarketAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let security = load_security(security_config)?;
    require_role(security, Role::Admin, admin)?;
    validate::program(system_program, &system::ID)?;
    let feed_id = oracle_feed_id(oracle, security)?;
    let (market, bump) = system::create_pda::<PerpMarket>(admin, market_info, &[MARKET_SEED, &index.to_le_bytes()], &crate::ID)?;
    let clock = Clock::get()?;
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
    MarketCreated {
        market: *market_info.key(),
        index,
        symbol: *symbol,
        oracle: *oracle.key(),
        admin: *admin.key(),
        params: *params,
        slot: clock.slot,
        seq: 1,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetMarketParamsAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        market(mut),
    }
}

/// Through the timelock only: qd-security executes a RISK_MANAGER's or ADMIN's proposal.
pub(super) fn set_market_params(accounts: &[AccountInfo], params: &MarketParams) -> ProgramResult {
    let SetMarketParamsAccounts { timelock: signer, market: market_info, .. } = SetMarketParamsAccounts::parse(accounts)?;
    require_timelock(signer)?;
    let market = live_market(market_info)?;
    // Resting orders' prices and sizes, and positions, are tick and lot multiples of these.
    if params.tick_size != market.tick_size || params.lot_size != market.lot_size {
        return Err(E::TickLotImmutable.into());
    }
    apply_params(market, params);
    let seq = next_seq(&mut market.audit_seq)?;
    MarketParamsChanged {
        market: *market_info.key(),
        index: market.index,
        signer: *signer.key(),
        params: *params,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetMarketStatusAccounts {
        signer(signer),
        security_config,
        market(mut),
        /// The market's oracle (read for settlement)
        oracle,
        /// The Instructions sysvar: a transaction that advances a durable nonce is refused (DurableNonce)
        instructions,
    }
}

pub(super) fn set_market_status(accounts: &[AccountInfo], status: u8) -> ProgramResult {
    let SetMarketStatusAccounts { signer, security_config, market: market_info, oracle, instructions, .. } =
        SetMarketStatusAccounts::parse(accounts)?;
    refuse_durable_nonce(instructions)?;
    let security = load_security(security_config)?;
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
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    pub struct SetMarketOracleAccounts {
        /// qd-security's [b"authority"] PDA: signs only when qd-security executes a proposal after its delay
        timelock(signer),
        security_config,
        market(mut),
        /// The new oracle
        oracle,
    }
}

/// Through the timelock only: qd-security executes an ADMIN's proposal.
pub(super) fn set_market_oracle(accounts: &[AccountInfo], guards: &OracleGuards) -> ProgramResult {
    let SetMarketOracleAccounts { timelock: admin, security_config, market: market_info, oracle, .. } =
        SetMarketOracleAccounts::parse(accounts)?;
    require_timelock(admin)?;
    let security = load_security(security_config)?;
    let market = live_market(market_info)?;
    let old_oracle = market.oracle;
    market.oracle_feed_id = oracle_feed_id(oracle, security)?;
    market.oracle = *oracle.key();
    market.guards = *guards;
    let seq = next_seq(&mut market.audit_seq)?;
    MarketOracleChanged {
        market: *market_info.key(),
        index: market.index,
        admin: *admin.key(),
        old_oracle,
        new_oracle: market.oracle,
        slot: Clock::get()?.slot,
        seq,
    }
    .emit();
    Ok(())
}
