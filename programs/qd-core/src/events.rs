//! Anchor events: the audit trail of every account and configuration change. Each encodes as
//! discriminator sha256("event:<Name>")[..8] + borsh fields in IDL order. `set_frozen` emits
//! none: qd-security emits the audit event after its CPI, with the account's new audit_seq.

use qd_runtime::borsh::Writer;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

/// Large enough for every event below.
pub type EventBuf = Writer<176>;

pub struct GlobalInitialized {
    pub global: Pubkey,
    pub admin: Pubkey,
    pub quote_mint: Pubkey,
    pub max_sub_accounts: u16,
    pub slot: u64,
    /// The config's audit sequence number (1 for initialize).
    pub seq: u64,
}

pub struct MaxSubAccountsChanged {
    pub admin: Pubkey,
    pub old: u16,
    pub new: u16,
    pub slot: u64,
    pub seq: u64,
}

pub struct MarginAccountCreated {
    pub owner: Pubkey,
    pub margin_account: Pubkey,
    pub sub_id: u16,
    pub name: [u8; 32],
    pub slot: u64,
}

pub struct MarginAccountClosed {
    pub owner: Pubkey,
    pub margin_account: Pubkey,
    pub sub_id: u16,
    pub slot: u64,
}

pub struct DelegateChanged {
    pub margin_account: Pubkey,
    pub owner: Pubkey,
    pub old: Pubkey,
    pub new: Pubkey,
    pub slot: u64,
}

pub struct LimitsChanged {
    pub margin_account: Pubkey,
    pub owner: Pubkey,
    pub max_leverage_x100: u16,
    pub allowed_markets: u64,
    pub reduce_only: bool,
    pub slot: u64,
}

impl GlobalInitialized {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "GlobalInitialized");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.global)
            .pubkey(&self.admin)
            .pubkey(&self.quote_mint)
            .u16(self.max_sub_accounts)
            .u64(self.slot)
            .u64(self.seq);
        w
    }
}

impl MaxSubAccountsChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MaxSubAccountsChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.admin).u16(self.old).u16(self.new).u64(self.slot).u64(self.seq);
        w
    }
}

impl MarginAccountCreated {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MarginAccountCreated");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.owner)
            .pubkey(&self.margin_account)
            .u16(self.sub_id)
            .bytes(&self.name)
            .u64(self.slot);
        w
    }
}

impl MarginAccountClosed {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "MarginAccountClosed");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR).pubkey(&self.owner).pubkey(&self.margin_account).u16(self.sub_id).u64(self.slot);
        w
    }
}

impl DelegateChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "DelegateChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.margin_account)
            .pubkey(&self.owner)
            .pubkey(&self.old)
            .pubkey(&self.new)
            .u64(self.slot);
        w
    }
}

impl LimitsChanged {
    pub const DISCRIMINATOR: [u8; 8] = discriminator("event", "LimitsChanged");
    pub fn encode(&self) -> EventBuf {
        let mut w = EventBuf::new();
        w.bytes(&Self::DISCRIMINATOR)
            .pubkey(&self.margin_account)
            .pubkey(&self.owner)
            .u16(self.max_leverage_x100)
            .u64(self.allowed_markets)
            .bool(self.reduce_only)
            .u64(self.slot);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fit_their_buffer() {
        let len = |w: EventBuf| w.finish().unwrap().len();
        assert_eq!(len(GlobalInitialized { global: [1; 32], admin: [2; 32], quote_mint: [3; 32], max_sub_accounts: 16, slot: 1, seq: 1 }.encode()), 8 + 96 + 2 + 8 + 8);
        assert_eq!(len(MaxSubAccountsChanged { admin: [1; 32], old: 16, new: 8, slot: 1, seq: 2 }.encode()), 8 + 32 + 4 + 8 + 8);
        assert_eq!(len(MarginAccountCreated { owner: [1; 32], margin_account: [2; 32], sub_id: 3, name: [4; 32], slot: 5 }.encode()), 8 + 96 + 2 + 8);
        assert_eq!(len(MarginAccountClosed { owner: [1; 32], margin_account: [2; 32], sub_id: 3, slot: 5 }.encode()), 8 + 64 + 2 + 8);
        assert_eq!(len(DelegateChanged { margin_account: [1; 32], owner: [2; 32], old: [0; 32], new: [3; 32], slot: 4 }.encode()), 8 + 128 + 8);
        let limits = LimitsChanged { margin_account: [1; 32], owner: [2; 32], max_leverage_x100: 500, allowed_markets: 3, reduce_only: true, slot: 4 };
        assert_eq!(len(limits.encode()), 8 + 64 + 2 + 8 + 1 + 8);
    }
}
