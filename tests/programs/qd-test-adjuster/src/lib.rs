//! qd-test-adjuster: a program that exists only for tests. Deployed at qd-trading's id, it is the
//! real CPI path of qd-collateral's `adjust_balance` until qd-trading exists: it signs with its
//! own [b"authority"] PDA, exactly as qd-trading will. Deployed at any other id, its PDA is a
//! lookalike that qd-collateral must refuse.
//!
//! Instruction data: delta (i64 LE). Accounts: its authority PDA, collateral config (writable),
//! balances (writable), the qd-collateral program.
#![cfg_attr(target_arch = "bpf", no_std)]

mod processor {
    use qd_runtime::account_info::AccountInfo;
    use qd_runtime::borsh::Reader;
    use qd_runtime::error::{ProgramResult, RuntimeError};
    use qd_runtime::pda;
    use qd_runtime::pubkey::Pubkey;

    pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let [authority, config, balances, _collateral_program] = accounts else {
            return Err(RuntimeError::NotEnoughAccounts.into());
        };
        let mut r = Reader::new(data);
        let delta = r.i64()?;
        r.finish()?;
        let (_, bump) = pda::find(&[b"authority"], program_id)?;
        qd_collateral_state::adjust_balance(authority, config, balances, delta, &[b"authority", &[bump]])
    }
}

qd_runtime::entrypoint!(processor::process);
