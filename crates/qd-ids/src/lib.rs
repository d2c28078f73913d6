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

/// Singleton PDAs, derived off-chain once (tests/test_ids.py re-derives them) so programs check
/// them with a 32-byte compare instead of a 1,500 CU address derivation. `*_BUMP` is the
/// canonical bump, used to create the account or to sign for the address.
///
/// qd-security's SecurityConfig: [b"security"].
pub const SECURITY_CONFIG: Pubkey = pubkey("53yAiepcWGeNjuZMR41YBtVRoBhw7fmDmJtzNGUzRX7x");
pub const SECURITY_CONFIG_BUMP: u8 = 255;
/// qd-security's CPI signer: [b"authority"] (core accepts freezes only from it).
pub const SECURITY_AUTHORITY: Pubkey = pubkey("EWcp86NNczZ7kMGtCSBdtoCqDQJ2Tuhw2hGTjMroGHXT");
pub const SECURITY_AUTHORITY_BUMP: u8 = 255;
/// qd-core's GlobalConfig: [b"global"].
pub const CORE_GLOBAL: Pubkey = pubkey("51FgSmtfVfcqvfV66g6HRK5vLgc47FPpVfc171U5NHYG");
pub const CORE_GLOBAL_BUMP: u8 = 253;
/// qd-core's CPI signer: [b"authority"] (qd-collateral accepts balance adjustments from it).
pub const CORE_AUTHORITY: Pubkey = pubkey("GFWAagFUP1Vc2jtiN3pBHi2DwtBnZRaVyGPz5H6kQSE7");
pub const CORE_AUTHORITY_BUMP: u8 = 254;
/// qd-trading's CPI signer: [b"authority"] (PnL and fees into qd-collateral balances).
pub const TRADING_AUTHORITY: Pubkey = pubkey("4dgfC6jpQw5i77AEZRqy1T1WTkZ4BfMW33sa6fiJeDjb");
pub const TRADING_AUTHORITY_BUMP: u8 = 252;
/// qd-collateral's [b"authority"]: owner of every collateral vault (signs withdrawals).
pub const COLLATERAL_AUTHORITY: Pubkey = pubkey("HqeyA5w9hehm5TY4TUyVse7gM7aKCQ4gkw8BrFeeBj47");
pub const COLLATERAL_AUTHORITY_BUMP: u8 = 253;
