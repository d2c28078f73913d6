//! One handler per runtime feature under test. Handlers check what their feature needs (PDA
//! addresses, owners, duplicates) so the tests can also assert the refusals.

use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{self, Reader, Writer};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::log::{emit, set_return_data};
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::{minimum_balance, Clock};
use qd_runtime::{pda, system, token, validate};

const CREATE_STATE: [u8; 8] = discriminator("global", "create_state");
const TRANSFER_SOL: [u8; 8] = discriminator("global", "transfer_sol");
const INIT_VAULT: [u8; 8] = discriminator("global", "init_vault");
const MINT_TO: [u8; 8] = discriminator("global", "mint_to");
const VAULT_TRANSFER: [u8; 8] = discriminator("global", "vault_transfer");
const RESIZE: [u8; 8] = discriminator("global", "resize");
const EMIT_CLOCK: [u8; 8] = discriminator("global", "emit_clock");
const CLOSE: [u8; 8] = discriminator("global", "close");
const INSPECT: [u8; 8] = discriminator("global", "inspect");
const VERIFY_PDA: [u8; 8] = discriminator("global", "verify_pda");

const CLOCK_READ_EVENT: [u8; 8] = discriminator("event", "ClockRead");

const STATE_SEED: &[u8] = b"state";
const WALLET_SEED: &[u8] = b"wallet";
const VAULT_SEED: &[u8] = b"vault";
const AUTHORITY_SEED: &[u8] = b"authority";

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    let (tag, mut r) = borsh::instruction(data)?;
    match tag {
        CREATE_STATE => {
            let space = r.u64()?;
            r.finish()?;
            create_state(accounts, space as usize)
        }
        TRANSFER_SOL => {
            let lamports = r.u64()?;
            r.finish()?;
            transfer_sol(accounts, lamports)
        }
        INIT_VAULT => {
            r.finish()?;
            init_vault(accounts)
        }
        MINT_TO => {
            let amount = r.u64()?;
            r.finish()?;
            mint_to(accounts, amount)
        }
        VAULT_TRANSFER => {
            let amount = r.u64()?;
            let decimals = r.option(|r| r.u8())?;
            r.finish()?;
            vault_transfer(accounts, amount, decimals)
        }
        RESIZE => resize(accounts, r),
        EMIT_CLOCK => {
            let tag = r.u64()?;
            r.finish()?;
            emit_clock(tag)
        }
        CLOSE => {
            r.finish()?;
            close(accounts)
        }
        INSPECT => {
            r.finish()?;
            inspect(accounts)
        }
        VERIFY_PDA => {
            let bump = r.u8()?;
            r.finish()?;
            verify_pda(accounts, bump)
        }
        _ => Err(RuntimeError::InvalidInstruction.into()),
    }
}

/// Accounts: payer (signer, writable), state PDA (writable), system program.
fn create_state(accounts: &[AccountInfo], space: usize) -> ProgramResult {
    let [payer, state, system_program] = validate::accounts::<3>(accounts)?;
    validate::signer(payer)?;
    validate::program(system_program, &system::ID)?;
    let bump = pda::check_canonical(state.key(), &[STATE_SEED, payer.key()], &crate::ID)?;
    system::create_account(payer, state, space, &crate::ID, &[&[STATE_SEED, payer.key(), &[bump]]])
}

/// Accounts: from (writable; a signer, or else the wallet PDA), to (writable), system program.
fn transfer_sol(accounts: &[AccountInfo], lamports: u64) -> ProgramResult {
    let [from, to, system_program] = validate::accounts::<3>(accounts)?;
    validate::program(system_program, &system::ID)?;
    if from.is_signer() {
        return system::transfer(from, to, lamports, &[]);
    }
    let bump = pda::check_canonical(from.key(), &[WALLET_SEED], &crate::ID)?;
    system::transfer(from, to, lamports, &[&[WALLET_SEED, &[bump]]])
}

/// The bump of the authority PDA, which owns the vault and is the mint authority.
fn authority_bump(authority: &AccountInfo) -> Result<u8, ProgramError> {
    pda::check_canonical(authority.key(), &[AUTHORITY_SEED], &crate::ID)
}

/// Accounts: payer (signer, writable), vault PDA (writable), mint, authority PDA, system
/// program, token program.
fn init_vault(accounts: &[AccountInfo]) -> ProgramResult {
    let [payer, vault, mint, authority, system_program, token_program] = validate::accounts::<6>(accounts)?;
    validate::signer(payer)?;
    validate::program(system_program, &system::ID)?;
    authority_bump(authority)?;
    let bump = pda::check_canonical(vault.key(), &[VAULT_SEED, mint.key()], &crate::ID)?;
    system::create_account(payer, vault, token::ACCOUNT_LEN, token_program.key(), &[&[VAULT_SEED, mint.key(), &[bump]]])?;
    token::initialize_account3(token_program, vault, mint, authority.key())
}

/// Accounts: mint (writable), destination token account (writable), authority PDA, token program.
fn mint_to(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let [mint, destination, authority, token_program] = validate::accounts::<4>(accounts)?;
    let bump = authority_bump(authority)?;
    token::mint_to(token_program, mint, destination, authority, amount, &[&[AUTHORITY_SEED, &[bump]]])
}

/// Accounts: vault (writable), mint, destination (writable), authority PDA, token program.
fn vault_transfer(accounts: &[AccountInfo], amount: u64, decimals: Option<u8>) -> ProgramResult {
    let [vault, mint, destination, authority, token_program] = validate::accounts::<5>(accounts)?;
    let bump = authority_bump(authority)?;
    let seeds: &[&[&[u8]]] = &[&[AUTHORITY_SEED, &[bump]]];
    match decimals {
        None => token::transfer(token_program, vault, destination, authority, amount, seeds)?,
        Some(d) => token::transfer_checked(token_program, vault, mint, destination, authority, (amount, d), seeds)?,
    }
    // The runtime copies the callee's writes back into our input buffer: read them there.
    set_return_data(&token::amount(vault)?.to_le_bytes());
    Ok(())
}

/// Accounts: payer (signer, writable), account owned by this program (writable), system program.
fn resize(accounts: &[AccountInfo], mut r: Reader) -> ProgramResult {
    let [payer, account, system_program] = validate::accounts::<3>(accounts)?;
    validate::distinct(&[payer, account])?;
    validate::signer(payer)?;
    validate::owned_by(account, &crate::ID)?;
    validate::program(system_program, &system::ID)?;
    let steps = r.u32()?;
    for _ in 0..steps {
        account.resize(r.u32()? as usize)?;
    }
    r.finish()?;
    // Resize first, then settle rent: the CPI must carry the new length to the runtime.
    let needed = minimum_balance(account.data_len())?;
    let held = account.lamports();
    if held < needed {
        system::transfer(payer, account, needed - held, &[])
    } else {
        account.transfer_lamports(payer, held - needed)
    }
}

fn emit_clock(tag: u64) -> ProgramResult {
    let clock = Clock::get()?;
    let mut event = Writer::<40>::new();
    event.bytes(&CLOCK_READ_EVENT).u64(tag).u64(clock.slot).i64(clock.unix_timestamp);
    emit(event.finish()?);
    let mut out = Writer::<24>::new();
    out.u64(clock.slot).i64(clock.unix_timestamp).u64(clock.epoch);
    set_return_data(out.finish()?);
    Ok(())
}

/// Accounts: account owned by this program (writable), destination (writable). No
/// `validate::distinct` here: `AccountInfo::close` must refuse a duplicate on its own.
fn close(accounts: &[AccountInfo]) -> ProgramResult {
    let [account, destination] = validate::accounts::<2>(accounts)?;
    validate::owned_by(account, &crate::ID)?;
    account.close(destination)
}

/// Accounts: any account. Returns owner (32 bytes), lamports (u64), data length (u64).
fn inspect(accounts: &[AccountInfo]) -> ProgramResult {
    let [account] = validate::accounts::<1>(accounts)?;
    let mut out = Writer::<48>::new();
    out.pubkey(account.owner()).u64(account.lamports()).u64(account.data_len() as u64);
    set_return_data(out.finish()?);
    Ok(())
}

/// Accounts: owner, state address. Checks the state PDA [STATE_SEED, owner] with a bump the
/// caller supplies (as programs do with the canonical bump they stored at creation).
fn verify_pda(accounts: &[AccountInfo], bump: u8) -> ProgramResult {
    let [owner, state] = validate::accounts::<2>(accounts)?;
    pda::verify(state.key(), &[STATE_SEED, owner.key()], bump, &crate::ID)
}
