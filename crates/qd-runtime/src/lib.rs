//! The runtime binding every QuantDesk program is built on. `no_std` on SBF; on the host it
//! compiles with std so pure logic gets ordinary `cargo test` unit tests. Modules that call
//! syscalls exist on SBF only (the host has no runtime to call).
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

#[cfg(target_arch = "bpf")]
pub mod cpi;
#[cfg(target_arch = "bpf")]
pub mod log;
#[cfg(target_arch = "bpf")]
pub mod pda;
#[cfg(target_arch = "bpf")]
pub mod syscalls;
#[cfg(target_arch = "bpf")]
pub mod system;
pub mod sysvar;
pub mod token;
