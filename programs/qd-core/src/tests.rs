//! Host tests of the processor: the program's entrypoint run on accounts laid out as the loader
//! lays them out (`qd_runtime::host`). CPI and PDA derivation refuse on the host, so these cover
//! decoding, the accounts declarations, the owner and authority checks, and the instructions that
//! need neither (delegate, limits, freeze).

use crate::error::CoreError;
use crate::events::{DelegateChanged, LimitsChanged};
use qd_core_state::{MarginAccount, MarginError, STATUS_FROZEN};
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
