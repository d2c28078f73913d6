//! Program ids, decoded at compile time. The QuantDesk ids match Anchor.toml [programs.localnet]
//! (tests/test_ids.py holds them equal); the foreign ids are the programs' published addresses.
#![cfg_attr(target_arch = "bpf", no_std)]

use qd_runtime::pubkey::{pubkey, Pubkey};

pub const QD_CORE: Pubkey = pubkey("zp7AKsRoB5H6Ya4XWwXtLVMVGhp9gXCWHV4ZWu9nYJp");
pub const QD_COLLATERAL: Pubkey = pubkey("Drh15ve6EHqfZqebHyE6LnEYDZfkaieA6tJneZzWEAmC");
pub const QD_ORACLE: Pubkey = pubkey("C9Vy9ftWPhg7cXG4THhSUNXTwbnRa5xjRE6gy3DjP7Yf");
pub const QD_TRADING: Pubkey = pubkey("GXzv4utLYVXrjbpR7wQLybiuQC7a1WtBDPQ2wWf3vvrz");
pub const QD_SECURITY: Pubkey = pubkey("G7QxRZj3oSZEdWUbAP2fgcHgpPYCqe8d5Nea9a3UXXyT");

pub const SYSTEM_PROGRAM: Pubkey = pubkey("11111111111111111111111111111111");
pub const TOKEN_PROGRAM: Pubkey = pubkey("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const TOKEN_2022_PROGRAM: Pubkey = pubkey("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
pub const CLOCK_SYSVAR: Pubkey = pubkey("SysvarC1ock11111111111111111111111111111111");
pub const RENT_SYSVAR: Pubkey = pubkey("SysvarRent111111111111111111111111111111111");

/// Pyth oracle program (legacy v2 price accounts), mainnet-beta and devnet deployments.
pub const PYTH_ORACLE_MAINNET: Pubkey = pubkey("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH");
pub const PYTH_ORACLE_DEVNET: Pubkey = pubkey("gSbePebfvPy7tRqimPoVecS2UsBvYv46ynrzWocc92s");
/// Pyth Solana Receiver: owner of PriceUpdateV2 accounts (pull updates and push-feed accounts).
pub const PYTH_RECEIVER: Pubkey = pubkey("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");
