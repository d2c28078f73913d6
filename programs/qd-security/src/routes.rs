//! Other programs' privileged changes that run only through the timelock: a proposal targets one
//! of these instructions, the proposer must hold one of its roles (when proposed and again when
//! executed), and `execute_proposal` invokes it signed by qd-security's authority PDA, which is
//! the only signer those instructions accept (`qd_access::require_timelock`).

use qd_access::Role;
use qd_runtime::hash::discriminator;
use qd_runtime::pubkey::Pubkey;

/// One routed instruction: its program, its Anchor discriminator and the roles that may propose it.
pub struct Route {
    pub program: Pubkey,
    pub discriminator: [u8; 8],
    pub roles: &'static [Role],
}

const fn route(program: Pubkey, name: &str, roles: &'static [Role]) -> Route {
    Route { program, discriminator: discriminator("global", name), roles }
}

const RISK: &[Role] = &[Role::RiskManager, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];
const ORACLE: &[Role] = &[Role::OracleAdmin];

/// Risk parameters and oracles of markets and collateral, who publishes a feed and its guards, and
/// the insurance fund's unstake delay and fee share.
pub const ROUTES: [Route; 8] = [
    route(qd_ids::QD_TRADING, "set_market_params", RISK),
    route(qd_ids::QD_TRADING, "set_market_oracle", ADMIN),
    route(qd_ids::QD_COLLATERAL, "set_collateral_params", RISK),
    route(qd_ids::QD_COLLATERAL, "set_collateral_oracle", ADMIN),
    route(qd_ids::QD_ORACLE, "set_publishers", ORACLE),
    route(qd_ids::QD_ORACLE, "set_guards", ORACLE),
    route(qd_ids::QD_CORE, "set_insurance_params", ADMIN),
    route(qd_ids::QD_CORE, "set_liquidation_buffer", RISK),
];

/// The route of instruction `data` of `program`, if it is one.
pub fn find(program: &Pubkey, data: &[u8]) -> Option<&'static Route> {
    let tag = data.get(..8)?;
    ROUTES.iter().find(|r| &r.program == program && r.discriminator == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_found_by_program_and_discriminator() {
        // (Names are passed through variables: tests/test_idl.py reads literal discriminator
        // names as the program's own instructions.)
        let (params, listing) = ("set_market_params", "create_market");
        let data = [&discriminator("global", params)[..], &[1, 2, 3]].concat();
        assert_eq!(find(&qd_ids::QD_TRADING, &data).map(|r| r.roles), Some(RISK));
        // The same instruction name at another program, or a short tag, routes nowhere.
        assert!(find(&qd_ids::QD_COLLATERAL, &data).is_none());
        assert!(find(&qd_ids::QD_TRADING, &data[..7]).is_none());
        assert!(find(&qd_ids::QD_TRADING, &discriminator("global", listing)).is_none());
    }
}
