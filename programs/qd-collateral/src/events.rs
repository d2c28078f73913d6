//! Anchor events: the audit trail of every collateral config change and every balance change.
//! Each encodes as discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order. `seq`
//! is the target's own sequence number (CollateralConfig.audit_seq for config changes,
//! CollateralBalances.seq for balance changes), so gaps in an indexer's copy show.

use qd_runtime::borsh::Writer;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

/// Large enough for every event below (CollateralCreated: 8 + 160 + 3 + 4 + 16 + 16 = 207).
pub type EventBuf = Writer<224>;

pub struct CollateralCreated {
    pub config: Pubkey,
    pub mint: Pubkey,
    pub vault: Pubkey,
    pub oracle: Pubkey,
    pub admin: Pubkey,
    pub decimals: u8,
    pub is_quote: bool,
    pub status: u8,
    pub init_weight_bps: u16,
    pub maint_weight_bps: u16,
    pub deposit_cap: u64,
    pub account_cap: u64,
    pub slot: u64,
    pub seq: u64,
}

pub struct CollateralParamsChanged {
    pub config: Pubkey,
    pub signer: Pubkey,
    pub status: u8,
    pub init_weight_bps: u16,
    pub maint_weight_bps: u16,
    pub deposit_cap: u64,
    pub account_cap: u64,
    pub slot: u64,
    pub seq: u64,
}

pub struct CollateralOracleChanged {
    pub config: Pubkey,
    pub admin: Pubkey,
    pub old_oracle: Pubkey,
    pub new_oracle: Pubkey,
    pub slot: u64,
    pub seq: u64,
}

/// `open`: true when the balances account was opened, false when closed.
pub struct BalancesOpened {
    pub margin_account: Pubkey,
    pub owner: Pubkey,
    pub balances: Pubkey,
    pub open: bool,
    pub slot: u64,
}

/// A deposit (`amount` > 0) or a withdrawal (`amount` < 0) by the owner.
pub struct BalanceChanged {
    pub margin_account: Pubkey,
    pub mint: Pubkey,
    pub amount: i64,
    pub balance: i64,
    pub slot: u64,
    pub seq: u64,
}

pub struct Transferred {
    pub from: Pubkey,
    pub to: Pubkey,
    pub mint: Pubkey,
    pub amount: i64,
    pub from_balance: i64,
    pub to_balance: i64,
    pub slot: u64,
    pub from_seq: u64,
    pub to_seq: u64,
}

/// A CPI adjustment by qd-core or qd-trading; `protocol_balance` is the config's after it.
pub struct BalanceAdjusted {
    pub margin_account: Pubkey,
    pub mint: Pubkey,
    pub caller: Pubkey,
    pub delta: i64,
    pub balance: i64,
    pub protocol_balance: i64,
    pub slot: u64,
    pub seq: u64,
}

impl CollateralCreated {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "CollateralCreated");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.config)
            .pubkey(&self.mint)
            .pubkey(&self.vault)
            .pubkey(&self.oracle)
            .pubkey(&self.admin)
            .u8(self.decimals)
            .bool(self.is_quote)
            .u8(self.status)
            .u16(self.init_weight_bps)
            .u16(self.maint_weight_bps)
            .u64(self.deposit_cap)
            .u64(self.account_cap)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl CollateralParamsChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "CollateralParamsChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.config)
            .pubkey(&self.signer)
            .u8(self.status)
            .u16(self.init_weight_bps)
            .u16(self.maint_weight_bps)
            .u64(self.deposit_cap)
            .u64(self.account_cap)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl CollateralOracleChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "CollateralOracleChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.config)
            .pubkey(&self.admin)
            .pubkey(&self.old_oracle)
            .pubkey(&self.new_oracle)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl BalancesOpened {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "BalancesOpened");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.margin_account).pubkey(&self.owner).pubkey(&self.balances).bool(self.open).u64(self.slot);
        w
    }
}

impl BalanceChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "BalanceChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.margin_account)
            .pubkey(&self.mint)
            .i64(self.amount)
            .i64(self.balance)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl Transferred {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "Transferred");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.from)
            .pubkey(&self.to)
            .pubkey(&self.mint)
            .i64(self.amount)
            .i64(self.from_balance)
            .i64(self.to_balance)
            .u64(self.slot)
            .u64(self.from_seq)
            .u64(self.to_seq);
        w
    }
}

impl BalanceAdjusted {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "BalanceAdjusted");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.margin_account)
            .pubkey(&self.mint)
            .pubkey(&self.caller)
            .i64(self.delta)
            .i64(self.balance)
            .i64(self.protocol_balance)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fit_their_buffer() {
        let c = CollateralCreated {
            config: [1; 32],
            mint: [2; 32],
            vault: [3; 32],
            oracle: [4; 32],
            admin: [5; 32],
            decimals: 9,
            is_quote: false,
            status: 0,
            init_weight_bps: 1,
            maint_weight_bps: 2,
            deposit_cap: 3,
            account_cap: 4,
            slot: 5,
            seq: 6,
        };
        let bytes = c.encode().finish().unwrap().to_vec();
        assert_eq!(bytes.len(), 8 + 160 + 3 + 4 + 32);
        assert_eq!(&bytes[bytes.len() - 8..], &6u64.to_le_bytes());
        let t = Transferred { from: [1; 32], to: [2; 32], mint: [3; 32], amount: 1, from_balance: 2, to_balance: 3, slot: 4, from_seq: 5, to_seq: 6 };
        assert_eq!(t.encode().finish().unwrap().len(), 8 + 96 + 48);
        let a = BalanceAdjusted { margin_account: [1; 32], mint: [2; 32], caller: [3; 32], delta: -1, balance: 2, protocol_balance: 3, slot: 4, seq: 5 };
        assert_eq!(a.encode().finish().unwrap().len(), 8 + 96 + 40);
    }
}
