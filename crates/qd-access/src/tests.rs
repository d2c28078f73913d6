use super::*;
use qd_core_state::STATUS_FROZEN;

const OWNER: Pubkey = [1; 32];
const DELEGATE: Pubkey = [2; 32];
const KEY: Pubkey = [3; 32];
const STRANGER: Pubkey = [4; 32];
const ACTIONS: [Action; 7] =
    [Action::Deposit, Action::Withdraw, Action::Transfer, Action::PlaceOrder, Action::CancelOrder, Action::Fill, Action::Settle];

fn config() -> SecurityConfig {
    // SAFETY: all-zero is a valid SecurityConfig (Pod).
    unsafe { core::mem::zeroed() }
}

fn margin() -> MarginAccount {
    // SAFETY: all-zero is a valid MarginAccount (Pod).
    let mut m: MarginAccount = unsafe { core::mem::zeroed() };
    m.owner = OWNER;
    m.delegate = DELEGATE;
    m.allowed_markets = u64::MAX;
    m
}

fn session() -> Session {
    // SAFETY: all-zero is a valid Session (Pod).
    let mut s: Session = unsafe { core::mem::zeroed() };
    s.owner = OWNER;
    s.session_key = KEY;
    s.scopes = ALL_SCOPES;
    s.markets = 1 << 3;
    s.max_notional = 1_000;
    s.budget = 2_500;
    s.expires_at = 100;
    s
}

fn req(action: Action) -> Request {
    Request::new(action, if action.trades() { 3 } else { NO_MARKET }, 0)
}

#[test]
fn owner_may_do_everything_delegate_only_trade() {
    for action in ACTIONS {
        assert_eq!(check_request(&config(), &margin(), &OWNER, &req(action)), Ok(Some(Actor::Owner)));
        let delegate = check_request(&config(), &margin(), &DELEGATE, &req(action));
        if action.delegable() {
            assert_eq!(delegate, Ok(Some(Actor::Delegate)));
        } else {
            assert_eq!(delegate, Err(AccessError::DelegateNotPermitted), "{action:?}");
        }
        assert_eq!(check_request(&config(), &margin(), &STRANGER, &req(action)), Ok(None));
    }
    // No delegate set: the all-zero key is nobody.
    let mut m = margin();
    m.delegate = [0; 32];
    assert_eq!(check_request(&config(), &m, &[0; 32], &req(Action::PlaceOrder)), Ok(None));
}

#[test]
fn pauses_global_and_per_market() {
    let mut c = config();
    c.global_pause = Operation::Withdraw.bit();
    assert_eq!(check_request(&c, &margin(), &OWNER, &req(Action::Withdraw)), Err(AccessError::Paused));
    assert_eq!(check_request(&c, &margin(), &OWNER, &req(Action::Transfer)), Err(AccessError::Paused));
    assert!(check_request(&c, &margin(), &OWNER, &req(Action::Deposit)).is_ok());
    let mut c = config();
    c.market_pause[3] = Operation::PlaceOrder.bit();
    assert_eq!(check_request(&c, &margin(), &OWNER, &Request::new(Action::PlaceOrder, 3, 0)), Err(AccessError::Paused));
    assert!(check_request(&c, &margin(), &OWNER, &Request::new(Action::PlaceOrder, 4, 0)).is_ok());
    // Cancels are never paused.
    c.global_pause = ALL_OPERATIONS;
    assert!(check_request(&c, &margin(), &OWNER, &Request::new(Action::CancelOrder, 3, 0)).is_ok());
    assert!(c.is_paused(Operation::Funding, NO_MARKET));
}

#[test]
fn frozen_accounts_may_only_deposit_cancel_settle() {
    let mut m = margin();
    m.status = STATUS_FROZEN;
    for action in ACTIONS {
        let r = check_request(&config(), &m, &OWNER, &req(action));
        if action.allowed_when_frozen() {
            assert!(r.is_ok(), "{action:?}");
        } else {
            assert_eq!(r, Err(AccessError::AccountFrozen), "{action:?}");
        }
    }
    assert!(
        !Action::Withdraw.allowed_when_frozen() && !Action::Transfer.allowed_when_frozen() && !Action::PlaceOrder.allowed_when_frozen()
    );
}

#[test]
fn owner_market_limit() {
    let mut m = margin();
    m.allowed_markets = 1 << 5;
    assert_eq!(check_request(&config(), &m, &OWNER, &Request::new(Action::PlaceOrder, 3, 0)), Err(AccessError::MarketNotAllowed));
    assert!(check_request(&config(), &m, &OWNER, &Request::new(Action::PlaceOrder, 5, 0)).is_ok());
    assert_eq!(check_request(&config(), &m, &OWNER, &Request::new(Action::Fill, 64, 0)), Err(AccessError::MarketNotAllowed));
}

#[test]
fn sessions_within_scope_only() {
    let s = session();
    let place = Request::new(Action::PlaceOrder, 3, 1_000);
    assert_eq!(check_session(&s, &OWNER, &KEY, &place, 99), Ok(()));
    assert_eq!(check_session(&s, &OWNER, &KEY, &place, 100), Err(AccessError::SessionExpired));
    assert_eq!(check_session(&s, &OWNER, &KEY, &Request::new(Action::PlaceOrder, 3, 1_001), 0), Err(AccessError::SessionNotional));
    assert_eq!(check_session(&s, &OWNER, &KEY, &Request::new(Action::PlaceOrder, 4, 1), 0), Err(AccessError::SessionMarket));
    assert_eq!(check_session(&s, &OWNER, &KEY, &Request::new(Action::PlaceOrder, NO_MARKET, 1), 0), Err(AccessError::SessionMarket));
    assert_eq!(check_session(&s, &STRANGER, &KEY, &place, 0), Err(AccessError::SessionMismatch));
    assert_eq!(check_session(&s, &OWNER, &STRANGER, &place, 0), Err(AccessError::SessionMismatch));
    for action in [Action::Withdraw, Action::Transfer, Action::Deposit, Action::Settle] {
        assert_eq!(check_session(&s, &OWNER, &KEY, &req(action), 0), Err(AccessError::SessionScope), "{action:?}");
    }
    let mut cancel_only = s;
    cancel_only.scopes = SCOPE_CANCEL;
    assert_eq!(check_session(&cancel_only, &OWNER, &KEY, &place, 0), Err(AccessError::SessionScope));
    // Cancels carry no market or notional limit.
    assert_eq!(check_session(&cancel_only, &OWNER, &KEY, &Request::new(Action::CancelOrder, 9, u64::MAX), 0), Ok(()));
    let mut revoked = s;
    revoked.revoked = 1;
    assert_eq!(check_session(&revoked, &OWNER, &KEY, &place, 0), Err(AccessError::SessionRevoked));
    // A placement must fit what the budget has left.
    let mut spent = s;
    spent.spent = 1_600;
    assert_eq!(check_session(&spent, &OWNER, &KEY, &Request::new(Action::PlaceOrder, 3, 901), 0), Err(AccessError::SessionBudgetExceeded));
    assert_eq!(check_session(&spent, &OWNER, &KEY, &Request::new(Action::PlaceOrder, 3, 900), 0), Ok(()));
}

#[test]
fn session_fills_spend_the_budget_at_their_fill_price() {
    let mut s = session();
    spend_session(&mut s, 1_000, 99).unwrap();
    spend_session(&mut s, 1_000, 99).unwrap();
    let before = s;
    // Past the budget, above the per-order maximum, expired, revoked: refused, nothing spent.
    assert_eq!(spend_session(&mut s, 501, 99), Err(AccessError::SessionBudgetExceeded));
    assert_eq!(spend_session(&mut s, 1_001, 0), Err(AccessError::SessionNotional));
    assert_eq!(spend_session(&mut s, 1, 100), Err(AccessError::SessionExpired));
    let mut revoked = s;
    revoked.revoked = 1;
    assert_eq!(spend_session(&mut revoked, 1, 0), Err(AccessError::SessionRevoked));
    assert_eq!(s, before);
    spend_session(&mut s, 500, 99).unwrap();
    assert_eq!(s.spent, 2_500);
    assert_eq!(spend_session(&mut s, 1, 99), Err(AccessError::SessionBudgetExceeded));
}

#[test]
fn roles_are_bounded_rows_and_super_admin_holds_all() {
    let mut c = config();
    c.super_admin = [9; 32];
    c.roles[Role::Compliance as usize][0] = KEY;
    assert!(!c.has_role(Role::Compliance, &KEY), "count 0: the row is empty");
    c.role_counts[Role::Compliance as usize] = 1;
    assert!(c.has_role(Role::Compliance, &KEY));
    assert!(!c.has_role(Role::Admin, &KEY));
    assert!(c.has_role(Role::Admin, &[9; 32]) && c.has_role(Role::OracleAdmin, &[9; 32]));
    c.role_counts[Role::Compliance as usize] = 200; // corrupt count reads as the full row
    assert!(c.has_role(Role::Compliance, &KEY));
}

#[test]
fn action_codes_round_trip() {
    for a in ACTIONS {
        assert_eq!(Action::from_u8(a as u8), Ok(a));
    }
    assert_eq!(Action::from_u8(7), Err(AccessError::UnknownAction));
}

/// Reference model in whole rational arithmetic: tokens = min(cap, tokens + elapsed*rate).
#[test]
fn token_bucket_matches_a_reference_model() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..200 {
        let limit = RateLimit { capacity: 1 + rand(10) as u32, refill_milli_per_slot: 1 + rand(3_000) as u32 };
        let mut bucket = TokenBucket::default();
        let mut model: u64 = limit.capacity as u64 * MILLI; // thousandths
        let mut last: Option<u64> = None;
        let mut slot = 1 + rand(1_000);
        for _ in 0..300 {
            slot += rand(4);
            let before = bucket;
            let refilled = match last {
                None => limit.capacity as u64 * MILLI,
                Some(l) => (model + (slot - l) * limit.refill_milli_per_slot as u64).min(limit.capacity as u64 * MILLI),
            };
            let r = bucket.consume(&limit, slot);
            if refilled >= MILLI {
                assert_eq!(r, Ok(()));
                model = refilled - MILLI;
                last = Some(slot);
                assert_eq!(bucket.tokens_milli, model);
            } else {
                assert_eq!(r, Err(AccessError::RateLimited));
                assert_eq!(bucket, before, "a refused action changes nothing");
            }
        }
    }
}

#[test]
fn token_bucket_burst_then_refill() {
    let limit = RateLimit { capacity: 3, refill_milli_per_slot: 500 };
    let mut b = TokenBucket::default();
    for _ in 0..3 {
        b.consume(&limit, 10).unwrap();
    }
    assert_eq!(b.consume(&limit, 10), Err(AccessError::RateLimited));
    assert_eq!(b.consume(&limit, 11), Err(AccessError::RateLimited)); // half a token
    b.consume(&limit, 12).unwrap();
    // 2.5 of 3 tokens at slot 17, full from slot 18.
    assert!(!b.is_full(&limit, 17));
    assert!(b.is_full(&limit, 18));
    assert!(TokenBucket::default().is_full(&limit, 0));
    // Idle for ages: full, not overflowed.
    b.consume(&limit, u64::MAX).unwrap();
    assert_eq!(b.tokens_milli, 2 * MILLI);
    // Off: always allowed, bucket untouched.
    let mut untouched = TokenBucket::default();
    untouched.consume(&RateLimit::default(), 5).unwrap();
    assert_eq!(untouched, TokenBucket::default());
    assert!(RateLimit::default().is_valid());
    assert!(!RateLimit { capacity: 1, refill_milli_per_slot: 0 }.is_valid());
}
