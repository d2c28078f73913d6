//! Cross-program invocation through `sol_invoke_signed_c` (C-layout instruction, metas, account
//! infos and signer seeds built on the stack from the zero-copy handles).

use crate::account_info::AccountInfo;
use crate::error::{ProgramResult, RuntimeError};
use crate::pubkey::Pubkey;
use crate::syscalls::{self, SolBytes};

pub const MAX_CPI_ACCOUNTS: usize = 12;
pub const MAX_SIGNERS: usize = 2;
pub const MAX_SIGNER_SEEDS: usize = 6;

/// One account of the callee's instruction.
#[derive(Clone, Copy)]
pub struct AccountMeta<'a> {
    pub key: &'a Pubkey,
    pub writable: bool,
    pub signer: bool,
}

impl<'a> AccountMeta<'a> {
    pub fn writable(key: &'a Pubkey, signer: bool) -> Self {
        AccountMeta { key, writable: true, signer }
    }
    pub fn readonly(key: &'a Pubkey, signer: bool) -> Self {
        AccountMeta { key, writable: false, signer }
    }
}

#[repr(C)]
struct SolAccountMeta {
    pubkey: *const Pubkey,
    is_writable: bool,
    is_signer: bool,
}

#[repr(C)]
struct SolInstruction {
    program_id: *const Pubkey,
    accounts: *const SolAccountMeta,
    accounts_len: u64,
    data: *const u8,
    data_len: u64,
}

#[repr(C)]
struct SolAccountInfo {
    key: *const Pubkey,
    lamports: *mut u64,
    data_len: u64,
    data: *mut u8,
    owner: *const Pubkey,
    rent_epoch: u64,
    is_signer: bool,
    is_writable: bool,
    executable: bool,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SolSignerSeeds {
    seeds: *const SolBytes,
    len: u64,
}

/// Invokes `program` with `metas` and instruction `data`. `infos` must hold every account the
/// metas name (and the program account is not needed for SBPF v0 CPI). `signers` are the PDA
/// seed lists (bump included) this program signs for.
pub fn invoke_signed(program: &Pubkey, metas: &[AccountMeta], infos: &[&AccountInfo], data: &[u8], signers: &[&[&[u8]]]) -> ProgramResult {
    if metas.len() > MAX_CPI_ACCOUNTS || infos.len() > MAX_CPI_ACCOUNTS || signers.len() > MAX_SIGNERS {
        return Err(RuntimeError::TooManyAccounts.into());
    }
    let mut sol_metas: [SolAccountMeta; MAX_CPI_ACCOUNTS] =
        core::array::from_fn(|_| SolAccountMeta { pubkey: core::ptr::null(), is_writable: false, is_signer: false });
    for (slot, meta) in sol_metas.iter_mut().zip(metas) {
        *slot = SolAccountMeta { pubkey: meta.key, is_writable: meta.writable, is_signer: meta.signer };
    }
    let mut sol_infos: [SolAccountInfo; MAX_CPI_ACCOUNTS] = core::array::from_fn(|_| SolAccountInfo {
        key: core::ptr::null(),
        lamports: core::ptr::null_mut(),
        data_len: 0,
        data: core::ptr::null_mut(),
        owner: core::ptr::null(),
        rent_epoch: 0,
        is_signer: false,
        is_writable: false,
        executable: false,
    });
    for (slot, info) in sol_infos.iter_mut().zip(infos) {
        *slot = SolAccountInfo {
            key: info.key(),
            lamports: info.lamports_ptr(),
            data_len: info.data_len() as u64,
            data: info.data_ptr(),
            owner: info.owner(),
            rent_epoch: 0,
            is_signer: info.is_signer(),
            is_writable: info.is_writable(),
            executable: info.executable(),
        };
    }
    let mut seeds = [[SolBytes { addr: core::ptr::null(), len: 0 }; MAX_SIGNER_SEEDS]; MAX_SIGNERS];
    let mut signer_seeds = [SolSignerSeeds { seeds: core::ptr::null(), len: 0 }; MAX_SIGNERS];
    for (i, signer) in signers.iter().enumerate() {
        if signer.len() > MAX_SIGNER_SEEDS {
            return Err(RuntimeError::TooManySeeds.into());
        }
        for (slot, seed) in seeds[i].iter_mut().zip(signer.iter()) {
            *slot = SolBytes::new(seed);
        }
        signer_seeds[i] = SolSignerSeeds { seeds: seeds[i].as_ptr(), len: signer.len() as u64 };
    }
    let instruction = SolInstruction {
        program_id: program,
        accounts: sol_metas.as_ptr(),
        accounts_len: metas.len() as u64,
        data: data.as_ptr(),
        data_len: data.len() as u64,
    };
    // SAFETY: every pointer refers to stack arrays or live input-buffer memory that outlives
    // the call; lengths match.
    let rc = unsafe {
        syscalls::sol_invoke_signed_c(
            &instruction as *const SolInstruction as *const u8,
            sol_infos.as_ptr() as *const u8,
            infos.len() as u64,
            signer_seeds.as_ptr() as *const u8,
            signers.len() as u64,
        )
    };
    if rc != 0 {
        return Err(RuntimeError::CpiFailed.into());
    }
    Ok(())
}
