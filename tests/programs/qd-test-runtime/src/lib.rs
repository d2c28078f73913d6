//! qd-test-runtime: a program that exists only for tests. It runs qd-runtime's syscall paths
//! (CPI, PDA signing, SPL Token, realloc, close, events, return data, Clock) inside the real
//! runtime that LiteSVM embeds; tests/test_runtime_program.py asserts their effects.
//!
//! Instructions (discriminator = sha256("global:<name>")[..8], borsh args):
//! - `create_state(space: u64)`: payer creates the PDA [b"state", payer] (canonical bump only),
//!   owned by this program; an address someone pre-funded is topped up, allocated and assigned.
//! - `transfer_sol(lamports: u64)`: System transfer from a signer, or from the system-owned PDA
//!   [b"wallet"] signed with its seeds.
//! - `init_vault`: creates the token account PDA [b"vault", mint] owned by the token program
//!   and initializes it (InitializeAccount3) for the authority PDA [b"authority"].
//! - `mint_to(amount: u64)`: MintTo signed by the authority PDA (the mint's authority).
//! - `vault_transfer(amount: u64, decimals: Option<u8>)`: Transfer (None) or TransferChecked out
//!   of the vault signed by the authority PDA; returns the vault's amount as read after the CPI.
//! - `resize(lengths: Vec<u32>)`: applies each length in turn to a program-owned account, then
//!   tops its lamports up to rent exemption from the payer or refunds the surplus to the payer.
//! - `emit_clock(tag: u64)`: emits the `ClockRead` event and returns (slot, unix_timestamp, epoch).
//! - `close`: closes a program-owned account into a destination.
//! - `inspect`: returns an account's owner, lamports and data length.
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_runtime::pubkey::{pubkey, Pubkey};

/// Only ever deployed by tests; no keypair is kept.
pub const ID: Pubkey = pubkey("CTTnDSiho9oNUe47aWWCzo1KCvW5sQLby3aDcPBENP1c");

mod processor;

qd_runtime::entrypoint!(processor::process);
