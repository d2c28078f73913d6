//! qd-security's own errors (6100..); runtime errors are 6000.., access errors 6200...
//! Each variant's doc comment is its IDL message (tests/test_idl.py holds them equal).

qd_runtime::errors! {
    pub enum SecurityError {
        /// Signer is not the super-admin
        NotSuperAdmin = 6100,
        /// Signer is not the proposed super-admin or a member of the proposed approval set (or none is proposed)
        NotPendingSuperAdmin = 6101,
        /// Unknown role (0 admin, 1 risk manager, 2 compliance, 3 oracle admin)
        InvalidRole = 6102,
        /// Role holder must not be the zero key
        InvalidHolder = 6103,
        /// A role has at most 4 holders
        RoleFull = 6104,
        /// The key already holds this role
        AlreadyHasRole = 6105,
        /// The key does not hold this role
        NotRoleHolder = 6106,
        /// Market must be below 64, or 65535 for venue-wide
        InvalidMarket = 6107,
        /// Operations must be a non-empty set of pause bits (0x7f at most)
        InvalidOperations = 6108,
        /// Rate limit must be off (both zero) or have a positive capacity and refill
        InvalidRateLimit = 6109,
        /// Reason code must not be zero
        InvalidReason = 6110,
        /// The margin account is already frozen
        AlreadyFrozen = 6111,
        /// The margin account is not frozen
        NotFrozen = 6112,
        /// Session scopes must be a non-empty set of scope bits (place 1, cancel 2)
        InvalidScopes = 6113,
        /// A session needs at least one market
        InvalidMarkets = 6114,
        /// A session needs a positive maximum notional
        InvalidMaxNotional = 6115,
        /// Session expiry must be in the future and at most 7 days ahead
        InvalidSessionExpiry = 6116,
        /// Session key must not be zero or the owner
        InvalidSessionKey = 6117,
        /// Signer is neither the session's owner nor its session key
        NotSessionParty = 6118,
        /// Signer is not the session's owner
        NotSessionOwner = 6119,
        /// Session is already revoked
        SessionAlreadyRevoked = 6120,
        /// Session is still live: revoke it or wait for expiry before closing
        SessionStillActive = 6121,
        /// Session budget must be at least the per-order maximum
        InvalidBudget = 6122,
        /// Only qd-trading's authority PDA records session fills
        NotTradingAuthority = 6123,
        /// Unpausing goes through a timelock proposal; only pausing is immediate
        UnpauseRequiresTimelock = 6124,
        /// Timelock delay must be between the deployment's minimum and 30 days
        InvalidTimelockDelay = 6125,
        /// Proposals may target only qd-security's own changes
        UnsupportedTarget = 6126,
        /// Unknown proposed change
        InvalidChange = 6127,
        /// The proposal was already executed
        ProposalAlreadyExecuted = 6128,
        /// The proposal was cancelled
        ProposalCancelled = 6129,
        /// The proposal's timelock delay has not passed yet
        TimelockNotReady = 6130,
        /// The proposal needs more approvals from the super-admin's approval set
        ProposalNotApproved = 6131,
        /// Signer is not a member of the approval set
        NotApprovalMember = 6132,
        /// This member already approved the proposal
        AlreadyApproved = 6133,
        /// This proposal needs no approvals (the super-admin is a single key, or it is an ADMIN change)
        ApprovalsNotNeeded = 6134,
        /// Approval set is not the one the proposal counts approvals of
        WrongApprovalSet = 6135,
        /// An approval set has 1 to 8 distinct nonzero members and a threshold between 1 and their number
        InvalidApprovalSet = 6136,
        /// The proposer (or its approval set) no longer holds the authority the proposal needs
        ProposerLostAuthority = 6137,
        /// Only the proposer, an ADMIN, the super-admin or a member of its approval set may cancel
        NotCanceller = 6138,
        /// A routed proposal takes 1 to 8 accounts of its instruction, and executes with exactly those
        InvalidProposalAccounts = 6139,
        /// The proposal is still pending: execute or cancel it first
        ProposalPending = 6140,
        /// The rent of a proposal goes back to its proposer only
        NotProposer = 6141,
    }
}
