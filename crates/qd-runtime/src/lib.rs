//! The runtime binding every QuantDesk program is built on. `no_std` on SBF; on the host it
//! compiles with std against stubbed syscalls, so processors get ordinary `cargo test` unit tests
//! and clippy sees every line.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod account;
pub mod account_info;
pub mod borsh;
pub mod deploy;
pub mod entrypoint;
pub mod error;
pub mod hash;
#[cfg(not(target_arch = "bpf"))]
pub mod idl;
pub mod pubkey;
pub mod validate;

pub mod cpi;
pub mod declare;
#[cfg(not(target_arch = "bpf"))]
pub mod host;
#[cfg(not(target_arch = "bpf"))]
mod host_syscalls;
pub mod log;
pub mod pda;
pub mod syscalls;
pub mod system;
pub mod sysvar;
pub mod token;
