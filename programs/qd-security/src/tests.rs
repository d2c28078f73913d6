//! Host tests of the processor: `qd_runtime::host::run` on the program's entrypoint, with the
//! accounts each instruction declares (PDA derivation and CPI refuse on the host, so creating
//! accounts and freezing are left to tests/test_security_program.py).

use crate::events::{AuditEvent, ProposalEvent, SessionRevoked, AUDIT_GRANT_ROLE, AUDIT_PAUSE, PROPOSAL_CANCELLED, PROPOSAL_EXECUTED};
use crate::state::{Proposal, AUTHORITY_SUPER_ADMIN, CANCELLED, EXECUTED, PENDING};
use qd_access::{AccessError, Action, Actor, Role, SecurityConfig, Session, NO_MARKET, SCOPE_CANCEL};
use qd_core_state::MarginAccount;
use qd_ids::{SECURITY_CONFIG, TRADING_AUTHORITY};
use qd_runtime::account::AccountType;
use qd_runtime::borsh::{BorshWrite, Writer};
use qd_runtime::error::RuntimeError;
use qd_runtime::hash::discriminator;
use qd_runtime::host::{self, HostAccount, HostRun};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::INSTRUCTIONS_ID;

use crate::error::SecurityError;

const ADMIN: Pubkey = [1; 32];
const RISK: Pubkey = [2; 32];
const STRANGER: Pubkey = [3; 32];
const OWNER: Pubkey = [4; 32];
const KEY: Pubkey = [5; 32];
const PROPOSAL: Pubkey = [6; 32];
const SESSION: Pubkey = [7; 32];
const MARGIN: Pubkey = [10; 32];
const DELEGATE: Pubkey = [11; 32];
const NOW: i64 = 1_000_000;

/// Account data: the type's discriminator, then its fields as laid out (the layouts have no
/// implicit padding, so borsh writes them byte for byte).
fn data<T: AccountType + BorshWrite, const N: usize>(value: &T) -> Vec<u8> {
    let mut w = Writer::<N>::new();
    w.bytes(&T::DISCRIMINATOR);
    value.write(&mut w);
    let bytes = w.finish().unwrap().to_vec();
    assert_eq!(bytes.len(), T::LEN);
    bytes
}

fn config() -> SecurityConfig {
    // SAFETY: all-zero is a valid SecurityConfig (Pod).
    let mut c: SecurityConfig = unsafe { core::mem::zeroed() };
    c.super_admin = ADMIN;
    c.roles[Role::RiskManager as usize][0] = RISK;
    c.role_counts[Role::RiskManager as usize] = 1;
    c.timelock_delay = 60;
    c
}

fn config_account(c: &SecurityConfig) -> HostAccount {
    HostAccount::new(SECURITY_CONFIG, crate::ID, data::<_, 736>(c)).writable()
}

/// A pending proposal of `change` by `proposer` with the ADMIN authority, executable since NOW.
fn proposal(proposer: Pubkey, authority: u8, change: &[u8]) -> HostAccount {
    // SAFETY: all-zero is a valid Proposal (Pod).
    let mut p: Proposal = unsafe { core::mem::zeroed() };
    p.state = PENDING;
    p.authority = authority;
    p.proposer = proposer;
    p.target_program = crate::ID;
    p.eta = NOW;
    p.data[..change.len()].copy_from_slice(change);
    p.data_len = change.len() as u16;
    HostAccount::new(PROPOSAL, crate::ID, data::<_, 632>(&p)).writable()
}

fn session() -> HostAccount {
    // SAFETY: all-zero is a valid Session (Pod).
    let mut s: Session = unsafe { core::mem::zeroed() };
    s.owner = OWNER;
    s.session_key = KEY;
    s.max_notional = 100;
    s.budget = 150;
    s.expires_at = NOW + 10;
    HostAccount::new(SESSION, crate::ID, data::<_, 144>(&s)).writable()
}

fn wallet(key: Pubkey) -> HostAccount {
    HostAccount::new(key, qd_ids::SYSTEM_PROGRAM, vec![])
}

/// The Instructions sysvar of a transaction without a durable-nonce advance.
fn instructions() -> HostAccount {
    HostAccount::new(INSTRUCTIONS_ID, [0; 32], vec![0, 0])
}

fn ix(name: &str, args: &[u8]) -> Vec<u8> {
    [&discriminator("global", name)[..], args].concat()
}

/// One run at slot 10, time NOW.
fn outcome(accounts: &[HostAccount], data: &[u8]) -> HostRun {
    host::set_clock(10, NOW);
    host::run(crate::entrypoint, &crate::ID, accounts, data)
}

fn run(accounts: &[HostAccount], data: &[u8]) -> u64 {
    outcome(accounts, data).code
}

fn code(e: impl Into<qd_runtime::error::ProgramError>) -> u64 {
    e.into().0 as u64
}

fn set_pause(authority: HostAccount, config: HostAccount) -> Vec<HostAccount> {
    vec![authority, config, instructions()]
}

const PAUSE_FILLS_IN_5: [u8; 4] = [5, 0, 1 << 3, 1];

#[test]
fn unknown_discriminators_are_refused_by_name() {
    let ran = outcome(&[], &[0; 8]);
    assert_eq!(ran.code, 6000);
    assert_eq!(
        ran.logs,
        ["AnchorError occurred. Error Code: InvalidInstruction. Error Number: 6000. Error Message: Unknown instruction discriminator."]
    );
    // The program's own errors are logged by name too.
    let ran = outcome(&[], &ix("set_pause", &[5, 0, 1, 0]));
    assert_eq!(ran.code, 6124);
    assert_eq!(ran.logs.len(), 1);
    assert!(ran.logs[0].starts_with("AnchorError occurred. Error Code: UnpauseRequiresTimelock. Error Number: 6124."), "{:?}", ran.logs);
    // A copy deployed at another address refuses everything.
    assert_eq!(host::run(crate::entrypoint, &[9; 32], &[], &ix("set_pause", &PAUSE_FILLS_IN_5)).code, code(RuntimeError::WrongProgram));
}

#[test]
fn set_pause_checks_its_accounts_then_the_role() {
    let data = ix("set_pause", &PAUSE_FILLS_IN_5);
    let c = config();
    // Market 5's fill bit is set and audited with the config's next sequence number.
    let ran = outcome(&set_pause(wallet(RISK).signer(), config_account(&c)), &data);
    assert_eq!(ran.code, 0);
    let after = ran.accounts[1].body::<SecurityConfig>();
    assert_eq!((after.market_pause[5], after.global_pause, after.audit_seq), (1 << 3, 0, 1));
    assert_eq!(after.market_pause.iter().filter(|&&m| m != 0).count(), 1);
    let value = (1u64 << 3 | 5 << 8).to_le_bytes();
    let expected = [
        &AuditEvent::DISCRIMINATOR[..],
        &RISK,
        &SECURITY_CONFIG,
        &[AUDIT_PAUSE],
        &[0; 32],
        &value,
        &10u64.to_le_bytes(),
        &1u64.to_le_bytes(),
    ];
    assert_eq!(ran.events, [expected.concat()]);
    assert_eq!(run(&set_pause(wallet(ADMIN).signer(), config_account(&c)), &data), 0);
    assert_eq!(run(&set_pause(wallet(STRANGER).signer(), config_account(&c)), &data), code(AccessError::MissingRole));
    assert_eq!(run(&set_pause(wallet(RISK), config_account(&c)), &data), code(RuntimeError::MissingSigner));
    assert_eq!(run(&set_pause(wallet(RISK).signer(), config_account(&c))[..2], &data), code(RuntimeError::NotEnoughAccounts));
    let mut read_only = config_account(&c);
    read_only.is_writable = false;
    assert_eq!(run(&set_pause(wallet(RISK).signer(), read_only), &data), code(RuntimeError::NotWritable));
    let mut foreign = config_account(&c);
    foreign.owner = qd_ids::QD_CORE;
    assert_eq!(run(&set_pause(wallet(RISK).signer(), foreign), &data), code(RuntimeError::WrongOwner));
    let mut elsewhere = config_account(&c);
    elsewhere.key = [8; 32];
    assert_eq!(run(&set_pause(wallet(RISK).signer(), elsewhere), &data), code(RuntimeError::WrongAddress));
    let mut accounts = set_pause(wallet(RISK).signer(), config_account(&c));
    accounts[2].key = [8; 32];
    assert_eq!(run(&accounts, &data), code(RuntimeError::WrongAddress));
}

fn execute(config: HostAccount, proposal: HostAccount) -> Vec<HostAccount> {
    vec![config, proposal, instructions()]
}

fn grant(role: Role, holder: Pubkey) -> Vec<u8> {
    [&[0u8, role as u8][..], &holder].concat()
}

#[test]
fn execute_proposal_applies_the_stored_change_once_its_proposer_still_may() {
    let data = ix("execute_proposal", &[]);
    let c = config();
    let change = grant(Role::Compliance, STRANGER);
    let ran = outcome(&execute(config_account(&c), proposal(ADMIN, Role::Admin as u8, &change)), &data);
    assert_eq!(ran.code, 0);
    let (after, p) = (ran.accounts[0].body::<SecurityConfig>(), ran.accounts[1].body::<Proposal>());
    assert!(after.has_role(Role::Compliance, &STRANGER));
    assert_eq!((after.audit_seq, p.state, p.closed_at), (1, EXECUTED, NOW));
    // The change's audit (actor: the proposer), then the proposal's step.
    let [audit, step] = &ran.events[..] else { panic!("{:?}", ran.events) };
    assert_eq!((&audit[..8], &audit[8..40], audit[72]), (&AuditEvent::DISCRIMINATOR[..], &ADMIN[..], AUDIT_GRANT_ROLE));
    assert_eq!((&step[..8], &step[8..40], step[48]), (&ProposalEvent::DISCRIMINATOR[..], &PROPOSAL[..], PROPOSAL_EXECUTED));
    assert_eq!(run(&execute(config_account(&c), proposal(ADMIN, AUTHORITY_SUPER_ADMIN, &change)), &data), 0);
    // The proposer lost its role; the row is full; the holder already has it.
    assert_eq!(
        run(&execute(config_account(&c), proposal(STRANGER, Role::Admin as u8, &change)), &data),
        code(SecurityError::ProposerLostAuthority)
    );
    let mut full = config();
    full.role_counts[Role::RiskManager as usize] = 4;
    assert_eq!(
        run(&execute(config_account(&full), proposal(ADMIN, 0, &grant(Role::RiskManager, STRANGER))), &data),
        code(SecurityError::RoleFull)
    );
    assert_eq!(
        run(&execute(config_account(&c), proposal(ADMIN, 0, &grant(Role::RiskManager, RISK))), &data),
        code(SecurityError::AlreadyHasRole)
    );
    // One account in both writable slots is refused before anything is read.
    assert_eq!(run(&execute(config_account(&c), config_account(&c)), &data), code(RuntimeError::DuplicateAccount));
    let mut done = proposal(ADMIN, 0, &change);
    done.data[8 + 2] = EXECUTED;
    assert_eq!(run(&execute(config_account(&c), done), &data), code(SecurityError::ProposalAlreadyExecuted));
    let mut config_type = config_account(&c);
    config_type.key = PROPOSAL;
    assert_eq!(run(&execute(config_account(&c), config_type), &data), code(RuntimeError::WrongAccountSize));
}

#[test]
fn proposals_close_to_their_proposer_only_once_finished() {
    let data = ix("close_proposal", &[]);
    let pending = proposal(ADMIN, 0, &grant(Role::Compliance, STRANGER));
    assert_eq!(run(&[pending.clone(), wallet(ADMIN).writable()], &data), code(SecurityError::ProposalPending));
    let mut done = pending;
    done.data[8 + 2] = EXECUTED;
    // The rent goes to the proposer; the proposal is emptied and handed to the System program.
    let ran = outcome(&[done.clone(), wallet(ADMIN).writable()], &data);
    assert_eq!(ran.code, 0);
    let [closed, proposer] = &ran.accounts[..] else { panic!() };
    assert_eq!((closed.lamports, closed.data.len(), closed.owner), (0, 0, [0; 32]));
    assert_eq!(proposer.lamports, 2_000_000_000);
    assert_eq!(run(&[done.clone(), wallet(STRANGER).writable()], &data), code(SecurityError::NotProposer));
    assert_eq!(run(&[done.clone(), wallet(ADMIN)], &data), code(RuntimeError::NotWritable));
    // The proposal passed as its own proposer: one writable account twice.
    assert_eq!(run(&[done.clone(), done], &data), code(RuntimeError::DuplicateAccount));
}

#[test]
fn cancel_and_accept_take_their_signer_from_the_declared_accounts() {
    let data = ix("cancel_proposal", &[]);
    let c = config();
    let cancel = |who: HostAccount| {
        outcome(&[who, config_account(&c), proposal(RISK, 0, &grant(Role::Compliance, STRANGER)), instructions()], &data)
    };
    let ran = cancel(wallet(RISK).signer());
    assert_eq!((ran.code, ran.accounts[2].body::<Proposal>().state), (0, CANCELLED));
    // ProposalEvent: proposal, id, action, by (the canceller), ...
    let step = &ran.events[0];
    assert_eq!((&step[..8], step[48], &step[49..81]), (&ProposalEvent::DISCRIMINATOR[..], PROPOSAL_CANCELLED, &RISK[..]));
    assert!(!ran.accounts[1].body::<SecurityConfig>().has_role(Role::Compliance, &STRANGER));
    assert_eq!(cancel(wallet(ADMIN).signer()).code, 0);
    assert_eq!(cancel(wallet(STRANGER).signer()).code, code(SecurityError::NotCanceller));
    assert_eq!(cancel(wallet(RISK)).code, code(RuntimeError::MissingSigner));
    let accept = ix("accept_super_admin", &[]);
    let mut handed = config();
    handed.pending_super_admin = STRANGER;
    let ran = outcome(&[wallet(STRANGER).signer(), config_account(&handed), instructions()], &accept);
    assert_eq!(ran.code, 0);
    let after = ran.accounts[1].body::<SecurityConfig>();
    assert_eq!((after.super_admin, after.pending_super_admin, after.audit_seq), (STRANGER, [0; 32], 1));
    assert_eq!(run(&[wallet(RISK).signer(), config_account(&handed), instructions()], &accept), code(SecurityError::NotPendingSuperAdmin));
    assert_eq!(
        run(&[wallet(STRANGER).signer(), config_account(&config()), instructions()], &accept),
        code(SecurityError::NotPendingSuperAdmin)
    );
}

#[test]
fn propose_decodes_its_change_before_the_accounts() {
    // Nothing but the data: an undecodable change is named before the missing accounts.
    assert_eq!(run(&[], &ix("propose", &[&crate::ID[..], &1u32.to_le_bytes(), &[9]].concat())), code(SecurityError::InvalidChange));
    assert_eq!(
        run(&[], &ix("propose", &[&qd_ids::QD_CORE[..], &1u32.to_le_bytes(), &[9]].concat())),
        code(SecurityError::UnsupportedTarget)
    );
    let change = grant(Role::Compliance, STRANGER);
    let data = ix("propose", &[&crate::ID[..], &(change.len() as u32).to_le_bytes(), &change].concat());
    assert_eq!(run(&[], &data), code(RuntimeError::NotEnoughAccounts));
    let c = config();
    let accounts = |proposer: HostAccount| {
        let proposal = HostAccount::new(PROPOSAL, qd_ids::SYSTEM_PROGRAM, vec![]).writable();
        vec![proposer, config_account(&c), proposal, wallet(qd_ids::SYSTEM_PROGRAM), instructions()]
    };
    assert_eq!(run(&accounts(wallet(ADMIN).writable()), &data), code(RuntimeError::MissingSigner));
    assert_eq!(run(&accounts(wallet(ADMIN).signer()), &data), code(RuntimeError::NotWritable));
    assert_eq!(run(&accounts(wallet(STRANGER).signer().writable()), &data), code(AccessError::MissingRole));
    // The ADMIN passes every check up to the proposal's address, which needs the validator.
    assert_eq!(run(&accounts(wallet(ADMIN).signer().writable()), &data), code(RuntimeError::WrongAddress));
}

#[test]
fn sessions_are_revoked_by_their_parties_and_spent_by_qd_trading_only() {
    let revoke = ix("revoke_session", &[]);
    let ran = outcome(&[wallet(KEY).signer(), session()], &revoke);
    assert_eq!((ran.code, ran.accounts[1].body::<Session>().revoked), (0, 1));
    let expected = [&SessionRevoked::DISCRIMINATOR[..], &OWNER, &SESSION, &KEY, &10u64.to_le_bytes()];
    assert_eq!(ran.events, [expected.concat()]);
    assert_eq!(run(&[wallet(OWNER).signer(), session()], &revoke), 0);
    assert_eq!(run(&[wallet(STRANGER).signer(), session()], &revoke), code(SecurityError::NotSessionParty));
    let mut foreign = session();
    foreign.owner = qd_ids::QD_CORE;
    assert_eq!(run(&[wallet(KEY).signer(), foreign], &revoke), code(RuntimeError::WrongOwner));
    let fill = |notional: u64| ix("record_session_fill", &notional.to_le_bytes());
    let ran = outcome(&[wallet(TRADING_AUTHORITY).signer(), session()], &fill(100));
    assert_eq!((ran.code, ran.accounts[1].body::<Session>().spent), (0, 100));
    assert_eq!(run(&[wallet(TRADING_AUTHORITY).signer(), session()], &fill(101)), code(AccessError::SessionNotional));
    assert_eq!(run(&[wallet(STRANGER).signer(), session()], &fill(1)), code(SecurityError::NotTradingAuthority));
    assert_eq!(run(&[wallet(TRADING_AUTHORITY), session()], &fill(1)), code(RuntimeError::MissingSigner));
    assert_eq!(run(&[wallet(TRADING_AUTHORITY).signer()], &fill(1)), code(RuntimeError::NotEnoughAccounts));
    let close = ix("close_session", &[]);
    assert_eq!(run(&[wallet(OWNER).signer().writable(), session()], &close), code(SecurityError::SessionStillActive));
    assert_eq!(run(&[wallet(KEY).signer().writable(), session()], &close), code(SecurityError::NotSessionOwner));
    assert_eq!(run(&[session().signer(), session()], &close), code(RuntimeError::DuplicateAccount));
}

#[test]
fn check_action_returns_the_actor_and_writes_nothing() {
    let check = ix("check_action", &[&[Action::CancelOrder as u8][..], &NO_MARKET.to_le_bytes(), &0u64.to_le_bytes()].concat());
    // SAFETY: all-zero is a valid MarginAccount (Pod).
    let mut m: MarginAccount = unsafe { core::mem::zeroed() };
    m.owner = OWNER;
    m.delegate = DELEGATE;
    let margin = HostAccount::new(MARGIN, qd_ids::QD_CORE, host::account_data(&m));
    let accounts = |signer: Pubkey, session: Option<HostAccount>| {
        let mut a = vec![wallet(signer).signer(), config_account(&config()), margin.clone()];
        a.extend(session);
        a
    };
    let mut scoped = session().body::<Session>();
    scoped.scopes = SCOPE_CANCEL;
    let scoped = HostAccount::new(SESSION, crate::ID, data::<_, 144>(&scoped));
    for (signer, session, actor) in [(OWNER, None, Actor::Owner), (DELEGATE, None, Actor::Delegate), (KEY, Some(scoped), Actor::Session)] {
        let input = accounts(signer, session);
        let ran = outcome(&input, &check);
        assert_eq!((ran.code, &ran.return_data[..]), (0, &[actor as u8][..]), "{:?}", ran.logs);
        assert!(ran.events.is_empty());
        assert!(ran.accounts.iter().zip(&input).all(|(a, b)| (a.lamports, &a.data) == (b.lamports, &b.data)));
    }
    // A stranger, and a session key whose session lacks the cancel scope: refused, nothing returned.
    let refused = outcome(&accounts(STRANGER, None), &check);
    assert_eq!((refused.code, refused.return_data.len()), (code(AccessError::NotAuthorized), 0));
    assert_eq!(run(&accounts(KEY, Some(session())), &check), code(AccessError::SessionScope));
}
