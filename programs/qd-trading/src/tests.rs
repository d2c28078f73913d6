//! Host tests of the processor: the program's entrypoint run on accounts laid out as the loader
//! lays them out (`qd_runtime::host`). CPI and PDA derivation refuse on the host, so these cover
//! what runs before them: decoding, the accounts declarations, owner and identity checks, and
//! the instructions that need neither (cancels, expiry).

use crate::error::TradingError;
use crate::events::{OrderCancelled, CANCEL_EXPIRED, CANCEL_USER};
use qd_access::{AccessError, SecurityConfig};
use qd_core_state::{MarginAccount, MarginError};
use qd_runtime::account::zeroed;
use qd_runtime::error::RuntimeError;
use qd_runtime::hash::discriminator;
use qd_runtime::host::{self, account_data as data, HostAccount, HostRun};
use qd_runtime::pubkey::Pubkey;
use qd_trading_state::{Order, TradingAccount, KIND_LIMIT, SIDE_BID, TIF_GTT};

const OWNER: Pubkey = [1; 32];
const MARGIN: Pubkey = [2; 32];
const TRADING: Pubkey = [3; 32];
const NOW: i64 = 1_700_000_000;

const SLOT: u64 = 100;

fn run(accounts: &[HostAccount], data: &[u8]) -> HostRun {
    host::set_clock(SLOT, NOW);
    host::run(crate::entrypoint, &crate::ID, accounts, data)
}

fn code(accounts: &[HostAccount], data: &[u8]) -> u64 {
    run(accounts, data).code
}

fn ix(name: &str, args: &[u8]) -> Vec<u8> {
    [&discriminator("global", name)[..], args].concat()
}

fn key(n: u8) -> HostAccount {
    HostAccount::new([n; 32], [0; 32], vec![])
}

fn signer() -> HostAccount {
    key(1).signer()
}

fn security() -> HostAccount {
    HostAccount::new(qd_ids::SECURITY_CONFIG, qd_ids::QD_SECURITY, data(&zeroed::<SecurityConfig>()))
}

fn margin() -> HostAccount {
    let mut m = zeroed::<MarginAccount>();
    m.owner = OWNER;
    m.allowed_markets = u64::MAX;
    HostAccount::new(MARGIN, qd_ids::QD_CORE, data(&m))
}

/// MARGIN's trading account with a resting GTT bid in market 0 (id 1, client id 7) expiring at `expiry_ts`.
fn trading(expiry_ts: i64) -> HostAccount {
    let mut t = zeroed::<TradingAccount>();
    t.margin_account = MARGIN;
    t.owner = OWNER;
    t.next_order_id = 2;
    let order = Order {
        order_id: 1,
        client_order_id: 7,
        side: SIDE_BID,
        kind: KIND_LIMIT,
        tif: TIF_GTT,
        price: 100_000_000,
        reserved_price: 100_000_000,
        base_size: 1_000_000_000,
        expiry_ts,
        ..Order::default()
    };
    let p = t.open_position(0, 0).unwrap();
    t.positions[p].add_order(&order).unwrap();
    t.push_order(order).unwrap();
    HostAccount::new(TRADING, crate::ID, data(&t)).writable()
}

/// cancel_order's accounts: [signer, security config, margin account, trading account, session].
fn cancel_accounts() -> Vec<HostAccount> {
    vec![signer(), security(), margin(), trading(0), HostAccount::new(crate::ID, [0; 32], vec![])]
}

/// place_and_make's 15 accounts, keys 10..25, each writable where declared (the two trading
/// accounts and the market: a fill writes nothing else), sessions absent.
fn place_and_make_accounts() -> Vec<HostAccount> {
    let mut a: Vec<HostAccount> = (10..25).map(key).collect();
    a[0] = a[0].clone().signer();
    for i in [3, 6, 8] {
        a[i] = a[i].clone().writable();
    }
    a[12] = HostAccount::new(crate::ID, [0; 32], vec![]);
    a[13] = a[12].clone();
    a
}

/// fill_order's 11 fixed accounts (keys 30..41) and `makers` maker groups (keys 50.., sessions absent).
fn fill_order_accounts(makers: u8) -> Vec<HostAccount> {
    let mut a: Vec<HostAccount> = (30..41).map(key).collect();
    a[0] = a[0].clone().signer();
    for i in [3, 5] {
        a[i] = a[i].clone().writable();
    }
    a[9] = HostAccount::new(crate::ID, [0; 32], vec![]);
    for m in 0..makers {
        a.extend([key(50 + 3 * m), key(51 + 3 * m).writable(), key(52 + 3 * m), HostAccount::new(crate::ID, [0; 32], vec![])]);
    }
    a
}

fn fill_order_data(makers: &[u64]) -> Vec<u8> {
    let mut args = [&1u64.to_le_bytes()[..], &(makers.len() as u32).to_le_bytes()].concat();
    makers.iter().for_each(|id| args.extend(id.to_le_bytes()));
    ix("fill_order", &args)
}

#[test]
fn an_unknown_instruction_is_refused_by_name() {
    let ran = run(&[], &[0; 8]);
    assert_eq!(ran.code, RuntimeError::InvalidInstruction as u64);
    assert_eq!(
        ran.logs,
        ["AnchorError occurred. Error Code: InvalidInstruction. Error Number: 6000. Error Message: Unknown instruction discriminator."]
    );
    assert_eq!(code(&[], &[1, 2, 3]), RuntimeError::InvalidInstruction as u64);
    // Our own errors are logged by name too.
    let ran = run(&[], &ix("fill_order", &[&1u64.to_le_bytes()[..], &0u32.to_le_bytes()].concat()));
    assert_eq!(ran.code, TradingError::TooManyMakers as u64);
    assert!(ran.logs[0].starts_with("AnchorError occurred. Error Code: TooManyMakers. Error Number: 6138."), "{:?}", ran.logs);
}

#[test]
fn another_program_id_is_refused() {
    let ran = host::run(crate::entrypoint, &[7; 32], &[], &ix("expire_orders", &[]));
    assert_eq!(ran.code, RuntimeError::WrongProgram as u64);
}

#[test]
fn accounts_are_counted_signed_and_writable() {
    let expire = ix("expire_orders", &[]);
    assert_eq!(code(&[signer()], &expire), RuntimeError::NotEnoughAccounts as u64);
    assert_eq!(code(&[key(1), trading(NOW - 1)], &expire), RuntimeError::MissingSigner as u64);
    let mut read_only = trading(NOW - 1);
    read_only.is_writable = false;
    assert_eq!(code(&[signer(), read_only], &expire), RuntimeError::NotWritable as u64);

    let cancel = ix("cancel_order", &1u64.to_le_bytes());
    assert_eq!(code(&cancel_accounts()[..4], &cancel), RuntimeError::NotEnoughAccounts as u64);
    let mut unsigned = cancel_accounts();
    unsigned[0].is_signer = false;
    assert_eq!(code(&unsigned, &cancel), RuntimeError::MissingSigner as u64);
    let make = ix("place_and_make", &[&1u64.to_le_bytes()[..], &[1; 24]].concat());
    assert_eq!(code(&place_and_make_accounts()[..14], &make), RuntimeError::NotEnoughAccounts as u64);
}

#[test]
fn a_writable_account_passed_twice_is_refused_first() {
    // settle_pnl with the balances slot holding the trading account.
    let mut settle: Vec<HostAccount> = (60..69).map(key).collect();
    settle[0] = signer();
    for i in [3, 5, 6] {
        settle[i] = settle[i].clone().writable();
    }
    settle[4] = settle[3].clone();
    assert_eq!(code(&settle, &ix("settle_pnl", &0u16.to_le_bytes())), RuntimeError::DuplicateAccount as u64);

    // place_and_make with the maker's trading account as the taker's.
    let make = ix("place_and_make", &[&1u64.to_le_bytes()[..], &1i64.to_le_bytes(), &1u64.to_le_bytes(), &0u64.to_le_bytes()].concat());
    let mut a = place_and_make_accounts();
    a[6] = a[3].clone();
    assert_eq!(code(&a, &make), RuntimeError::DuplicateAccount as u64);
    // Absent sessions (this program's id, read-only, twice) are not writable accounts: the
    // declaration passes and the next check (the trading authority's address) fails.
    assert_eq!(code(&place_and_make_accounts(), &make), RuntimeError::WrongAddress as u64);
    // Present ones are: one Session in both slots, or a Session that is another writable account.
    let mut a = place_and_make_accounts();
    a[12] = key(99).writable();
    a[13] = a[12].clone();
    assert_eq!(code(&a, &make), RuntimeError::DuplicateAccount as u64);
    let mut a = place_and_make_accounts();
    a[12] = a[6].clone();
    assert_eq!(code(&a, &make), RuntimeError::DuplicateAccount as u64);
}

#[test]
fn fill_order_checks_every_makers_accounts() {
    assert_eq!(code(&fill_order_accounts(1)[..14], &fill_order_data(&[2])), RuntimeError::NotEnoughAccounts as u64);
    // Well-formed groups with absent sessions pass to the next check.
    assert_eq!(code(&fill_order_accounts(2), &fill_order_data(&[2, 3])), RuntimeError::WrongAddress as u64);
    let mut a = fill_order_accounts(1);
    a[12].is_writable = false;
    assert_eq!(code(&a, &fill_order_data(&[2])), RuntimeError::NotWritable as u64);
    // A maker's trading account that is the taker's, a trading account shared by two makers, a
    // maker's session that is the market.
    let mut a = fill_order_accounts(1);
    a[12] = a[3].clone();
    assert_eq!(code(&a, &fill_order_data(&[2])), RuntimeError::DuplicateAccount as u64);
    let mut a = fill_order_accounts(2);
    a[16] = a[12].clone();
    assert_eq!(code(&a, &fill_order_data(&[2, 3])), RuntimeError::DuplicateAccount as u64);
    let mut a = fill_order_accounts(1);
    a[14] = a[5].clone();
    assert_eq!(code(&a, &fill_order_data(&[2])), RuntimeError::DuplicateAccount as u64);
    // Balances shared by two makers are read-only: not duplicates (the next check runs).
    let mut a = fill_order_accounts(2);
    a[17] = a[13].clone();
    assert_eq!(code(&a, &fill_order_data(&[2, 3])), RuntimeError::WrongAddress as u64);
    // The same margin account on both sides (read-only, so not a duplicate) is a self-trade.
    let mut a = fill_order_accounts(1);
    a[11] = a[2].clone();
    assert_eq!(code(&a, &fill_order_data(&[2])), TradingError::SelfTrade as u64);
}

#[test]
fn accounts_of_another_owner_or_margin_account_are_refused() {
    let expire = ix("expire_orders", &[]);
    let mut foreign = trading(NOW - 1);
    foreign.owner = qd_ids::QD_CORE;
    assert_eq!(code(&[signer(), foreign], &expire), RuntimeError::WrongOwner as u64);

    let close = ix("close_trading_account", &[]);
    let accounts = |margin: HostAccount| [key(1).signer().writable(), security(), margin, trading(0)];
    let mut foreign = margin();
    foreign.owner = crate::ID;
    assert_eq!(code(&accounts(foreign), &close), RuntimeError::WrongOwner as u64);
    let mut other = zeroed::<MarginAccount>();
    other.owner = [8; 32];
    assert_eq!(code(&accounts(HostAccount::new(MARGIN, qd_ids::QD_CORE, data(&other))), &close), MarginError::NotOwner as u64);
    // The trading account must be this margin account's.
    let mut other = margin();
    other.key = [4; 32];
    assert_eq!(code(&accounts(other), &close), qd_collateral_state::CollateralStateError::WrongTradingAccount as u64);
    // An account with an order does not close.
    assert_eq!(code(&accounts(margin()), &close), TradingError::TradingAccountNotEmpty as u64);
}

/// The OrderCancelled event of the one resting order (id 1, client id 7, a bid in market 0, all
/// of it left) with `reason`, at SLOT, as the trading account's first sequence number.
fn cancelled(reason: u8) -> Vec<u8> {
    let head = [&OrderCancelled::DISCRIMINATOR[..], &MARGIN, &1u64.to_le_bytes(), &7u64.to_le_bytes(), &0u16.to_le_bytes()];
    let tail = [&[SIDE_BID, reason][..], &1_000_000_000u64.to_le_bytes(), &SLOT.to_le_bytes(), &1u64.to_le_bytes()];
    [head.concat(), tail.concat()].concat()
}

/// The trading account after its one order left: no order, no position, the sequence advanced.
fn assert_emptied(after: &HostAccount) {
    let t = after.body::<TradingAccount>();
    assert_eq!((t.order_count, t.position_count, t.seq, t.next_order_id), (0, 0, 1, 2));
}

#[test]
fn expire_orders_removes_what_has_expired() {
    let expire = ix("expire_orders", &[]);
    let ran = run(&[signer(), trading(NOW)], &expire);
    assert_eq!(ran.code, 0);
    assert_emptied(&ran.accounts[1]);
    assert_eq!(ran.events, [cancelled(CANCEL_EXPIRED)]);
    let refused = run(&[signer(), trading(NOW + 1)], &expire);
    assert_eq!(refused.code, TradingError::NothingToExpire as u64);
    assert_eq!(refused.accounts[1].body::<TradingAccount>().order_count, 1);
}

#[test]
fn the_owner_cancels_and_a_stranger_cannot() {
    let ran = run(&cancel_accounts(), &ix("cancel_order", &1u64.to_le_bytes()));
    assert_eq!(ran.code, 0);
    assert_emptied(&ran.accounts[3]);
    assert_eq!(ran.events, [cancelled(CANCEL_USER)]);
    assert!(ran.return_data.is_empty());
    assert_eq!(code(&cancel_accounts(), &ix("cancel_order", &2u64.to_le_bytes())), TradingError::OrderNotFound as u64);
    assert_eq!(code(&cancel_accounts(), &ix("cancel_order_by_client_id", &7u64.to_le_bytes())), 0);
    assert_eq!(code(&cancel_accounts(), &ix("cancel_orders", &[1, 0, 0])), 0);
    let mut stranger = cancel_accounts();
    stranger[0] = key(9).signer();
    assert_eq!(code(&stranger, &ix("cancel_orders", &[0])), AccessError::NotAuthorized as u64);
}

/// A market whose pools hold (liquidation fees, trading fees, PnL).
fn market_with_pools(liquidation_fee_pool: i64, fee_pool: i64, pnl_pool: i64) -> HostAccount {
    let mut m = zeroed::<qd_trading_state::PerpMarket>();
    m.index = 3;
    m.liquidation_fee_pool = liquidation_fee_pool;
    m.fee_pool = fee_pool;
    m.pnl_pool = pnl_pool;
    HostAccount::new([9; 32], crate::ID, data(&m)).writable()
}

fn take_fees(liquidation_fees: u64, trading_fees: u64) -> Vec<u8> {
    [&qd_trading_state::TAKE_FEES[..], &liquidation_fees.to_le_bytes(), &trading_fees.to_le_bytes()].concat()
}

#[test]
fn take_fees_draws_the_pools_for_the_core_authority_only() {
    let core = HostAccount::new(qd_ids::CORE_AUTHORITY, [0; 32], vec![]).signer();
    let ran = run(&[core.clone(), market_with_pools(50, 1_000, 1_200)], &take_fees(50, 900));
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    let m = ran.accounts[1].body::<qd_trading_state::PerpMarket>();
    assert_eq!((m.liquidation_fee_pool, m.fee_pool, m.pnl_pool), (0, 100, 250));
    // Beyond a pool, or beyond the PnL pool together: refused by name, the market unchanged.
    for (pools, take) in [((50, 1_000, 1_200), (51, 0)), ((50, 1_000, 1_200), (0, 1_001)), ((50, 1_000, 1_000), (50, 951))] {
        let market = market_with_pools(pools.0, pools.1, pools.2);
        let refused = run(&[core.clone(), market.clone()], &take_fees(take.0, take.1));
        assert_eq!(refused.code, TradingError::TakeExceedsPool as u64);
        assert_eq!(refused.accounts[1].data, market.data);
    }
    // A negative pool holds nothing, but taking nothing from it is fine; amounts past i64 never fit.
    assert_eq!(code(&[core.clone(), market_with_pools(-5, 10, 10)], &take_fees(1, 0)), TradingError::TakeExceedsPool as u64);
    assert_eq!(code(&[core.clone(), market_with_pools(-5, 10, 10)], &take_fees(0, 10)), 0);
    assert_eq!(
        code(&[core.clone(), market_with_pools(0, i64::MAX, i64::MAX)], &take_fees(0, u64::MAX)),
        TradingError::TakeExceedsPool as u64
    );
    // qd-trading's own authority, a user, no signature, a read-only market.
    for signer in [qd_ids::TRADING_AUTHORITY, [4; 32]] {
        let user = HostAccount::new(signer, [0; 32], vec![]).signer();
        assert_eq!(
            code(&[user, market_with_pools(50, 50, 100)], &take_fees(1, 1)),
            qd_core_state::CoreAuthorityError::NotCoreAuthority as u64
        );
    }
    let mut unsigned = core.clone();
    unsigned.is_signer = false;
    assert_eq!(code(&[unsigned, market_with_pools(50, 50, 100)], &take_fees(1, 1)), RuntimeError::MissingSigner as u64);
    let mut read_only = market_with_pools(50, 50, 100);
    read_only.is_writable = false;
    assert_eq!(code(&[core.clone(), read_only], &take_fees(1, 1)), RuntimeError::NotWritable as u64);
    // A trading account in the market's place.
    assert_eq!(code(&[core, trading(0)], &take_fees(1, 1)), RuntimeError::WrongAccountSize as u64);
}

// ---- liquidation CPIs (qd-core's steps) ----

/// A trading account of margin account `margin` (key `key`) with a position of `base` bought at
/// 100 in market 3 and `realized` PnL.
fn positioned(key_byte: u8, margin: Pubkey, base: i64, realized: i64) -> HostAccount {
    let mut t = zeroed::<TradingAccount>();
    t.margin_account = margin;
    if base != 0 || realized != 0 {
        let p = t.open_position(3, 0).unwrap();
        t.positions[p].base = base;
        t.positions[p].quote_entry = -base / 10; // 100 per whole unit
        t.positions[p].realized_pnl = realized;
    }
    HostAccount::new([key_byte; 32], crate::ID, data(&t)).writable()
}

fn core_authority() -> HostAccount {
    HostAccount::new(qd_ids::CORE_AUTHORITY, [0; 32], vec![]).signer()
}

fn market_with_interest(long: u64, short: u64) -> HostAccount {
    let mut m = zeroed::<qd_trading_state::PerpMarket>();
    m.index = 3;
    m.open_interest_long = long;
    m.open_interest_short = short;
    HostAccount::new([9; 32], crate::ID, data(&m)).writable()
}

fn liquidate_position(base: i64, price: i64, liquidator_fee: i64, insurance_fee: i64) -> Vec<u8> {
    let args = [base.to_le_bytes(), price.to_le_bytes(), liquidator_fee.to_le_bytes(), insurance_fee.to_le_bytes()].concat();
    [&qd_trading_state::cpi::LIQUIDATE_POSITION[..], &args].concat()
}

#[test]
fn the_shared_discriminators_are_the_instructions() {
    use crate::instruction::TradingInstruction as I;
    assert_eq!(I::unpack(&qd_trading_state::cpi::LIQUIDATE_ORDERS).unwrap(), I::LiquidateOrders {});
    assert!(matches!(I::unpack(&liquidate_position(-1, 2, 3, 4)).unwrap(), I::LiquidatePosition { base: -1, price: 2, .. }));
    let amount = 5i64.to_le_bytes();
    assert_eq!(I::unpack(&[&qd_trading_state::cpi::REPAY_PNL[..], &amount].concat()).unwrap(), I::RepayPnl { amount: 5 });
    assert_eq!(
        I::unpack(&[&qd_trading_state::cpi::RESOLVE_BANKRUPT_POSITION[..], &amount].concat()).unwrap(),
        I::ResolveBankruptPosition { insurance: 5 }
    );
}

#[test]
fn a_liquidation_moves_base_at_the_price_and_charges_the_fees() {
    // The account is long 3.0 at 100; the liquidator takes 1.0 at 90 with fees 0.9 and 0.45.
    let accounts = [
        core_authority(),
        market_with_interest(3_000_000_000, 3_000_000_000),
        positioned(5, MARGIN, 3_000_000_000, 0),
        positioned(6, [7; 32], 0, 0),
    ];
    let ran = run(&accounts, &liquidate_position(-1_000_000_000, 90_000_000, 900_000, 450_000));
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    let account = ran.accounts[2].body::<TradingAccount>();
    let liquidator = ran.accounts[3].body::<TradingAccount>();
    let market = ran.accounts[1].body::<qd_trading_state::PerpMarket>();
    assert_eq!((account.positions[0].base, liquidator.positions[0].base), (2_000_000_000, 1_000_000_000));
    // Sold 1.0 bought at 100 for 90: -10 realized, less both fees; the liquidator holds its fee.
    assert_eq!(account.positions[0].realized_pnl, -10_000_000 - 1_350_000);
    assert_eq!((liquidator.positions[0].quote_entry, liquidator.positions[0].realized_pnl), (-90_000_000, 900_000));
    assert_eq!((market.liquidation_fee_pool, market.liquidation_seq, market.open_interest_long), (450_000, 1, 3_000_000_000));
    // Growing the position, past it, negative fees or a zero price: refused by name.
    for bad in [
        liquidate_position(1, 1, 0, 0),
        liquidate_position(-3_000_000_001, 1, 0, 0),
        liquidate_position(-1, 1, -1, 0),
        liquidate_position(-1, 0, 0, 0),
    ] {
        let refused = run(&accounts, &bad);
        assert_eq!(refused.code, TradingError::InvalidLiquidation as u64);
        assert_eq!(refused.accounts[2].data, accounts[2].data);
    }
    // Anyone but qd-core's authority.
    let mut user = accounts.clone();
    user[0] = HostAccount::new([4; 32], [0; 32], vec![]).signer();
    assert_eq!(code(&user, &liquidate_position(-1, 1, 0, 0)), qd_core_state::CoreAuthorityError::NotCoreAuthority as u64);
}

#[test]
fn a_bankrupt_position_is_paid_then_socialized_over_both_sides() {
    let resolve = |insurance: i64| [&qd_trading_state::cpi::RESOLVE_BANKRUPT_POSITION[..], &insurance.to_le_bytes()].concat();
    // A flat position owing 100 (quote units), 30 paid by the fund; open interest 2.0 a side.
    let accounts = [core_authority(), market_with_interest(2_000_000_000, 2_000_000_000), positioned(5, MARGIN, 0, -100)];
    let ran = run(&accounts, &resolve(30));
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    let market = ran.accounts[1].body::<qd_trading_state::PerpMarket>();
    // 70 over 4.0 of open interest: ceil(70 * 1e15 / 4e9) = 17_500_000 per unit, longs up, shorts down.
    assert_eq!((market.cumulative_funding_long, market.cumulative_funding_short), (17_500_000, -17_500_000));
    assert_eq!((market.pnl_pool, market.insurance_paid, market.socialized_loss, market.unbacked_loss), (30, 30, 70, 0));
    assert_eq!(ran.accounts[2].body::<TradingAccount>().position_count, 0);
    // Each side of 2.0 owes 35: together the loss.
    assert_eq!(qd_health::funding_pnl(2_000_000_000, 0, 17_500_000) + qd_health::funding_pnl(-2_000_000_000, 0, -17_500_000), -70);
    // Without open interest the loss is unbacked; paying more than owed, or resolving a solvent
    // or open position, is refused.
    let ran = run(&[core_authority(), market_with_interest(0, 0), positioned(5, MARGIN, 0, -100)], &resolve(0));
    assert_eq!(ran.accounts[1].body::<qd_trading_state::PerpMarket>().unbacked_loss, 100);
    for (account, insurance) in
        [(positioned(5, MARGIN, 0, -100), 101), (positioned(5, MARGIN, 0, 5), 0), (positioned(5, MARGIN, 1_000_000, -100), 0)]
    {
        assert_eq!(
            code(&[core_authority(), market_with_interest(1, 1), account], &resolve(insurance)),
            TradingError::InvalidLiquidation as u64
        );
    }
}

#[test]
fn liquidate_orders_takes_every_order_off_with_one_event() {
    let data = &qd_trading_state::cpi::LIQUIDATE_ORDERS;
    let ran = run(&[core_authority(), trading(NOW + 60)], data);
    assert_eq!(ran.code, 0, "{:?}", ran.logs);
    let after = ran.accounts[1].body::<TradingAccount>();
    // The only order (and with it the flat position's totals) is gone; one event names it.
    assert_eq!((after.order_count, after.position_count, after.has_open_order), (0, 0, 0));
    assert_eq!(ran.events.len(), 1);
    let user = HostAccount::new([4; 32], [0; 32], vec![]).signer();
    assert_eq!(code(&[user, trading(NOW + 60)], data), qd_core_state::CoreAuthorityError::NotCoreAuthority as u64);
}
