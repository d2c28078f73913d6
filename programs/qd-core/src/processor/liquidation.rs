//! Liquidation: permissionless steps a liquidator signs with its own margin account, the view
//! keepers simulate, and the end of a liquidation.
//!
//! An account is liquidatable while its maintenance health is below 0, or, once a step has
//! started its liquidation (status bit 1), while its liquidation-end health (maintenance plus
//! the venue's buffer, GlobalConfig.liquidation_buffer_bps) is below 0. Prices are read with the
//! oracles' Liquidation guards. Each step takes no more than brings the end health to 0
//! (crates/qd-health `liquidation`), emits its record, and sets the status bits from the
//! account's state after it: being liquidated until the end health is >= 0, bankrupt while only
//! a debt is left (`resolve_bankruptcy` then pays it from the insurance fund and socializes the
//! rest). A liquidator's account must pass initial health after taking a position or paying a
//! debt; it may not be the account's owner's, or its delegate's. Frozen accounts are
//! liquidated like any other; the Liquidate pause stops every step.
//!
//! Health accounts (remaining accounts): the liquidated account's list, then the liquidator's,
//! each in the health-account order of crates/qd-trading-state without the quote config and
//! the step's market (fixed accounts of the instruction).

use super::insurance::AUTHORITY_SEEDS;
use crate::error::{overflow, CoreError as E};
use crate::events::{CollateralLiquidated, LiquidationEnded, LiquidationOrdersCancelled, PerpLiquidated};
use crate::instruction::{LiquidationView, PerpLiquidationView};
use core::slice::Iter;
use qd_access::{check_not_paused, load_config as load_security, AccessError, Operation};
use qd_collateral_state::{
    add_collateral_from, adjust_balance, load_config, price as collateral_price, CollateralBalances, CollateralConfig,
};
use qd_core_state::{load_global, load_margin, load_owned_margin, MarginAccount, STATUS_BANKRUPT, STATUS_BEING_LIQUIDATED};
use qd_health::liquidation::{collateral_for, perp_transfer, position_after, PerpTerms};
use qd_health::{CollateralInput, Health, PerpInput};
use qd_oracle_reader::Action as OracleAction;
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{BorshWrite, BoundedVec, Writer};
use qd_runtime::error::{ProgramError, ProgramResult};
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;
use qd_runtime::validate;
use qd_trading_state::{
    account_health, add_perps, cpi, load_market, load_trading, market_price, PerpMarket, TradingAccount, MAX_POSITIONS,
};

/// The CPI targets and our authority PDA.
pub(super) fn check_programs(trading_program: &AccountInfo, authority: &AccountInfo) -> ProgramResult {
    validate::program(trading_program, &qd_ids::QD_TRADING)?;
    validate::address(authority, &qd_ids::CORE_AUTHORITY)
}

/// The liquidated account's margin account (writable: its status bits), trading account and
/// balances, each the other's by identity fields.
pub(super) struct Account<'a> {
    pub(super) key: &'a Pubkey,
    pub(super) margin: &'a mut MarginAccount,
    pub(super) trading: &'a TradingAccount,
    pub(super) balances: &'a CollateralBalances,
}

impl<'a> Account<'a> {
    pub(super) fn load(margin: &'a AccountInfo, trading: &'a AccountInfo, balances: &'a AccountInfo) -> Result<Self, ProgramError> {
        let key = margin.key();
        let margin = margin.load_mut::<MarginAccount>(&crate::ID)?;
        let trading = load_trading(trading)?;
        trading.check_margin_account(key)?;
        let balances = balances.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?;
        balances.check_margin_account(key)?;
        Ok(Account { key, margin, trading, balances })
    }

    fn being_liquidated(&self) -> bool {
        self.margin.status & STATUS_BEING_LIQUIDATED != 0
    }

    /// The account's health with the end level, from its list in `next` (prices for
    /// liquidation; `quote` and `fixed` are fixed accounts of the instruction); `visit` sees
    /// each position's market and input.
    fn health(
        &self,
        buffer_bps: u16,
        next: &mut Iter<AccountInfo>,
        quote: Option<&CollateralConfig>,
        fixed: Option<(&PerpMarket, i64)>,
        clock: &Clock,
        visit: impl FnMut(&PerpMarket, &PerpInput),
    ) -> Result<Health, ProgramError> {
        let mut health = Health::with_liquidation_buffer(buffer_bps);
        add_collateral_from(&mut health, self.balances, next, quote, OracleAction::Liquidation, clock)?;
        add_perps(&mut health, self.trading, next, fixed, OracleAction::Liquidation, clock, visit)?;
        Ok(health)
    }

    /// Refuses an account that may not be liquidated now.
    fn check_liquidatable(&self, health: &Health) -> ProgramResult {
        if !health.is_liquidatable(self.being_liquidated())? {
            return Err(E::NotLiquidatable.into());
        }
        Ok(())
    }

    /// The status bits after a step, from the end health after it and the accounts as the
    /// step's CPIs left them: being liquidated until the end health is >= 0; bankrupt while
    /// nothing but a debt is left (`is_bankrupt`).
    fn set_status(&mut self, trading: &AccountInfo, balances: &AccountInfo, end_after: i128) -> ProgramResult {
        if end_after >= 0 {
            self.margin.status &= !(STATUS_BEING_LIQUIDATED | STATUS_BANKRUPT);
            return Ok(());
        }
        let bankrupt = is_bankrupt(balances.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?, Some(load_trading(trading)?));
        self.margin.status |= STATUS_BEING_LIQUIDATED;
        if bankrupt {
            self.margin.status |= STATUS_BANKRUPT;
        } else {
            self.margin.status &= !STATUS_BANKRUPT;
        }
        Ok(())
    }
}

/// Nothing but a debt is left: no balance (collateral taken, the quote settled into the debt),
/// no position, and a market where a flat position owes (`resolve_bankruptcy` applies once no
/// order is open either).
pub(super) fn is_bankrupt(balances: &CollateralBalances, trading: Option<&TradingAccount>) -> bool {
    balances.active().is_empty()
        && trading.is_some_and(|t| t.positions().iter().all(|p| p.base == 0) && t.positions().iter().any(|p| p.realized_pnl < 0))
}

/// The liquidator's margin account: its signer's, not frozen, not itself in liquidation, and
/// neither the liquidated account nor one of its owner's or its delegate's (self-liquidation
/// would let an owner or agent collect the fee from its own account).
fn check_liquidator<'a>(
    signer: &AccountInfo,
    info: &'a AccountInfo,
    account_info: &AccountInfo,
    account: &MarginAccount,
) -> Result<&'a MarginAccount, ProgramError> {
    validate::distinct(&[info, account_info])?;
    let liquidator = load_owned_margin(info, signer)?;
    if liquidator.is_frozen() {
        return Err(AccessError::AccountFrozen.into());
    }
    if liquidator.status & (STATUS_BEING_LIQUIDATED | STATUS_BANKRUPT) != 0 {
        return Err(E::LiquidatorBeingLiquidated.into());
    }
    if &account.owner == signer.key() || (account.has_delegate() && &account.delegate == signer.key()) {
        return Err(E::SelfLiquidation.into());
    }
    Ok(liquidator)
}

/// The quote mint's CollateralConfig.
fn quote_config(info: &AccountInfo) -> Result<&CollateralConfig, ProgramError> {
    let config = load_config(info)?;
    if !config.is_quote() {
        return Err(E::NotQuoteConfig.into());
    }
    Ok(config)
}

/// The step's market: `market_index`'s, not in settlement (its positions close at the
/// settlement price instead).
fn step_market(info: &AccountInfo, market_index: u16) -> Result<&PerpMarket, ProgramError> {
    let market = load_market(info)?;
    if market.index != market_index {
        return Err(E::MarketIndexMismatch.into());
    }
    if market.status == qd_trading_state::MARKET_STATUS_SETTLEMENT {
        return Err(E::MarketInSettlement.into());
    }
    Ok(market)
}

/// The liquidator's initial health after the step, from its trading account and balances as
/// the CPIs left them and its list in `next` (prices valid for margin).
fn check_liquidator_health(
    margin_key: &Pubkey,
    trading: &AccountInfo,
    balances: &AccountInfo,
    next: &mut Iter<AccountInfo>,
    quote: &CollateralConfig,
    fixed: Option<(&PerpMarket, i64)>,
    clock: &Clock,
) -> ProgramResult {
    let balances = balances.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?;
    balances.check_margin_account(margin_key)?;
    let trading = qd_trading_state::trading_account_of(trading, margin_key)?;
    let health = account_health(balances, trading, next, Some(quote), fixed, OracleAction::Margin, clock)?;
    validate::no_more_accounts(next)?;
    if health.init_health()? < 0 {
        return Err(E::LiquidatorInsufficientHealth.into());
    }
    Ok(())
}

/// The market's liquidation terms.
fn terms(market: &PerpMarket) -> PerpTerms {
    PerpTerms {
        liquidator_fee_bps: market.liquidator_fee_bps,
        insurance_fee_bps: market.insurance_fee_bps,
        lot_size: market.lot_size,
        max_fraction_bps: market.liquidation_max_fraction_bps,
        whole_base: market.liquidation_whole_base,
    }
}

qd_runtime::accounts! {
    /// liquidate_orders' accounts; the account's health list follows.
    pub struct LiquidateOrdersAccounts {
        liquidator(signer),
        security_config,
        global,
        liquidator_margin_account,
        /// The liquidated account
        margin_account(mut),
        trading_account(mut),
        balances,
        quote_config,
        trading_program,
        /// qd-core's [b"authority"] PDA (signs the CPI)
        core_authority,
    }
}

pub(super) fn liquidate_orders(accounts: &[AccountInfo]) -> ProgramResult {
    let LiquidateOrdersAccounts {
        liquidator,
        security_config,
        global,
        liquidator_margin_account,
        margin_account,
        trading_account,
        balances,
        quote_config: quote_info,
        trading_program,
        core_authority,
        remaining,
    } = LiquidateOrdersAccounts::parse(accounts)?;
    check_programs(trading_program, core_authority)?;
    check_not_paused(load_security(security_config)?, Operation::Liquidate, qd_access::NO_MARKET)?;
    let buffer = load_global(global)?.liquidation_buffer_bps;
    let mut account = Account::load(margin_account, trading_account, balances)?;
    check_liquidator(liquidator, liquidator_margin_account, margin_account, account.margin)?;
    let quote = quote_config(quote_info)?;
    let clock = Clock::get()?;
    let mut next = remaining.iter();
    let health = account.health(buffer, &mut next, Some(quote), None, &clock, |_, _| {})?;
    validate::no_more_accounts(&mut next)?;
    account.check_liquidatable(&health)?;
    let orders = account.trading.orders().len();
    if orders == 0 {
        return Err(E::NothingToLiquidate.into());
    }
    cpi::liquidate_orders(core_authority, trading_account, AUTHORITY_SEEDS)?;
    // Cancelling takes no position and no balance: the health is what it was.
    let end = health.liquidation_end_health()?;
    account.set_status(trading_account, balances, end)?;
    LiquidationOrdersCancelled {
        liquidator: *liquidator_margin_account.key(),
        margin_account: *account.key,
        orders: orders as u8,
        maint_health: health.maint_health()?,
        end_health: end,
        slot: clock.slot,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    /// liquidate_perp's accounts; the account's health list, then the liquidator's, follow.
    pub struct LiquidatePerpAccounts {
        liquidator(signer),
        security_config,
        global,
        liquidator_margin_account,
        /// Takes over the position
        liquidator_trading_account(mut),
        liquidator_balances,
        /// The liquidated account
        margin_account(mut),
        trading_account(mut),
        balances,
        market(mut),
        /// The market's oracle, read with Liquidation guards
        oracle,
        quote_config,
        trading_program,
        /// qd-core's [b"authority"] PDA (signs the CPI)
        core_authority,
    }
}

pub(super) fn liquidate_perp(accounts: &[AccountInfo], market_index: u16, max_base: u64) -> ProgramResult {
    let LiquidatePerpAccounts {
        liquidator,
        security_config,
        global,
        liquidator_margin_account,
        liquidator_trading_account,
        liquidator_balances,
        margin_account,
        trading_account,
        balances,
        market: market_info,
        oracle,
        quote_config: quote_info,
        trading_program,
        core_authority,
        remaining,
    } = LiquidatePerpAccounts::parse(accounts)?;
    check_programs(trading_program, core_authority)?;
    check_not_paused(load_security(security_config)?, Operation::Liquidate, market_index)?;
    let buffer = load_global(global)?.liquidation_buffer_bps;
    let mut account = Account::load(margin_account, trading_account, balances)?;
    let liquidator_margin = check_liquidator(liquidator, liquidator_margin_account, margin_account, account.margin)?;
    if !liquidator_margin.allows_market(market_index) {
        return Err(E::LiquidatorMarketNotAllowed.into());
    }
    let liquidator_reduce_only = liquidator_margin.reduce_only != 0;
    let market = step_market(market_info, market_index)?;
    let quote = quote_config(quote_info)?;
    let clock = Clock::get()?;
    let price = market_price(market, oracle, OracleAction::Liquidation, &clock)?;
    let mut next = remaining.iter();
    let health = account.health(buffer, &mut next, Some(quote), Some((market, price)), &clock, |_, _| {})?;
    account.check_liquidatable(&health)?;
    let p = account.trading.position_index(market_index).ok_or(E::NoPositionToLiquidate)?;
    let input = account.trading.positions[p].perp_input(market, price)?;
    if input.base == 0 {
        return Err(E::NoPositionToLiquidate.into());
    }
    let size = health.max_liquidatable_base(&input, &terms(market))?.min(max_base);
    if size == 0 {
        return Err(E::NothingToLiquidate.into());
    }
    let step = perp_transfer(size, price, &terms(market))?;
    let mut after = health;
    after.remove_perp(&input)?;
    after.add_perp(&position_after(&input, &step)?)?;
    // The account's change of base: toward zero. A reduce-only liquidator may only take a
    // position that reduces its own.
    let base = if input.base > 0 { -(size as i64) } else { size as i64 };
    if liquidator_reduce_only {
        let held = qd_trading_state::trading_account_of(liquidator_trading_account, liquidator_margin_account.key())?
            .and_then(|t| t.position_index(market_index).map(|q| t.positions[q].base))
            .unwrap_or(0);
        if held == 0 || (held > 0) != (base > 0) || base.unsigned_abs() > held.unsigned_abs() {
            return Err(E::LiquidatorReduceOnly.into());
        }
    }
    load_trading(liquidator_trading_account)?.check_margin_account(liquidator_margin_account.key())?;
    cpi::liquidate_position(
        core_authority,
        market_info,
        trading_account,
        liquidator_trading_account,
        (base, price, step.liquidator_fee, step.insurance_fee),
        AUTHORITY_SEEDS,
    )?;
    // Read again after the CPI wrote them.
    let market = load_market(market_info)?;
    check_liquidator_health(
        liquidator_margin_account.key(),
        liquidator_trading_account,
        liquidator_balances,
        &mut next,
        quote,
        Some((market, price)),
        &clock,
    )?;
    let end_after = after.liquidation_end_health()?;
    account.set_status(trading_account, balances, end_after)?;
    PerpLiquidated {
        liquidation_id: market.liquidation_seq,
        market_index,
        liquidator: *liquidator_margin_account.key(),
        margin_account: *account.key,
        base,
        price,
        quote: step.quote,
        liquidator_fee: step.liquidator_fee,
        insurance_fee: step.insurance_fee,
        maint_before: health.maint_health()?,
        maint_after: after.maint_health()?,
        end_before: health.liquidation_end_health()?,
        end_after,
        slot: clock.slot,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    /// liquidate_collateral's accounts; the account's health list, then the liquidator's, follow.
    pub struct LiquidateCollateralAccounts {
        liquidator(signer),
        security_config,
        global,
        liquidator_margin_account,
        liquidator_trading_account,
        /// Pays the quote, receives the collateral
        liquidator_balances(mut),
        /// The liquidated account
        margin_account(mut),
        /// Its debt is the negative PnL of its flat position in `market`
        trading_account(mut),
        balances(mut),
        /// The debt's market
        market(mut),
        /// The market's oracle
        oracle,
        /// The collateral taken: its CollateralConfig (not the quote's)
        asset_config(mut),
        /// Its oracle, read with Liquidation guards
        asset_oracle,
        quote_config(mut),
        collateral_program,
        trading_program,
        /// qd-core's [b"authority"] PDA (signs the CPIs)
        core_authority,
    }
}

pub(super) fn liquidate_collateral(accounts: &[AccountInfo], market_index: u16, max_quote: u64) -> ProgramResult {
    let LiquidateCollateralAccounts {
        liquidator,
        security_config,
        global,
        liquidator_margin_account,
        liquidator_trading_account,
        liquidator_balances,
        margin_account,
        trading_account,
        balances,
        market: market_info,
        oracle,
        asset_config: asset_info,
        asset_oracle,
        quote_config: quote_info,
        collateral_program,
        trading_program,
        core_authority,
        remaining,
    } = LiquidateCollateralAccounts::parse(accounts)?;
    check_programs(trading_program, core_authority)?;
    validate::program(collateral_program, &qd_ids::QD_COLLATERAL)?;
    check_not_paused(load_security(security_config)?, Operation::Liquidate, market_index)?;
    let buffer = load_global(global)?.liquidation_buffer_bps;
    let mut account = Account::load(margin_account, trading_account, balances)?;
    check_liquidator(liquidator, liquidator_margin_account, margin_account, account.margin)?;
    let market = step_market(market_info, market_index)?;
    let quote = quote_config(quote_info)?;
    let asset = load_config(asset_info)?;
    if asset.is_quote() {
        return Err(E::QuoteIsNotCollateral.into());
    }
    let clock = Clock::get()?;
    let price = market_price(market, oracle, OracleAction::Liquidation, &clock)?;
    let asset_price = collateral_price(asset, Some(asset_oracle), OracleAction::Liquidation, &clock)?;
    // The debt is what settle_pnl could not take from the quote balance.
    if account.balances.active().iter().any(|e| e.mint == quote.mint && e.balance > 0) {
        return Err(E::SettleQuoteFirst.into());
    }
    let mut next = remaining.iter();
    let health = account.health(buffer, &mut next, Some(quote), Some((market, price)), &clock, |_, _| {})?;
    account.check_liquidatable(&health)?;
    let p = account.trading.position_index(market_index).ok_or(E::NoDebt)?;
    let debt = account.trading.positions[p].perp_input(market, price)?;
    if debt.base != 0 {
        return Err(E::PositionNotFlat.into());
    }
    let held = account.balances.active().iter().find(|e| e.mint == asset.mint).map_or(0, |e| e.balance);
    let collateral = CollateralInput {
        balance: held,
        decimals: asset.decimals,
        price: asset_price,
        init_weight_bps: asset.init_weight_bps,
        maint_weight_bps: asset.maint_weight_bps,
    };
    let fee = asset.liquidation_fee_bps;
    let max = health.max_collateral_repay(&collateral, fee, &debt)?;
    let repaid = max.min(i64::try_from(max_quote).map_err(|_| overflow())?);
    let taken = collateral_for(repaid, &collateral, fee)?;
    if repaid <= 0 || taken <= 0 {
        return Err(E::NothingToLiquidate.into());
    }
    let liquidator_quote = liquidator_balances
        .load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?
        .active()
        .iter()
        .find(|e| e.mint == quote.mint)
        .map_or(0, |e| e.balance);
    // The repayment is the liquidator's quote, never a debt of its own.
    if liquidator_quote < repaid {
        return Err(E::LiquidatorQuoteShort.into());
    }
    let mut after = health;
    after.remove_collateral(&collateral)?;
    after.add_collateral(&CollateralInput { balance: held - taken, ..collateral })?;
    after.remove_perp(&debt)?;
    after.add_perp(&PerpInput { quote: debt.quote.checked_add(repaid).ok_or_else(overflow)?, ..debt })?;
    adjust_balance(core_authority, quote_info, liquidator_balances, -repaid, AUTHORITY_SEEDS)?;
    adjust_balance(core_authority, asset_info, balances, -taken, AUTHORITY_SEEDS)?;
    adjust_balance(core_authority, asset_info, liquidator_balances, taken, AUTHORITY_SEEDS)?;
    cpi::repay_pnl(core_authority, market_info, trading_account, repaid, AUTHORITY_SEEDS)?;
    // Read again after the CPIs wrote them.
    let market = load_market(market_info)?;
    let quote = quote_config(quote_info)?;
    check_liquidator_health(
        liquidator_margin_account.key(),
        liquidator_trading_account,
        liquidator_balances,
        &mut next,
        quote,
        Some((market, price)),
        &clock,
    )?;
    let end_after = after.liquidation_end_health()?;
    account.set_status(trading_account, balances, end_after)?;
    CollateralLiquidated {
        liquidation_id: market.liquidation_seq,
        market_index,
        liquidator: *liquidator_margin_account.key(),
        margin_account: *account.key,
        mint: asset.mint,
        repaid,
        collateral: taken,
        price: asset_price,
        fee_bps: fee,
        maint_before: health.maint_health()?,
        maint_after: after.maint_health()?,
        end_before: health.liquidation_end_health()?,
        end_after,
        slot: clock.slot,
    }
    .emit();
    Ok(())
}

qd_runtime::accounts! {
    /// view_liquidation's accounts; the account's health list follows (qd-collateral's order:
    /// every held collateral's config and, but the quote's, oracle, then each position's market
    /// and oracle).
    pub struct ViewLiquidationAccounts {
        global,
        margin_account,
        /// The margin account's qd-trading PDA [b"trading", margin_account] (not open: the PDA itself)
        trading_account,
        balances,
    }
}

qd_runtime::accounts! {
    /// exit_liquidation's accounts; the account's health list follows (as view_liquidation's).
    pub struct ExitLiquidationAccounts {
        global,
        margin_account(mut),
        /// The margin account's qd-trading PDA [b"trading", margin_account] (not open: the PDA itself)
        trading_account,
        balances,
    }
}

/// `margin_account`'s health with the end level, each position's view (a step's size only
/// while the account is liquidatable), the whole health list read.
fn liquidation_state<'a>(
    global: &AccountInfo,
    margin: &MarginAccount,
    margin_account: &Pubkey,
    trading_account: &'a AccountInfo,
    balances: &'a AccountInfo,
    remaining: &'a [AccountInfo],
    clock: &Clock,
) -> Result<(Health, BoundedVec<PerpLiquidationView, MAX_POSITIONS>, bool), ProgramError> {
    let buffer = load_global(global)?.liquidation_buffer_bps;
    let balances = balances.load::<CollateralBalances>(&qd_ids::QD_COLLATERAL)?;
    balances.check_margin_account(margin_account)?;
    let trading = qd_trading_state::trading_account_of(trading_account, margin_account)?;
    let mut next = remaining.iter();
    let mut health = Health::with_liquidation_buffer(buffer);
    add_collateral_from(&mut health, balances, &mut next, None, OracleAction::Liquidation, clock)?;
    let mut inputs: [Option<(u16, PerpTerms, PerpInput)>; MAX_POSITIONS] = [None; MAX_POSITIONS];
    if let Some(trading) = trading {
        let mut k = 0;
        add_perps(&mut health, trading, &mut next, None, OracleAction::Liquidation, clock, |market, input| {
            inputs[k] = Some((market.index, terms(market), *input));
            k += 1;
        })?;
    }
    validate::no_more_accounts(&mut next)?;
    let liquidatable = health.is_liquidatable(margin.status & STATUS_BEING_LIQUIDATED != 0)?;
    let mut views = [PerpLiquidationView::default(); MAX_POSITIONS];
    let mut count = 0;
    for (market_index, terms, input) in inputs.iter().flatten() {
        let max_base = if liquidatable { health.max_liquidatable_base(input, terms)? } else { 0 };
        views[count] = PerpLiquidationView {
            market_index: *market_index,
            base: input.base,
            price: input.price,
            max_base,
            fee_bps: terms.liquidator_fee_bps + terms.insurance_fee_bps,
        };
        count += 1;
    }
    Ok((health, BoundedVec::from_slice(&views[..count]), is_bankrupt(balances, trading)))
}

pub(super) fn view_liquidation(accounts: &[AccountInfo]) -> ProgramResult {
    let ViewLiquidationAccounts { global, margin_account, trading_account, balances, remaining } =
        ViewLiquidationAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    let margin = load_margin(margin_account)?;
    let (health, perps, bankrupt) = liquidation_state(global, margin, margin_account.key(), trading_account, balances, remaining, &clock)?;
    let being_liquidated = margin.status & STATUS_BEING_LIQUIDATED != 0;
    let view = LiquidationView {
        liquidatable: health.is_liquidatable(being_liquidated)?,
        being_liquidated,
        bankrupt,
        maint_health: health.maint_health()?,
        liquidation_end_health: health.liquidation_end_health()?,
        buffer_bps: health.buffer_bps(),
        perps,
    };
    let mut out = Writer::<{ LiquidationView::MAX_SIZE }>::new();
    view.write(&mut out);
    set_return_data(out.written());
    Ok(())
}

pub(super) fn exit_liquidation(accounts: &[AccountInfo]) -> ProgramResult {
    let ExitLiquidationAccounts { global, margin_account, trading_account, balances, remaining } =
        ExitLiquidationAccounts::parse(accounts)?;
    let clock = Clock::get()?;
    let margin = margin_account.load_mut::<MarginAccount>(&crate::ID)?;
    if margin.status & STATUS_BEING_LIQUIDATED == 0 {
        return Err(E::NotBeingLiquidated.into());
    }
    let (health, _, _) = liquidation_state(global, margin, margin_account.key(), trading_account, balances, remaining, &clock)?;
    let end = health.liquidation_end_health()?;
    if end < 0 {
        return Err(E::LiquidationNotOver.into());
    }
    margin.status &= !(STATUS_BEING_LIQUIDATED | STATUS_BANKRUPT);
    LiquidationEnded { margin_account: *margin_account.key(), end_health: end, slot: clock.slot }.emit();
    Ok(())
}
