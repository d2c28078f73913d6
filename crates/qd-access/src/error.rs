//! Access errors: codes 6200..6250 (the range qd-runtime reserves for this crate). Each variant's
//! doc comment is its IDL message; tests/test_idl.py holds every IDL listing them equal to this.

qd_runtime::errors! {
    pub enum AccessError {
        /// This operation is paused
        Paused = 6200,
        /// The margin account is frozen by compliance
        AccountFrozen = 6201,
        /// Signer is not the owner, the delegate or a session key of this margin account
        NotAuthorized = 6202,
        /// A delegate may only place, cancel and fill orders and settle
        DelegateNotPermitted = 6203,
        /// Session belongs to another owner or session key
        SessionMismatch = 6204,
        /// Session has been revoked
        SessionRevoked = 6205,
        /// Session has expired
        SessionExpired = 6206,
        /// Session scopes do not allow this action
        SessionScope = 6207,
        /// Session does not allow this market
        SessionMarket = 6208,
        /// Order notional exceeds the session's maximum
        SessionNotional = 6209,
        /// Too many order actions: the account's rate limit is exhausted
        RateLimited = 6210,
        /// Market is not in the margin account's allowed markets
        MarketNotAllowed = 6211,
        /// Signer does not hold the role this action requires
        MissingRole = 6212,
        /// Unknown action code
        UnknownAction = 6213,
        /// Fills would trade more notional than the session's budget has left
        SessionBudgetExceeded = 6214,
        /// Only the timelock may make this change: propose it in qd-security and execute it after the delay
        NotTimelock = 6215,
    }
}
