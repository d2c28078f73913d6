//! Who may initialize a program's singleton configuration: the program's upgrade authority.
//! Without this, anyone watching the deployment could front-run the first `initialize` and own
//! the venue's admin keys.

use crate::account_info::AccountInfo;
use crate::error::{ProgramResult, RuntimeError};
use crate::pubkey::{pubkey, Pubkey};
use crate::validate;

/// The upgradeable loader (v3): programs on every public cluster.
pub const BPF_LOADER_UPGRADEABLE: Pubkey = pubkey("BPFLoaderUpgradeab1e11111111111111111111111");
/// The immutable loader (v2): clusters no longer accept new deployments with it; LiteSVM and
/// the local validator load programs with it. An immutable program has no authority, so the
/// first signer initializes (acceptable only where the deployer controls the whole chain).
pub const BPF_LOADER_2: Pubkey = pubkey("BPFLoader2111111111111111111111111111111111");

/// `signer` may initialize `program_id`: `program` is that program's account and, for an
/// upgradeable program, `program_data` is its ProgramData account naming `signer` as upgrade
/// authority.
pub fn check_deployer(program_id: &Pubkey, program: &AccountInfo, program_data: &AccountInfo, signer: &AccountInfo) -> ProgramResult {
    validate::address(program, program_id)?;
    validate::signer(signer)?;
    check_loader_state(program.owner(), program.data(), program_data.key(), program_data.owner(), program_data.data(), signer.key())
}

/// The loader-state part of `check_deployer`, over raw account fields (host-tested). Layouts are
/// bincode `UpgradeableLoaderState`: Program = tag 2 (u32) + programdata address; ProgramData =
/// tag 3 + slot (u64) + Option<Pubkey> (1-byte tag) upgrade authority.
pub fn check_loader_state(
    program_owner: &Pubkey,
    program_state: &[u8],
    data_key: &Pubkey,
    data_owner: &Pubkey,
    data_state: &[u8],
    signer: &Pubkey,
) -> ProgramResult {
    if program_owner == &BPF_LOADER_2 {
        return Ok(());
    }
    if program_owner != &BPF_LOADER_UPGRADEABLE {
        return Err(RuntimeError::WrongProgram.into());
    }
    if program_state.len() < 36 || program_state[..4] != 2u32.to_le_bytes() {
        return Err(RuntimeError::WrongProgram.into());
    }
    if data_key[..] != program_state[4..36] {
        return Err(RuntimeError::WrongAddress.into());
    }
    if data_owner != &BPF_LOADER_UPGRADEABLE {
        return Err(RuntimeError::WrongOwner.into());
    }
    if data_state.len() < 45 || data_state[..4] != 3u32.to_le_bytes() {
        return Err(RuntimeError::WrongDiscriminator.into());
    }
    if data_state[12] != 1 || data_state[13..45] != signer[..] {
        return Err(RuntimeError::NotUpgradeAuthority.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNER: Pubkey = [7; 32];
    const DATA: Pubkey = [8; 32];

    fn program_state() -> Vec<u8> {
        [&2u32.to_le_bytes()[..], &DATA].concat()
    }
    fn data_state(authority: Option<Pubkey>) -> Vec<u8> {
        let (tag, key) = match authority {
            Some(k) => (1u8, k),
            None => (0, [0; 32]),
        };
        [&3u32.to_le_bytes()[..], &9u64.to_le_bytes(), &[tag], &key, &[0x7f; 16]].concat()
    }
    fn check(program_owner: &Pubkey, program: &[u8], key: &Pubkey, owner: &Pubkey, data: &[u8]) -> ProgramResult {
        check_loader_state(program_owner, program, key, owner, data, &SIGNER)
    }

    #[test]
    fn upgrade_authority_must_sign() {
        let up = &BPF_LOADER_UPGRADEABLE;
        assert_eq!(check(up, &program_state(), &DATA, up, &data_state(Some(SIGNER))), Ok(()));
        let err = |e: RuntimeError| Err(e.into());
        assert_eq!(check(up, &program_state(), &DATA, up, &data_state(Some([1; 32]))), err(RuntimeError::NotUpgradeAuthority));
        // Frozen program (no authority): nobody can prove deployment.
        assert_eq!(check(up, &program_state(), &DATA, up, &data_state(None)), err(RuntimeError::NotUpgradeAuthority));
        // A ProgramData of another program, or a fake one owned by someone else.
        assert_eq!(check(up, &program_state(), &[1; 32], up, &data_state(Some(SIGNER))), err(RuntimeError::WrongAddress));
        assert_eq!(check(up, &program_state(), &DATA, &[0; 32], &data_state(Some(SIGNER))), err(RuntimeError::WrongOwner));
        assert_eq!(check(up, &program_state()[..10], &DATA, up, &data_state(Some(SIGNER))), err(RuntimeError::WrongProgram));
        assert_eq!(check(up, &program_state(), &DATA, up, &data_state(Some(SIGNER))[..40]), err(RuntimeError::WrongDiscriminator));
    }

    #[test]
    fn immutable_and_foreign_loaders() {
        assert_eq!(check(&BPF_LOADER_2, &[], &DATA, &[0; 32], &[]), Ok(()));
        assert_eq!(
            check(&[3; 32], &program_state(), &DATA, &BPF_LOADER_UPGRADEABLE, &data_state(Some(SIGNER))),
            Err(RuntimeError::WrongProgram.into())
        );
    }
}
