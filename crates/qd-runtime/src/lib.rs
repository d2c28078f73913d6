//! The runtime binding every QuantDesk program is built on. `no_std` on SBF; on the host it
//! compiles with std so pure logic gets ordinary `cargo test` unit tests.
#![cfg_attr(target_arch = "bpf", no_std)]

pub mod account;
pub mod error;
pub mod pubkey;
